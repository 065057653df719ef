"""``evoforge replay RUN_DIR --into NEW_RUN_DIR``: a recorded run again, the model's answers from its record.

The run is started afresh with the recorded seed and configuration; every model request is answered
by a local chat-completions server (the project's scripted server) with the answer recorded for the
same messages, in submission order, so the real client path runs and no provider is asked. Every
program is evaluated again. With a deterministic evaluator the replay stores the same programs with
the same metrics (evoforge's runs are reproducible at any concurrency, see controller.py); a program
whose code or metrics differ beyond a tolerance names a non-deterministic or a changed evaluator, or
the first point where the replay left the record. Token counts in the replay are the scripted
server's estimates, not the recorded ones.
"""

from __future__ import annotations

import json
import math
import threading
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evoforge.config import Config, parse_config
from evoforge.errors import StoreError, TaskError
from evoforge.records import LLMCall, Program
from evoforge.runfiles import DB_FILENAME
from evoforge.storage import SQLiteStore
from evoforge.task import Task, load_task
from evoforge.testing.chat_protocol import Answer, Fault


def _request_key(messages: Iterable[Any], seed: Any) -> str:
    return json.dumps([list(messages), seed], sort_keys=True, separators=(",", ":"))


class RecordedAnswers:
    """A scripted-server responder serving each recorded answer once: to the request with the same
    messages and seed (each request of a seeded run carries its own seed, see mutators/llm.py).

    A request that matches no recorded one (its prompt shows other scores: the evaluator changed, or
    the replay left the record) gets the earliest answer not served yet, counted in ``unmatched``, so
    that the replay goes on and its programs can be compared; with none left, prose without an edit.
    """

    def __init__(self, calls: Iterable[LLMCall]) -> None:
        answered = [call for call in calls if call.response is not None]
        self._by_request: dict[str, deque[int]] = defaultdict(deque)
        for index, call in enumerate(answered):
            self._by_request[_request_key(call.messages, call.seed)].append(index)
        self._responses = [call.response or "" for call in answered]
        self._unserved = dict.fromkeys(range(len(answered)))  # insertion-ordered: by submission
        self._lock = threading.Lock()
        self.unmatched = 0

    def __call__(self, request: dict[str, Any]) -> Answer:
        with self._lock:
            same = self._by_request.get(_request_key(request.get("messages") or [], request.get("seed")))
            while same and same[0] not in self._unserved:
                same.popleft()
            if same:
                index = same.popleft()
            else:
                self.unmatched += 1
                if not self._unserved:
                    return Fault.GARBAGE
                index = next(iter(self._unserved))
            del self._unserved[index]
            return self._responses[index]


@dataclass(frozen=True)
class RecordedRun:
    """What a replay needs of the recorded run."""

    task: Task
    config: Config
    calls: tuple[LLMCall, ...]
    programs: dict[int, Program]  # by submission


def read_recorded_run(run_dir: Path) -> RecordedRun:
    if not (run_dir / DB_FILENAME).is_file():
        raise StoreError(f"{run_dir}: no run here ({DB_FILENAME} not found)")
    with SQLiteStore.open(run_dir, readonly=True) as store:
        info = store.info()
        calls = tuple(store.llm_calls_by_submission())
        programs = {p.submission: p for p in store.programs_by_submission()}
    try:
        task = load_task(info.task_dir)
    except TaskError as error:
        raise TaskError(f"{error} (the task of the run in {run_dir})") from None
    config = parse_config(dict(info.config), f"{run_dir / DB_FILENAME} (stored config)")
    # The same number of programs, whatever stopped the recorded run (wall time, a signal).
    config = config.model_copy(update={"iterations": len(programs), "max_wall_time_s": None})
    return RecordedRun(task, config, calls, programs)


@dataclass(frozen=True)
class Difference:
    submission: int
    what: str


def compare_runs(
    recorded: dict[int, Program], replayed: dict[int, Program], tolerance: float
) -> list[Difference]:
    """How the replayed programs differ from the recorded ones, submission by submission."""
    differences: list[Difference] = []
    for submission in sorted(recorded.keys() | replayed.keys()):
        old, new = recorded.get(submission), replayed.get(submission)
        if new is None:
            differences.append(Difference(submission, "recorded, but the replay made no program"))
        elif old is None:
            differences.append(Difference(submission, "made by the replay only"))
        elif old.code != new.code:
            differences.append(Difference(submission, "different code"))
        else:
            differences.extend(Difference(submission, d) for d in _metric_differences(old, new, tolerance))
    return differences


def _metric_differences(old: Program, new: Program, tolerance: float) -> list[str]:
    found = []
    if old.ok != new.ok:
        found.append(f"evaluation {'succeeded' if old.ok else 'failed'} when recorded, not in the replay")
    for name in sorted(old.metrics.keys() | new.metrics.keys()):
        a, b = old.metrics.get(name), new.metrics.get(name)
        if a is None or b is None:
            found.append(f"metric {name}: {'only recorded' if b is None else 'only replayed'}")
        elif a != b and not math.isclose(float(a), float(b), rel_tol=tolerance, abs_tol=tolerance):
            found.append(f"metric {name}: recorded {float(a):.10g}, replayed {float(b):.10g}")
    return found


def replayed_programs(run_dir: Path) -> dict[int, Program]:
    with SQLiteStore.open(run_dir, readonly=True) as store:
        return {p.submission: p for p in store.programs_by_submission()}
