"""What every example's tests do alike: load its evaluator, run it on a candidate, try to cheat it."""

from __future__ import annotations

import importlib.util
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evoforge.records import EvaluationResult
from evoforge.verify import RESULT_MARKER, InvalidObject

EXAMPLES = Path(__file__).parents[2] / "examples"


class Example:
    """examples/<name>: its evaluator loaded as a module of its own (so a test can monkeypatch its
    constants), and the two ways its tests run it."""

    def __init__(self, name: str) -> None:
        self.directory = EXAMPLES / name
        spec = importlib.util.spec_from_file_location(f"{name}_evaluator", self.directory / "evaluator.py")
        assert spec is not None and spec.loader is not None
        self.verifier = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.verifier)

    def run(self, tmp_path: Path, body: str, filename: str = "candidate.py") -> Any:
        """The evaluator's answer for a candidate's source: a dict of metrics, or an EvaluationResult."""
        path = tmp_path / filename
        path.write_text(body)
        return self.verifier.evaluate(str(path))

    def run_cheat(
        self, tmp_path: Path, prelude: str, honest: object, broken: object, numpy: bool = False
    ) -> tuple[Any, str]:
        """The metrics of ``honest`` and the rule ``broken`` breaks, each returned by a solve() behind
        ``prelude``: whatever a candidate does in its own process, its object alone is scored."""
        metrics = self.run(tmp_path, prelude + returning(honest, numpy))
        return metrics, broken_rule(self.run(tmp_path, prelude + returning(broken)))

    def run_initial(self, filename: str = "initial_program.py") -> Any:
        """The evaluator's answer for the example's own starting point."""
        return self.verifier.evaluate(str(self.directory / filename))


def scoring_test(score: Callable[[Any], float], cases: list[tuple[object, float]]) -> Callable[..., None]:
    """A test that ``score`` gives each valid object its value, worked out by hand, to 1e-12."""

    @pytest.mark.parametrize(("obj", "expected"), cases)
    def test(obj: object, expected: float) -> None:
        assert score(obj) == pytest.approx(expected, rel=1e-12)

    return test


def rejection_test(verify: Callable[[Any], object], cases: list[tuple[object, str]]) -> Callable[..., None]:
    """A test that ``verify`` raises InvalidObject on each object, with a message matching its reason.

    Assign it to a test_... name: every example checks its rules this way, with its own cases.
    """

    @pytest.mark.parametrize(("obj", "reason"), cases)
    def test(obj: object, reason: str) -> None:
        with pytest.raises(InvalidObject, match=reason):
            verify(obj)

    return test


def returning(value: object, numpy: bool = False) -> str:
    """A candidate whose solve() returns ``value`` (as a numpy array with ``numpy``)."""
    if numpy:
        return f"import numpy\ndef solve():\n    return numpy.array({value!r})\n"
    return f"def solve():\n    return {value!r}\n"


def replaced(items: list[Any], index: int, value: object) -> list[object]:
    """A copy of ``items`` with one item replaced: a single broken item in an otherwise valid object."""
    changed: list[object] = list(items)
    changed[index] = value
    return changed


def cheat(target: str, replacement: str, claimed: object, patches: str = "") -> str:
    """The opening of a candidate that tries every way to claim a score from inside its own process.

    It runs ``patches`` (library functions or constants it redefines), replaces the verifier's
    ``target`` by ``replacement`` in every module it can reach and in its own globals, and prints a
    fake result behind the marker run_solve looks for. The solve() that follows must still be
    scored honestly.
    """
    return (
        f"import sys\n{patches}"
        "for module in list(sys.modules.values()):\n"
        f"    if hasattr(module, {target!r}):\n"
        f"        setattr(module, {target!r}, {replacement})\n"
        f"globals()[{target!r}] = {replacement}\n"
        f"print({RESULT_MARKER + json.dumps({'result': claimed})!r})\n"
    )


def broken_rule(result: Any) -> str:
    """The rule an infeasible object broke, after checking that it scored -inf."""
    assert isinstance(result, EvaluationResult), result
    assert result.metrics["combined_score"] == -math.inf
    return result.artifacts["infeasible"]
