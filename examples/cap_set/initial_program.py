"""Cap set in Z_3^8: as many vectors as possible with no three distinct ones on a line.

solve() returns a list of vectors, each a list of 8 ints in {0, 1, 2}; x, y, z are on a line when
x + y + z ≡ 0 (mod 3). This starting point adds vectors greedily in a random order, skipping any that
would complete a line; the best known size for n = 8 is 512 (FunSearch).
"""

import itertools
import random

N = 8


# EVOLVE-BLOCK-START
def priority(vector):
    """Higher goes first in the greedy order."""
    return random.random()


def solve():
    random.seed(0)
    order = sorted(itertools.product(range(3), repeat=N), key=priority, reverse=True)
    chosen, blocked = [], set()
    for vector in order:
        if vector in blocked:
            continue
        for other in chosen:
            blocked.add(tuple((-a - b) % 3 for a, b in zip(vector, other, strict=True)))
        chosen.append(vector)
    return [list(v) for v in chosen]


# EVOLVE-BLOCK-END
