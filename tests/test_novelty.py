"""Novelty: the lexical embedding, rejection of near-twins before evaluation (resampled, never an iteration
lost), the let-through after max_resamples, determinism, the remote /v1/embeddings path, the feature."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import evoforge
from evoforge.budgets import MAX_CONSECUTIVE_FAILURES
from evoforge.database.embeddings import RemoteEmbedder, lexical_embedding
from evoforge.database.novelty import TOO_SIMILAR, Novelty, NoveltyPolicy
from evoforge.database.settings import EmbeddingConfig, NoveltyConfig
from evoforge.events import GenerationFailed
from evoforge.failstreak import FailureStreak
from evoforge.records import FailedGeneration
from evoforge.storage import SQLiteStore
from evoforge.testing.programs import program, program_table
from evoforge.testing.responders import current_program, tweak_constants_responder
from evoforge.testing.scripted_server import ScriptedServer
from evoforge.testing.tasks import evoforge_cli, write_task

PROGRAM = '''"""A toy with several statements; one constant sets the answer."""

# EVOLVE-BLOCK-START
def solve():
    base = 1.0
    scale = 2.0
    offset = 0.5
    total = base * scale + offset
    total = total - offset
    total = total / scale
    return total
# EVOLVE-BLOCK-END
'''
TWEAKED = PROGRAM.replace("scale = 2.0", "scale = 2.7")
REWRITTEN = re.sub(
    r"def solve.*return total\n", "def solve():\n    return sum(range(4)) / 1.7\n", PROGRAM, flags=re.S
)
BLOCK = re.compile(r"# EVOLVE-BLOCK-START\n(.*?)\n# EVOLVE-BLOCK-END", re.S)


def tweak_unless_told(request: dict[str, Any]) -> str:
    """A near-twin of the parent (one constant moved) unless the prompt says a child was too similar;
    then a rewrite of the whole block, different each time (so never a duplicate)."""
    prompt = json.dumps(request["messages"])
    if "too similar" not in prompt:
        return tweak_constants_responder(seed=1)(request)
    block = BLOCK.search(current_program(request) or "")
    if block is None:
        return "no block"
    digest = int(hashlib.sha256(f"{prompt}{request.get('seed')}".encode()).hexdigest()[:6], 16)
    values = f"[i * {digest % 97 + 1} for i in range({digest % 13 + 2})]"
    body = f"def solve():\n    values = {values}\n    return max(values) / 9"
    return f"<<<<<<< SEARCH\n{block.group(1)}\n=======\n{body}\n>>>>>>> REPLACE\n"


def run_with_server(
    tmp_path: Path, name: str, novelty: dict[str, Any], *, latency: float = 0.0, **extra: Any
) -> ScriptedServer:
    task = tmp_path / f"task-{name}"
    if not task.exists():
        write_task(
            tmp_path, "evaluation: {timeout_s: 20, parallel: 2}\n", name=f"task-{name}", program=PROGRAM
        )
    with ScriptedServer(tweak_unless_told, latency_s=latency) as server:
        evoforge.evolve(
            task, run_dir=tmp_path / name, iterations=14, seed=3, target_score=None,
            llm__models=[{"name": "scripted", "base_url": server.base_url}], llm__max_inflight=3,
            database__num_islands=1, database__novelty=novelty, **extra,
        )  # fmt: skip
    return server


def failures(run_dir: Path) -> list[tuple[int, str, str]]:
    with SQLiteStore.open(run_dir, readonly=True) as store:
        return [(f.submission, f.kind, f.reason) for f in store.failed_generations_by_submission()]


def test_the_lexical_embedding_is_unit_length_and_tells_twins_from_rewrites() -> None:
    vectors = {name: lexical_embedding(code, 3, 1024) for name, code in
               (("program", PROGRAM), ("tweaked", TWEAKED), ("rewritten", REWRITTEN))}  # fmt: skip
    assert all(np.linalg.norm(v) == pytest.approx(1.0) for v in vectors.values())
    assert vectors["program"] @ vectors["program"] == pytest.approx(1.0)
    assert vectors["program"] @ vectors["tweaked"] > 0.9 > 0.7 > vectors["program"] @ vectors["rewritten"]
    assert np.array_equal(lexical_embedding(PROGRAM, 3, 1024), vectors["program"])  # no per-process salt


def test_after_max_resamples_rejections_an_island_lets_its_next_child_through() -> None:
    policy = NoveltyPolicy(max_resamples=2, gate=True, islands=2)
    members = (program(PROGRAM, 0, 1.0),)
    gated = []
    for submission, outcome in enumerate([TOO_SIMILAR, TOO_SIMILAR, None, "program", None], start=1):
        policy.requested(submission, 0, members)
        gated.append(policy.take(submission).gated)
        if outcome == "program":
            policy.applied(submission, 0, members[0], None)
        else:
            policy.applied(submission, 0, None, outcome)
    assert gated == [True, True, False, False, True]  # two rejections in a row open the gate until a program
    policy.requested(9, 1, members)
    assert policy.take(9).gated  # the other island has its own count


def test_near_twins_are_rejected_and_resampled_and_the_run_reaches_its_iterations(tmp_path: Path) -> None:
    server = run_with_server(tmp_path, "run", {"enabled": True, "threshold": 0.85, "max_resamples": 3})
    with evoforge.load_run(tmp_path / "run") as run:
        status = run.status()
    assert status["evaluated"] == 14  # the target, although children were rejected
    rejected = [(s, reason) for s, kind, reason in failures(tmp_path / "run") if kind == TOO_SIMILAR]
    assert len(rejected) >= 3
    for _, reason in rejected:
        similarity = float(re.search(r"cosine similarity (\S+) >=", reason).group(1))
        assert similarity >= 0.85 and re.search(r"too similar to program \d+ of its island", reason)
    other = sum(count for kind, count in status["failures_by_kind"].items())
    assert len(server.requests) == status["evaluated"] - 1 + other  # each rejection asked the model again
    told = [r for r in server.requests if "too similar to program" in json.dumps(r["messages"])]
    assert told  # the rejection reached the model as a note on its parent


def test_without_novelty_the_same_run_rejects_nothing(tmp_path: Path) -> None:
    run_with_server(tmp_path, "off", {"enabled": False, "threshold": 0.85})
    assert [kind for _, kind, _ in failures(tmp_path / "off") if kind == TOO_SIMILAR] == []


def test_a_seeded_run_with_novelty_repeats_at_any_model_latency(tmp_path: Path) -> None:
    novelty = {"enabled": True, "threshold": 0.85, "max_resamples": 2}
    run_with_server(tmp_path, "fast", novelty, latency=0.0)
    run_with_server(tmp_path, "slow", novelty, latency=0.03)
    assert program_table(tmp_path / "fast") == program_table(tmp_path / "slow")
    assert failures(tmp_path / "fast") == failures(tmp_path / "slow")


def test_the_remote_embeddings_path_measures_through_v1_embeddings(tmp_path: Path) -> None:
    with ScriptedServer(["unused"]) as embeddings:
        novelty = {
            "enabled": True,
            "threshold": 0.999,
            "embedding": {"model": "tiny", "base_url": embeddings.base_url},
        }
        run_with_server(tmp_path, "remote", novelty)
        asked = embeddings.embedding_requests
    assert asked and all(request["model"] == "tiny" for request in asked)
    assert embeddings.requests == []  # only the embeddings route was used
    assert any(kind == TOO_SIMILAR for _, kind, _ in failures(tmp_path / "remote"))


def test_an_unreachable_embeddings_endpoint_lets_children_through(tmp_path: Path) -> None:
    config = NoveltyConfig(
        enabled=True, embedding=EmbeddingConfig(model="m", base_url="http://127.0.0.1:9/v1")
    )
    novelty = Novelty(config, NoveltyPolicy(3, True, 1), RemoteEmbedder(config.embedding))
    novelty.policy.requested(1, 0, (program(PROGRAM, 0, 1.0),))

    async def judge() -> tuple[object, object]:
        try:
            return await novelty.judge(1, PROGRAM)
        finally:
            await novelty.aclose()

    assert asyncio.run(judge()) == (None, None)


def test_novelty_as_a_feature_dimension(tmp_path: Path) -> None:
    task = write_task(tmp_path, "evaluation: {timeout_s: 20, parallel: 2}\n", program=PROGRAM)
    evoforge.evolve(
        task, run_dir=tmp_path / "run", iterations=12, seed=1, target_score=None, mutators={"gp": 1.0},
        database__feature_dimensions=["novelty", "code_length"],
    )  # fmt: skip
    with evoforge.load_run(tmp_path / "run") as run:
        children = [p for p in run.programs() if p.id > 0]
    values = [p.features["novelty"] for p in children]
    assert len(values) == 11 and all(0.0 <= v <= 1.0 for v in values) and len(set(values)) > 1
    assert not any(kind == TOO_SIMILAR for _, kind, _ in failures(tmp_path / "run"))  # measured, not gated


def test_a_malformed_embeddings_url_is_one_config_line(tmp_path: Path) -> None:
    task = write_task(
        tmp_path, "database: {novelty: {enabled: true, embedding: {model: m, base_url: nope}}}\n"
    )
    result = evoforge_cli("run", str(task), "--run-dir", str(tmp_path / "run"), "--iterations", "1")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "database.novelty.embedding.base_url: expected an http:// or https:// URL" in result.stderr


def test_a_run_stalled_by_rejections_says_which_keys_to_change() -> None:
    streak = FailureStreak()
    for count in range(1, MAX_CONSECUTIVE_FAILURES + 1):
        rejected = FailedGeneration(
            count, TOO_SIMILAR, "too similar to program 0", parent_id=0, created_at=0.0
        )
        streak(GenerationFailed(rejected, count))
    assert streak.stopped_the_run
    assert "raise database.novelty.threshold or lower database.novelty.max_resamples" in str(streak.error())
