"""Strict verifier for the second autocorrelation inequality: a lower bound on C2 (higher is better).

C2 is the smallest constant with ‖f∗f‖₂² <= C2 ‖f∗f‖₁ ‖f∗f‖∞ for every f >= 0; any f gives the
lower bound ‖g‖₂² / (‖g‖₁ ‖g‖∞), g = f∗f. f is a step function with n equal steps of heights a;
b = a∗a (the full discrete convolution, 2n - 1 values) and g is taken piecewise linear through
y = [0, b, 0] on equally spaced points with spacing h = 1/(2n), so that exactly:

    L2² = Σ h/3 (y_i² + y_i y_{i+1} + y_{i+1}²),   L1 = Σb / (2n),   L∞ = max b,
    score = L2² / (L1 · L∞)   (at most 1, since ∫g² <= max g · ∫g).

The candidate's solve() runs in a separate interpreter (evoforge.verify.run_solve) that hands back
plain JSON data; nothing the candidate computes, prints or patches in its own process counts.
Rules, checked here on the returned list only:

- a list (a tuple or a 1-D numpy array arrives as one) of 1 to MAX_STEPS heights, each a finite
  real number (no bools, strings, complex, NaN, inf, |a| > 1e6), every height >= 0, not all zero;
- the score is scale-invariant, so the heights are divided by their maximum first: tiny or
  denormal heights cannot underflow L1 or L∞ to zero;
- b is computed by FFT (milliseconds for 100k steps); its rounding error is below 1e-12 of max(b)
  and values it leaves slightly below zero are set to zero.

An infeasible object scores -inf with an artifact naming the violated rule.
"""

import numpy as np

from evoforge.verify import InvalidObject, infeasible, real, run_solve, sequence

MAX_STEPS = 100_000
MAX_ABS = 1e6
BEST_KNOWN = 0.9610210778
SOLVE_TIMEOUT_S = 60


def parse_heights(obj):
    """Validated heights as a numpy array scaled to maximum 1; InvalidObject names the bad item."""
    values = sequence(obj, "solve()'s result")
    if not 1 <= len(values) <= MAX_STEPS:
        raise InvalidObject(f"solve()'s result has {len(values)} heights, expected 1 to {MAX_STEPS}")
    heights = [real(value, f"height {i}", MAX_ABS) for i, value in enumerate(values)]
    for i, height in enumerate(heights):
        if height < 0:
            raise InvalidObject(f"height {i} is negative ({height:g}); f must be >= 0")
    peak = max(heights)
    if peak == 0:
        raise InvalidObject("all heights are zero, so f∗f = 0")
    return np.array(heights) / peak


def self_convolution(a):
    """The full convolution a∗a (length 2n - 1), by FFT, with rounding below zero removed."""
    length = 2 * len(a) - 1
    size = 1 << (length - 1).bit_length()
    spectrum = np.fft.rfft(a, size)
    return np.maximum(np.fft.irfft(spectrum * spectrum, size)[:length], 0.0)


def c2_bound(obj):
    """The verifier as a pure function: L2² / (L1 · L∞) of g = f∗f for valid heights, else InvalidObject."""
    a = parse_heights(obj)
    b = self_convolution(a)
    y = np.concatenate(([0.0], b, [0.0]))
    h = 1.0 / (2 * len(a))
    l2_squared = h / 3 * float(np.sum(y[:-1] ** 2 + y[:-1] * y[1:] + y[1:] ** 2))
    l1 = float(np.sum(b)) / (2 * len(a))
    return l2_squared / (l1 * float(np.max(b)))


def evaluate(program_path):
    try:
        value = c2_bound(run_solve(program_path, SOLVE_TIMEOUT_S))
    except InvalidObject as error:
        return infeasible(error)
    return {"combined_score": value, "c2_bound": value, "valid": 1.0, "target_ratio": value / BEST_KNOWN}
