"""Strict verifier for circle packing in the unit square (n = 32): the sum of the radii (higher is better).

The problem of circle_packing_26 with 32 circles, and its verifier: evoforge.verify.CirclePacking
checks 32 triples [x, y, r] of finite reals with r >= 0, each circle inside the square and each
pair disjoint up to an absolute 1e-12, on the object solve() returns from its own interpreter.
"""

from evoforge.verify import CirclePacking

PACKING = CirclePacking(n=32, best_known=2.9395727712)
score_packing = PACKING.score
evaluate = PACKING.evaluate
