"""One client for any OpenAI-compatible endpoint (OpenAI, Gemini, OpenRouter, vLLM, Ollama, llama.cpp).

Retries are the SDK's own: it retries 408, 409, 429, 5xx, timeouts and connection errors up to
``llm.retries`` times with exponential backoff (0.5 s doubling, at most 8 s, up to 25 % jitter), and
waits what ``Retry-After`` (or ``retry-after-ms``) asks when that is at most two minutes. This
wrapper sets explicit timeouts (the SDK's 600 s read default lets one hung endpoint stall a call for
half an hour), bounds concurrency per model, measures latency and tokens, and turns every failure,
including the ones that are not ``openai.APIError`` (an HTML or truncated body, no choices, no
content), into a ProviderError with a kind. An unusable provider (bad key, unknown model, an
endpoint that never answered) is fatal: the run stops at once instead of recording failures.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import ssl
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from evoforge.config import LLMConfig, ModelConfig
from evoforge.errors import ProviderError

if TYPE_CHECKING:
    import openai

log = logging.getLogger(__name__)

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
LOCAL_PLACEHOLDER_KEY = "not-needed-for-a-local-endpoint"
# Failures to open a connection at all (refused, no route, DNS, TLS handshake); matched by name because
# openai 1.x raises them from httpx and 3.x from httpx2.
_CONNECT_FAILURES = frozenset({"ConnectError", "ConnectTimeout", "SSLError", "SSLCertVerificationError"})
MAX_DETAIL_CHARS = 200


@dataclass(frozen=True)
class Completion:
    """One answer of a model, with what it cost."""

    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float


def _import_openai() -> Any:
    try:
        import openai
    except ImportError:
        raise ProviderError(
            "the openai package is not installed: pip install openai (or reinstall evoforge)",
            fatal=True,
            kind="missing_dependency",
        ) from None
    return openai


def api_key(model: ModelConfig) -> str:
    """The key from ``$api_key_env``; a local endpoint may do without, a remote one must have it."""
    key = os.environ.get(model.api_key_env)
    if key:
        return key
    if urlparse(model.base_url).hostname in LOCAL_HOSTS:
        return LOCAL_PLACEHOLDER_KEY
    raise ProviderError(
        f"environment variable {model.api_key_env} is not set (API key for model {model.name})",
        fatal=True,
        kind="auth",
    )


def _count(tokens: object) -> int:
    """A token count from ``usage``; a provider that sends something else is counted as 0, not a crash."""
    return tokens if isinstance(tokens, int) and not isinstance(tokens, bool) and tokens >= 0 else 0


def _could_not_connect(error: BaseException) -> bool:
    cause = error.__cause__
    return isinstance(cause, ssl.SSLError) or any(
        cls.__name__ in _CONNECT_FAILURES for cls in type(cause).__mro__
    )


class OpenAICompatClient:
    """A long-lived async client for one model of the ensemble.

    One ``AsyncOpenAI`` (and so one connection pool) serves every call for the client's lifetime;
    at most ``model.max_concurrency`` calls are in flight at once. ``complete`` returns a Completion
    or raises ProviderError; ``aclose`` releases the connections.
    """

    def __init__(self, model: ModelConfig, llm: LLMConfig) -> None:
        openai = _import_openai()
        self.model = model
        self.name = model.name
        self._openai = openai
        self._key = api_key(model)
        self._retries = llm.retries
        self._client: openai.AsyncOpenAI = openai.AsyncOpenAI(
            api_key=self._key,
            base_url=model.base_url,
            max_retries=llm.retries,
            timeout=openai.Timeout(model.timeout, connect=llm.connect_timeout),
        )
        self._slots = asyncio.Semaphore(model.max_concurrency)
        self._reached = False  # an HTTP answer of any kind proves the endpoint exists

    async def complete(self, messages: list[dict[str, str]], seed: int | None = None) -> Completion:
        """One chat completion; ``seed`` is sent when the model config allows it (``send_seed``)."""
        extra = {"seed": seed} if seed is not None and self.model.send_seed else {}
        async with self._slots:
            started = time.monotonic()
            try:
                # The SDK's documented raw request: same retries, timeouts and errors as
                # chat.completions.create, without its recursive re-typing of the request (our
                # messages are plain dicts already), which costs more CPU than the rest of a call.
                response = await self._client.post(
                    "/chat/completions",
                    body={
                        "model": self.model.name,
                        "messages": messages,
                        "temperature": self.model.temperature,
                        "max_tokens": self.model.max_tokens,
                        **extra,
                    },
                    cast_to=self._openai.types.chat.ChatCompletion,
                )
            except ValueError as error:  # a 200 whose body is cut off or not UTF-8; not an openai.APIError
                self._reached = True
                why = error.msg if isinstance(error, json.JSONDecodeError) else type(error).__name__
                raise self._error(f"unreadable JSON answer ({why})", "bad_response") from None
            except self._openai.APIError as error:
                raise self._classify(error) from None
            latency = time.monotonic() - started
        self._reached = True
        usage = getattr(response, "usage", None)
        return Completion(
            text=self._text(response),
            model=self.model.name,
            prompt_tokens=_count(getattr(usage, "prompt_tokens", 0)),
            completion_tokens=_count(getattr(usage, "completion_tokens", 0)),
            latency_s=latency,
        )

    async def aclose(self) -> None:
        await self._client.close()

    def _text(self, response: Any) -> str:
        """The first choice's content; a body that is not a chat completion is a ``bad_response``."""
        if isinstance(response, str):  # the SDK hands back non-JSON bodies (an HTML error page) as text
            raise self._error(f"answered {self._excerpt(response)!r} instead of JSON", "bad_response")
        choices = getattr(response, "choices", None)
        if not isinstance(choices, list) or not choices:
            raise self._error("the answer has no choices", "bad_response")
        message = getattr(choices[0], "message", None)
        content = getattr(message, "content", None)
        if not isinstance(content, str) or not content.strip():
            raise self._error("the answer has no content", "empty_content")
        return content

    def _classify(self, error: openai.APIError) -> ProviderError:
        """Map an SDK error (after its retries) to a ProviderError; fatal when retrying cannot help."""
        openai = self._openai
        if isinstance(error, openai.APIStatusError):
            self._reached = True
        if isinstance(error, openai.AuthenticationError | openai.PermissionDeniedError):
            return self._error(
                f"authentication failed ({error.status_code}) — check ${self.model.api_key_env}",
                "auth",
                fatal=True,
            )
        if isinstance(error, openai.NotFoundError):
            return self._error(
                f"unknown model or endpoint (404): {self._server_says(error)}",
                "unknown_model",
                fatal=True,
            )
        if isinstance(error, openai.APIConnectionError) and _could_not_connect(error) and not self._reached:
            return self._error(f"cannot connect ({self._excerpt(str(error.__cause__))})", "unreachable", True)
        if isinstance(error, openai.APITimeoutError):
            return self._error(f"no answer within {self.model.timeout:g} s{self._after()}", "timeout")
        if isinstance(error, openai.APIConnectionError):
            return self._error(
                f"connection failed ({type(error.__cause__).__name__}){self._after()}", "connection"
            )
        if isinstance(error, openai.RateLimitError):
            return self._error(f"rate limited (429){self._after()}", "rate_limit")
        if isinstance(error, openai.APIStatusError) and error.status_code >= 500:
            return self._error(f"server error ({error.status_code}){self._after()}", "server_error")
        if isinstance(error, openai.APIStatusError):
            detail = f"request refused (HTTP {error.status_code}): {self._server_says(error)}"
            return self._error(detail, "bad_request")
        return self._error(f"unreadable answer ({type(error).__name__})", "bad_response")

    def _after(self) -> str:
        times = "time" if self._retries == 1 else "times"
        return f" (retried up to {self._retries} {times})" if self._retries else ""

    def _server_says(self, error: openai.APIStatusError) -> str:
        """The provider's own error message (OpenAI's shape: {"error": {"message": ...}}), shortened."""
        body = error.body
        said = body.get("message") if isinstance(body, dict) else None
        return self._excerpt(said if isinstance(said, str) else error.message)

    def _excerpt(self, text: str) -> str:
        """A short, single-line piece of provider text with the API key masked (some servers echo it)."""
        text = " ".join(text.split())
        if self._key and self._key != LOCAL_PLACEHOLDER_KEY:
            text = text.replace(self._key, "***")
        return text if len(text) <= MAX_DETAIL_CHARS else text[: MAX_DETAIL_CHARS - 3] + "..."

    def _error(self, what: str, kind: str, fatal: bool = False) -> ProviderError:
        error = ProviderError(
            f"model {self.model.name} at {self.model.base_url}: {what}", fatal=fatal, kind=kind
        )
        log.debug("%s (kind %s, fatal %s)", error, kind, fatal)
        return error
