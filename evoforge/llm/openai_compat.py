"""One client for any OpenAI-compatible endpoint (OpenAI, Gemini, OpenRouter, vLLM, Ollama, llama.cpp).

The SDK retries 429, 5xx, timeouts and dropped connections with jittered exponential backoff and
honours Retry-After; this wrapper sets explicit timeouts (the SDK's 600 s read default lets one hung
endpoint stall a call for half an hour), bounds concurrency per model, measures latency and tokens,
and turns every failure, including the ones that are not ``openai.APIError`` (an HTML or truncated
body, no choices, no content), into a ProviderError with a kind. An unusable provider (bad key,
unknown model, unreachable before it ever answered) is fatal: the run stops at once.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from evoforge.config import LLMConfig, ModelConfig
from evoforge.errors import ProviderError

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class Completion:
    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float


def _api_key(model: ModelConfig) -> str:
    """The key from the environment; a local endpoint gets a placeholder, a remote one must have it."""
    key = os.environ.get(model.api_key_env)
    if key:
        return key
    if urlparse(model.base_url).hostname in LOCAL_HOSTS:
        return "not-needed-for-a-local-endpoint"
    raise ProviderError(
        f"environment variable {model.api_key_env} is not set (API key for model {model.name})",
        fatal=True,
        kind="auth",
    )


class OpenAICompatClient:
    """A long-lived async client for one model of the ensemble."""

    def __init__(self, model: ModelConfig, llm: LLMConfig) -> None:
        try:
            import openai
        except ImportError:  # pragma: no cover - a core dependency
            raise ProviderError("the openai package is missing: pip install openai", fatal=True) from None
        self.model = model
        self.name = model.name
        self._openai = openai
        self._client = openai.AsyncOpenAI(
            api_key=_api_key(model),
            base_url=model.base_url,
            max_retries=llm.retries,
            timeout=openai.Timeout(model.timeout, connect=llm.connect_timeout),
        )
        self._slots = asyncio.Semaphore(model.max_concurrency)
        self._ever_answered = False

    async def complete(self, messages: list[dict[str, str]], seed: int | None = None) -> Completion:
        """One chat completion; raises ProviderError (``fatal`` when the provider is unusable)."""
        extra = {"seed": seed} if seed is not None and self.model.send_seed else {}
        async with self._slots:
            started = time.monotonic()
            try:
                response = await self._client.chat.completions.create(
                    model=self.model.name,
                    messages=messages,  # type: ignore[arg-type]
                    temperature=self.model.temperature,
                    max_tokens=self.model.max_tokens,
                    **extra,
                )
                text = self._content(response)
            except ProviderError:
                raise
            except Exception as error:
                raise self._classify(error) from None
            latency = time.monotonic() - started
        self._ever_answered = True
        usage = getattr(response, "usage", None)
        return Completion(
            text=text,
            model=self.model.name,
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            latency_s=latency,
        )

    def _content(self, response: Any) -> str:
        choices = getattr(response, "choices", None)
        if not choices:
            raise ProviderError(f"{self._where()}: the answer has no choices", kind="bad_response")
        content = getattr(choices[0].message, "content", None)
        if not content or not str(content).strip():
            raise ProviderError(f"{self._where()}: the answer has no content", kind="empty_content")
        return str(content)

    def _where(self) -> str:
        return f"model {self.model.name} at {self.model.base_url}"

    def _classify(self, error: Exception) -> ProviderError:
        """Map an SDK or decoding failure to a ProviderError kind (never quoting the API key)."""
        openai = self._openai
        where = self._where()
        if isinstance(error, openai.AuthenticationError | openai.PermissionDeniedError):
            return ProviderError(
                f"{where}: authentication failed ({error.status_code}); check ${self.model.api_key_env}",
                fatal=True,
                kind="auth",
            )
        if isinstance(error, openai.NotFoundError):
            return ProviderError(
                f"{where}: unknown model or endpoint (404)", fatal=True, kind="unknown_model"
            )
        if isinstance(error, openai.APITimeoutError):
            return ProviderError(f"{where}: no answer within {self.model.timeout:g} s", kind="timeout")
        if isinstance(error, openai.APIConnectionError):
            if not self._ever_answered:
                return ProviderError(f"{where}: cannot connect", fatal=True, kind="unreachable")
            return ProviderError(f"{where}: connection failed", kind="connection")
        if isinstance(error, openai.RateLimitError):
            return ProviderError(f"{where}: rate limited (429) after retries", kind="rate_limit")
        if isinstance(error, openai.APIStatusError):
            return ProviderError(f"{where}: HTTP {error.status_code} after retries", kind="server_error")
        if isinstance(error, json.JSONDecodeError | ValueError | TypeError | IndexError | AttributeError):
            return ProviderError(f"{where}: unreadable answer ({type(error).__name__})", kind="bad_response")
        if isinstance(error, openai.APIError):
            return ProviderError(f"{where}: {type(error).__name__}", kind="bad_response")
        return ProviderError(f"{where}: {type(error).__name__}: {error}", kind="provider_error")

    async def aclose(self) -> None:
        await self._client.close()
