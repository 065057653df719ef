"""Strict verifier for the first autocorrelation inequality: an upper bound on C1 (lower is better).

C1 is the largest constant with max_t (f∗f)(t) >= C1 (∫f)² for every f >= 0 supported on
[-1/4, 1/4]; any such f gives the upper bound max(f∗f) / (∫f)². For a step function of n equal
steps (width h = 1/(2n)) with heights a, f∗f is piecewise linear through the values h·b_k,
b = a∗a (the full discrete convolution), so the bound is exactly 2n·max(b) / (Σa)².

The candidate's solve() runs in a separate interpreter (evoforge.verify.run_solve) that hands back
plain JSON data; nothing the candidate computes, prints or patches in its own process counts.
Rules, checked here on the returned list only:

- a list (a tuple or a 1-D numpy array arrives as one) of 1 to MAX_STEPS heights, each a finite
  real number (no bools, strings, complex, NaN, inf, |a| > 1e6), every height >= 0, not all zero;
- the bound is scale-invariant, so the heights are divided by their maximum first: tiny or
  denormal heights cannot underflow (Σa)² to zero;
- b is computed by FFT (milliseconds for 100k steps); its rounding error is below 1e-12 of max(b),
  far below the digits of the records.

An infeasible object scores -inf with an artifact naming the violated rule. combined_score is the
negated bound (evoforge maximises); the bound itself is reported as c1_bound.
"""

import math

import numpy as np

from evoforge.verify import MAX_STEPS, evaluate_solve, fft_convolution, objective, scaled_heights

BEST_KNOWN = 1.5031635547
SOLVE_TIMEOUT_S = 60


def c1_bound(obj):
    """The verifier as a pure function: 2n·max(a∗a) / (Σa)² of valid heights, else InvalidObject."""
    a = scaled_heights(obj, MAX_STEPS, if_all_zero="∫f = 0")
    return 2 * len(a) * float(np.max(fft_convolution(a, a))) / math.fsum(a) ** 2


def evaluate(program_path):
    return evaluate_solve(
        program_path, c1_bound, objective("c1_bound", BEST_KNOWN, minimise=True), SOLVE_TIMEOUT_S
    )
