"""Second autocorrelation inequality: a step function f >= 0 with a large ‖f∗f‖₂² / (‖f∗f‖₁ ‖f∗f‖∞).

solve() returns the list of step heights a (n equal steps); the evaluator scores the ratio of
g = f∗f (piecewise linear through [0, a∗a, 0]), higher is better. This starting point is random
heights (about 0.64; a constant function scores exactly 2/3); the best known is 0.9610210778.
"""

import random


# EVOLVE-BLOCK-START
def solve():
    rng = random.Random(0)
    steps = 1000
    return [rng.random() for _ in range(steps)]


# EVOLVE-BLOCK-END
