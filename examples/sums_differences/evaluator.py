"""Strict verifier for the sums-versus-differences problem.

solve() returns a finite set U of non-negative integers with min U = 0 (as a list); the score is
1 + ln(|U-U| / |U+U|) / ln(2·max U + 1), maximised. The candidate runs in its own interpreter
(evoforge.verify.run_solve) and only its returned list counts. Rules:

- a list of distinct exact integers (no bools, floats or strings), 0 <= u <= MAX_ELEMENT, holding 0
  and at least one positive element (max U = 0 would make the denominator ln 1 = 0);
- at most MAX_SIZE elements and |U|·max U <= MAX_WORK, so that verification stays within seconds.

|U+U| and |U-U| are counted exactly with integer bitsets (bit s of the sum set is set when s = a + b),
so no rounding can inflate a score; only the final logarithms are floating point.
"""

import math

from evoforge.verify import InvalidObject, evaluate_solve, integer, sequence, solve_fingerprint

MAX_ELEMENT = 10**7
MAX_SIZE = 10**5
MAX_WORK = 10**11  # |U|·max U: about 6 s of bitset shifts
BEST_KNOWN = 1.173077
SOLVE_TIMEOUT_S = 60


def parse_set(obj):
    """Validate the returned list; return its elements sorted."""
    items = sequence(obj, "solve()'s result")
    if len(items) > MAX_SIZE:
        raise InvalidObject(f"the set has {len(items)} elements, at most {MAX_SIZE} are verified")
    elements = [integer(v, f"element {i}") for i, v in enumerate(items)]
    for i, value in enumerate(elements):
        if not 0 <= value <= MAX_ELEMENT:
            raise InvalidObject(f"element {i} = {value} is outside [0, {MAX_ELEMENT}]")
    if len(set(elements)) != len(elements):
        raise InvalidObject("the set lists an element twice")
    if 0 not in elements:
        raise InvalidObject("min U must be 0: the set does not contain 0")
    if len(elements) < 2:
        raise InvalidObject("the set needs a positive element (max U = 0 leaves the score undefined)")
    if len(elements) * max(elements) > MAX_WORK:
        raise InvalidObject(f"|U|·max U exceeds {MAX_WORK:.0e}, too large to verify")
    return sorted(elements)


def sum_and_difference_counts(elements):
    """|U+U| and |U-U|, counted exactly: differences are shifted by max U to stay non-negative."""
    bits = 0
    for value in elements:
        bits |= 1 << value
    top = elements[-1]
    sums = differences = 0
    for value in elements:
        sums |= bits << value
        differences |= bits << (top - value)
    return sums.bit_count(), differences.bit_count()


def score_set(obj):
    """The verifier as a pure function: (score, |U+U|, |U-U|, max U), or InvalidObject."""
    elements = parse_set(obj)
    sums, differences = sum_and_difference_counts(elements)
    top = elements[-1]
    return 1 + math.log(differences / sums) / math.log(2 * top + 1), sums, differences, top


def metrics(scored):
    """The score, with the exact counts behind it for the model to read."""
    score, sums, differences, top = scored
    return {
        "combined_score": score,
        "valid": 1.0,
        "sum_set_size": float(sums),
        "difference_set_size": float(differences),
        "max_element": float(top),
        "target_ratio": score / BEST_KNOWN,
    }


def evaluate(program_path):
    return evaluate_solve(program_path, score_set, metrics, SOLVE_TIMEOUT_S)


def fingerprint(program_path):
    """A digest of solve()'s result: the score depends on nothing else (dedup.functional)."""
    return solve_fingerprint(program_path, SOLVE_TIMEOUT_S)
