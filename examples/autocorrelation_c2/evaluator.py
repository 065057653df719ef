"""Strict verifier for the second autocorrelation inequality: a lower bound on C2 (higher is better).

C2 is the smallest constant with ‖f∗f‖₂² <= C2 ‖f∗f‖₁ ‖f∗f‖∞ for every f >= 0; any f gives the
lower bound ‖g‖₂² / (‖g‖₁ ‖g‖∞), g = f∗f. f is a step function with n equal steps of heights a;
b = a∗a (the full discrete convolution, 2n - 1 values) and g is taken piecewise linear through
y = [0, b, 0] on equally spaced points with spacing h = 1/(2n), so that exactly:

    L2² = Σ h/3 (y_i² + y_i y_{i+1} + y_{i+1}²),   L1 = Σb / (2n),   L∞ = max b,
    score = L2² / (L1 · L∞)   (at most 1, since ∫g² <= max g · ∫g).

The heights obey the rules of autocorrelation_c1, checked by the same evoforge.verify.scaled_heights
on the plain list solve() returns from its own interpreter: 1 to MAX_STEPS finite reals in
[0, 1e6], not all zero, rescaled to maximum 1 so that denormal heights cannot underflow L1 or L∞.
b comes from the same FFT convolution; values its rounding leaves just below zero are set to zero.

An infeasible object scores -inf with an artifact naming the violated rule.
"""

import numpy as np

from evoforge.verify import MAX_STEPS, evaluate_solve, fft_convolution, objective, scaled_heights

BEST_KNOWN = 0.9610210778
SOLVE_TIMEOUT_S = 60


def c2_bound(obj):
    """The verifier as a pure function: L2² / (L1 · L∞) of g = f∗f for valid heights, else InvalidObject."""
    a = scaled_heights(obj, MAX_STEPS, if_all_zero="f∗f = 0")
    b = np.maximum(fft_convolution(a, a), 0.0)  # FFT rounding may leave values just below zero
    y = np.concatenate(([0.0], b, [0.0]))
    h = 1.0 / (2 * len(a))
    l2_squared = h / 3 * float(np.sum(y[:-1] ** 2 + y[:-1] * y[1:] + y[1:] ** 2))
    l1 = float(np.sum(b)) / (2 * len(a))
    return l2_squared / (l1 * float(np.max(b)))


def evaluate(program_path):
    return evaluate_solve(program_path, c2_bound, objective("c2_bound", BEST_KNOWN), SOLVE_TIMEOUT_S)
