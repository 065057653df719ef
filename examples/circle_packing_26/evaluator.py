"""Strict verifier for circle packing in the unit square (n = 26).

The candidate's solve() runs in a separate interpreter that hands back plain JSON data, so nothing
the candidate does in its own process (patching math or builtins, redefining a scoring function,
exec into globals, reaching this module through sys.modules) can touch the verification, which
runs here on the returned object only (evoforge.verify.CirclePacking, shared with
circle_packing_32). Rules:

- a list (a tuple or a numpy array of shape (26, 3) arrives as one) of exactly 26 items, each a
  list of three finite real numbers [x, y, r]; bools, strings, complex numbers, NaN, inf and
  |v| > 10 are rejected; r >= 0;
- every circle inside the square: x - r >= -TOL, x + r <= 1 + TOL (same for y);
- every pair disjoint: distance between centres >= r_i + r_j - TOL;
- TOL = 1e-12 absolute. The score is the sum of the radii, computed here with math.fsum.

An infeasible object scores -inf with an artifact naming the violated constraint. A candidate that
crashes or times out fails the evaluation; its output and traceback are passed on as artifacts.
"""

from evoforge.verify import CirclePacking

PACKING = CirclePacking(n=26, best_known=2.6359830849)
score_packing = PACKING.score
evaluate = PACKING.evaluate
