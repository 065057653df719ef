"""One client for any OpenAI-compatible endpoint (OpenAI, Gemini, OpenRouter, vLLM, Ollama, llama.cpp).

It speaks the chat-completions protocol itself, over httpx (evoforge.llm.http): the openai SDK's
layers on top of httpx cost about 2 ms more CPU per call (bench/RESULTS.md). Retries follow the SDK's
policy: 408, 409, 429, 5xx, timeouts and connection errors are retried up to ``llm.retries`` times
with exponential backoff (0.5 s doubling, at most 8 s, up to 25 % jitter), waiting what
``Retry-After`` (seconds or an HTTP date) or ``retry-after-ms`` asks when that is at most two
minutes; a server asking for longer is not retried. ``llm.connect_timeout`` bounds opening a
connection and the model's ``timeout`` the whole answer. Every failure (including a 200 that is
HTML, truncated, has no choices or no content) becomes a ProviderError with a kind. An unusable
provider (bad key, unknown model, an endpoint that never answered) is fatal: the ensemble takes the
model out instead of recording failures, and the run stops when no model is left.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import random
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from evoforge import __version__
from evoforge.config import ENV_REFERENCE, LLMConfig, ModelConfig
from evoforge.errors import ProviderError
from evoforge.llm.http import (
    LOCAL_HOSTS,
    MAX_BODY_BYTES,
    AnswerTimeout,
    BodyTooLarge,
    ConnectFailed,
    ConnectTimeout,
    HTTPError,
    Pool,
    Response,
)

log = logging.getLogger(__name__)

LOCAL_PLACEHOLDER_KEY = "not-needed-for-a-local-endpoint"
MAX_DETAIL_CHARS = 200
INITIAL_RETRY_DELAY_S = 0.5
MAX_RETRY_DELAY_S = 8.0
MAX_RETRY_AFTER_S = 120.0
RETRIED_STATUSES = frozenset({408, 409, 429})


@dataclass(frozen=True)
class Completion:
    """One answer of a model, with what it cost."""

    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    finish_reason: str = ""  # "stop": the answer ended on its own; "length": cut at max_tokens


def api_key(model: ModelConfig) -> str:
    """The key from ``$api_key_env``; a local endpoint may do without, a remote one must have it."""
    key = os.environ.get(model.api_key_env)
    if key:
        return key
    if urlsplit(model.base_url).hostname in LOCAL_HOSTS:
        return LOCAL_PLACEHOLDER_KEY
    raise ProviderError(
        f"environment variable {model.api_key_env} is not set (API key for model {model.name})",
        fatal=True,
        kind="auth",
    )


def _count(tokens: object) -> int:
    """A token count from ``usage``; a provider that sends something else is counted as 0, not a crash."""
    return tokens if isinstance(tokens, int) and not isinstance(tokens, bool) and tokens >= 0 else 0


def retry_after(headers: dict[str, str]) -> float | None:
    """Seconds the server asks us to wait (``retry-after-ms``, ``Retry-After`` seconds or date)."""
    for name, divisor in (("retry-after-ms", 1000), ("retry-after", 1)):
        value = headers.get(name)
        if value is not None:
            try:
                delay = float(value) / divisor
            except ValueError:
                continue
            return delay if math.isfinite(delay) else None
    date = headers.get("retry-after")
    if not date:
        return None
    import email.utils  # here only: rare, and not needed anywhere else

    try:
        parsed = email.utils.parsedate_tz(date)
        return None if parsed is None else float(email.utils.mktime_tz(parsed) - time.time())
    except (TypeError, ValueError, OverflowError):
        return None


def request_body(model: ModelConfig, messages: list[dict[str, str]], seed: int | None) -> dict[str, Any]:
    """The chat-completions body for ``model``: what its request options send and what they leave out.

    ``extra_body`` goes first, so evoforge's own keys can never be overridden by it (the config refuses
    the clash anyway).
    """
    body: dict[str, Any] = {**model.extra_body, "model": model.name, "messages": messages}
    if model.send_temperature:
        body["temperature"] = model.temperature
    body[model.max_tokens_field] = model.max_tokens
    if model.reasoning_effort is not None:
        body["reasoning_effort"] = model.reasoning_effort
    if seed is not None and model.send_seed:
        body["seed"] = seed
    return body


def should_retry(response: Response) -> bool:
    """The SDK's rule: not if asked to wait over two minutes, ``x-should-retry`` if given, else by status."""
    delay = retry_after(response.headers)
    if delay is not None and delay > MAX_RETRY_AFTER_S:
        return False
    explicit = response.headers.get("x-should-retry")
    if explicit in ("true", "false"):
        return explicit == "true"
    return response.status in RETRIED_STATUSES or response.status >= 500


def backoff(attempt: int) -> float:
    """The wait before retry number ``attempt + 1``: 0.5 s doubling to 8 s, minus up to 25 % jitter."""
    delay = min(INITIAL_RETRY_DELAY_S * 2.0 ** min(attempt, 32), MAX_RETRY_DELAY_S)
    return delay * (1 - 0.25 * random.random())


class OpenAICompatClient:
    """A long-lived async client for one model of the ensemble.

    One connection pool serves every call for the client's lifetime; at most
    ``model.max_concurrency`` calls (unset: ``llm.max_inflight``) are in flight at once.
    ``complete`` returns a Completion or raises ProviderError; ``aclose`` releases the connections.
    """

    def __init__(self, model: ModelConfig, llm: LLMConfig) -> None:
        self.model = model
        self.name = model.name
        self._key = api_key(model)
        self._secrets = [] if self._key == LOCAL_PLACEHOLDER_KEY else [self._key]  # masked in messages
        if not (self._key.isascii() and self._key.isprintable()):
            raise self._error(
                f"${model.api_key_env} holds a line break or a character that cannot be sent", "auth", True
            )
        self._retries = llm.retries
        url = urlsplit(model.base_url)
        endpoint = urlunsplit(
            (url.scheme, url.netloc, url.path.rstrip("/") + "/chat/completions", url.query, "")
        )
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": f"evoforge/{__version__}",
            "Accept-Encoding": "identity",
            **self._key_header(),
            **self._extra_headers(),
        }
        self.max_concurrency = model.max_concurrency or llm.max_inflight
        try:
            self._pool = Pool(endpoint, llm.connect_timeout, headers, self.max_concurrency)
        except ConnectFailed as error:  # an unusable proxy setting
            raise self._error(f"cannot connect ({error})", "unreachable", fatal=True) from None
        self._slots = asyncio.Semaphore(self.max_concurrency)
        self._reached = False  # an HTTP answer of any kind proves the endpoint exists

    def _key_header(self) -> dict[str, str]:
        """``Authorization: Bearer KEY``, or the bare key in the header ``api_key_header`` names (Azure)."""
        name = self.model.api_key_header
        return {name: f"Bearer {self._key}" if name.lower() == "authorization" else self._key}

    def _extra_headers(self) -> dict[str, str]:
        """``extra_headers`` with each ``${NAME}`` value read from the environment (never stored)."""
        headers = {}
        for name, value in self.model.extra_headers.items():
            reference = ENV_REFERENCE.fullmatch(value)
            if reference is not None:
                value = os.environ.get(reference[1], "")
                if not value:
                    missing = f"environment variable {reference[1]} is not set (header {name})"
                    raise self._error(missing, "auth", fatal=True)
                if not (value.isascii() and value.isprintable()):
                    unsendable = f"${reference[1]} holds a line break or a character that cannot be sent"
                    raise self._error(unsendable, "auth", fatal=True)
                self._secrets.append(value)
            headers[name] = value
        return headers

    async def complete(self, messages: list[dict[str, str]], seed: int | None = None) -> Completion:
        """One chat completion; ``seed`` is sent when the model config allows it (``send_seed``)."""
        body = json.dumps(request_body(self.model, messages, seed)).encode()
        async with self._slots:
            started = time.monotonic()
            response = await self._post(body)
            latency = time.monotonic() - started
        return self._completion(response, latency)

    async def aclose(self) -> None:
        await self._pool.aclose()

    async def _post(self, body: bytes) -> Response:
        """POST with retries; a 2xx answer, else the last failure as a ProviderError."""
        attempt = 0
        while True:
            retrying = attempt < self._retries
            delay = None
            try:
                response = await self._pool.post(body, self.model.timeout)
            except BodyTooLarge:
                self._reached = True
                too_large = f"an answer larger than {MAX_BODY_BYTES >> 20} MiB"
                raise self._error(too_large, "bad_response") from None
            except HTTPError as error:
                if not retrying:
                    raise self._transport_error(error) from None
                log.debug("model %s: %s; retrying", self.name, error)
            else:
                self._reached = True
                if 200 <= response.status < 300:
                    return response
                if not retrying or not should_retry(response):
                    raise self._status_error(response)
                delay = retry_after(response.headers)
                log.debug("model %s: HTTP %d; retrying", self.name, response.status)
            if delay is None or not 0 < delay <= MAX_RETRY_AFTER_S:
                delay = backoff(attempt)
            await asyncio.sleep(delay)
            attempt += 1

    def _completion(self, response: Response, latency: float) -> Completion:
        """The first choice's content and the usage; a body that is not a chat completion is an error."""
        try:
            data = json.loads(response.body)
        except (ValueError, RecursionError) as error:
            if "json" not in response.headers.get("content-type", "").lower():
                text = self._excerpt(response.body.decode("utf-8", "replace"))
                raise self._error(f"answered {text!r} instead of JSON", "bad_response") from None
            why = error.msg if isinstance(error, json.JSONDecodeError) else type(error).__name__
            raise self._error(f"unreadable JSON answer ({why})", "bad_response") from None
        choices = data.get("choices") if isinstance(data, dict) else None
        if not isinstance(choices, list) or not choices:
            raise self._error("the answer has no choices", "bad_response")
        message = choices[0].get("message") if isinstance(choices[0], dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, str) or not content.strip():
            raise self._error("the answer has no content", "empty_content")
        usage = data.get("usage")
        usage = usage if isinstance(usage, dict) else {}
        return Completion(
            text=content,
            model=self.model.name,
            prompt_tokens=_count(usage.get("prompt_tokens")),
            completion_tokens=_count(usage.get("completion_tokens")),
            latency_s=latency,
            finish_reason=str(choices[0].get("finish_reason") or ""),
        )

    def _transport_error(self, error: HTTPError) -> ProviderError:
        """A call that got no HTTP answer, after the retries; fatal if the endpoint never answered."""
        if isinstance(error, ConnectFailed) and not self._reached:
            return self._error(f"cannot connect ({self._excerpt(str(error))})", "unreachable", fatal=True)
        if isinstance(error, AnswerTimeout):
            return self._error(f"no answer within {self.model.timeout:g} s{self._after()}", "timeout")
        if isinstance(error, ConnectTimeout):
            return self._error(f"{error}{self._after()}", "timeout")
        return self._error(f"connection failed ({self._excerpt(str(error))}){self._after()}", "connection")

    def _status_error(self, response: Response) -> ProviderError:
        """Map a non-2xx answer (after the retries) to a ProviderError; fatal when retrying cannot help."""
        status = response.status
        if status in (401, 403):
            return self._error(
                f"authentication failed ({status}) — check ${self.model.api_key_env}", "auth", fatal=True
            )
        if status == 404:
            return self._error(
                f"unknown model or endpoint (404): {self._server_says(response)}", "unknown_model", fatal=True
            )
        if status == 429:
            return self._error(f"rate limited (429){self._after()}", "rate_limit")
        if status >= 500:
            return self._error(f"server error ({status}){self._after()}", "server_error")
        said = self._server_says(response)
        if 300 <= status < 400 and "location" in response.headers:
            said = f"redirected to {self._excerpt(response.headers['location'])}; set base_url to that"
        return self._error(f"request refused (HTTP {status}): {said}", "bad_request")

    def _after(self) -> str:
        times = "time" if self._retries == 1 else "times"
        return f" (retried up to {self._retries} {times})" if self._retries else ""

    def _server_says(self, response: Response) -> str:
        """The provider's own error message (OpenAI's shape: {"error": {"message": ...}}), shortened."""
        text = response.body.decode("utf-8", "replace").strip()
        try:
            body = json.loads(text)
        except (ValueError, RecursionError):
            body = None
        error = body.get("error", body) if isinstance(body, dict) else None
        said = error.get("message") if isinstance(error, dict) else None
        return self._excerpt(said if isinstance(said, str) else text or f"HTTP {response.status}")

    def _excerpt(self, text: str) -> str:
        """A short, single-line piece of provider text with the secrets masked (some servers echo them)."""
        text = " ".join(text.split())
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text if len(text) <= MAX_DETAIL_CHARS else text[: MAX_DETAIL_CHARS - 3] + "..."

    def _error(self, what: str, kind: str, fatal: bool = False) -> ProviderError:
        error = ProviderError(
            f"model {self.model.name} at {self.model.base_url}: {what}", fatal=fatal, kind=kind
        )
        log.debug("%s (kind %s, fatal %s)", error, kind, fatal)
        return error
