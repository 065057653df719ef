"""The prompt layout: rules first, prior programs with one metrics line each, the current program last."""

from __future__ import annotations

import math

from evoforge.config import PromptConfig
from evoforge.prompts.builder import build_messages, metrics_line
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


def test_no_prior_programs_and_deterministic() -> None:
    user = build(top=[], diverse=[])[1]["content"]
    assert "Prior programs" not in user
    assert build() == build()
