"""Settings of the two ways a model looks at a child again: repair (``repair:``) and judges (``judges:``).

They live apart from the code that uses them (mutators/repair.py, llm/judge.py) so that loading a config
imports no HTTP client. Both are off by default. docs/config.md documents every key.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from evoforge.config_base import Strict
from evoforge.llm.settings import ModelConfig

RepairTrigger = Literal["no_edit", "edit_rejected", "evaluation"]
_METRIC_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


class RepairConfig(Strict):
    """Follow-up requests that show the model why its child failed, in the same conversation.

    ``max_attempts`` is per generation; 0 turns repair off. ``on`` names the failures that get one:
    an answer without an edit, an edit that does not apply, a child whose evaluation failed.
    """

    max_attempts: int = Field(default=0, ge=0)
    on: list[RepairTrigger] = Field(default_factory=lambda: ["no_edit", "edit_rejected", "evaluation"])
    max_error_chars: int = Field(default=2000, gt=0)


class JudgeConfig(Strict):
    """One judge: a model that grades each evaluated child against a rubric, 0 to ``max_score``.

    The grade is stored as the metric ``judge_<name>``; with a ``threshold``, a child graded below it is
    stored but marked failed, so the archive never admits it. A grade that is missing (two bad answers,
    a failed call) never rejects a child.
    """

    name: str
    model: ModelConfig
    rubric: str = Field(min_length=1)
    threshold: float | None = None
    max_score: float = Field(default=10.0, gt=0)
    max_code_chars: int = Field(default=20_000, gt=0)

    @field_validator("name")
    @classmethod
    def _metric_name(cls, name: str) -> str:
        if not _METRIC_NAME.fullmatch(name):
            raise ValueError(f"{name!r}: use letters, digits and _ (it names the metric judge_{name})")
        return name

    @model_validator(mode="after")
    def _threshold_on_the_scale(self) -> JudgeConfig:
        if self.threshold is not None and not 0 <= self.threshold <= self.max_score:
            raise ValueError(f"threshold {self.threshold:g} is outside the grades 0 to {self.max_score:g}")
        return self


def _unique_names(judges: list[JudgeConfig]) -> list[JudgeConfig]:
    names = [judge.name for judge in judges]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"judge name {twice[0]!r} is used twice; each names a metric")
    return judges


JudgeList = Annotated[list[JudgeConfig], AfterValidator(_unique_names)]
