"""Evaluators of search-mode tasks: the evolved program improves the best solution found so far.

With ``search_mode`` in the config (see ``search_mode.py`` and docs/search.md), every evaluation runs
with two environment variables:

- ``EVOFORGE_SOLUTION_FILE``: the path, relative to the program's folder (also the working
  directory), of a JSON file holding the best solution of the run so far (``null`` before any);
- ``EVOFORGE_BUDGET_S``: the seconds the program may search for.

The evaluator runs ``solve(best, budget_s)`` apart, verifies the returned object itself, scores it,
and returns it as ``EvaluationResult(metrics, artifacts, solution=object)``; evoforge stores it with the
program and hands the best one to later evaluations. ``evaluate_improver`` does all of that. Nothing
the candidate claims about its solution counts: only the verifier's score of the object.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from evoforge.records import EvaluationResult

T = TypeVar("T")

SOLUTION_ENV = "EVOFORGE_SOLUTION_FILE"
BUDGET_ENV = "EVOFORGE_BUDGET_S"
MARGIN_S = 10.0  # time solve() gets past its budget to return (an interpreter start, numpy's import)


@dataclass(frozen=True)
class SearchInputs:
    """What a search-mode evaluation receives: the best solution so far (None before any) and the budget."""

    solution: Any
    budget_s: float


def search_inputs(program_path: str, default_budget_s: float) -> SearchInputs:
    """This evaluation's inputs; outside search mode (``evoforge eval``, say) no solution and
    ``default_budget_s``."""
    budget_s = float(os.environ.get(BUDGET_ENV) or default_budget_s)
    name = os.environ.get(SOLUTION_ENV)
    if not name:
        return SearchInputs(None, budget_s)
    with open(os.path.join(os.path.dirname(os.path.abspath(program_path)), name), encoding="utf-8") as file:
        return SearchInputs(json.load(file), budget_s)


def evaluate_improver(
    program_path: str,
    score: Callable[[Any], T],
    report: Callable[[T], dict[str, float] | EvaluationResult],
    default_budget_s: float,
) -> EvaluationResult:
    """Metrics and solution of a search heuristic: ``solve(best, budget_s)`` run apart, its returned
    object scored by ``score`` (the verifier: InvalidObject for a broken rule), reported by ``report``.

    An infeasible object scores -inf and is not passed on; the flag ``received_solution`` says whether
    the candidate was given a solution to improve.
    """
    from evoforge.verify import InvalidObject, infeasible, run_solve  # numpy: not for search_mode's import

    inputs = search_inputs(program_path, default_budget_s)
    received = {"received_solution": inputs.solution is not None}  # a flag: never part of a mean score
    try:
        solution = run_solve(
            program_path, inputs.budget_s + MARGIN_S, args=(inputs.solution, inputs.budget_s)
        )
        value = score(solution)
    except InvalidObject as error:
        return infeasible(error, **received)
    reported = report(value)
    if isinstance(reported, EvaluationResult):
        return EvaluationResult({**reported.metrics, **received}, reported.artifacts, solution=solution)
    return EvaluationResult({**reported, **received}, solution=solution)
