"""Strict verifier for Erdős's minimum overlap problem: an upper bound on the constant (lower is better).

For h: [0, 2] -> [0, 1] with ∫h = 1, the overlap max_k ∫ h(x) (1 - h(x + k)) dx (with 1 - h taken
as 0 outside [0, 2]) bounds the minimum overlap constant from above. h is a step function with n
equal steps of width 2/n, so ∫h = 1 means Σh = n/2 and the overlap is exactly

    (2/n) · max_k Σ_i h_{i+k} (1 - h_i)   over all shifts k = -(n-1) .. n-1

(the integral is piecewise linear in k between grid shifts, so its maximum is at one of them).

The candidate's solve() runs in a separate interpreter (evoforge.verify.run_solve) that hands back
plain JSON data; nothing the candidate computes, prints or patches in its own process counts.
Rules, checked here on the returned list only:

- a list (a tuple or a 1-D numpy array arrives as one) of 1 to MAX_STEPS values, each a finite
  real number (no bools, strings, complex, NaN, inf) with 0 <= h_i <= 1 exactly;
- |Σh - n/2| <= SUM_TOL = 1e-9 (Σh computed exactly by math.fsum; a smaller sum lowers the overlap,
  so the tolerance is kept far below the digits of the records: it moves the score by < 2e-9/n);
- the correlation is computed by FFT (milliseconds for 100k steps); its rounding error is below
  1e-12 of the maximum.

An infeasible object scores -inf with an artifact naming the violated rule. combined_score is the
negated overlap (evoforge maximises); the overlap itself is reported as overlap.
"""

import math

import numpy as np

from evoforge.verify import MAX_STEPS, InvalidObject, evaluate_solve, fft_convolution, objective, step_values

SUM_TOL = 1e-9
BEST_KNOWN = 0.380924
SOLVE_TIMEOUT_S = 60


def parse_steps(obj):
    """Validated step values as a numpy array; InvalidObject names the violated rule."""
    h = step_values(obj, MAX_STEPS, "values", "h[{}]")
    for i, value in enumerate(h):
        if not 0 <= value <= 1:
            raise InvalidObject(f"h[{i}] = {value:g} is outside [0, 1]")
    total = math.fsum(h)
    if abs(total - len(h) / 2) > SUM_TOL:
        raise InvalidObject(
            f"the values sum to {total!r}, expected n/2 = {len(h) / 2:g} (∫h = 1), tolerance 1e-9"
        )
    return np.array(h)


def overlap(obj):
    """The verifier as a pure function: (2/n)·max_k Σ_i h_{i+k}(1 - h_i) of a valid h, else InvalidObject."""
    h = parse_steps(obj)
    # Σ_i h_{i+k} (1 - h_i) for every shift k is the full convolution of h with reversed 1 - h.
    return 2 / len(h) * float(np.max(fft_convolution(h, (1 - h)[::-1])))


def evaluate(program_path):
    return evaluate_solve(
        program_path, overlap, objective("overlap", BEST_KNOWN, minimise=True), SOLVE_TIMEOUT_S
    )
