"""First autocorrelation inequality: a step function f >= 0 on [-1/4, 1/4] with a small max(f∗f) / (∫f)².

solve() returns the list of step heights a (n equal steps); the evaluator scores
2n·max(a∗a) / (Σa)², lower is better. This starting point is random heights (about 2.06; a
constant function scores exactly 2); the best known is 1.5031635547.
"""

import random


# EVOLVE-BLOCK-START
def solve():
    rng = random.Random(0)
    steps = 600
    return [rng.random() for _ in range(steps)]


# EVOLVE-BLOCK-END
