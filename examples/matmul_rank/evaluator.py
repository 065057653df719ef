"""Strict verifier for rank-R decompositions of the matrix multiplication tensor ⟨n, m, p⟩ = SHAPE.

T has shape (n·m) × (m·p) × (p·n) with T[i·m + j, j·p + k, k·n + i] = 1 and zeros elsewhere; a
decomposition is R triples (U_r, V_r, W_r) with Σ_r U_r ⊗ V_r ⊗ W_r = T exactly, giving an algorithm
that multiplies an n×m by an m×p matrix with R scalar multiplications. The candidate runs in its own
interpreter (evoforge.verify.run_solve) and only its returned object counts.

Encoding (plain data, exact): a dict {"U": [...], "V": [...], "W": [...]} with an optional
"denominator" of 1 (the default) or 2. "U" holds R rows of n·m entries, "V" R rows of m·p, "W" R rows
of p·n. An entry is an int, or a pair [re, im] of ints for a Gaussian number re + im·i; its value is
the entry divided by the denominator, so entries live in ½ℤ or ½ℤ[i]. Rules: exact ints only (no
bools, floats or strings), |numerator| <= MAX_ABS, 1 <= R <= n·m·p, the same R in U, V and W, and the
sum equal to T in every one of its cells, compared in exact Gaussian-integer arithmetic (both sides
multiplied by denominator³). The score is -R.
"""

from fractions import Fraction

from evoforge.verify import InvalidObject, evaluate_solve, integer, sequence, solve_fingerprint

SHAPE = (3, 3, 3)
MAX_ABS = 10**6
BEST_KNOWN = {(2, 2, 2): 7, (3, 3, 3): 23, (2, 4, 5): 32, (4, 4, 4): 48}
SOLVE_TIMEOUT_S = 60


def parse_entry(value, where):
    """An entry as a Gaussian integer (re, im)."""
    if isinstance(value, list):
        re, im = sequence(value, f"{where} [re, im]", 2)
        return integer(re, f"{where} real part", MAX_ABS), integer(im, f"{where} imaginary part", MAX_ABS)
    return integer(value, where, MAX_ABS), 0


def parse_factors(obj, shape):
    """Validate the returned dict; return (denominator, [U, V, W]) with Gaussian-integer entries."""
    if not isinstance(obj, dict):
        raise InvalidObject(f"solve()'s result is {type(obj).__name__}, expected a dict with U, V and W")
    unknown = sorted(set(obj) - {"U", "V", "W", "denominator"})
    if unknown or not {"U", "V", "W"} <= set(obj):
        raise InvalidObject(f"solve()'s result has keys {sorted(obj)}, expected U, V, W (and denominator)")
    denominator = obj.get("denominator", 1)
    if type(denominator) is not int or denominator not in (1, 2):
        raise InvalidObject(f"denominator is {denominator!r}, expected 1 or 2")
    n, m, p = shape
    rank = len(sequence(obj["U"], "U"))
    if not 1 <= rank <= n * m * p:
        raise InvalidObject(f"U has {rank} rows, expected between 1 and {n * m * p}")
    factors = []
    for name, width in (("U", n * m), ("V", m * p), ("W", p * n)):
        rows = sequence(obj[name], name, rank)
        factors.append(
            [
                [
                    parse_entry(v, f"{name}[{r}][{c}]")
                    for c, v in enumerate(sequence(row, f"{name}[{r}]", width))
                ]
                for r, row in enumerate(rows)
            ]
        )
    return denominator, factors


def tensor_sum(factors):
    """Σ_r U_r ⊗ V_r ⊗ W_r over the nonzero entries, as {(a, b, c): (re, im)}."""
    total = {}
    for u, v, w in zip(*factors, strict=True):
        nonzero = [[(i, x) for i, x in enumerate(row) if x != (0, 0)] for row in (u, v, w)]
        for a, (ur, ui) in nonzero[0]:
            for b, (vr, vi) in nonzero[1]:
                uvr, uvi = ur * vr - ui * vi, ur * vi + ui * vr
                for c, (wr, wi) in nonzero[2]:
                    re, im = total.get((a, b, c), (0, 0))
                    total[(a, b, c)] = (re + uvr * wr - uvi * wi, im + uvr * wi + uvi * wr)
    return total


def check_decomposition(denominator, factors, shape):
    """Raise InvalidObject naming the first cell where the sum differs from T."""
    n, m, p = shape
    scale = denominator**3
    target = {(i * m + j, j * p + k, k * n + i) for i in range(n) for j in range(m) for k in range(p)}
    total = tensor_sum(factors)
    for cell in sorted(target | set(total)):
        expected = (scale, 0) if cell in target else (0, 0)
        got = total.get(cell, (0, 0))
        if got != expected:
            re, im = Fraction(got[0], scale), Fraction(got[1], scale)
            value = f"{re}" if im == 0 else f"{re} + {im}i"
            raise InvalidObject(
                f"the sum of the terms is {value} at T{list(cell)}, expected {int(cell in target)}"
            )


def score_decomposition(obj, shape=SHAPE):
    """The verifier as a pure function: the rank R of a valid decomposition of ⟨shape⟩, else InvalidObject."""
    denominator, factors = parse_factors(obj, shape)
    check_decomposition(denominator, factors, shape)
    return len(factors[0])


def metrics(rank):
    """Fewer multiplications are better and evoforge maximises, so the score is -R."""
    best = BEST_KNOWN.get(SHAPE, rank)
    return {"combined_score": float(-rank), "rank": float(rank), "valid": 1.0, "target_ratio": best / rank}


def evaluate(program_path):
    return evaluate_solve(program_path, score_decomposition, metrics, SOLVE_TIMEOUT_S)


def fingerprint(program_path):
    """A digest of solve()'s result: the score depends on nothing else (dedup.functional)."""
    return solve_fingerprint(program_path, SOLVE_TIMEOUT_S)
