"""Prompt variants for small models: the answer format last with an example made from a real line of the
program, no request to explain first, the "tweak" intent, and a rewrite prompt that ends with the fence
opener (bench/RESULTS.md measures what each does with SmolLM2-135M)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from evoforge.config import parse_config
from evoforge.edits import apply_edit, parse_response
from evoforge.errors import TaskError
from evoforge.mutators.base import ProposalRequest
from evoforge.mutators.llm import LLMMutator
from evoforge.prompts.builder import build_messages
from evoforge.prompts.example import edit_example
from evoforge.prompts.settings import PromptConfig
from evoforge.prompts.variants import DEFAULT_VARIANT, SLOTS
from evoforge.replay import submission_rng
from evoforge.task import load_task
from evoforge.testing.programs import program
from evoforge.testing.scripted_server import ScriptedServer
from evoforge.testing.tasks import PROGRAM, write_task

TWO_BLOCKS = """# EVOLVE-BLOCK-START
def f():
    return 1
# EVOLVE-BLOCK-END

# EVOLVE-BLOCK-START
def g():
    return 1
# EVOLVE-BLOCK-END
"""


def user_message(operator: str, code: str = PROGRAM, **variant: str) -> str:
    parent = program(code, 1, -7.29)
    messages = build_messages(
        context=None, parent=parent, top=[], diverse=[], config=PromptConfig(), operator=operator,
        partner=program(code.replace("1.0", "2.0"), 2, -2.89), variant={**DEFAULT_VARIANT, **variant},
    )  # fmt: skip
    return messages[1]["content"]


def test_format_last_ends_the_diff_prompt_with_an_example_from_the_program_that_applies() -> None:
    user = user_message("diff", answer="format_last")
    example = "<<<<<<< SEARCH\n    x = 1.0\n=======\n    x = 2.0\n>>>>>>> REPLACE\n"
    assert example in user
    assert user.index("## Current program") < user.index("## Task") < user.index("## Answer format")
    assert user.rstrip().endswith("Your answer:")
    edit = parse_response(example)  # a model that copies the example makes a real child
    assert edit is not None and "x = 2.0" in apply_edit(PROGRAM, edit)
    assert "## Answer format" not in user_message("diff")  # the default prompt is as it was


def test_format_last_ends_a_rewrite_or_crossover_prompt_with_the_fence_opener() -> None:
    for operator in ("rewrite", "crossover"):
        user = user_message(operator, answer="format_last")
        assert user.rstrip().endswith("```python"), operator
        assert "from `def solve():`" in user  # where the block starts, from the program itself
    assert "the whole program, EVOLVE-BLOCK markers included" in user_message(
        "rewrite", TWO_BLOCKS, answer="format_last"
    )


def test_only_explain_first_asks_for_an_explanation() -> None:
    for operator in ("diff", "rewrite", "crossover"):
        assert "Explain the idea" in user_message(operator)
        for answer in ("code_only", "format_last"):
            assert "Explain the idea" not in user_message(operator, answer=answer)
            assert "no explanation" in user_message(operator, answer=answer)


def test_the_tweak_intent_asks_for_one_small_change() -> None:
    user = user_message("diff", intent="tweak")
    assert SLOTS["intent"]["tweak"] in user and "one number or one line" in user


def test_the_example_line_is_unique_in_the_blocks_and_holds_a_number_when_one_does() -> None:
    code = "# EVOLVE-BLOCK-START\ndef h():\n    a = 0\n    a = 0\n    b = 0.25\n    return a\n"
    code += "# EVOLVE-BLOCK-END\n"
    example = edit_example(code)
    assert example is not None
    assert (example.line, example.changed, example.first) == ("    b = 0.25", "    b = 0.50", "def h():")
    assert edit_example("# EVOLVE-BLOCK-START\nx = 0\n# EVOLVE-BLOCK-END\n").changed == "x = 1"
    words = edit_example("# EVOLVE-BLOCK-START\nreturn best\n# EVOLVE-BLOCK-END\n")
    assert words is not None and words.changed == ""
    no_number = user_message(
        "diff", "# EVOLVE-BLOCK-START\nreturn best\n# EVOLVE-BLOCK-END\n", answer="format_last"
    )
    assert "=======\nyour new version of that line\n>>>>>>> REPLACE" in no_number


def test_an_override_without_answer_format_fails_at_start_up_only_if_format_last_is_drawn(
    tmp_path: Path,
) -> None:
    task = write_task(tmp_path)
    (task / "prompts").mkdir()
    (task / "prompts" / "diff.j2").write_text(  # an override written before answer_format() existed
        "{% macro rules() %}SEARCH/REPLACE{% endmacro %}{% macro task() %}{{ intent }}{% endmacro %}"
    )
    model = {"models": [{"name": "m", "base_url": "http://127.0.0.1:9/v1"}]}
    LLMMutator(load_task(task), parse_config({"llm": model}))  # the default variant never calls it
    drawn = {"llm": model, "prompt": {"variants": {"answer": {"explain_first": 1, "format_last": 1}}}}
    with pytest.raises(TaskError, match=r"template error: .*answer_format"):
        LLMMutator(load_task(task), parse_config(drawn))


def test_a_fence_left_open_by_an_answer_that_ended_on_its_own_makes_a_child(tmp_path: Path) -> None:
    """Through the mutator and real HTTP: the server's finish_reason "stop" says the answer is whole."""
    answer = "```python\ndef solve():\n    x = 3.5\n    return x"  # no closing fence
    with ScriptedServer([answer]) as server:
        config = parse_config(
            {
                "llm": {"models": [{"name": "m", "base_url": server.base_url}]},
                "prompt": {"edit_mode": "rewrite"},
            }
        )
        mutator = LLMMutator(load_task(write_task(tmp_path)), config)
        request = ProposalRequest(1, program(PROGRAM, 0, -7.29), (), (), (), submission_rng(1, 1))
        mutator.ask(request)
        proposal = asyncio.run(mutator.propose(request))
    assert proposal.code is not None and "    x = 3.5\n    return x\n# EVOLVE-BLOCK-END" in proposal.code


def test_format_last_puts_the_program_example_in_the_rules_too() -> None:
    """SmolLM2 copied the rules' abstract example (``step = 0.1``) where the prompt had it."""
    config, parent = PromptConfig(), program(PROGRAM, 1, -7.29)
    system = build_messages(
        context=None, parent=parent, top=[], diverse=[], config=config, variant={"answer": "format_last"}
    )[0]["content"]
    assert "step = 0.1" not in system and "<<<<<<< SEARCH\n    x = 1.0\n=======\n    x = 2.0\n" in system
    default = build_messages(context=None, parent=parent, top=[], diverse=[], config=config)[0]["content"]
    assert "    step = 0.1\n=======\n    step = 0.05" in default
