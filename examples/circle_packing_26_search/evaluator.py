"""Strict verifier for circle packing in the unit square (n = 26), in search mode.

The candidate's solve(best, budget_s) runs in a separate interpreter (evoforge.improver.evaluate_improver,
through evoforge.verify.run_solve) that hands back plain JSON data: the best packing of the run so far
goes in, a packing comes out, and only that packing is checked and scored here, with the same rules as
circle_packing_26 (evoforge.verify.CirclePacking):

- exactly 26 items, each a list of three finite real numbers [x, y, r] (no bools, strings, complex,
  NaN, inf, |v| > 10), r >= 0;
- every circle inside the square: x - r >= -TOL, x + r <= 1 + TOL (same for y);
- every pair disjoint: distance between centres >= r_i + r_j - TOL; TOL = 1e-12 absolute;
- the score is the sum of the radii, computed here with math.fsum.

A valid packing is returned to evoforge as the solution, stored with the program, and handed to later
evaluations if it is the best; an infeasible one scores -inf, with the violated rule as an artifact, and
is never handed on. The packing handed in is not trusted either: solve() must return a packing that
passes these checks by itself.
"""

from evoforge.improver import evaluate_improver
from evoforge.verify import CirclePacking, objective

PACKING = CirclePacking(n=26, best_known=2.6359830849)
BUDGET_S = 5.0  # outside search mode (evoforge eval); a run's budget is search_mode.budget_s
score_packing = PACKING.score


def evaluate(program_path):
    report = objective("sum_radii", PACKING.best_known)
    return evaluate_improver(program_path, score_packing, report, default_budget_s=BUDGET_S)
