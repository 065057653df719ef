"""An OpenEvolve checkpoint (``checkpoints/checkpoint_N``) as an evoforge run that ``evoforge resume``
continues.

A checkpoint holds ``metadata.json`` (islands, best program) and one ``programs/<id>.json`` per program
(code, parent, generation, metrics, artifacts), but not the task: the task folder is given, and its
evaluator scores what is evolved next. Programs are stored in the order OpenEvolve found them
(``iteration_found``, then ``timestamp``), one submission each, the first (the one without a parent)
as the initial program; parents and islands keep their links. The stored metrics are taken as they are,
text values as artifacts; nothing is evaluated again (``evoforge verify`` does that).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evoforge import __version__
from evoforge.config import Config
from evoforge.database.features import FeatureReference, compute_features
from evoforge.errors import StoreError, TaskError
from evoforge.evaluation.contract import ContractError, primary_score
from evoforge.records import Candidate, Evaluation, RunInfo
from evoforge.storage import SQLiteStore
from evoforge.task import Task


@dataclass(frozen=True)
class _Found:
    """One program of the checkpoint, as read."""

    key: str
    code: str
    parent: str | None
    generation: int
    metrics: dict[str, float]
    artifacts: dict[str, str]
    order: tuple[float, float]


def read_checkpoint(directory: Path) -> tuple[list[_Found], dict[str, int]]:
    """The checkpoint's programs in the order found, and each program's island (0 when unknown)."""
    programs_dir = directory / "programs"
    if not programs_dir.is_dir():
        raise StoreError(f"{directory}: not an OpenEvolve checkpoint (no programs/ folder)")
    found = [_read_program(path) for path in sorted(programs_dir.glob("*.json"))]
    if not found:
        raise StoreError(f"{directory}: the checkpoint holds no program")
    islands: dict[str, int] = {}
    metadata = directory / "metadata.json"
    if metadata.is_file():
        for index, members in enumerate(_json(metadata).get("islands") or []):
            islands.update((str(key), index) for key in members)
    return sorted(found, key=lambda f: (f.parent is not None, f.order, f.key)), islands


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise StoreError(f"{path}: cannot read: {error}") from None
    if not isinstance(data, dict):
        raise StoreError(f"{path}: expected a JSON object")
    return data


def _read_program(path: Path) -> _Found:
    data = _json(path)
    if not isinstance(data.get("code"), str) or data.get("id") is None:
        raise StoreError(f"{path}: a program needs its id and code")
    metrics, artifacts = _split(data.get("metrics") or {})
    stored = data.get("artifacts_json")
    if isinstance(stored, str) and stored:
        try:
            extra = json.loads(stored)
        except ValueError:
            extra = {"artifacts": stored}
        if isinstance(extra, dict):
            artifacts.update((str(k), v if isinstance(v, str) else json.dumps(v)) for k, v in extra.items())
    parent = data.get("parent_id")
    return _Found(
        key=str(data["id"]),
        code=data["code"],
        parent=None if parent is None else str(parent),
        generation=int(data.get("generation") or 0),
        metrics=metrics,
        artifacts=artifacts,
        order=(float(data.get("iteration_found") or 0), float(data.get("timestamp") or 0.0)),
    )


def _split(raw: Mapping[str, Any]) -> tuple[dict[str, float], dict[str, str]]:
    metrics: dict[str, float] = {}
    artifacts: dict[str, str] = {}
    for name, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            artifacts[str(name)] = value if isinstance(value, str) else json.dumps(value)
        elif math.isfinite(value) or value == -math.inf:
            metrics[str(name)] = float(value)
    return metrics, artifacts


def _evaluation(found: _Found, score_metric: str | None) -> Evaluation:
    try:
        score = primary_score(found.metrics, score_metric)
    except ContractError:
        score = -math.inf
    return Evaluation(metrics=found.metrics, artifacts=found.artifacts, score=score, ok=True)


def import_checkpoint(directory: Path, task: Task, config: Config, run_dir: Path) -> int:
    """Write the run; the number of programs imported."""
    found, islands = read_checkpoint(directory)
    if found[0].parent is not None:
        raise TaskError(f"{directory}: no program without a parent to start from")
    reference = FeatureReference.from_code(found[0].code)
    dimensions = config.database.feature_dimensions
    ids: dict[str, int] = {}
    iterations = max(config.iterations, len(found))
    info = RunInfo(
        task_dir=str(task.directory),
        task_name=task.name,
        config=config.model_copy(update={"iterations": iterations}).model_dump(mode="json"),
        seed=config.seed,
        created_at=time.time(),
        evoforge_version=__version__,
    )
    store: SQLiteStore | None = None
    try:
        for submission, program in enumerate(found):
            evaluation = _evaluation(program, config.score_metric)
            candidate = Candidate(
                submission=submission,
                code=program.code,
                parent_id=ids.get(program.parent or "", 0 if submission else None),
                inspiration_ids=(),
                island=islands.get(program.key, 0) % config.database.num_islands,
                generation=program.generation,
                mutator="initial" if submission == 0 else "openevolve",
            )
            features = compute_features(program.code, evaluation.metrics, reference, dimensions)
            if store is None:
                store = SQLiteStore.create(run_dir, info, (candidate, evaluation, features))
            else:
                store.add_program(candidate, evaluation, features)
            ids[program.key] = submission
        assert store is not None
        store.set_state("iterations", iterations)
    finally:
        if store is not None:
            store.close()
    return len(found)
