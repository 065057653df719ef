"""Distance ratio: 16 distinct points in the plane with a small (max distance / min distance)².

solve() returns a list of 16 [x, y] pairs (the 4 × 4 grid scores exactly 18; the best known
configuration reaches 12.889266112). This starting point is a small search heuristic whose constants are
left for evolution to tune: random restarts, each a hill climb that moves one point at a time by a
shrinking random step and keeps the move unless the ratio grows; the best restart is kept.
"""

import time

import numpy as np

N = 16
TIME_BUDGET_S = 8.0  # no restart starts after this; the evaluation timeout (config.yaml) is 90 s

# EVOLVE-BLOCK-START
RESTARTS = 3
MOVES = 3000
STEP_START = 0.3
STEP_END = 0.001


def ratio(points):
    d = np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1))[np.triu_indices(N, 1)]
    return (d.max() / d.min()) ** 2


def climb(rng):
    points = rng.uniform(0, 1, (N, 2))
    score = ratio(points)
    for t in range(MOVES):
        step = STEP_START * (STEP_END / STEP_START) ** (t / MOVES)
        trial = points.copy()
        trial[rng.integers(N)] += rng.normal(0, step, 2)
        trial_score = ratio(trial)
        if trial_score <= score:
            points, score = trial, trial_score
    return points, score


def solve():
    rng = np.random.default_rng(0)
    start, best = time.monotonic(), None
    for _ in range(RESTARTS):
        if time.monotonic() - start > TIME_BUDGET_S:
            break
        points, score = climb(rng)
        if best is None or score < best[1]:
            best = (points, score)
    return best[0].tolist()


# EVOLVE-BLOCK-END
