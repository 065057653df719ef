"""Circle packing: 26 disjoint circles in the unit square, maximising the sum of their radii.

solve() returns a list of 26 [x, y, r] triples. This starting point is a small search heuristic whose
constants are left for evolution to tune: random centres relaxed by a penalty method (Adam on -Σr plus
mu times the squared overlaps, mu growing), radii then shrunk until the packing is strictly feasible; the
best of a few restarts is kept. It reaches about 2.56 (97% of the record 2.6359830849) by itself.
"""

import time

import numpy as np

N = 26
TIME_BUDGET_S = 8.0  # no restart starts after this; the evaluation timeout (config.yaml) is 90 s

# EVOLVE-BLOCK-START
RESTARTS = 4
STEPS = 1500
LEARNING_RATE = 0.01
MU_START = 1.0
MU_END = 100.0
START_RADIUS = 0.05


def relax(rng):
    """One restart: Adam on -Σr + mu · (squared overlaps and wall violations), mu growing geometrically."""
    v = np.concatenate([rng.uniform(0, 1, 2 * N), np.full(N, START_RADIUS)])
    m, s = np.zeros_like(v), np.zeros_like(v)
    for t in range(1, STEPS + 1):
        mu = MU_START * (MU_END / MU_START) ** (t / STEPS)
        x, y, r = v[:N], v[N : 2 * N], v[2 * N :]
        dx, dy = x[:, None] - x[None, :], y[:, None] - y[None, :]
        d = np.hypot(dx, dy) + np.eye(N)
        over = np.triu(np.maximum(r[:, None] + r[None, :] - d, 0), 1)
        over = over + over.T
        walls = [np.maximum(w, 0) for w in (r - x, x + r - 1, r - y, y + r - 1)]
        gx = 2 * mu * (-(over * dx / d).sum(1) - walls[0] + walls[1])
        gy = 2 * mu * (-(over * dy / d).sum(1) - walls[2] + walls[3])
        g = np.concatenate([gx, gy, -1 + 2 * mu * (over.sum(1) + sum(walls))])
        m = 0.9 * m + 0.1 * g
        s = 0.999 * s + 0.001 * g * g
        v = v - LEARNING_RATE * (m / (1 - 0.9**t)) / (np.sqrt(s / (1 - 0.999**t)) + 1e-8)
        v[2 * N :] = np.maximum(v[2 * N :], 0)
    return np.clip(v[:N], 0, 1), np.clip(v[N : 2 * N], 0, 1), v[2 * N :]


def solve():
    rng = np.random.default_rng(0)
    start, best = time.monotonic(), None
    for _ in range(RESTARTS):
        if time.monotonic() - start > TIME_BUDGET_S:
            break
        x, y, r = relax(rng)
        r = feasible(x, y, r)
        if best is None or r.sum() > best[2].sum():
            best = (x, y, r)
    return np.column_stack(best).tolist()


# EVOLVE-BLOCK-END


def feasible(x, y, r):
    """Radii shrunk until every circle is inside the square and no two overlap, with a margin far above
    the verifier's 1e-12 tolerance."""
    r = np.clip(np.minimum(r, np.minimum.reduce([x, 1 - x, y, 1 - y])), 0, None)
    d = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :]) + np.eye(N)
    for _ in range(1000):
        excess = (r[:, None] + r[None, :]) / d
        np.fill_diagonal(excess, 0)
        if excess.max() <= 1:
            break
        r = r / np.maximum(excess.max(axis=1), 1)
    return r * (1 - 1e-9)
