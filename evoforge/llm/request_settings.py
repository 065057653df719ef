"""What a model's request body holds beyond the messages: the keys reasoning models and providers differ on.

OpenAI's reasoning models (o1, o3, o4-mini, gpt-5) refuse ``temperature`` and want ``max_completion_tokens``
instead of ``max_tokens``; some take ``reasoning_effort``; OpenRouter, vLLM and Ollama accept keys of their
own. These settings are part of each model's config (``llm.models[]``), documented in docs/providers.md.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from evoforge.config_base import Strict

# The keys evoforge sets itself: ``extra_body`` may not override them (a typo there would silently win).
PROTOCOL_KEYS = frozenset(
    {
        "model",
        "messages",
        "temperature",
        "max_tokens",
        "max_completion_tokens",
        "seed",
        "reasoning_effort",
        "stream",
    }
)


class RequestOptions(Strict):
    """The request-shaping keys of one model; the defaults send what every compatible endpoint accepts."""

    send_temperature: bool = True
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    reasoning_effort: Literal["none", "minimal", "low", "medium", "high"] | None = None
    extra_body: dict[str, Any] = Field(default_factory=dict)

    @field_validator("extra_body")
    @classmethod
    def _no_protocol_keys(cls, body: dict[str, Any]) -> dict[str, Any]:
        clashes = sorted(PROTOCOL_KEYS & set(body))
        if clashes:
            raise ValueError(
                f"{', '.join(clashes)} is set by evoforge itself; use the model's own key for it"
            )
        return body
