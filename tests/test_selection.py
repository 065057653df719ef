"""The (model, operator) arm selector: fixed weights as before, bandits that learn, state across a resume."""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

import evoforge
from evoforge.database.archive import AddStatus
from evoforge.llm.selection import KEPT_REWARD, Arm, ArmSelector, reward
from evoforge.llm.settings import SelectionConfig
from evoforge.mutators.base import Feedback, ProposalRequest
from evoforge.records import Program
from evoforge.storage import DB_FILENAME
from evoforge.testing.responders import current_program
from evoforge.testing.scripted_server import ScriptedServer
from evoforge.testing.tasks import evoforge_cli, write_task

LITERAL = re.compile(r"^(\s*x = )([-0-9.e]+)$", re.MULTILINE)


def program(score: float, ok: bool = True) -> Program:
    return Program(
        id=1, submission=1, code="", parent_id=0, inspiration_ids=(), island=0, generation=1, mutator="llm",
        metrics={}, artifacts={}, score=score, ok=ok, features={}, created_at=0.0, eval_time_s=0.0,
    )  # fmt: skip


def request(submission: int, parent_score: float = 1.0) -> ProposalRequest:
    return ProposalRequest(submission, program(parent_score), (), (), (), random.Random(submission))


def test_the_weights_policy_draws_the_model_as_the_ensemble_did() -> None:
    """One model weight per arm and one operator: the arm is today's ``rng.choices`` over the models."""
    selector = ArmSelector([("a", 3.0), ("b", 1.0), ("c", 0.5)], {"diff": 0.6}, SelectionConfig())
    for submission in range(500):
        expected = random.Random(submission).choices([0, 1, 2], weights=[3.0, 1.0, 0.5])[0]
        assert selector.ask(request(submission)) == Arm(expected, "diff")


def test_the_reward_of_each_outcome() -> None:
    parent = 1.0
    assert reward(Feedback(1, program(2.0), AddStatus.IMPROVED_CELL), parent) == 1.0
    assert reward(Feedback(1, program(0.5), AddStatus.NEW_CELL), parent) == KEPT_REWARD
    assert reward(Feedback(1, program(0.5), AddStatus.NOT_ADDED), parent) == 0.0
    assert reward(Feedback(1, program(float("-inf"), ok=False)), parent) == 0.0
    assert reward(Feedback(1, None, failure="no_edit"), parent) == 0.0
    assert reward(Feedback(1, None, failure="cancelled"), parent) is None


@pytest.mark.parametrize("policy", ["ucb1", "thompson"])
def test_a_bandit_learns_the_better_arm_and_ignores_what_it_was_told_already(policy: str) -> None:
    selector = ArmSelector(
        [("a", 1.0), ("b", 1.0)], {"diff": 1.0, "rewrite": 1.0}, SelectionConfig(policy=policy)
    )
    good = Arm(1, "rewrite")
    late = []
    for submission in range(1, 301):
        arm = selector.ask(request(submission))
        score = 2.0 if arm == good else 0.5
        selector.tell(Feedback(submission, program(score), AddStatus.NOT_ADDED))
        selector.tell(Feedback(submission, program(score), AddStatus.NOT_ADDED))  # a resume tells it again
        late += [arm] if submission > 150 else []
    assert late.count(good) / len(late) > 0.8
    rows = {(row["model"], row["operator"]): row for row in selector.report()}
    assert rows["b", "rewrite"]["weight"] > 0.8
    assert sum(row["outcomes"] for row in rows.values()) == 300


def test_the_cost_aware_bandit_prefers_the_cheaper_of_two_equal_arms() -> None:
    config = SelectionConfig(policy="thompson", cost_aware=True)
    selector = ArmSelector([("dear", 1.0), ("cheap", 1.0)], {"diff": 1.0}, config)
    late = []
    for submission in range(1, 301):
        arm = selector.ask(request(submission))
        selector.charge(submission, arm.model, 0.01 if arm.model == 0 else 0.001)
        score = 2.0 if submission % 2 else 0.5  # both arms succeed half of the time
        selector.tell(Feedback(submission, program(score), AddStatus.NOT_ADDED))
        late += [arm.model] if submission > 150 else []
    assert late.count(1) / len(late) > 0.8


def test_a_call_answered_by_another_model_credits_that_models_arm() -> None:
    selector = ArmSelector([("a", 1.0), ("b", 1.0)], {"diff": 1.0}, SelectionConfig(policy="ucb1"))
    arm = selector.ask(request(1))
    other = 1 - arm.model
    selector.charge(1, other, 0.0)  # the chosen model was resting: the ensemble asked the other one
    selector.tell(Feedback(1, program(2.0), AddStatus.NEW_BEST))
    rows = selector.state()["arms"]
    assert [(row["model"], row["told"], row["pulls"]) for row in rows if row["told"]] == [(other, 1, 1)]


def operator_responder(request: dict[str, Any]) -> str:
    """Useful SEARCH/REPLACE edits to a diff prompt (x moves towards 3.7), prose to any other operator."""
    text = "\n".join(str(message.get("content")) for message in request["messages"])
    code = current_program(request)
    match = LITERAL.search(code or "")
    if "<<<<<<< SEARCH" not in text or match is None:
        return "I would restructure the whole program, but I cannot show the code right now."
    digest = hashlib.sha256(json.dumps([request["messages"], request.get("seed")]).encode()).hexdigest()
    value = float(match.group(2))
    new = value + (3.7 - value) * random.Random(digest).uniform(0.2, 0.8)
    return f"<<<<<<< SEARCH\n{match.group(0)}\n=======\n{match.group(1)}{new!r}\n>>>>>>> REPLACE\n"


def config(server: ScriptedServer, policy: str) -> str:
    return (
        "seed: 3\nevaluation:\n  timeout_s: 20\n  parallel: 2\n"
        f"llm:\n  max_inflight: 2\n  models: [{{name: scripted, base_url: '{server.base_url}'}}]\n"
        f"  selection: {{policy: {policy}}}\nprompt:\n  operators: {{diff: 1.0, rewrite: 1.0}}\n"
    )


def operators_by_submission(run_dir: Path) -> list[str]:
    db = sqlite3.connect(f"{(run_dir / DB_FILENAME).as_uri()}?mode=ro", uri=True)
    try:
        return [op for (op,) in db.execute("SELECT operator FROM llm_calls ORDER BY submission, id")]
    finally:
        db.close()


@pytest.mark.parametrize(("policy", "least", "most"), [("weights", 0.3, 0.7), ("thompson", 0.8, 1.0)])
def test_the_bandit_shifts_generations_to_the_operator_that_succeeds(
    tmp_path: Path, policy: str, least: float, most: float
) -> None:
    """The scripted model answers diff prompts with improvements and rewrite prompts with prose."""
    with ScriptedServer(operator_responder) as server:
        task = write_task(tmp_path, config(server, policy))
        evoforge.evolve(task, run_dir=tmp_path / "run", iterations=40)
    late = operators_by_submission(tmp_path / "run")[20:]
    assert least <= late.count("diff") / len(late) <= most


def test_a_stopped_and_resumed_run_chooses_the_arms_of_one_uninterrupted_run(tmp_path: Path) -> None:
    with ScriptedServer(operator_responder) as server:
        task = write_task(tmp_path, config(server, "thompson"))
        evoforge.evolve(task, run_dir=tmp_path / "straight", iterations=30)
        evoforge.evolve(task, run_dir=tmp_path / "stopped", iterations=15)
        resumed = evoforge_cli("resume", str(tmp_path / "stopped"), "--iterations", "30")
        assert resumed.returncode == 0, resumed.stderr
    assert operators_by_submission(tmp_path / "stopped") == operators_by_submission(tmp_path / "straight")
    shown = evoforge_cli("status", str(tmp_path / "stopped"), "--json")
    arms = {row["operator"]: row for row in json.loads(shown.stdout)["arms"]}
    assert arms["diff"]["weight"] > arms["rewrite"]["weight"]
    assert arms["diff"]["outcomes"] + arms["rewrite"]["outcomes"] > 15
    text = evoforge_cli("status", str(tmp_path / "stopped")).stdout
    assert f"arm scripted/diff: weight {arms['diff']['weight']:.3f}" in text


def test_the_ensemble_keeps_the_arms_model_while_it_is_awake_and_falls_back_while_it_rests() -> None:
    from evoforge.errors import ProviderError
    from evoforge.llm.ensemble import Ensemble
    from evoforge.llm.settings import LLMConfig, ModelConfig

    async def choices() -> tuple[list[int], list[int]]:
        models = [ModelConfig(name=name, base_url="http://127.0.0.1:9/v1") for name in ("a", "b", "c")]
        ensemble = Ensemble(LLMConfig(models=models, breaker_failures=1, breaker_cooldown_s=600))
        try:
            rng = random.Random(1)
            awake = [await ensemble.choose(rng, preferred=1) for _ in range(20)]
            assert rng.random() == random.Random(1).random()  # taken without a draw
            for _ in range(20):
                ensemble.health.release(1)
            ensemble.health.record(1, ProviderError("down", kind="server_error"), time.monotonic())
            resting = [await ensemble.choose(rng, preferred=1) for _ in range(20)]
            return awake, resting
        finally:
            await ensemble.aclose()

    awake, resting = asyncio.run(choices())
    assert set(awake) == {1}
    assert 1 not in resting and set(resting) == {0, 2}
