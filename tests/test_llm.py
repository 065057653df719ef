"""The model client and the ensemble over real HTTP against the scripted server: success, retries, faults."""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections import Counter
from typing import Any

import pytest

from evoforge.config import LLMConfig, ModelConfig
from evoforge.errors import ProviderError
from evoforge.llm import Completion, Ensemble, OpenAICompatClient
from evoforge.llm.openai_compat import _count
from evoforge.testing.scripted_server import Fault, ScriptedServer

MESSAGES = [{"role": "system", "content": "rules " * 20}, {"role": "user", "content": "improve this"}]
SECRET = "sk-test-secret-value-123"


def client(base_url: str, retries: int = 2, timeout: float = 5.0, **model: Any) -> OpenAICompatClient:
    config = ModelConfig(name="scripted", base_url=base_url, timeout=timeout, **model)
    return OpenAICompatClient(config, LLMConfig(retries=retries, connect_timeout=2.0))


async def complete(c: OpenAICompatClient, seed: int | None = None) -> Completion:
    try:
        return await c.complete(MESSAGES, seed=seed)
    finally:
        await c.aclose()


async def failure(c: OpenAICompatClient) -> ProviderError:
    with pytest.raises(ProviderError) as raised:
        await complete(c)
    return raised.value


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_success_records_text_tokens_latency_and_request() -> None:
    with ScriptedServer(["the answer"], latency_s=0.05) as server:
        completion = await complete(client(server.base_url, temperature=0.2, max_tokens=99), seed=42)
        request = server.requests[0]
    assert completion.text == "the answer" and completion.model == "scripted"
    assert completion.prompt_tokens > 30 and completion.completion_tokens == 3
    assert completion.latency_s >= 0.05
    assert request["messages"] == MESSAGES and request["seed"] == 42
    assert request["temperature"] == 0.2 and request["max_tokens"] == 99


async def test_timeouts_and_retries_come_from_the_config() -> None:
    c = client("http://127.0.0.1:9/v1", retries=4, timeout=7.0)
    sdk = c._client  # the SDK's own 600 s read default must never apply
    assert (sdk.timeout.connect, sdk.timeout.read, sdk.max_retries) == (2.0, 7.0, 4)
    await c.aclose()


async def test_seed_is_not_sent_when_disabled() -> None:
    with ScriptedServer(["ok"]) as server:
        await complete(client(server.base_url, send_seed=False), seed=42)
        assert "seed" not in server.requests[0]


async def test_rate_limit_is_retried_after_the_servers_delay() -> None:
    with ScriptedServer(["recovered"], faults={0: Fault.RATE_LIMIT}, retry_after_s=0.3) as server:
        started = time.monotonic()
        completion = await complete(client(server.base_url))
        elapsed = time.monotonic() - started
        assert len(server.requests) == 2
    assert completion.text == "recovered" and elapsed >= 0.3


async def test_server_error_is_retried() -> None:
    with ScriptedServer(["recovered"], faults={0: Fault.SERVER_ERROR}) as server:
        completion = await complete(client(server.base_url))
        assert len(server.requests) == 2
    assert completion.text == "recovered"


@pytest.mark.parametrize(
    ("fault", "kind"), [(Fault.RATE_LIMIT, "rate_limit"), (Fault.SERVER_ERROR, "server_error")]
)
async def test_transient_errors_past_the_retries_are_not_fatal(fault: Fault, kind: str) -> None:
    with ScriptedServer(["never"], fault_rate=1.0, fault_kinds=[fault], retry_after_s=0.01) as server:
        error = await failure(client(server.base_url, retries=1))
        assert len(server.requests) == 2
    assert error.kind == kind and not error.fatal


@pytest.mark.parametrize(
    ("fault", "kind"),
    [(Fault.UNAUTHORIZED, "auth"), (Fault.FORBIDDEN, "auth"), (Fault.UNKNOWN_MODEL, "unknown_model")],
)
async def test_unusable_provider_is_fatal_at_once(fault: Fault, kind: str) -> None:
    with ScriptedServer(["never"], fault_rate=1.0, fault_kinds=[fault]) as server:
        started = time.monotonic()
        error = await failure(client(server.base_url, retries=3))
        assert len(server.requests) == 1  # no retries
    assert error.fatal and error.kind == kind
    assert time.monotonic() - started < 2
    assert "model scripted at http://127.0.0.1:" in str(error)


async def test_auth_failure_names_the_key_variable_never_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVOFORGE_TEST_KEY", SECRET)
    with ScriptedServer(["x"], faults={0: Fault.UNAUTHORIZED}) as server:
        error = await failure(client(server.base_url, api_key_env="EVOFORGE_TEST_KEY"))
    assert str(error).endswith("authentication failed (401) — check $EVOFORGE_TEST_KEY")


@pytest.mark.parametrize("fault", [Fault.UNKNOWN_MODEL, Fault.HANG, Fault.HTML, Fault.SERVER_ERROR])
async def test_api_key_never_appears_in_errors(monkeypatch: pytest.MonkeyPatch, fault: Fault) -> None:
    monkeypatch.setenv("EVOFORGE_TEST_KEY", SECRET)
    with ScriptedServer(["x"], faults={0: fault}) as server:
        error = await failure(
            client(server.base_url, retries=0, timeout=0.5, api_key_env="EVOFORGE_TEST_KEY")
        )
    assert SECRET not in str(error) and SECRET not in repr(error.args)


async def test_missing_key_for_a_remote_endpoint_is_fatal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVOFORGE_ABSENT_KEY", raising=False)
    with pytest.raises(ProviderError, match="EVOFORGE_ABSENT_KEY is not set") as raised:
        client("https://api.example.com/v1", api_key_env="EVOFORGE_ABSENT_KEY")
    assert raised.value.fatal


async def test_a_local_endpoint_needs_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVOFORGE_ABSENT_KEY", raising=False)
    with ScriptedServer(["ok"]) as server:
        base_url = server.base_url.replace("127.0.0.1", "localhost")
        assert (await complete(client(base_url, api_key_env="EVOFORGE_ABSENT_KEY"))).text == "ok"


async def test_unreachable_endpoint_is_fatal() -> None:
    started = time.monotonic()
    error = await failure(client(f"http://127.0.0.1:{free_port()}/v1", retries=0))
    assert error.fatal and error.kind == "unreachable" and "cannot connect" in str(error)
    assert time.monotonic() - started < 2


async def test_an_endpoint_that_answered_before_is_only_a_transient_connection_error() -> None:
    server = ScriptedServer(["ok"]).start()
    c = client(server.base_url, retries=1)
    try:
        assert (await c.complete(MESSAGES)).text == "ok"
        server.stop()
        with pytest.raises(ProviderError) as raised:
            await c.complete(MESSAGES)
    finally:
        await c.aclose()
    assert raised.value.kind == "connection" and not raised.value.fatal


async def test_a_dropped_connection_is_retried_then_a_transient_connection_error() -> None:
    with ScriptedServer(["recovered"], faults={0: Fault.DISCONNECT}) as server:
        assert (await complete(client(server.base_url, retries=1))).text == "recovered"
    with ScriptedServer(["never"], fault_rate=1.0, fault_kinds=[Fault.DISCONNECT]) as server:
        error = await failure(client(server.base_url, retries=1))
        assert len(server.requests) == 2
    assert error.kind == "connection" and not error.fatal


async def test_hang_times_out_within_the_timeout() -> None:
    with ScriptedServer(["late"], faults={0: Fault.HANG}) as server:
        started = time.monotonic()
        error = await failure(client(server.base_url, retries=0, timeout=0.5))
    assert error.kind == "timeout" and not error.fatal and "0.5 s" in str(error)
    assert time.monotonic() - started < 3


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        (Fault.TRUNCATED_JSON, "bad_response"),
        (Fault.HTML, "bad_response"),
        (Fault.NOT_UTF8, "bad_response"),
        (Fault.EMPTY_CHOICES, "bad_response"),
        (Fault.NULL_CONTENT, "empty_content"),
        (Fault.EMPTY_CONTENT, "empty_content"),
    ],
)
async def test_malformed_answers_are_non_fatal_with_a_kind(fault: Fault, kind: str) -> None:
    with ScriptedServer(["unused"], faults={0: fault}) as server:
        error = await failure(client(server.base_url, retries=2))
        assert len(server.requests) == 1  # a 200 is not retried; the next generation asks again
    assert error.kind == kind and not error.fatal


async def test_concurrent_calls_run_in_parallel_up_to_the_models_limit() -> None:
    latency = 0.3
    with ScriptedServer(["ok"], latency_s=latency) as server:
        c = client(server.base_url, max_concurrency=8)
        started = time.monotonic()
        completions = await asyncio.gather(*(c.complete(MESSAGES) for _ in range(16)))
        elapsed = time.monotonic() - started
        await c.aclose()
    assert [completion.text for completion in completions] == ["ok"] * 16
    assert 2 * latency <= elapsed < 8 * latency  # two waves of eight, not sixteen in a row


def test_token_counts_that_are_not_counts_are_zero() -> None:
    assert [_count(value) for value in (7, 0, "12", None, -3, True, 2.5)] == [7, 0, 0, 0, 0, 0, 0]


def two_models(a_url: str, b_url: str) -> LLMConfig:
    return LLMConfig(
        models=[
            ModelConfig(name="a", base_url=a_url, weight=3),
            ModelConfig(name="b", base_url=b_url, weight=1),
        ]
    )


async def test_ensemble_weights_are_respected_and_deterministic() -> None:
    ensemble = Ensemble(two_models("http://127.0.0.1:1/v1", "http://127.0.0.1:1/v1"))
    rng, again = random.Random(7), random.Random(7)
    picks = [await ensemble.choose(rng) for _ in range(2000)]
    assert picks == [await ensemble.choose(again) for _ in range(2000)]
    assert 0.70 < Counter(picks)[0] / 2000 < 0.80
    assert [rng.random() for _ in range(3)] == [again.random() for _ in range(3)]
    expected = random.Random(7)
    assert picks[:50] == [expected.choices([0, 1], weights=[3, 1])[0] for _ in range(50)]
    assert ensemble.model_names == ["a", "b"]
    await ensemble.aclose()


async def test_ensemble_completes_through_the_chosen_model() -> None:
    with ScriptedServer(["from a"]) as a, ScriptedServer(["from b"]) as b:
        ensemble = Ensemble(two_models(a.base_url, b.base_url))
        rng = random.Random(1)
        texts = [
            (await ensemble.complete(await ensemble.choose(rng), MESSAGES, seed=i)).text for i in range(40)
        ]
        await ensemble.aclose()
        assert len(a.requests) + len(b.requests) == 40
        assert {r["model"] for r in a.requests} == {"a"} and {r["model"] for r in b.requests} == {"b"}
    assert texts.count("from a") == len(a.requests) > texts.count("from b") > 0
