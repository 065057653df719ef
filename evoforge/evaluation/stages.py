"""The controller's side of the cascade and of ``fingerprint()``: read what the child reported, and
sum up what the cascade saved (``status``, ``--json``, the dashboard).

What a program's cascade did is stored in the ``stages`` table (``passed``: stages passed;
``times_s``: the seconds of each stage that ran); ``passed < len(times_s)`` means the last stage that
ran rejected the child, so the later stages never ran for it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from evoforge.evaluation.settings import MAX_STAGES
from evoforge.records import code_digest

MAX_FINGERPRINT_CHARS = 4096  # as cascade.py, which the controller does not import


def answer_extras(answer: Mapping[str, Any]) -> dict[str, Any]:
    """The Evaluation fields an answer's ``cascade`` and ``fingerprint`` give; malformed ones (the
    answer is written next to the candidate) are left out rather than trusted."""
    extras: dict[str, Any] = {}
    cascade = answer.get("cascade")
    if isinstance(cascade, dict):
        passed, times = cascade.get("passed"), cascade.get("times_s")
        if (
            type(passed) is int
            and isinstance(times, list)
            and 0 <= passed <= len(times) <= MAX_STAGES
            and all(type(t) in (int, float) and math.isfinite(t) and t >= 0 for t in times)
        ):
            extras["stages_passed"] = passed
            extras["stage_times_s"] = tuple(float(t) for t in times)
    fingerprint = answer.get("fingerprint")
    if isinstance(fingerprint, str) and len(fingerprint) <= MAX_FINGERPRINT_CHARS:
        extras["fingerprint"] = code_digest(fingerprint)
    return extras


def cascade_summary(records: Iterable[tuple[int, list[float]]]) -> dict[str, Any]:
    """Children rejected by each stage and the evaluation time saved, from (passed, times_s) records.

    The time saved is an estimate: for each rejected child, the mean time of every later stage over
    the children that ran it (a stage no child ever reached counts nothing).
    """
    runs: dict[int, list[float]] = {}
    rejected = [0] * MAX_STAGES
    stopped: list[int] = []
    cascaded = 0
    for passed, times in records:
        cascaded += 1
        for stage, seconds in enumerate(times, start=1):
            runs.setdefault(stage, []).append(seconds)
        if passed < len(times):
            rejected[len(times) - 1] += 1
            stopped.append(len(times))
    mean = {stage: math.fsum(seconds) / len(seconds) for stage, seconds in runs.items()}
    saved = math.fsum(mean.get(later, 0.0) for last in stopped for later in range(last + 1, MAX_STAGES + 1))
    return {
        "evaluated": cascaded,
        "rejected_by_stage": {f"stage{n}": rejected[n - 1] for n in range(1, MAX_STAGES + 1)},
        "mean_stage_time_s": {f"stage{n}": mean[n] for n in sorted(mean)},
        "time_saved_s": saved,
    }
