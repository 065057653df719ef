"""Circle packing (n = 26) in search mode: solve(best, budget_s) improves the best packing found so far.

evoforge hands every evaluation the best packing of the run (None before the first) and a time budget
(config.yaml, search_mode.budget_s); solve() returns a packing, which the evaluator verifies and scores,
and the best one is handed on. This starting point is a small improver whose constants and moves are
left for evolution to change: from nothing, a penalty relaxation of seeded random centres (Adam on -Σr
plus mu times the squared overlaps, mu growing; sum 2.5637); from a packing, attempts until the budget
runs out that move the smallest circles to random places, nudge every centre and relax again, keeping an
attempt only when its sum grows.
"""

import time

import numpy as np

N = 26

# EVOLVE-BLOCK-START
MOVED = 2  # smallest circles put somewhere else in each attempt
JITTER = 0.02  # spread of the nudge given to every centre
STEPS = 400  # relaxation steps of an attempt
LEARNING_RATE = 0.002
MU_START = 10.0
MU_END = 100.0
FIRST_STEPS = 1500  # relaxation steps of a packing made from nothing


def relax(x, y, r, steps, learning_rate, mu_start, mu_end):
    """Adam on -Σr + mu · (squared overlaps and wall violations), mu growing geometrically."""
    v = np.concatenate([x, y, r])
    m, s = np.zeros_like(v), np.zeros_like(v)
    for t in range(1, steps + 1):
        mu = mu_start * (mu_end / mu_start) ** (t / steps)
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
        v = v - learning_rate * (m / (1 - 0.9**t)) / (np.sqrt(s / (1 - 0.999**t)) + 1e-8)
        v[2 * N :] = np.maximum(v[2 * N :], 0)
    return np.clip(v[:N], 0, 1), np.clip(v[N : 2 * N], 0, 1), v[2 * N :]


def attempt(x, y, r, rng):
    """A variation of a packing: the smallest circles moved at random, every centre nudged, relaxed."""
    x, y, r = x.copy(), y.copy(), r.copy()
    moved = np.argsort(r)[:MOVED]
    x[moved], y[moved], r[moved] = rng.uniform(0, 1, MOVED), rng.uniform(0, 1, MOVED), 0.0
    x = np.clip(x + rng.normal(0, JITTER, N), 0, 1)
    y = np.clip(y + rng.normal(0, JITTER, N), 0, 1)
    x, y, r = relax(x, y, r, STEPS, LEARNING_RATE, MU_START, MU_END)
    return x, y, feasible(x, y, r)


def solve(best, budget_s):
    start = time.monotonic()
    rng = np.random.default_rng()  # fresh each time: the same best must not get the same attempts
    if best is None:
        first = np.random.default_rng(0)
        x, y = first.uniform(0, 1, N), first.uniform(0, 1, N)
        x, y, r = relax(x, y, np.full(N, 0.05), FIRST_STEPS, 0.01, 1.0, 100.0)
        r = feasible(x, y, r)
    else:
        x, y, r = (np.array(column, dtype=float) for column in zip(*best, strict=True))
    while time.monotonic() - start < budget_s:
        nx, ny, nr = attempt(x, y, r, rng)
        if nr.sum() > r.sum():
            x, y, r = nx, ny, nr
    return np.column_stack([x, y, r]).tolist()


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
