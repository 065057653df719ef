"""The ablation presets of docs/ablations.md: each is a real config fragment switching off what it says."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml

import evoforge
from evoforge.api import resume
from evoforge.blocks import find_blocks
from evoforge.config import parse_config
from evoforge.errors import ConfigError
from evoforge.llm.selection import ArmSelector
from evoforge.mutators.base import ProposalRequest
from evoforge.mutators.llm import LLMMutator
from evoforge.prompts.settings import operator_weights
from evoforge.replay import submission_rng
from evoforge.runfiles import DB_FILENAME
from evoforge.task import load_task
from evoforge.testing.programs import program
from evoforge.testing.responders import current_program, tweak_constants_responder
from evoforge.testing.scripted_server import ScriptedServer
from evoforge.testing.tasks import PROGRAM, write_task

DOC = Path(__file__).resolve().parents[1] / "docs" / "ablations.md"
CONTEXT = "The best constant lies between 3 and 4."


def presets() -> dict[str, dict[str, Any]]:
    """Each ``## name`` section's first YAML block."""
    found = {}
    for section in re.split(r"^## ", DOC.read_text(), flags=re.MULTILINE)[1:]:
        block = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
        if block:
            found[section.split("\n", 1)[0].strip()] = yaml.safe_load(block.group(1))
    return found


def run(
    task: Path, server: ScriptedServer, preset: dict[str, Any], iterations: int = 6
) -> tuple[list[dict[str, Any]], Path]:
    """Run ``task`` under ``preset`` against ``server``; the requests the model got, and the run."""
    run_dir = task.parent / "r"
    settings = {"llm": {"models": [{"name": "m", "base_url": server.base_url}], "max_inflight": 2}}
    evoforge.evolve(
        task, run_dir=run_dir, iterations=iterations, seed=3, target_score=None,
        config={**settings, "evaluation": {"parallel": 2}, **preset},
    )  # fmt: skip
    return server.requests, run_dir


def toy(root: Path) -> Path:
    root.mkdir()
    task = write_task(root)
    (task / "context.md").write_text(CONTEXT + "\n")
    return task


def test_every_preset_is_documented_and_loads() -> None:
    found = presets()
    assert set(found) == {
        "full", "no-evolution", "no-context", "no-meta-prompts", "one-small-model", "small-local-model"
    }  # fmt: skip
    for fragment in found.values():
        parse_config(fragment)
    full = parse_config(found["full"])
    assert (
        set(operator_weights(full.prompt)) == {"diff", "rewrite", "crossover"} and full.meta_prompts.enabled
    )
    assert not parse_config(found["no-meta-prompts"]).meta_prompts.enabled
    small = parse_config(found["one-small-model"])
    assert {arm.model for arm in ArmSelector.from_config(small.llm, operator_weights(small.prompt)).arms} == {
        0
    }


def test_no_evolution_asks_about_the_initial_program_every_time_even_after_a_resume(tmp_path: Path) -> None:
    with ScriptedServer(tweak_constants_responder(seed=4)) as server:
        _, run_dir = run(toy(tmp_path / "a"), server, presets()["no-evolution"], iterations=5)
        resume(run_dir, iterations=9)  # the initial program comes back from the mutator's saved state
    assert len(server.requests) >= 8
    for request in server.requests:
        assert current_program(request).strip() == PROGRAM.strip()
        assert "Prior program" not in request["messages"][1]["content"]
    with sqlite3.connect(run_dir / DB_FILENAME) as db:
        parents = {parent for (parent,) in db.execute("SELECT parent_id FROM programs WHERE id > 0")}
    assert parents == {0}


def test_no_context_leaves_the_task_context_out(tmp_path: Path) -> None:
    with ScriptedServer(tweak_constants_responder(seed=4)) as server:
        with_context, _ = run(toy(tmp_path / "a"), server, {})
    with ScriptedServer(tweak_constants_responder(seed=4)) as server:
        without, _ = run(toy(tmp_path / "b"), server, presets()["no-context"])
    assert all(CONTEXT in request["messages"][0]["content"] for request in with_context)
    assert not any(CONTEXT in message["content"] for request in without for message in request["messages"])


def test_without_evolution_the_initial_program_survives_in_the_mutator_state(tmp_path: Path) -> None:
    task = load_task(write_task(tmp_path))
    initial, child = program(PROGRAM, 0, -7.29), program(PROGRAM.replace("1.0", "3.0"), 5, -0.49)
    with ScriptedServer(tweak_constants_responder(seed=4)) as server:
        config = parse_config(
            {"llm": {"models": [{"name": "m", "base_url": server.base_url}]}, **presets()["no-evolution"]}
        )
        first = LLMMutator(task, config)
        first.ask(ProposalRequest(1, initial, (), (), (), submission_rng(1, 1)))
        resumed = LLMMutator(task, config)
        resumed.restore(json.loads(json.dumps(first.state())))
        asked = ProposalRequest(7, child, (initial,), (), (), submission_rng(1, 7))
        resumed.ask(asked)
        proposal = asyncio.run(resumed.propose(asked))
    assert proposal.parent == initial and proposal.code is not None
    assert current_program(server.requests[0]).strip() == PROGRAM.strip()


def test_without_evolution_other_mutators_are_refused(tmp_path: Path) -> None:
    config = parse_config(
        {
            "llm": {"models": [{"name": "m", "base_url": "http://127.0.0.1:9/v1"}]},
            "mutators": {"llm": 1, "gp": 1},
        }
        | presets()["no-evolution"]
    )
    with pytest.raises(ConfigError, match=r"prompt.evolution: false works with the llm mutator alone"):
        LLMMutator(load_task(write_task(tmp_path)), config)


def inside_the_fence(request: dict[str, Any]) -> str:
    """A small model's answer to a prompt that ended with a fence opener: the block with its constant
    moved, then the closing fence and a remark (the answer starts inside the prompt's fence)."""
    first_prompt = {"messages": [m for m in request["messages"] if m["role"] == "user"][:1]}  # repair too
    code = current_program(first_prompt) or ""
    body = find_blocks(code)[0].content
    value = float(re.search(r"x = ([0-9.]+)", body).group(1))  # type: ignore[union-attr]
    return body.replace(f"x = {value}", f"x = {value + 0.5}") + "```\nThis moves x closer.\n"


def test_small_local_model_asks_for_a_rewrite_with_the_fence_open_and_takes_answers_inside_it(
    tmp_path: Path,
) -> None:
    preset = presets()["small-local-model"]
    with ScriptedServer(inside_the_fence) as server:
        requests, run_dir = run(toy(tmp_path / "a"), server, preset, iterations=6)
    assert len(requests) >= 4
    for request in requests:
        user = request["messages"][-1]["content"]
        assert user.rstrip().endswith("```python") and "one number or one line" in user
        assert "Explain the idea" not in user
    with sqlite3.connect(run_dir / DB_FILENAME) as db:
        made = db.execute("SELECT COUNT(*) FROM programs WHERE llm_call_id IS NOT NULL AND ok = 1").fetchone()
        operators = {operator for (operator,) in db.execute("SELECT operator FROM llm_calls")}
    assert made[0] >= 2 and operators == {"rewrite"}  # children from answers that start inside the fence
    config = parse_config(preset)
    assert config.repair.max_attempts == 1 and config.prompt.max_chars
