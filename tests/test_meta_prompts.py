"""Meta-prompt evolution: snippets rewritten by a model, chosen by their children's improvement, stored."""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import re
import sqlite3
from pathlib import Path
from typing import Any

import evoforge
from evoforge.database.archive import AddStatus
from evoforge.llm.ensemble import Ensemble
from evoforge.llm.settings import LLMConfig, ModelConfig
from evoforge.mutators.base import Feedback, ProposalRequest
from evoforge.prompts.meta import META_OPERATOR, MetaPrompts
from evoforge.prompts.meta_settings import MetaPromptConfig
from evoforge.records import Program
from evoforge.storage import DB_FILENAME
from evoforge.testing.responders import current_program
from evoforge.testing.scripted_server import ScriptedServer
from evoforge.testing.tasks import evoforge_cli, write_task

GOOD = "Move each constant towards its best value."  # the snippet under which the scripted model succeeds
SEEDS = ["Rewrite everything from scratch.", GOOD]
LITERAL = re.compile(r"^(\s*x = )([-0-9.e]+)$", re.MULTILINE)
TAGGED = re.compile(r"<instructions>\s*(.*?)\s*</instructions>", re.DOTALL)


def program(score: float) -> Program:
    return Program(
        id=1, submission=1, code="", parent_id=0, inspiration_ids=(), island=0, generation=1, mutator="llm",
        metrics={}, artifacts={}, score=score, ok=True, features={}, created_at=0.0, eval_time_s=0.0,
    )  # fmt: skip


def request(submission: int) -> ProposalRequest:
    return ProposalRequest(submission, program(1.0), (), (), (), random.Random(submission))


def respond(request: dict[str, Any]) -> str:
    """A rewrite of a snippet keeps its first sentence and numbers the new one; a child's edit moves x
    towards 3.7 only when the system message holds the GOOD snippet, else the answer is prose."""
    messages = request["messages"]
    user = str(messages[-1]["content"])
    tagged = TAGGED.search(user)
    if tagged is not None and "improving on their parents" in user:
        first = tagged.group(1).split(" (rewrite")[0]
        return f"<instructions>\n{first} (rewrite {len(user) % 97})\n</instructions>"
    system = str(messages[0]["content"])
    match = LITERAL.search(current_program(request) or "")
    if GOOD not in system or match is None:
        return "I would start again from scratch, but I cannot show the code now."
    digest = hashlib.sha256(json.dumps([messages, request.get("seed")]).encode()).hexdigest()
    value = float(match.group(2))
    new = value + (3.7 - value) * random.Random(digest).uniform(0.2, 0.8)
    return f"<<<<<<< SEARCH\n{match.group(0)}\n=======\n{match.group(1)}{new!r}\n>>>>>>> REPLACE\n"


def test_the_snippet_whose_children_improve_is_chosen_most() -> None:
    meta = MetaPrompts(MetaPromptConfig(enabled=True, seeds=SEEDS, evolve_every=10**6))
    chosen = []
    for submission in range(1, 201):
        meta.ask(request(submission))
        text, call = asyncio.run(meta.instructions_for(request(submission), None))  # type: ignore[arg-type]
        assert call is None  # no rewrite is due
        meta.tell(Feedback(submission, program(2.0 if text == GOOD else 0.5), AddStatus.NOT_ADDED))
        chosen.append(text)
    late = chosen[100:]
    assert 0.75 < late.count(GOOD) / len(late) < 1.0  # mostly the better one, with some exploration
    assert [s.uses for s in meta.snippets] == [chosen.count(SEEDS[0]), chosen.count(GOOD)]


def test_a_rewrite_is_a_model_call_and_its_snippet_joins_with_its_parent_when_told() -> None:
    meta = MetaPrompts(MetaPromptConfig(enabled=True, seeds=[GOOD], evolve_every=2, min_uses=1))

    async def evolve() -> list[tuple[str, Any]]:
        with ScriptedServer(respond) as server:
            ensemble = Ensemble(LLMConfig(models=[ModelConfig(name="scripted", base_url=server.base_url)]))
            try:
                made = []
                for submission in (1, 2, 3):
                    meta.ask(request(submission))
                    made.append(await meta.instructions_for(request(submission), ensemble))
                    meta.tell(Feedback(submission, program(2.0), AddStatus.NEW_BEST))
                return made
            finally:
                await ensemble.aclose()

    made = asyncio.run(evolve())
    assert [call is None for _, call in made] == [True, False, True]
    text, call = made[1]
    assert call.operator == META_OPERATOR and call.submission == 2 and call.response is not None
    assert text.startswith(GOOD) and text != GOOD
    assert [(s.id, s.parent_id, s.text) for s in meta.snippets] == [(0, None, GOOD), (1, 0, text)]
    restored = MetaPrompts(MetaPromptConfig(enabled=True, seeds=["other"]))
    restored.restore(json.loads(json.dumps(meta.state())))
    assert restored.state() == meta.state()


def config(server: ScriptedServer) -> str:
    return (
        "seed: 5\nevaluation:\n  timeout_s: 20\n  parallel: 2\n"
        f"llm:\n  max_inflight: 2\n  models: [{{name: scripted, base_url: '{server.base_url}'}}]\n"
        f"meta_prompts:\n  enabled: true\n  evolve_every: 5\n  min_uses: 2\n  seeds: {json.dumps(SEEDS)}\n"
    )


def rows(run_dir: Path, sql: str) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(f"{(run_dir / DB_FILENAME).as_uri()}?mode=ro", uri=True)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def test_a_run_evolves_its_snippets_stores_their_lineage_and_resumes_them(tmp_path: Path) -> None:
    with ScriptedServer(respond) as server:
        task = write_task(tmp_path, config(server))
        evoforge.evolve(task, run_dir=tmp_path / "straight", iterations=30)
        evoforge.evolve(task, run_dir=tmp_path / "stopped", iterations=15)
        resumed = evoforge_cli("resume", str(tmp_path / "stopped"), "--iterations", "30")
        assert resumed.returncode == 0, resumed.stderr
    straight = tmp_path / "straight"
    snippets = rows(straight, "SELECT id, parent_id, text, submission, uses FROM meta_prompts ORDER BY id")
    assert [row[:3] for row in snippets[:2]] == [(0, None, SEEDS[0]), (1, None, GOOD)]
    evolved = snippets[2:]
    assert evolved and all(parent is not None and parent < i for i, parent, *_ in evolved)
    rewrites = rows(straight, f"SELECT submission FROM llm_calls WHERE operator = '{META_OPERATOR}'")
    assert {submission for _, _, _, submission, _ in evolved} <= {s for (s,) in rewrites}
    good_uses = sum(uses for _, _, text, _, uses in snippets if text.startswith(GOOD))
    assert good_uses > sum(uses for *_, uses in snippets) / 2  # the improving lineage is used most
    systems = "SELECT submission, messages FROM llm_calls ORDER BY submission, id"
    assert rows(tmp_path / "stopped", systems) == rows(straight, systems)  # the same prompts after a resume
    assert rows(tmp_path / "stopped", "SELECT * FROM meta_prompts")[2:] != []
