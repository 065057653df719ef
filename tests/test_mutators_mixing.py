"""Mixing mutators by weight; with no model, a run uses tune and gp and says so."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest

import evoforge
import evoforge.mutators.gp as gp_module
from evoforge.api import resume
from evoforge.config import parse_config
from evoforge.errors import ConfigError
from evoforge.mutators.base import Feedback, ProposalRequest
from evoforge.mutators.gp import GPMutator
from evoforge.mutators.mixing import Mix, mutator_weights
from evoforge.mutators.pyast import structural_hash
from evoforge.replay import submission_rng
from evoforge.task import load_task
from evoforge.testing.programs import program, program_table
from evoforge.testing.responders import tweak_constants_responder
from evoforge.testing.scripted_server import ScriptedServer
from evoforge.testing.tasks import evoforge_cli, write_task

TOY = Path(__file__).resolve().parents[1] / "examples" / "toy_constant"
MODEL = {"name": "m", "base_url": "http://127.0.0.1:9/v1"}
GP_TELL = GPMutator.tell


def asks(mix: Mix, count: int) -> list[str | None]:
    parent = program(TOY.joinpath("initial_program.py").read_text(), 0, -7.29)
    names = []
    for s in range(1, count + 1):
        proposal = mix.ask(ProposalRequest(s, parent, (), (), (), submission_rng(3, s)))
        assert proposal is not None
        names.append(proposal.mutator)
    return names


def test_each_submission_draws_a_mutator_by_weight_reproducibly() -> None:
    config = parse_config({"mutators": {"tune": 3.0, "gp": 1.0}})
    task = load_task(TOY)
    names = asks(Mix.from_config(task, config), 400)
    assert asks(Mix.from_config(task, config), 400) == names
    share = collections.Counter(names)["tune"] / len(names)
    assert 0.65 < share < 0.85


def test_a_single_mutator_leaves_the_rng_alone() -> None:
    mix = Mix.from_config(load_task(TOY), parse_config({"mutators": {"tune": 1.0}}))
    parent = program(TOY.joinpath("initial_program.py").read_text(), 0, -7.29)
    rng = submission_rng(3, 1)
    before = rng.getstate()
    assert mix.ask(ProposalRequest(1, parent, (), (), (), rng)).mutator == "tune"
    assert rng.getstate() == before


def test_which_mutators_a_config_gets() -> None:
    assert mutator_weights(parse_config({})) == {"tune": 0.8, "gp": 0.2}
    assert mutator_weights(parse_config({"llm": {"models": [MODEL]}})) == {"llm": 1.0}
    mixed = {"llm": 0.8, "tune": 0.15, "gp": 0.05}
    assert mutator_weights(parse_config({"llm": {"models": [MODEL]}, "mutators": mixed})) == mixed
    with pytest.raises(ConfigError, match="no language model configured"):
        mutator_weights(parse_config({"mutators": {"llm": 1.0, "tune": 1.0}}))
    with pytest.raises(ConfigError, match="mutators"):
        parse_config({"mutators": {"lm": 1.0}})


def test_with_no_model_a_run_says_so_and_uses_tune_and_gp(tmp_path: Path) -> None:
    task = write_task(tmp_path)
    result = evoforge_cli("run", str(task), "--run-dir", str(tmp_path / "r"), "--iterations", "40")
    assert result.returncode == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if "no language model configured" in line]
    assert len(notes) == 1 and notes[0].endswith("using the offline mutators tune and gp")
    with evoforge.load_run(tmp_path / "r") as run:
        made_by = collections.Counter(p.mutator for p in run.programs())
    assert made_by["tune"] > 0 and made_by["gp"] > 0 and sum(made_by.values()) == 40


def test_a_mixed_run_is_reproducible_at_any_model_latency(tmp_path: Path) -> None:
    """Mutators are asked and told in submission order, so timing does not change what they make."""
    tables = []
    for name, latency in (("fast", 0.01), ("slow", 0.04)):
        with ScriptedServer(tweak_constants_responder(seed=5), latency_s=latency) as server:
            evoforge.evolve(
                TOY, run_dir=tmp_path / name, iterations=40, seed=11, target_score=None,
                llm__models=[{"name": "scripted", "base_url": server.base_url}], llm__max_inflight=6,
                evaluation__parallel=2, mutators={"llm": 0.6, "tune": 0.2, "gp": 0.2},
            )  # fmt: skip
        tables.append(program_table(tmp_path / name))
    assert tables[0] == tables[1]
    assert {row[3] for row in tables[0]} == {"initial", "llm", "tune", "gp"}


def test_a_resumed_offline_run_tells_its_programs_again_without_parsing_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """gp keeps told programs unparsed until a child could match one, so the replay of a resume costs
    no syntax tree per stored program (it cost one each: 64 s of resume at 100,000 programs)."""
    settings = dict(mutators={"tune": 1.0, "gp": 1.0}, target_score=None, seed=6, evaluation__parallel=2)
    evoforge.evolve(TOY, run_dir=tmp_path / "run", iterations=30, **settings)
    with evoforge.load_run(tmp_path / "run") as run:
        assert {p.mutator for p in run.programs()} == {"initial", "tune", "gp"}
    hashed: list[str] = []
    told: list[Feedback] = []

    def counted_hash(code: str) -> str | None:
        hashed.append(code)
        return structural_hash(code)

    def recorded_tell(self: GPMutator, feedback: Feedback) -> None:
        told.append(feedback)
        GP_TELL(self, feedback)

    monkeypatch.setattr(gp_module, "structural_hash", counted_hash)
    monkeypatch.setattr(GPMutator, "tell", recorded_tell)
    resume(tmp_path / "run", iterations=30)  # nothing more to evaluate: the rebuild alone
    assert sum(feedback.program is not None for feedback in told) >= 20
    assert hashed == []
