"""First autocorrelation inequality: a step function f >= 0 on [-1/4, 1/4] with a small max(f∗f) / (∫f)².

solve() returns the list of step heights a (n equal steps); the evaluator scores 2n·max(a∗a) / (Σa)²,
lower is better (a constant function scores exactly 2; the best known is 1.5031635547). This starting
point is a small search heuristic whose constants are left for evolution to tune: random heights
a = w², then Adam on the p-norm of a∗a (a smooth stand-in for its maximum, p growing) over (Σa)².
"""

import time

import numpy as np

TIME_BUDGET_S = 8.0  # the descent stops after this; the evaluation timeout (config.yaml) is 90 s

# EVOLVE-BLOCK-START
STEPS = 600
ITERATIONS = 2000
LEARNING_RATE = 0.01
P_START = 4.0
P_END = 50.0


def solve():
    rng = np.random.default_rng(0)
    w = rng.uniform(0.5, 1.5, STEPS)
    m, s = np.zeros(STEPS), np.zeros(STEPS)
    start = time.monotonic()
    for t in range(1, ITERATIONS + 1):
        if time.monotonic() - start > TIME_BUDGET_S:
            break
        p = P_START * (P_END / P_START) ** (t / ITERATIONS)
        a = w * w
        b = np.convolve(a, a)
        top = b.max()
        norm = top * np.mean((b / top) ** p) ** (1 / p)
        # d norm / d b, then back through b = a∗a and a = w², for the ratio norm / (Σa)²
        db = (b / top) ** (p - 1) * np.mean((b / top) ** p) ** (1 / p - 1) / len(b)
        da = 2 * np.correlate(db, a, "valid") / a.sum() ** 2 - 2 * norm / a.sum() ** 3
        g = da * 2 * w
        m = 0.9 * m + 0.1 * g
        s = 0.999 * s + 0.001 * g * g
        w = w - LEARNING_RATE * (m / (1 - 0.9**t)) / (np.sqrt(s / (1 - 0.999**t)) + 1e-12)
    return (w * w).tolist()


# EVOLVE-BLOCK-END
