"""``shinka.core.run_shinka_eval``: the helper ShinkaEvolve's ``evaluate.py`` scripts call.

It runs the candidate's experiment function ``num_runs`` times, validates each result, aggregates the
metrics and writes ``metrics.json`` and ``correct.json`` into ``results_dir``, which evoforge's
ShinkaEvolve adapter then reads (``evoforge/compat/child_side.py``). Runs are sequential here:
evoforge already evaluates candidates in parallel, each inside its own limits. Early stopping and
plotting are accepted and ignored; what they would change is how long an evaluation takes, not its
result.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

ERROR_METRICS = {
    "combined_score": 0.0,
    "execution_time_mean": 0.0,
    "execution_time_std": 0.0,
    "num_successful_runs": 0,
    "num_valid_runs": 0,
    "num_invalid_runs": 0,
    "all_validation_errors": [],
}


def load_program(program_path: str) -> Any:
    spec = importlib.util.spec_from_file_location("program", program_path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load a module from {program_path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def save_json_results(
    results_dir: str, metrics: dict[str, Any], correct: bool, error: str | None = None, verbose: bool = True
) -> None:
    os.makedirs(results_dir, exist_ok=True)
    with open(os.path.join(results_dir, "correct.json"), "w") as file:
        json.dump({"correct": correct, "error": error}, file, indent=2, default=str)
    with open(os.path.join(results_dir, "metrics.json"), "w") as file:
        json.dump(metrics, file, indent=2, default=str)


def run_shinka_eval(
    program_path: str,
    results_dir: str,
    experiment_fn_name: str,
    num_runs: int,
    get_experiment_kwargs: Callable[[int], dict[str, Any]] | None = None,
    aggregate_metrics_fn: Callable[[list[Any]], dict[str, Any]] | None = None,
    validate_fn: Callable[[Any], tuple[bool, str | None]] | None = None,
    plotting_fn: Callable[..., Any] | None = None,
    default_metrics_on_error: dict[str, Any] | None = None,
    **ignored: Any,
) -> tuple[dict[str, Any], bool, str | None]:
    """(metrics, correct, first error), also written to ``results_dir``."""
    errors: list[str] = []
    results: list[Any] = []
    times: list[float] = []
    invalid = 0
    try:
        experiment = getattr(load_program(program_path), experiment_fn_name, None)
        if not callable(experiment):
            raise AttributeError(f"the program defines no function {experiment_fn_name}")
        for index in range(num_runs):
            kwargs = get_experiment_kwargs(index) if get_experiment_kwargs else {"seed": index + 1}
            started = time.perf_counter()
            result = experiment(**kwargs)
            times.append(time.perf_counter() - started)
            results.append(result)
            if validate_fn is not None:
                valid, message = validate_fn(result)
                if not valid:
                    invalid += 1
                    if message and message not in errors:
                        errors.append(message)
        if aggregate_metrics_fn is not None:
            metrics = dict(aggregate_metrics_fn(results))
        else:
            metrics = {"num_successful_runs": len(results)}
        metrics["execution_time_mean"] = statistics.fmean(times) if times else 0.0
        metrics["execution_time_std"] = statistics.pstdev(times) if times else 0.0
        if validate_fn is not None:
            metrics.update(
                num_valid_runs=len(results) - invalid, num_invalid_runs=invalid, all_validation_errors=errors
            )
        correct = invalid == 0
        first_error = f"Validation failed: {errors[0]}" if errors else None
        score = metrics.get("combined_score")
        if isinstance(score, int | float) and not math.isfinite(score):
            correct, first_error = False, first_error or f"combined_score is {score}"
        elif not correct and first_error is None:
            first_error = "Validation failed"
    except Exception as error:  # the candidate's failure is this evaluation's result, not a crash
        metrics = {**ERROR_METRICS, **(default_metrics_on_error or {}), "all_validation_errors": [str(error)]}
        correct, first_error = False, str(error)
    metrics.pop("extra_data", None)
    save_json_results(results_dir, metrics, correct, first_error)
    return metrics, correct, first_error
