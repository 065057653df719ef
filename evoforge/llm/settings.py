"""The ``llm`` section of the configuration: the model ensemble, its limits, prices and arm selection."""

from __future__ import annotations

import math
import re
from typing import Literal

from pydantic import Field, field_validator

from evoforge.config_base import Strict
from evoforge.llm.request_settings import RequestOptions

HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP token (RFC 9110)
ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")  # a whole header value "${NAME}"


class SelectionConfig(Strict):
    """``llm.selection``: how each generation's (model, operator) arm is chosen (llm/selection.py)."""

    policy: Literal["weights", "ucb1", "thompson"] = "weights"
    exploration: float = Field(default=math.sqrt(2), ge=0)  # UCB1's c
    cost_aware: bool = False


class ModelConfig(RequestOptions):
    """One language model of the ensemble, reached over the OpenAI chat-completions protocol.

    Its request options (``send_temperature``, ``max_tokens_field``, ...) are in llm/request_settings.py.
    """

    name: str = Field(min_length=1)
    base_url: str = "https://api.openai.com/v1"
    api_key_env: str = "OPENAI_API_KEY"
    api_key_header: str = "Authorization"
    extra_headers: dict[str, str] = Field(default_factory=dict)
    weight: float = Field(default=1.0, gt=0)
    temperature: float = Field(default=0.7, ge=0, le=2)
    max_tokens: int = Field(default=4096, gt=0)
    timeout: float = Field(default=120.0, gt=0)
    max_concurrency: int | None = Field(default=None, gt=0)  # None: llm.max_inflight
    send_seed: bool = True
    # USD per million tokens; None: the approximate table of evoforge/llm/pricing.py (unknown model: 0).
    price_in_per_mtok: float | None = Field(default=None, ge=0)
    price_out_per_mtok: float | None = Field(default=None, ge=0)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        """Catch a malformed URL here, not as a connection error (or a traceback) mid-run."""
        from urllib.parse import urlsplit

        if not url.strip():
            raise ValueError("is empty: give the endpoint's URL, e.g. https://api.openai.com/v1")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("expected an http:// or https:// URL with a host")
        try:
            parts.port  # noqa: B018 - raises for a port outside 0-65535
        except ValueError:
            raise ValueError("the port is not a number from 0 to 65535") from None
        return url

    @field_validator("api_key_header")
    @classmethod
    def _header_name(cls, name: str) -> str:
        if not HEADER_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a valid header name")
        return name

    @field_validator("extra_headers")
    @classmethod
    def _sendable_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        """A header that cannot be sent is a config mistake, not a failed call on every generation."""
        for name, value in headers.items():
            if not HEADER_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a valid header name")
            if not (value.isascii() and value.isprintable()):
                raise ValueError(f"the value of {name} holds a line break or a character that cannot be sent")
        return headers


class LLMConfig(Strict):
    models: list[ModelConfig] = Field(default_factory=list)
    max_inflight: int = Field(default=8, gt=0)
    retries: int = Field(default=3, ge=0)
    connect_timeout: float = Field(default=10.0, gt=0)
    breaker_failures: int = Field(default=5, gt=0)
    breaker_cooldown_s: float = Field(default=30.0, gt=0)
    give_up_after_s: float = Field(default=600.0, gt=0)
    waiting_notice_s: float = Field(default=30.0, gt=0)
    selection: SelectionConfig = Field(default_factory=SelectionConfig)
