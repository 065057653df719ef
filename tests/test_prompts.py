"""The prompt layout: rules first, prior programs with one metrics line each, the current program last."""

from __future__ import annotations

import math

from evoforge.config import PromptConfig
from evoforge.prompts.builder import build_messages
from evoforge.prompts.sections import metrics_line
from evoforge.records import Program


def program(
    pid: int, score: float, code: str, ok: bool = True, artifacts: dict[str, str] | None = None
) -> Program:
    return Program(
        id=pid,
        submission=pid,
        code=code,
        parent_id=None,
        inspiration_ids=(),
        island=0,
        generation=0,
        mutator="llm",
        metrics={"combined_score": score, "radius_sum": score / 2} if ok else {},
        artifacts=artifacts or {},
        score=score if ok else -math.inf,
        ok=ok,
        features={},
        created_at=0.0,
        eval_time_s=0.0,
    )


PARENT = program(
    3, 1.25, "# EVOLVE-BLOCK-START\nx = 1\n# EVOLVE-BLOCK-END\n", artifacts={"stderr": "warn " * 1000}
)
TOP = program(1, 2.5, "# EVOLVE-BLOCK-START\nx = 2\n# EVOLVE-BLOCK-END\n")
DIVERSE = program(2, 0.5, "# EVOLVE-BLOCK-START\ny = 9\n# EVOLVE-BLOCK-END\n")


def build(config: PromptConfig | None = None, **kwargs: object) -> list[dict[str, str]]:
    arguments: dict[str, object] = {
        "context": "Pack circles.",
        "parent": PARENT,
        "top": [TOP],
        "diverse": [DIVERSE],
        "config": config or PromptConfig(),
    }
    arguments.update(kwargs)
    return build_messages(**arguments)  # type: ignore[arg-type]


def test_system_message_has_context_and_diff_rules() -> None:
    system, user = build()
    assert system["role"] == "system" and user["role"] == "user"
    assert "Pack circles." in system["content"]
    assert "<<<<<<< SEARCH" in system["content"] and ">>>>>>> REPLACE" in system["content"]
    assert "EVOLVE-BLOCK-START" in system["content"]


def test_current_program_comes_last_after_prior_programs() -> None:
    user = build()[1]["content"]
    top_at, diverse_at = user.index("x = 2"), user.index("y = 9")
    current_at = user.index("Current program")
    assert top_at < diverse_at < current_at
    assert user.index("```python\n" + PARENT.code.rstrip() + "\n```") > current_at
    assert user.rstrip().endswith("Explain the idea in one or two sentences first.")


def test_metrics_line_format_and_failures() -> None:
    assert metrics_line(TOP) == "score: 2.5; radius_sum: 1.25"
    failed = program(4, 0.0, "x", ok=False, artifacts={"error": "timeout after 5 s"})
    assert metrics_line(failed) == "evaluation failed: timeout after 5 s"
    assert "score: 1.25; radius_sum: 0.625" in build()[1]["content"]


def test_artifacts_are_truncated_or_left_out() -> None:
    user = build(PromptConfig(max_artifact_chars=100))[1]["content"]
    assert "[stderr]" in user and "more characters]" in user
    assert user.count("warn") < 30
    assert "[stderr]" not in build(PromptConfig(include_artifacts=False))[1]["content"]


def test_rejections_only_when_enabled() -> None:
    reasons = ["SEARCH 'x = 5' does not match the current program"]
    assert reasons[0] in build(rejections=reasons)[1]["content"]
    assert reasons[0] not in build(PromptConfig(show_rejections=False), rejections=reasons)[1]["content"]


def test_rewrite_mode_changes_rules_and_task() -> None:
    system, user = build(PromptConfig(edit_mode="rewrite"))
    assert "<<<<<<< SEARCH" not in system["content"]
    assert "complete new contents" in system["content"]
    assert "fenced code block" in user["content"]


def test_without_prior_programs_their_section_is_left_out_and_nothing_else() -> None:
    full_system, full_user = build()
    system, user = build(top=[], diverse=[])
    assert "Prior program" not in user["content"]
    assert user["content"] == full_user["content"][full_user["content"].index("## Current program") :]
    assert system == full_system


GOLDEN_USER = """## Prior programs
### Prior program 1 (among the best so far)
score: 2.5; radius_sum: 1.25
```python
# EVOLVE-BLOCK-START
x = 2
# EVOLVE-BLOCK-END
```

### Prior program 2 (a different approach)
score: 0.5; radius_sum: 0.25
```python
# EVOLVE-BLOCK-START
y = 9
# EVOLVE-BLOCK-END
```

## Current program
score: 1.25; radius_sum: 0.625
Evaluation output:
[stderr]
warn warn
[... 4991 more characters]
```python
# EVOLVE-BLOCK-START
x = 1
# EVOLVE-BLOCK-END
```

Your previous edit to this program was rejected: SEARCH 'x = 5' does not match

## Task
"""


def test_user_message_layout_golden() -> None:
    user = build(PromptConfig(max_artifact_chars=9), rejections=["SEARCH 'x = 5' does not match"])[1]
    assert user["content"].startswith(GOLDEN_USER)


def test_top_and_diverse_counts_are_respected_and_code_is_verbatim() -> None:
    tops = [program(10 + i, 3.0 - i, f"def f():\n    return {i}  # top {i}\n") for i in range(3)]
    user = build(top=tops, diverse=[DIVERSE, TOP])[1]["content"]
    assert user.count("### Prior program") == 5
    assert user.count("(among the best so far)") == 3 and user.count("(a different approach)") == 2
    assert user.count("```python\n") == 6
    for shown in tops:
        assert f"```python\n{shown.code}```" in user


def test_only_the_three_latest_rejections_are_shown() -> None:
    user = build(rejections=[f"reason {i}" for i in range(5)])[1]["content"]
    assert user.count("Your previous edit to this program was rejected:") == 3
    assert "reason 1" not in user and "reason 4" in user
    assert user.index("Current program") < user.index("reason 2") < user.index("## Task")


def test_failed_program_shows_one_line_error_instead_of_metrics() -> None:
    error = "evaluator raised ValueError: bad shape\nsecond line"
    failed = program(5, 0.0, "def f(): pass\n", ok=False, artifacts={"error": error, "traceback": "Tb"})
    user = build(diverse=[failed])[1]["content"]
    assert "evaluation failed: evaluator raised ValueError: bad shape\n" in user
    assert "[traceback]\nTb" in user and "[error]\n" + error in user
    short = program(6, 0.0, "pass\n", ok=False, artifacts={"error": "timeout after 5 s"})
    assert "[error]" not in build(top=[short])[1]["content"]


def test_artifact_budget_is_shared_by_all_artifacts_of_a_program() -> None:
    noisy = program(7, 1.0, "pass\n", artifacts={"stdout": "a" * 8, "stderr": "b" * 8, "note": "c"})
    user = build(PromptConfig(max_artifact_chars=10), top=[noisy])[1]["content"]
    assert "[stdout]\naaaaaaaa\n[stderr]\nbb\n[... 6 more characters]\n[... left out: note]" in user


def test_backticks_in_code_or_artifacts_cannot_break_the_fence() -> None:
    code = 'DOC = """\n```python\nexample\n```\n"""\n'
    parent = program(8, 1.0, code, artifacts={"stdout": "```\nnot code\n```"})
    user = build(parent=parent, top=[], diverse=[])[1]["content"]
    assert f"````python\n{code}````" in user
    assert "'''\nnot code\n'''" in user
