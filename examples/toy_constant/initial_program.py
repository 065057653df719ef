"""Toy task: find the constant the evaluator wants (3.7). A smoke test of the whole loop."""


# EVOLVE-BLOCK-START
def solve():
    x = 1.0
    return x


# EVOLVE-BLOCK-END
