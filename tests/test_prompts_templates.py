"""Prompt templates, stochastic variants, context files and the size budget, through the LLM mutator and
the scripted server: what the model receives, and what each call records."""

from __future__ import annotations

import asyncio
import collections
import sqlite3
from pathlib import Path

import pytest

import evoforge
from evoforge.config import parse_config
from evoforge.errors import ConfigError, TaskError
from evoforge.mutators.base import ProposalRequest
from evoforge.mutators.llm import LLMMutator
from evoforge.prompts.builder import build_messages
from evoforge.prompts.settings import PromptConfig
from evoforge.prompts.variants import SLOTS, draw_variant
from evoforge.records import Program
from evoforge.replay import submission_rng
from evoforge.runfiles import DB_FILENAME
from evoforge.task import load_task
from evoforge.testing.programs import program
from evoforge.testing.responders import tweak_constants_responder
from evoforge.testing.scripted_server import ScriptedServer
from evoforge.testing.tasks import PROGRAM, evoforge_cli, write_task

ALL_VARIANTS = {slot: dict.fromkeys(alternatives, 1.0) for slot, alternatives in SLOTS.items()}


def calls(task_dir: Path, prompt: dict[str, object], seed: int, count: int, **config: object) -> list[tuple]:
    """(variant, operator, messages the server received) of ``count`` generations of the mutator."""
    with ScriptedServer(tweak_constants_responder(seed=1)) as server:
        settings = parse_config(
            {"llm": {"models": [{"name": "m", "base_url": server.base_url}]}, "prompt": prompt, **config}
        )
        mutator = LLMMutator(load_task(task_dir), settings)
        parent = program(PROGRAM, 0, -7.29)
        top = program(PROGRAM.replace("1.0", "2.0"), 1, -2.89)

        async def generate() -> list[tuple]:
            made = []
            for s in range(1, count + 1):
                request = ProposalRequest(s, parent, (top,), (), (), submission_rng(seed, s))
                mutator.ask(request)
                proposal = await mutator.propose(request)
                assert proposal.code is not None, proposal.reason
                call = proposal.llm_call
                made.append((call.variant, call.operator, call.messages))
            await mutator.aclose()
            return made

        made = asyncio.run(generate())
        assert [request["messages"] for request in server.requests] == [list(m) for _, _, m in made]
        return made


def test_variants_vary_per_prompt_and_replay_with_the_seed(tmp_path: Path) -> None:
    task = write_task(tmp_path)
    first = calls(task, {"variants": ALL_VARIANTS}, seed=3, count=12)
    again = calls(task, {"variants": ALL_VARIANTS}, seed=3, count=12)
    other = calls(task, {"variants": ALL_VARIANTS}, seed=4, count=12)
    labels = [variant for variant, _, _ in first]
    assert labels == [variant for variant, _, _ in again]
    assert labels != [variant for variant, _, _ in other]
    roles = collections.Counter(label.split(",")[0] for label in labels)
    assert len(roles) > 1 and len(set(labels)) > 3
    for variant, _, messages in first:  # the recorded variant is the one the model saw
        chosen = dict(part.split("=") for part in variant.split(","))
        assert messages[0]["content"].startswith(SLOTS["role"][chosen["role"]])
        assert SLOTS["intent"][chosen["intent"]] in messages[1]["content"]


def test_without_variants_every_prompt_is_the_default_and_the_rng_is_untouched(tmp_path: Path) -> None:
    made = calls(write_task(tmp_path), {}, seed=3, count=3)
    assert {variant for variant, _, _ in made} == {
        "role=expert,intent=idea,prior_order=best_first,answer=explain_first"
    }
    rng = submission_rng(3, 1)
    before = rng.getstate()
    draw_variant({"role": {"concise": 1.0}}, rng)
    assert rng.getstate() == before


def test_prior_order_ascending_puts_the_best_prior_program_last() -> None:
    worse, better = program("worse = 1\n", 1, 0.5), program("better = 1\n", 2, 2.5)
    user = build_messages(
        context=None, parent=program("x = 1\n", 3, 1.0), top=[better], diverse=[worse], config=PromptConfig(),
        variant={"role": "expert", "intent": "idea", "prior_order": "ascending"},
    )[1]["content"]  # fmt: skip
    assert user.index("worse = 1") < user.index("better = 1") < user.index("## Current program")


def test_a_task_prompts_folder_overrides_templates_and_context_files_are_shown(tmp_path: Path) -> None:
    task = write_task(tmp_path)
    (task / "prompts").mkdir()
    (task / "prompts" / "user.j2").write_text(
        "{% import operator_template as op with context %}"
        "OUR OWN LAYOUT for {{ language }}\n## Current program\n{{ parent.code_block }}\n{{ op.task() }}\n"
    )
    (task / "notes.md").write_text("Known bound: 3.7.\n")
    (task / "context.md").write_text("Tune the constant.\n")
    [(_, _, messages)] = calls(task, {"context_files": ["notes.md"]}, seed=1, count=1)
    system, user = messages[0]["content"], messages[1]["content"]
    assert user.startswith("OUR OWN LAYOUT for python\n## Current program\n```python\n")
    assert "## The task\nTune the constant.\n\n## notes.md\nKnown bound: 3.7." in system
    [(_, _, messages)] = calls(
        task, {"context_files": ["notes.md"], "include_context": False}, seed=1, count=1
    )
    assert "Tune the constant" not in messages[0]["content"] and "3.7" not in messages[0]["content"]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("user.j2", "{% if %}", r"prompts/user.j2:1: template syntax error: "),
        (
            "system.j2",
            "{{ role }}\n{{ no_such_variable }}\n",
            r"prompts/system.j2:2: template error: .*no_such_variable",
        ),
        ("user.j2", "{% include 'gone.j2' %}", r"prompts/user.j2:1: template not found: gone.j2"),
        ("usr.j2", "{{ role }}", r"prompts/usr.j2: not a prompt template name"),
        (
            "diff.j2",
            "{% macro rules() %}SEARCH{% endmacro %}",
            r"user.j2:\d+ \(a shipped template, rendered with",
        ),
    ],
)
def test_a_broken_override_is_an_error_at_start_up_naming_the_file(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    task = write_task(tmp_path)
    (task / "prompts").mkdir()
    (task / "prompts" / name).write_text(text)
    settings = parse_config({"llm": {"models": [{"name": "m", "base_url": "http://127.0.0.1:9/v1"}]}})
    with pytest.raises(TaskError, match=message):
        LLMMutator(load_task(task), settings)


def test_a_broken_override_ends_the_run_command_in_one_line(tmp_path: Path) -> None:
    task = write_task(tmp_path)
    (task / "prompts").mkdir()
    (task / "prompts" / "system.j2").write_text("{{ role }}\n{{ no_such_variable }}\n")
    result = evoforge_cli(
        "run",
        str(task),
        "--model",
        "m",
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--run-dir",
        str(tmp_path / "r"),
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"evoforge: {task / 'prompts' / 'system.j2'}:2: template error: 'no_such_variable' is undefined"
    ]
    assert not (tmp_path / "r").exists()


def test_a_missing_context_file_or_template_folder_is_a_config_error(tmp_path: Path) -> None:
    task = load_task(write_task(tmp_path))
    model = {"models": [{"name": "m", "base_url": "http://127.0.0.1:9/v1"}]}
    with pytest.raises(ConfigError, match=r"prompt.context_files: .*/toy/nothing.md: file not found"):
        LLMMutator(task, parse_config({"llm": model, "prompt": {"context_files": ["nothing.md"]}}))
    with pytest.raises(ConfigError, match=r"prompt.template_dir: .*/toy/mine: folder not found"):
        LLMMutator(task, parse_config({"llm": model, "prompt": {"template_dir": "mine"}}))


def test_unknown_variant_slots_and_alternatives_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"prompt.variants: .*unknown slot 'tone'"):
        parse_config({"prompt": {"variants": {"tone": {"calm": 1}}}})
    with pytest.raises(ConfigError, match=r"prompt.variants: .*role: unknown alternative 'poet'"):
        parse_config({"prompt": {"variants": {"role": {"expert": 1, "poet": 1}}}})


# --- the size budget ------------------------------------------------------------------------------------


def noisy(pid: int, score: float, code: str) -> Program:
    shown = program(code, pid, score)
    return Program(**{**shown.__dict__, "artifacts": {"stdout": f"[out {pid}]" + "." * 300}})


PARENT = noisy(9, 1.0, "def solve():\n" + "    x = 1.0  # the current program, kept whole\n" * 30)
PRIORS = [noisy(i, 2.0 + i, f"def solve():\n    return {i}  # prior {i}\n" * 5) for i in range(3)]
CONTEXT = "Tune the constant. " * 5


def budgeted(max_chars: int | None) -> tuple[str, str]:
    system, user = build_messages(
        context=CONTEXT, parent=PARENT, top=PRIORS[:2], diverse=PRIORS[2:], rejections=["no match"],
        config=PromptConfig(max_chars=max_chars),
    )  # fmt: skip
    return system["content"], user["content"]


def shown(system: str, user: str) -> tuple[str, ...]:
    """What a prompt still holds, by name."""
    parts = [f"out {i}" for i in (0, 1, 2, 9) if f"[out {i}]" in user]
    parts += [f"prior {i}" for i in range(3) if f"# prior {i}" in user]
    parts += ["rejection"] * ("no match" in user) + ["context"] * (CONTEXT.strip() in system)
    return tuple(parts)


def test_the_budget_cuts_the_least_useful_parts_first_never_the_current_program() -> None:
    full = sum(map(len, budgeted(None)))
    states = []
    for budget in range(full, 0, -25):
        system, user = budgeted(budget)
        assert f"```python\n{PARENT.code.rstrip()}\n```" in user
        assert len(system) + len(user) <= budget or not shown(system, user)
        if not states or states[-1] != shown(system, user):
            states.append(shown(system, user))
    everything = ("out 0", "out 1", "out 2", "out 9", "prior 0", "prior 1", "prior 2", "rejection", "context")
    cuts = ["out 2", "out 1", "out 0", "prior 2", "prior 1", "prior 0", "out 9", "rejection", "context"]
    expected = [tuple(part for part in everything if part not in cuts[:n]) for n in range(len(cuts) + 1)]
    assert states == expected


def test_a_budgeted_run_records_prompts_within_budget(tmp_path: Path) -> None:
    task = write_task(tmp_path)
    with ScriptedServer(tweak_constants_responder(seed=2)) as server:
        evoforge.evolve(
            task, run_dir=tmp_path / "r", iterations=6, seed=1, target_score=None, evaluation__parallel=2,
            llm__models=[{"name": "m", "base_url": server.base_url}], prompt__max_chars=1500,
        )  # fmt: skip
    sizes = [sum(len(m["content"]) for m in request["messages"]) for request in server.requests]
    assert sizes and max(sizes) <= 1500
    with sqlite3.connect(tmp_path / "r" / DB_FILENAME) as db:
        assert db.execute("SELECT COUNT(*) FROM llm_calls WHERE operator = 'diff'").fetchone()[0] == len(
            sizes
        )
