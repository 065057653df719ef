"""Building blocks for strict verifiers: run a candidate's solve() apart, check plain data.

A verifier must never trust what the candidate computed about itself. ``run_solve`` calls the
candidate's ``solve()`` in a separate interpreter and hands back only plain JSON data, so nothing
the candidate does in its own process (patching math or builtins, redefining a scoring function,
exec into globals, reaching the evaluator through sys.modules) can touch the verification, which
then runs in the evaluator's process on the returned object only. The checks below reject bools,
strings, complex numbers, NaN, inf and absurd magnitudes with a message naming the offending item;
the shapes several problems share (step heights, rows of coordinates, circles in the unit square)
are parsed and checked here once, so every example words a broken rule the same way.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import itertools
import json
import math
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import numpy as np

from evoforge.records import EvaluationResult

T = TypeVar("T")

FORWARD_CHARS = 4000
MAX_STEPS = 100_000  # step functions longer than this are not verified: the FFT stays in milliseconds
RESULT_MARKER = "\n@@EVOFORGE-RESULT@@"
PR_SET_CHILD_SUBREAPER, PR_GET_CHILD_SUBREAPER = 36, 37
KILL_ROUNDS = 100

# Runs in the candidate's interpreter, started without the site module (-S: reading every .pth file
# costs 10-80 ms per start) but with the evaluator's import path; the first import that finds nothing
# reads the .pth files then. The candidate runs as the module "candidate" (registered, as dataclasses
# and pickle expect), without importlib's machinery (another 20 ms). numpy arrays and scalars become
# lists and Python numbers; anything JSON cannot carry is reported by name rather than guessed at.
_DRIVER = r"""
import json, sys
sys.path.extend(entry for entry in json.loads(sys.argv[3]) if entry not in sys.path)
class SiteOnDemand:
    def find_spec(self, name, path=None, target=None):
        sys.meta_path.remove(self)
        import importlib.util, site
        site.main()
        return importlib.util.find_spec(name) if path is None else None
sys.meta_path.append(SiteOnDemand())
module = sys.modules["candidate"] = type(sys)("candidate")
module.__file__ = sys.argv[1]
with open(sys.argv[1], "rb") as source:
    exec(compile(source.read(), sys.argv[1], "exec"), module.__dict__)
result = module.solve(*json.loads(sys.stdin.read() or "[]"))
def plain(obj):
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not a list or a number")
try:
    payload = json.dumps({"result": result}, default=plain)
except (TypeError, ValueError) as error:
    payload = json.dumps({"unsupported": str(error)})
sys.stdout.write(sys.argv[2] + payload)
"""


class InvalidObject(Exception):
    """The returned object breaks a rule of the problem; the message names the rule and the item."""


def run_solve(program_path: str, timeout_s: float = 60.0, args: tuple[Any, ...] = ()) -> Any:
    """``solve(*args)``'s return value as plain JSON data, computed in a separate interpreter.

    ``args`` must be plain JSON data (search mode passes the best solution so far and the budget);
    they reach the candidate through its stdin.

    The candidate's output is forwarded (tail only) to this process's stdout/stderr, which the
    sandbox turns into artifacts shown to the model. A crash or timeout raises RuntimeError (the
    evaluation fails); data JSON cannot carry raises InvalidObject.
    """
    try:
        completed = subprocess.run(
            [sys.executable, "-S", "-c", _DRIVER, program_path, RESULT_MARKER, json.dumps(sys.path)],
            input=json.dumps(args),  # stdin: a best solution may pass the 128 KiB limit of one argument
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"solve() did not return within {timeout_s:g} s") from None
    printed, marker, payload = completed.stdout.rpartition(RESULT_MARKER)
    sys.stdout.write((printed if marker else completed.stdout)[-FORWARD_CHARS:])
    sys.stderr.write(completed.stderr[-FORWARD_CHARS:])
    if completed.returncode != 0 or not marker:
        last = completed.stderr.strip().splitlines()[-1:] or [f"exit code {completed.returncode}"]
        raise RuntimeError(f"the candidate failed: {last[0]}")
    try:
        answer = json.loads(payload)
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or not answer.keys() & {"result", "unsupported"}:
        raise RuntimeError("the candidate's result could not be read (did it print after returning?)")
    if "unsupported" in answer:
        raise InvalidObject(f"solve() returned data that is not plain numbers: {answer['unsupported']}")
    return answer["result"]


def run_apart(argv: list[str], timeout_s: float, **options: Any) -> subprocess.CompletedProcess[bytes]:
    """``subprocess.run(argv, timeout=timeout_s, **options)``, and nothing it started is left running.

    A candidate's program runs as the evaluator's user, so a process it leaves behind (a ``setsid``
    daemon included) could stop or slow whatever the evaluator runs next, such as the reference it
    is timed against. On Linux this process is a child subreaper while the command runs, so such
    processes re-parent here, and every one of them is killed before this returns (RuntimeError if
    some cannot be); elsewhere only the command itself is waited for. Call it from one thread at a time.
    """
    with _adopting_orphans():
        before = _children()
        try:
            return subprocess.run(argv, timeout=timeout_s, check=False, **options)
        finally:
            _kill_new_children(before)


@functools.cache
def _prctl() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    return ctypes.CDLL(None, use_errno=True).prctl


@contextlib.contextmanager
def _adopting_orphans() -> Iterator[None]:
    """While inside, orphans of this process's descendants re-parent to it (Linux), as before after."""
    prctl = _prctl()
    if prctl is None:
        yield
        return
    import ctypes

    previous = ctypes.c_int(0)
    prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(previous), 0, 0, 0)
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    try:
        yield
    finally:
        prctl(PR_SET_CHILD_SUBREAPER, previous.value, 0, 0, 0)


def _children() -> set[int]:
    """This process's children, from /proc (an empty set where there is none)."""
    found: set[int] = set()
    with contextlib.suppress(OSError):
        for task in os.listdir("/proc/self/task"):
            with contextlib.suppress(OSError), open(f"/proc/self/task/{task}/children") as listing:
                found.update(int(pid) for pid in listing.read().split())
    return found


def _kill_new_children(before: set[int]) -> None:
    """Kill and reap the children not in ``before``, then those that re-parent here meanwhile."""
    for _ in range(KILL_ROUNDS):
        pids = _children() - before
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        for pid in pids:
            with contextlib.suppress(OSError):
                os.waitpid(pid, 0)
    raise RuntimeError("the candidate left processes running that could not be stopped")


def real(value: Any, where: str, max_abs: float = 1e6) -> float:
    """A finite real number (int or float, never bool) with ``|value| <= max_abs``."""
    if type(value) not in (int, float):
        raise InvalidObject(f"{where} is {type(value).__name__}, expected a real number")
    try:
        number = float(value)
    except OverflowError:
        raise InvalidObject(f"{where} is out of range") from None
    if not math.isfinite(number):
        raise InvalidObject(f"{where} is {number}, expected a finite number")
    if abs(number) > max_abs:
        raise InvalidObject(f"{where} = {number:g} is out of range (|value| <= {max_abs:g})")
    return number


def integer(value: Any, where: str, max_abs: int | None = None) -> int:
    """An exact integer (never bool, never a float that happens to be whole)."""
    if type(value) is not int:
        raise InvalidObject(f"{where} is {type(value).__name__}, expected an integer")
    if max_abs is not None and abs(value) > max_abs:
        raise InvalidObject(f"{where} = {value} is out of range (|value| <= {max_abs})")
    return value


def sequence(value: Any, where: str, length: int | None = None) -> list[Any]:
    """A list (tuples and arrays arrive as lists), of exactly ``length`` items when given."""
    if not isinstance(value, list):
        raise InvalidObject(f"{where} is {type(value).__name__}, expected a list")
    if length is not None and len(value) != length:
        raise InvalidObject(f"{where} has {len(value)} items, expected {length}")
    return value


def infeasible(error: InvalidObject, **metrics: float) -> EvaluationResult:
    """The result of an object that breaks a rule: score -inf, the rule as an artifact."""
    return EvaluationResult(
        {"combined_score": float("-inf"), "valid": 0.0, **metrics}, {"infeasible": str(error)}
    )


def solve_fingerprint(program_path: str, timeout_s: float) -> str:
    """A digest of solve()'s result, for an evaluator's ``fingerprint()`` (``dedup.functional``,
    docs/search.md): a verifier that reads only the returned object scores equal objects equally, so
    programs written differently that return the same object need one evaluation. A solve() that fails
    raises, and its program is evaluated as usual."""
    result = run_solve(program_path, timeout_s)
    return hashlib.sha256(json.dumps(result, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def evaluate_solve(
    program_path: str,
    score: Callable[[Any], T],
    report: Callable[[T], dict[str, float] | EvaluationResult],
    timeout_s: float,
) -> dict[str, float] | EvaluationResult:
    """Metrics for a solve()-style candidate: run it apart, ``score`` its result, ``report`` the score
    (as metrics, or with artifacts for the model).

    The one path every such example takes, so none can forget to isolate the candidate or to turn a
    broken rule (InvalidObject) into the infeasible result.
    """
    try:
        value = score(run_solve(program_path, timeout_s))
    except InvalidObject as error:
        return infeasible(error)
    return report(value)


def step_values(value: Any, max_steps: int, noun: str, item: str, max_abs: float = 1e6) -> list[float]:
    """solve()'s result as 1 to ``max_steps`` finite reals: the values of a step function.

    ``noun`` names the items in the length message ("heights"); ``item`` names item i, as a format
    string ("h[{}]"), so each problem keeps the notation of its own statement.
    """
    values = sequence(value, "solve()'s result")
    if not 1 <= len(values) <= max_steps:
        raise InvalidObject(f"solve()'s result has {len(values)} {noun}, expected 1 to {max_steps}")
    return [real(v, item.format(i), max_abs) for i, v in enumerate(values)]


def scaled_heights(value: Any, max_steps: int, if_all_zero: str, max_abs: float = 1e6) -> np.ndarray:
    """Heights >= 0 of a step function f, not all zero, divided by their maximum.

    The autocorrelation bounds are scale-invariant, and rescaling keeps tiny or denormal heights
    from underflowing the bound's denominator to zero. ``if_all_zero`` says what f = 0 breaks.
    """
    heights = step_values(value, max_steps, "heights", "height {}", max_abs)
    for i, height in enumerate(heights):
        if height < 0:
            raise InvalidObject(f"height {i} is negative ({height:g}); f must be >= 0")
    peak = max(heights)
    if peak == 0:
        raise InvalidObject(f"all heights are zero, so {if_all_zero}")
    return np.array(heights) / peak


def fft_convolution(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The full linear convolution a∗b (length len(a) + len(b) - 1), by FFT.

    Milliseconds for 100k steps where the direct O(n²) sum takes seconds; the rounding error stays
    below 1e-12 of the largest value, far below the digits of the records.
    """
    length = len(a) + len(b) - 1
    size = 1 << (length - 1).bit_length()
    return np.fft.irfft(np.fft.rfft(a, size) * np.fft.rfft(b, size), size)[:length]


def rows(value: Any, count: int, noun: str, names: str, max_abs: float) -> list[tuple[float, ...]]:
    """solve()'s result as exactly ``count`` rows of finite reals, one per letter of ``names``.

    For points [x, y] or circles [x, y, r]: a message names the row and the coordinate
    ("circle 3 r is bool"), so the model sees which item broke which rule.
    """
    parsed = []
    for i, item in enumerate(sequence(value, "solve()'s result", count)):
        values = sequence(item, f"{noun} {i} [{', '.join(names)}]", len(names))
        parsed.append(
            tuple(real(v, f"{noun} {i} {name}", max_abs) for v, name in zip(values, names, strict=True))
        )
    return parsed


def sum_of_radii(value: Any, count: int, tol: float, max_abs: float) -> float:
    """The sum of the radii of ``count`` disjoint circles [x, y, r] in the unit square, else InvalidObject.

    r >= 0; every circle inside [0, 1]² and every pair disjoint up to the absolute ``tol`` (a packing
    may touch the walls and its neighbours up to rounding, no more); the first violation is named.
    """
    circles = rows(value, count, "circle", "xyr", max_abs)
    for i, (x, y, r) in enumerate(circles):
        if r < 0:
            raise InvalidObject(f"circle {i} has a negative radius {r:g}")
        if min(x - r, y - r) < -tol or max(x + r, y + r) > 1 + tol:
            raise InvalidObject(f"circle {i} at ({x:g}, {y:g}) with radius {r:g} leaves the unit square")
    for (i, (xi, yi, ri)), (j, (xj, yj, rj)) in itertools.combinations(enumerate(circles), 2):
        gap = math.hypot(xi - xj, yi - yj) - (ri + rj)
        if gap < -tol:
            raise InvalidObject(f"circles {i} and {j} overlap by {-gap:.3g}")
    return math.fsum(r for _, _, r in circles)


def objective(name: str, best_known: float, *, minimise: bool = False) -> Callable[[float], dict[str, float]]:
    """The metrics of a valid object whose value is reported as ``name``.

    evoforge maximises combined_score, so a value to minimise is negated; target_ratio is 1 at the
    best known value and below 1 short of it, whichever the direction.
    """

    def report(value: float) -> dict[str, float]:
        if minimise:
            return {"combined_score": -value, name: value, "valid": 1.0, "target_ratio": best_known / value}
        return {"combined_score": value, name: value, "valid": 1.0, "target_ratio": value / best_known}

    return report


@dataclasses.dataclass(frozen=True)
class CirclePacking:
    """n disjoint circles in the unit square, maximising the sum of their radii: one verifier for every n."""

    n: int
    best_known: float
    tol: float = 1e-12
    max_abs: float = 10.0
    timeout_s: float = 60

    def score(self, value: Any) -> float:
        """The verifier as a pure function: the sum of radii of a feasible packing, else InvalidObject."""
        return sum_of_radii(value, self.n, self.tol, self.max_abs)

    def evaluate(self, program_path: str) -> dict[str, float] | EvaluationResult:
        """The example's evaluate(): the candidate's solve() run apart, its packing scored here."""
        return evaluate_solve(
            program_path, self.score, objective("sum_radii", self.best_known), self.timeout_s
        )
