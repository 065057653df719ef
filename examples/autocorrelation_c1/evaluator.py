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

from evoforge.verify import InvalidObject, infeasible, real, run_solve, sequence

MAX_STEPS = 100_000
MAX_ABS = 1e6
BEST_KNOWN = 1.5031635547
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
        raise InvalidObject("all heights are zero, so ∫f = 0")
    return np.array(heights) / peak


def self_convolution(a):
    """The full convolution a∗a (length 2n - 1), by FFT."""
    length = 2 * len(a) - 1
    size = 1 << (length - 1).bit_length()
    spectrum = np.fft.rfft(a, size)
    return np.fft.irfft(spectrum * spectrum, size)[:length]


def c1_bound(obj):
    """The verifier as a pure function: 2n·max(a∗a) / (Σa)² of valid heights, else InvalidObject."""
    a = parse_heights(obj)
    return 2 * len(a) * float(np.max(self_convolution(a))) / math.fsum(a) ** 2


def evaluate(program_path):
    try:
        value = c1_bound(run_solve(program_path, SOLVE_TIMEOUT_S))
    except InvalidObject as error:
        return infeasible(error)
    return {"combined_score": -value, "c1_bound": value, "valid": 1.0, "target_ratio": BEST_KNOWN / value}
