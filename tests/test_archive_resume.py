"""A resume rebuilds what this issue's archive mechanisms decided: novelty rejections and let-throughs,
Pareto fronts, random migrations and island resets continue exactly as in the uninterrupted run."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from evoforge.config import Config, parse_config
from evoforge.controller import Controller
from evoforge.database.islands import IslandLog
from evoforge.database.novelty import TOO_SIMILAR
from evoforge.storage import SQLiteStore
from evoforge.testing.controllers import Recorder, grids
from evoforge.testing.controllers import run_controller as run_recorded
from evoforge.testing.programs import program_table

ITERATIONS = 32


def config() -> Config:
    return parse_config(
        {
            "seed": 5, "target_score": None, "llm": {"max_inflight": 4}, "evaluation": {"parallel": 2},
            "objectives": [{"metric": "combined_score"}, {"metric": "value", "direction": "min"}],
            "database": {
                "num_islands": 3, "migration_interval": 4, "reset_interval": 9,
                "migration_topology": "random",
                # the toy's children differ from their island's elites in one number: many are rejected
                "novelty": {"enabled": True, "threshold": 0.6, "max_resamples": 2},
            },
        }
    )  # fmt: skip


async def run_controller(run_dir: Path, iterations: int, stop_after: int | None = None) -> Controller:
    return await run_recorded(run_dir, config(), Recorder(), iterations, stop_after)


def stored(run_dir: Path) -> tuple[list[tuple[int, str, str]], dict[str, Any]]:
    """The run's failures and island log, programs named by submission."""
    with SQLiteStore.open(run_dir, readonly=True) as store:
        submission_of = {p.id: p.submission for p in store.programs()}
        failures = [
            (
                f.submission,
                f.kind,
                re.sub(r"program (\d+)", lambda m: f"submission {submission_of[int(m[1])]}", f.reason),
            )
            for f in store.failed_generations_by_submission()
            if f.kind != "cancelled"
        ]
        log = store.get_state(IslandLog.STATE_KEY)
    for event in log["events"]:
        for entry in event.get("moves", []) + event.get("founders", []):
            entry[-1] = submission_of[entry[-1]]
    return failures, log


@pytest.mark.parametrize("stop", ["budget", "in flight"])
def test_a_resume_continues_novelty_fronts_migrations_and_resets(tmp_path: Path, stop: str) -> None:
    straight = asyncio.run(run_controller(tmp_path / "straight", ITERATIONS))
    if stop == "budget":
        asyncio.run(run_controller(tmp_path / "stopped", 14))
    else:
        asyncio.run(run_controller(tmp_path / "stopped", ITERATIONS, stop_after=14))
    resumed = asyncio.run(run_controller(tmp_path / "stopped", ITERATIONS))

    assert program_table(tmp_path / "stopped") == program_table(tmp_path / "straight")
    assert stored(tmp_path / "stopped") == stored(tmp_path / "straight")
    assert grids(resumed) == grids(straight)
    assert straight.archive.fronts is not None and resumed.archive.fronts is not None
    fronts = [[p.submission for p in population.front] for population in straight.archive.fronts]
    assert [[p.submission for p in population.front] for population in resumed.archive.fronts] == fronts
    # what the comparison covers did happen: rejections, let-throughs, resets, fronts of several programs
    failures, log = stored(tmp_path / "straight")
    assert sum(kind == TOO_SIMILAR for _, kind, _ in failures) >= 3
    assert log["resets"] >= 2 and log["migrations"] >= 5
    assert max(len(front) for front in fronts) > 1
