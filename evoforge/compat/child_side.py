"""Foreign evaluators inside the sandbox child (stdlib only, no evoforge imports): ShinkaEvolve's
``evaluate.py`` scripts, and the stand-ins for what OpenEvolve's and ShinkaEvolve's evaluators import.

A ShinkaEvolve task's ``evaluate.py`` is a script: called with ``--program_path`` and
``--results_dir``, it writes ``metrics.json`` (``combined_score``, a ``public`` and a ``private`` dict,
``text_feedback``) and ``correct.json`` (``correct``, ``error``). The script runs in this process under
``__name__ == "__main__"`` (the child is thrown away after one evaluation anyway), with ``shinka.core``
served by evoforge's stand-in when ShinkaEvolve is not installed.

Mapping: numeric top-level and ``public`` values become metrics; ``private`` numeric values become
metrics named ``private_<name>`` (evoforge has no hidden metrics: they are stored and shown like the
others); text values and ``text_feedback`` become artifacts, which the next prompt shows. A result
whose ``correct`` is false is a failed evaluation carrying the script's error.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import runpy
import sys
import types
from typing import Any

SHIMS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "shims")


class ShinkaResultError(Exception):
    """The script ran but its result says the program is incorrect, or it wrote no result."""


def use_shims_for(package: str) -> None:
    """Serve ``package`` from evoforge's stand-ins, last on the path, when it is not installed."""
    if importlib.util.find_spec(package) is None and SHIMS not in sys.path:
        sys.path.append(SHIMS)


def use_shims_for_evaluator(path: str) -> set[str]:
    """Offer the stand-in packages an evaluator names, when they are not installed (cheap: a text
    test); the names of those packages."""
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            source = file.read()
    except OSError:
        return set()
    named = {package for package in ("openevolve", "shinka") if package in source}
    for package in named:
        use_shims_for(package)
    return named


def adapt_openevolve_evaluator(module: Any) -> None:
    """OpenEvolve keeps text values among an evaluator's metrics (``"error": "Timeout"``); evoforge's
    contract refuses them, so for an evaluator written for OpenEvolve they become artifacts."""
    for name in ("evaluate", "evaluate_stage1", "evaluate_stage2", "evaluate_stage3"):
        function = getattr(module, name, None)
        if callable(function):
            setattr(module, name, _text_as_artifacts(function))


def _text_as_artifacts(function: Any) -> Any:
    def adapted(program_path: str) -> Any:
        raw = function(program_path)
        metrics = raw if isinstance(raw, dict) else getattr(raw, "metrics", None)
        if not isinstance(metrics, dict) or not any(isinstance(v, str) for v in metrics.values()):
            return raw
        artifacts = dict(getattr(raw, "artifacts", None) or {})
        artifacts.update((k, v) for k, v in metrics.items() if isinstance(v, str))
        numbers = {k: v for k, v in metrics.items() if not isinstance(v, str)}
        return types.SimpleNamespace(metrics=numbers, artifacts=artifacts)

    return adapted


def run_script(script: str, program_path: str, results_dir: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Run ``evaluate.py`` as its own ``__main__`` and read back (metrics, artifacts)."""
    use_shims_for("shinka")
    os.makedirs(results_dir, exist_ok=True)
    argv = sys.argv
    sys.argv = [script, "--program_path", program_path, "--results_dir", results_dir]
    try:
        with contextlib.suppress(SystemExit):  # argparse and sys.exit(0) at the end of main()
            runpy.run_path(script, run_name="__main__")
    finally:
        sys.argv = argv
    return read_results(results_dir)


def read_results(results_dir: str) -> tuple[dict[str, Any], dict[str, str]]:
    metrics_file = os.path.join(results_dir, "metrics.json")
    if not os.path.isfile(metrics_file):
        raise ShinkaResultError("evaluate.py wrote no metrics.json into --results_dir")
    with open(metrics_file, encoding="utf-8") as file:
        raw = json.load(file)
    correct = _read_correct(results_dir)
    if correct is not True:
        raise ShinkaResultError(f"incorrect: {correct or 'correct.json says false'}")
    return split_metrics(raw)


def _read_correct(results_dir: str) -> bool | str:
    """True, or the error the script recorded; no correct.json counts as correct (older scripts)."""
    path = os.path.join(results_dir, "correct.json")
    if not os.path.isfile(path):
        return True
    with open(path, encoding="utf-8") as file:
        record = json.load(file)
    if isinstance(record, dict) and record.get("correct") is True:
        return True
    return str(record.get("error") or "") if isinstance(record, dict) else ""


def split_metrics(raw: object) -> tuple[dict[str, Any], dict[str, str]]:
    if not isinstance(raw, dict):
        raise ShinkaResultError(f"metrics.json holds {type(raw).__name__}, expected an object")
    metrics: dict[str, Any] = {}
    artifacts: dict[str, str] = {}
    sections = (("", raw), ("", raw.get("public") or {}), ("private_", raw.get("private") or {}))
    for prefix, section in sections:
        if not isinstance(section, dict):
            continue
        for name, value in section.items():
            if name in ("public", "private") and section is raw:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                if isinstance(value, str) and value:
                    artifacts[prefix + name] = value
                continue
            metrics[prefix + name] = value
    return metrics, artifacts
