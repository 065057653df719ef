"""Edit operators: diff, rewrite and crossover, each with its own template, drawn per generation by
weight, recorded on every model call, and each making applicable children end to end."""

from __future__ import annotations

import asyncio
import collections
import sqlite3
from pathlib import Path

import pytest

import evoforge
from evoforge.config import parse_config
from evoforge.errors import ConfigError
from evoforge.mutators.base import Proposal, ProposalRequest
from evoforge.mutators.llm import LLMMutator
from evoforge.prompts.settings import operator_weights
from evoforge.replay import submission_rng
from evoforge.runfiles import DB_FILENAME
from evoforge.task import load_task
from evoforge.testing.programs import program
from evoforge.testing.responders import in_kind_responder
from evoforge.testing.scripted_server import ScriptedServer
from evoforge.testing.tasks import PROGRAM, write_task

PARTNER = PROGRAM.replace("x = 1.0", "x = 2.5  # the partner's idea")


def propose(tmp_path: Path, prompt: dict[str, object], requests: list[ProposalRequest]) -> list[Proposal]:
    with ScriptedServer(in_kind_responder(seed=1)) as server:
        config = parse_config(
            {"llm": {"models": [{"name": "m", "base_url": server.base_url}]}, "prompt": prompt}
        )
        mutator = LLMMutator(load_task(write_task(tmp_path)), config)

        async def generate() -> list[Proposal]:
            made = []
            for request in requests:
                mutator.ask(request)
                made.append(await mutator.propose(request))
            await mutator.aclose()
            return made

        return asyncio.run(generate())


def request(submission: int, top: tuple = (), seed: int = 5) -> ProposalRequest:
    return ProposalRequest(
        submission, program(PROGRAM, 0, -7.29), top, (), (), submission_rng(seed, submission)
    )


def test_a_crossover_prompt_shows_the_partner_and_asks_to_combine(tmp_path: Path) -> None:
    partner = program(PARTNER, 4, -1.44)
    [proposal] = propose(tmp_path, {"operators": {"crossover": 1.0}}, [request(1, top=(partner,))])
    call = proposal.llm_call
    assert call.operator == "crossover" and proposal.code is not None
    system, user = call.messages[0]["content"], call.messages[1]["content"]
    assert "## Program to combine with\nscore: -1.44\n```python\n" + PARTNER.rstrip() in user
    assert user.index("Program to combine with") < user.index("## Current program")
    assert "combines the strengths" in user and "### Prior program" not in user
    assert "complete new contents" in system and "<<<<<<< SEARCH" not in system


def test_crossover_without_another_program_runs_as_a_rewrite(tmp_path: Path) -> None:
    itself = request(1).parent
    [proposal] = propose(tmp_path, {"operators": {"crossover": 1.0}}, [request(1, top=(itself,))])
    assert proposal.llm_call.operator == "rewrite" and "Program to combine with" not in str(proposal.llm_call)
    assert proposal.code is not None


def test_operators_are_drawn_by_weight_and_edit_mode_names_one(tmp_path: Path) -> None:
    config = parse_config({"prompt": {"operators": {"diff": 3, "rewrite": 1}}})
    assert operator_weights(config.prompt) == {"diff": 3.0, "rewrite": 1.0}
    assert operator_weights(parse_config({"prompt": {"edit_mode": "rewrite"}}).prompt) == {"rewrite": 1.0}
    assert operator_weights(parse_config({}).prompt) == {"diff": 1.0}
    with pytest.raises(ConfigError, match=r"set prompt.operators or prompt.edit_mode, not both"):
        parse_config({"prompt": {"operators": {"diff": 1}, "edit_mode": "diff"}})
    with pytest.raises(ConfigError, match=r"prompt.operators.splice"):
        parse_config({"prompt": {"operators": {"splice": 1}}})
    made = propose(tmp_path, {"operators": {"diff": 3, "rewrite": 1}}, [request(s) for s in range(1, 41)])
    drawn = collections.Counter(proposal.llm_call.operator for proposal in made)
    assert set(drawn) == {"diff", "rewrite"} and drawn["diff"] > drawn["rewrite"]
    assert all(proposal.code is not None for proposal in made)  # each answered in kind and applied
    for proposal in made:
        rules = proposal.llm_call.messages[0]["content"]
        assert ("<<<<<<< SEARCH" in rules) == (proposal.llm_call.operator == "diff")


@pytest.mark.parametrize("operator", ["diff", "rewrite", "crossover"])
def test_each_operator_makes_applicable_children_in_a_run(tmp_path: Path, operator: str) -> None:
    task = write_task(tmp_path)
    with ScriptedServer(in_kind_responder(seed=3)) as server:
        evoforge.evolve(
            task, run_dir=tmp_path / "r", iterations=8, seed=2, target_score=None, evaluation__parallel=2,
            llm__models=[{"name": "m", "base_url": server.base_url}], llm__max_inflight=2,
            prompt__operators={operator: 1.0},
        )  # fmt: skip
    with sqlite3.connect(tmp_path / "r" / DB_FILENAME) as db:
        made = db.execute(
            "SELECT c.operator, p.ok FROM programs AS p JOIN llm_calls AS c ON c.id = p.llm_call_id"
        ).fetchall()
        failed = db.execute("SELECT kind FROM failed_generations").fetchall()
    assert len(made) >= 5 and all(ok for _, ok in made)
    assert {kind for (kind,) in failed} <= {"duplicate"}
    # A crossover needs another program: the first child (only the initial one exists) is a rewrite.
    expected = {"crossover", "rewrite"} if operator == "crossover" else {operator}
    assert {op for op, _ in made} <= expected and operator in {op for op, _ in made}


def test_a_stopped_and_resumed_run_sends_the_prompts_of_one_uninterrupted_run(tmp_path: Path) -> None:
    """Operators, crossover partners and variants are drawn in ask: a resume draws them again alike."""
    task = write_task(tmp_path)
    settings = {
        "seed": 4, "target_score": None, "evaluation__parallel": 2, "llm__max_inflight": 3,
        "prompt__operators": {"diff": 1, "rewrite": 1, "crossover": 1},
        "prompt__variants": {"role": {"expert": 1, "concise": 1}, "intent": {"idea": 1, "bold": 1}},
    }  # fmt: skip
    with ScriptedServer(in_kind_responder(seed=3)) as server:
        model = [{"name": "m", "base_url": server.base_url}]
        evoforge.evolve(task, run_dir=tmp_path / "straight", iterations=10, llm__models=model, **settings)
        evoforge.evolve(task, run_dir=tmp_path / "stopped", iterations=5, llm__models=model, **settings)
        evoforge.api.resume(tmp_path / "stopped", iterations=10)
    calls = "SELECT submission, operator, variant, messages FROM llm_calls ORDER BY submission"
    with sqlite3.connect(tmp_path / "straight" / DB_FILENAME) as straight:
        expected = straight.execute(calls).fetchall()
    with sqlite3.connect(tmp_path / "stopped" / DB_FILENAME) as stopped:
        assert stopped.execute(calls).fetchall() == expected
    assert {operator for _, operator, _, _ in expected} == {"diff", "rewrite", "crossover"}
    assert len({variant for _, _, variant, _ in expected}) > 1


def test_a_remade_submission_draws_the_prompt_its_ask_drew(tmp_path: Path) -> None:
    """On resume a cut-off submission is made again through ``remake``: the same operator, partner and
    variant as its ``ask``, so the same prompt."""
    prompt = {
        "operators": {"diff": 1, "rewrite": 1, "crossover": 1},
        "variants": {"role": {"expert": 1, "scientist": 1, "concise": 1}, "intent": {"idea": 1, "bold": 1}},
    }
    others = tuple(program(PARTNER.replace("2.5", f"2.{i}"), i, -1.0 - i) for i in range(4, 8))
    with ScriptedServer(in_kind_responder(seed=1)) as server:
        config = parse_config(
            {"llm": {"models": [{"name": "m", "base_url": server.base_url}]}, "prompt": prompt}
        )
        task = load_task(write_task(tmp_path))

        async def prompts(remade: bool) -> list[tuple]:
            mutator, made = LLMMutator(task, config), []
            for s in range(1, 13):
                asked = request(s, top=others)
                if remade:
                    assert mutator.remake(asked)
                else:
                    mutator.ask(asked)
                call = (await mutator.propose(asked)).llm_call
                made.append((call.operator, call.variant, call.messages))
            await mutator.aclose()
            return made

        asked, remade = asyncio.run(prompts(False)), asyncio.run(prompts(True))
    assert remade == asked and len({variant for _, variant, _ in asked}) > 1
