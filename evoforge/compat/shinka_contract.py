"""ShinkaEvolve's evaluator contract, run inside the sandbox child (stdlib only, no evoforge imports).

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
from typing import Any

SHIMS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "shims")


class ShinkaResultError(Exception):
    """The script ran but its result says the program is incorrect, or it wrote no result."""


def use_shims_for(package: str) -> None:
    """Serve ``package`` from evoforge's stand-ins, last on the path, when it is not installed."""
    if importlib.util.find_spec(package) is None and SHIMS not in sys.path:
        sys.path.append(SHIMS)


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
