"""The model client over real HTTP against the scripted server: success, retries and every fault."""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections import Counter

import pytest

from evoforge.config import LLMConfig, ModelConfig
from evoforge.errors import ProviderError
from evoforge.llm.ensemble import Ensemble
from evoforge.llm.openai_compat import OpenAICompatClient
from evoforge.testing.scripted_server import Fault, ScriptedServer

MESSAGES = [{"role": "system", "content": "rules"}, {"role": "user", "content": "improve this"}]
SECRET = "sk-test-secret-value-123"


def client(base_url: str, retries: int = 2, timeout: float = 5.0, **model: object) -> OpenAICompatClient:
    config = ModelConfig(name="scripted", base_url=base_url, timeout=timeout, **model)  # type: ignore[arg-type]
    return OpenAICompatClient(config, LLMConfig(retries=retries, connect_timeout=2.0))


def complete(c: OpenAICompatClient, seed: int | None = None) -> object:
    async def call() -> object:
        try:
            return await c.complete(MESSAGES, seed=seed)
        finally:
            await c.aclose()

    return asyncio.run(call())


def test_success_records_text_tokens_latency_and_seed() -> None:
    with ScriptedServer(["the answer"], latency_s=0.05) as server:
        completion = complete(client(server.base_url), seed=42)
        assert server.requests[0]["seed"] == 42
        assert server.requests[0]["messages"] == MESSAGES
    assert completion.text == "the answer"
    assert completion.prompt_tokens > 0 and completion.completion_tokens > 0
    assert completion.latency_s >= 0.05


def test_seed_is_not_sent_when_disabled() -> None:
    with ScriptedServer(["ok"]) as server:
        complete(client(server.base_url, send_seed=False), seed=42)
        assert "seed" not in server.requests[0]


@pytest.mark.parametrize("fault", [Fault.RATE_LIMIT, Fault.SERVER_ERROR])
def test_transient_errors_are_retried(fault: Fault) -> None:
    with ScriptedServer(["recovered"], faults={0: fault}) as server:
        completion = complete(client(server.base_url))
        assert len(server.requests) == 2
    assert completion.text == "recovered"


@pytest.mark.parametrize(
    ("fault", "kind"),
    [(Fault.UNAUTHORIZED, "auth"), (Fault.UNKNOWN_MODEL, "unknown_model")],
)
def test_unusable_provider_is_fatal_at_once(fault: Fault, kind: str) -> None:
    with ScriptedServer(["never"], faults={0: fault, 1: fault, 2: fault}) as server:
        started = time.monotonic()
        with pytest.raises(ProviderError) as raised:
            complete(client(server.base_url))
        assert len(server.requests) == 1
    assert raised.value.fatal and raised.value.kind == kind
    assert time.monotonic() - started < 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_host_is_fatal() -> None:
    with pytest.raises(ProviderError) as raised:
        complete(client(f"http://127.0.0.1:{free_port()}/v1", retries=0))
    assert raised.value.fatal and raised.value.kind == "unreachable"


def test_hang_times_out() -> None:
    with ScriptedServer(["late"], faults={0: Fault.HANG}) as server:
        started = time.monotonic()
        with pytest.raises(ProviderError) as raised:
            complete(client(server.base_url, retries=0, timeout=0.5))
    assert raised.value.kind == "timeout" and not raised.value.fatal
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        (Fault.TRUNCATED_JSON, "bad_response"),
        (Fault.HTML, "bad_response"),
        (Fault.EMPTY_CHOICES, "bad_response"),
        (Fault.NULL_CONTENT, "empty_content"),
        (Fault.EMPTY_CONTENT, "empty_content"),
    ],
)
def test_malformed_answers_are_non_fatal_with_a_kind(fault: Fault, kind: str) -> None:
    with ScriptedServer(["unused"], faults={0: fault}) as server, pytest.raises(ProviderError) as raised:
        complete(client(server.base_url, retries=0))
    assert raised.value.kind == kind and not raised.value.fatal


def test_api_key_never_appears_in_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVOFORGE_TEST_KEY", SECRET)
    server = ScriptedServer(["x"], faults={0: Fault.UNAUTHORIZED})
    with server, pytest.raises(ProviderError) as raised:
        complete(client(server.base_url, api_key_env="EVOFORGE_TEST_KEY"))
    assert SECRET not in str(raised.value)
    assert "EVOFORGE_TEST_KEY" in str(raised.value)


def test_missing_key_for_a_remote_endpoint_is_fatal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVOFORGE_ABSENT_KEY", raising=False)
    with pytest.raises(ProviderError, match="EVOFORGE_ABSENT_KEY is not set"):
        client("https://api.example.com/v1", api_key_env="EVOFORGE_ABSENT_KEY")


def test_requests_run_concurrently() -> None:
    with ScriptedServer(["ok"], latency_s=0.3) as server:
        c = client(server.base_url)

        async def sixteen() -> float:
            started = time.monotonic()
            await asyncio.gather(*(c.complete(MESSAGES) for _ in range(16)))
            await c.aclose()
            return time.monotonic() - started

        elapsed = asyncio.run(sixteen())
    assert elapsed < 0.3 * 8


def test_ensemble_weights_are_respected_and_deterministic() -> None:
    llm = LLMConfig(
        models=[
            ModelConfig(name="a", base_url="http://127.0.0.1:1/v1", weight=3),
            ModelConfig(name="b", base_url="http://127.0.0.1:1/v1", weight=1),
        ]
    )
    ensemble = Ensemble(llm)
    picks = [ensemble.choose(random.Random(i)).name for i in range(2000)]
    assert picks == [ensemble.choose(random.Random(i)).name for i in range(2000)]
    counts = Counter(picks)
    assert 0.68 < counts["a"] / 2000 < 0.82
    asyncio.run(ensemble.aclose())
