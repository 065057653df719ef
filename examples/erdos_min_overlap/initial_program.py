"""Erdős's minimum overlap problem: a step function h: [0, 2] -> [0, 1] with ∫h = 1 and small overlap.

solve() returns the n step values of h (each in [0, 1], summing to n/2); the evaluator scores
(2/n) · max_k Σ_i h_{i+k} (1 - h_i), lower is better (the constant 1/2 scores exactly 0.5; the best
known is 0.380924). This starting point is a small search heuristic whose constants are left for
evolution to tune: random values, then projected gradient descent on the p-norm of the overlaps over all
shifts (a smooth stand-in for their maximum, p growing), projecting back onto 0 <= h <= 1, Σh = n/2.
"""

import time

import numpy as np

TIME_BUDGET_S = 8.0  # the descent stops after this; the evaluation timeout (config.yaml) is 90 s

# EVOLVE-BLOCK-START
STEPS = 200
ITERATIONS = 1500
STEP_SIZE = 0.01
P_START = 4.0
P_END = 50.0
NOISE = 0.2


def solve():
    rng = np.random.default_rng(0)
    h = project(0.5 + rng.uniform(-NOISE, NOISE, STEPS))
    start = time.monotonic()
    for t in range(1, ITERATIONS + 1):
        if time.monotonic() - start > TIME_BUDGET_S:
            break
        p = P_START * (P_END / P_START) ** (t / ITERATIONS)
        u = (1 - h)[::-1]
        c = np.convolve(h, u)  # the overlap at every shift
        top = c.max()
        weights = (c / top) ** (p - 1) * np.mean((c / top) ** p) ** (1 / p - 1) / len(c)
        grad = np.correlate(weights, u, "valid") - np.correlate(weights, h, "valid")[::-1]
        h = project(h - STEP_SIZE * grad / (np.abs(grad).max() + 1e-12))
    return project(h).tolist()


# EVOLVE-BLOCK-END


def project(x):
    """The closest h with 0 <= h <= 1 and Σh = n/2: clip(x - τ) with τ found by bisection, then the last
    rounding error spread over the values strictly inside (0, 1)."""
    low, high = x.min() - 1, x.max()
    for _ in range(100):
        tau = (low + high) / 2
        low, high = (tau, high) if np.clip(x - tau, 0, 1).sum() > len(x) / 2 else (low, tau)
    h = np.clip(x - (low + high) / 2, 0, 1)
    inside = (h > 1e-6) & (h < 1 - 1e-6)
    h[inside] += (len(x) / 2 - h.sum()) / inside.sum()
    return h
