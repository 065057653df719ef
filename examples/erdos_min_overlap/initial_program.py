"""Erdős's minimum overlap problem: a step function h: [0, 2] -> [0, 1] with ∫h = 1 and small overlap.

solve() returns the n step values of h (each in [0, 1], summing to n/2); the evaluator scores
(2/n) · max_k Σ_i h_{i+k} (1 - h_i), lower is better. This starting point is random noise around
1/2 (about 0.5; the constant 1/2 scores exactly 0.5); the best known is 0.380924.
"""

import random


# EVOLVE-BLOCK-START
def solve():
    rng = random.Random(0)
    steps = 200
    noise = [rng.uniform(-0.2, 0.2) for _ in range(steps)]
    mean = sum(noise) / steps
    return [0.5 + d - mean for d in noise]


# EVOLVE-BLOCK-END
