"""Sums versus differences: a set U of integers with min U = 0 and many more differences than sums.

solve() returns U as a list of distinct non-negative integers containing 0; the score is
1 + ln(|U-U| / |U+U|) / ln(2·max U + 1). This starting point is a random subset of [0, 200]
(score about 1.0); the best known score is 1.173077.
"""

import random


# EVOLVE-BLOCK-START
def solve():
    rng = random.Random(0)
    top = 200
    chosen = {0, top}
    chosen.update(x for x in range(1, top) if rng.random() < 0.3)
    return sorted(chosen)


# EVOLVE-BLOCK-END
