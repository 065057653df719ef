"""Toy task: tune the constant that solve() returns. A smoke test of the whole loop."""


# EVOLVE-BLOCK-START
def solve():
    x = 1.0
    return x


# EVOLVE-BLOCK-END
