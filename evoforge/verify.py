"""Building blocks for strict verifiers: run a candidate's solve() apart, check plain data.

A verifier must never trust what the candidate computed about itself. ``run_solve`` calls the
candidate's ``solve()`` in a separate interpreter and hands back only plain JSON data, so nothing
the candidate does in its own process (patching math or builtins, redefining a scoring function,
exec into globals, reaching the evaluator through sys.modules) can touch the verification, which
then runs in the evaluator's process on the returned object only. The checks below reject bools,
strings, complex numbers, NaN, inf and absurd magnitudes with a message naming the offending item.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from typing import Any

from evoforge.records import EvaluationResult

FORWARD_CHARS = 4000
RESULT_MARKER = "\n@@EVOFORGE-RESULT@@"

# Runs in the candidate's interpreter: numpy arrays and scalars become lists and Python numbers;
# anything JSON cannot carry is reported by name rather than guessed at.
_DRIVER = r"""
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("candidate", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
result = module.solve()
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


def run_solve(program_path: str, timeout_s: float = 60.0) -> Any:
    """``solve()``'s return value as plain JSON data, computed in a separate interpreter.

    The candidate's output is forwarded (tail only) to this process's stdout/stderr, which the
    sandbox turns into artifacts shown to the model. A crash or timeout raises RuntimeError (the
    evaluation fails); data JSON cannot carry raises InvalidObject.
    """
    try:
        completed = subprocess.run(
            [sys.executable, "-c", _DRIVER, program_path, RESULT_MARKER],
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
