"""The model client and the ensemble over real HTTP against the scripted server: success, retries, faults."""

from __future__ import annotations

import asyncio
import json
import math
import random
import re
import shutil
import socket
import ssl
import subprocess
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

import evoforge
from evoforge.config import LLMConfig, ModelConfig
from evoforge.errors import ProviderError
from evoforge.llm import Completion, Ensemble, OpenAICompatClient
from evoforge.llm.openai_compat import _count
from evoforge.testing.responders import gathering
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
    assert (c._pool.connect_timeout, c.model.timeout, c._retries) == (2.0, 7.0, 4)
    await c.aclose()


async def test_seed_is_not_sent_when_disabled() -> None:
    with ScriptedServer(["ok"]) as server:
        await complete(client(server.base_url, send_seed=False), seed=42)
        assert "seed" not in server.requests[0]


async def test_rate_limit_is_retried_after_the_servers_delay() -> None:
    with ScriptedServer(["recovered"], faults={0: Fault.RATE_LIMIT}, retry_after_s=1.0) as server:
        completion = await complete(client(server.base_url))
        first, retry = server.arrivals
    assert completion.text == "recovered" and retry - first >= 1.0  # the backoff alone waits at most 0.5 s


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
        error = await failure(client(server.base_url, retries=3))
        assert len(server.requests) == 1  # no retries
    assert error.fatal and error.kind == kind
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
    error = await failure(client(f"http://127.0.0.1:{free_port()}/v1", retries=2))
    assert error.fatal and error.kind == "unreachable" and "cannot connect" in str(error)


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


async def test_hang_times_out_after_the_timeout() -> None:
    with ScriptedServer(["late"], faults={0: Fault.HANG}) as server:
        error = await failure(client(server.base_url, retries=0, timeout=0.5))
        assert server.counts == {"hang": 1}
    assert error.kind == "timeout" and not error.fatal and "0.5 s" in str(error)


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


@pytest.mark.parametrize(("max_concurrency", "max_inflight"), [(8, 64), (None, 8)])
async def test_concurrent_calls_run_in_parallel_up_to_the_models_limit(
    max_concurrency: int | None, max_inflight: int
) -> None:
    """Unset, a model's limit is llm.max_inflight; the server sees exactly that many at once."""
    with ScriptedServer(gathering(lambda request: "ok", 8)) as server:
        config = ModelConfig(name="scripted", base_url=server.base_url, max_concurrency=max_concurrency)
        c = OpenAICompatClient(config, LLMConfig(max_inflight=max_inflight))
        completions = await asyncio.gather(*(c.complete(MESSAGES) for _ in range(24)))
        await c.aclose()
        assert server.max_concurrent == 8
    assert [completion.text for completion in completions] == ["ok"] * 24


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


# The HTTP client itself, against servers that do what the scripted server cannot: chunked or
# read-to-close bodies, trickled bytes, dropped keep-alives, huge bodies, a proxy in the way.

RawAnswer = bytes | Callable[[asyncio.StreamWriter], Awaitable[bool]]


def chat_json(text: str = "raw answer", **extra: Any) -> bytes:
    body = {"choices": [{"message": {"role": "assistant", "content": text}}], **extra}
    return json.dumps(body).encode()


def http_answer(body: bytes, status: str = "200 OK", *headers: str, length: bool = True) -> bytes:
    lines = [f"HTTP/1.1 {status}", "Content-Type: application/json", *headers]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def chunked(body: bytes, pieces: int = 3) -> bytes:
    size = -(-len(body) // pieces)
    parts = [body[i : i + size] for i in range(0, len(body), size)]
    encoded = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(part), part) for part in parts)
    head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    return head.encode() + encoded + b"0\r\nX-Trailer: yes\r\n\r\n"


async def close_without_answer(writer: asyncio.StreamWriter) -> bool:
    return False


def then_close(raw: bytes) -> Callable[[asyncio.StreamWriter], Awaitable[bool]]:
    async def answer(writer: asyncio.StreamWriter) -> bool:
        writer.write(raw)
        return False

    return answer


class RawServer:
    """A bare HTTP/1.1 server on 127.0.0.1 in the test's event loop, counting connections.

    Request ``i`` gets ``answers[i]`` (the last one repeats): raw bytes, after which the connection
    stays open unless they say ``Connection: close`` or have no length, or a coroutine that writes
    what it likes and returns whether to keep the connection.
    """

    def __init__(self, *answers: RawAnswer, tls: ssl.SSLContext | None = None) -> None:
        self.answers = answers
        self.tls = tls
        self.connections = 0
        self.requests: list[bytes] = []
        self.arrivals: list[float] = []  # time.time() of each request, as the server read it

    async def __aenter__(self) -> RawServer:
        self.server = await asyncio.start_server(self.serve, "127.0.0.1", 0, ssl=self.tls)
        self.base_url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/v1"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.server.close()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                match = re.search(rb"content-length: *(\d+)", head, re.IGNORECASE)
                self.requests.append(head + await reader.readexactly(int(match[1]) if match else 0))
                self.arrivals.append(time.time())
                answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
                if callable(answer):
                    keep = await answer(writer)
                else:
                    writer.write(answer)
                    lower = answer.lower()
                    keep = b"connection: close" not in lower and (
                        b"content-length" in lower or b"transfer-encoding: chunked" in lower
                    )
                await writer.drain()
                if not keep:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # cancelled: the test is over (a cancelled handler upsets asyncio's streams in 3.11)
        finally:
            writer.close()


async def test_keep_alive_reuses_one_connection_unless_the_server_says_close() -> None:
    async with RawServer(http_answer(chat_json("kept"))) as server:
        c = client(server.base_url)
        texts = [(await c.complete(MESSAGES)).text for _ in range(5)]
        await c.aclose()
    assert texts == ["kept"] * 5 and server.connections == 1
    async with RawServer(http_answer(chat_json("closed"), "200 OK", "Connection: close")) as server:
        c = client(server.base_url)
        texts = [(await c.complete(MESSAGES)).text for _ in range(3)]
        await c.aclose()
    assert texts == ["closed"] * 3 and server.connections == 3


async def test_the_scripted_server_is_asked_over_one_kept_alive_connection() -> None:
    with ScriptedServer(["ok"]) as server:
        c = client(server.base_url)
        for _ in range(5):
            await c.complete(MESSAGES)
        await c.aclose()
        assert len(server.requests) == 5
    assert c._pool.connections_opened == 1


async def test_request_line_and_headers() -> None:
    async with RawServer(http_answer(chat_json())) as server:
        await complete(client(server.base_url + "/"))
    head = server.requests[0].split(b"\r\n\r\n")[0].decode().lower().split("\r\n")
    assert head[0] == "post /v1/chat/completions http/1.1"
    for line in ("content-type: application/json", "accept: application/json", "accept-encoding: identity"):
        assert line in head
    assert f"user-agent: evoforge/{evoforge.__version__}" in head
    assert any(line.startswith("authorization: bearer ") for line in head)
    assert f"host: {server.base_url.split('/')[2]}" in head


@pytest.mark.parametrize(
    "answer",
    [
        chunked(chat_json("chunked")),
        chunked(chat_json("chunked"), pieces=1),
        http_answer(chat_json("chunked"), "200 OK", "Connection: close", length=False),  # read to close
        b"HTTP/1.1 100 Continue\r\n\r\n" + http_answer(chat_json("chunked")),
    ],
    ids=["chunked", "one-chunk", "read-to-close", "interim-100"],
)
async def test_bodies_by_length_chunked_or_read_to_close(answer: bytes) -> None:
    async with RawServer(answer) as server:
        c = client(server.base_url, retries=0)
        texts = [(await c.complete(MESSAGES)).text for _ in range(3)]
        await c.aclose()
    assert texts == ["chunked"] * 3
    assert server.connections == (3 if b"Connection: close" in answer else 1)


async def test_a_kept_alive_connection_the_server_dropped_is_replaced_without_using_a_retry() -> None:
    ok = http_answer(chat_json("fresh"))
    async with RawServer(ok, close_without_answer, ok) as server:
        c = client(server.base_url, retries=0)
        first, second = await c.complete(MESSAGES), await c.complete(MESSAGES)
        await c.aclose()
    assert first.text == second.text == "fresh"
    assert server.connections == 2 and len(server.requests) == 3


async def test_a_fresh_connection_dropped_without_an_answer_is_a_connection_error() -> None:
    async with RawServer(close_without_answer) as server:
        error = await failure(client(server.base_url, retries=0))
    assert error.kind == "connection" and not error.fatal and len(server.requests) == 1


@pytest.mark.parametrize("form", ["milliseconds", "date"])
async def test_retry_after_in_milliseconds_or_as_a_date_is_waited(form: str) -> None:
    date = math.floor(time.time()) + 3  # whole seconds; the backoff alone would retry within 0.5 s
    header = (
        "retry-after-ms: 1200" if form == "milliseconds" else f"Retry-After: {formatdate(date, usegmt=True)}"
    )
    answers = http_answer(b"{}", "429 Too Many Requests", header), http_answer(chat_json())
    async with RawServer(*answers) as server:
        completion = await complete(client(server.base_url, retries=1))
    first, retry = server.arrivals
    assert completion.text == "raw answer" and retry >= (first + 1.2 if form == "milliseconds" else date)


async def test_a_retry_after_beyond_two_minutes_is_not_waited_for_and_not_retried() -> None:
    async with RawServer(http_answer(b"{}", "429 Too Many Requests", "Retry-After: 3600")) as server:
        error = await failure(client(server.base_url, retries=3))
    assert error.kind == "rate_limit" and len(server.requests) == 1


async def test_without_retry_after_the_backoff_is_half_a_second_minus_jitter() -> None:
    async with RawServer(http_answer(b"oops", "503 Service Unavailable"), http_answer(chat_json())) as server:
        await complete(client(server.base_url, retries=1))
    first, retry = server.arrivals
    assert retry - first >= 0.375


async def test_a_server_trickling_its_answer_is_cut_off_at_the_timeout() -> None:
    async def trickle(writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
        for _ in range(1000):
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(0.05)  # each byte well within any per-read timeout
        return False

    async with RawServer(trickle) as server:
        error = await failure(client(server.base_url, retries=0, timeout=0.6))
    assert error.kind == "timeout" and "0.6 s" in str(error)


async def announce_40_mb(writer: asyncio.StreamWriter) -> bool:
    """Promise a 40 MB body and send none of it: only a client that trusts the length gets past this."""
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 40000000\r\n\r\n")
    await asyncio.sleep(3600)
    return False


async def stream_33_mib(writer: asyncio.StreamWriter) -> bool:
    """A chunked body of 33 MiB, one MiB a chunk, for as long as the client reads."""
    writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    for _ in range(33):
        writer.write(b"100000\r\n" + b" " * (1 << 20) + b"\r\n")
        await writer.drain()
    writer.write(b"0\r\n\r\n")
    return False


@pytest.mark.parametrize("huge", [announce_40_mb, stream_33_mib], ids=["content-length", "chunked"])
async def test_a_body_over_the_cap_is_a_bad_response_never_held_in_full(
    huge: Callable[[asyncio.StreamWriter], Awaitable[bool]],
) -> None:
    async with RawServer(huge) as server:
        error = await failure(client(server.base_url, retries=2, timeout=600))
    assert error.kind == "bad_response" and "larger than 32 MiB" in str(error)
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    "answer",
    [
        b"hello, this is not HTTP\r\n\r\n",
        b'HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{"choices": ',
        b"HTTP/1.1 200 OK\r\nContent-Length: five\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
    ids=["not-http", "cut-short", "bad-length", "negative-length", "bad-chunk"],
)
async def test_answers_that_are_not_http_are_connection_errors(answer: bytes) -> None:
    async with RawServer(then_close(answer)) as server:
        error = await failure(client(server.base_url, retries=0))
    assert error.kind == "connection" and not error.fatal


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"[]", "bad_response"),
        (b'{"choices": "many"}', "bad_response"),
        (b'{"choices": [5]}', "empty_content"),
        (b'{"choices": [{"message": "hi"}]}', "empty_content"),
        (b'{"choices": [{"message": {"content": 5}}]}', "empty_content"),
        (b"[" * 100_000, "bad_response"),
    ],
)
async def test_json_of_any_shape_is_an_error_with_a_kind_never_a_crash(body: bytes, kind: str) -> None:
    async with RawServer(http_answer(body)) as server:
        error = await failure(client(server.base_url))
    assert error.kind == kind and len(server.requests) == 1


async def test_usage_of_the_wrong_shape_counts_zero_tokens() -> None:
    async with RawServer(http_answer(chat_json("fine", usage="lots"))) as server:
        completion = await complete(client(server.base_url))
    assert (completion.text, completion.prompt_tokens, completion.completion_tokens) == ("fine", 0, 0)


async def test_a_4xx_names_the_servers_message_with_the_key_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVOFORGE_TEST_KEY", SECRET)
    said = json.dumps({"error": {"message": f"bad max_tokens\nfor key {SECRET}"}}).encode()
    async with RawServer(http_answer(said, "400 Bad Request")) as server:
        error = await failure(client(server.base_url, api_key_env="EVOFORGE_TEST_KEY"))
    assert error.kind == "bad_request" and len(server.requests) == 1
    assert str(error).endswith("request refused (HTTP 400): bad max_tokens for key ***")


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(1 << 16):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


class Proxy:
    """A forward proxy on 127.0.0.1 that sends everything to 127.0.0.1 at the target's port, whatever
    its host name: absolute-form requests are relayed, CONNECT opens a tunnel (502 if nothing listens)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    async def __aenter__(self) -> Proxy:
        self.server = await asyncio.start_server(self.serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.server.close()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            method, target, version = head.split(b"\r\n", 1)[0].decode().split()
            self.lines.append(f"{method} {target}")
            if method == "CONNECT":
                try:
                    tunnel_reader, tunnel = await asyncio.open_connection("127.0.0.1", target.split(":")[1])
                except OSError:
                    writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                    await writer.drain()
                    return
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await asyncio.gather(pipe(reader, tunnel), pipe(tunnel_reader, writer))
                return
            match = re.search(rb"content-length: *(\d+)", head, re.IGNORECASE)
            body = await reader.readexactly(int(match[1]) if match else 0)
            url = urlsplit(target)
            upstream_reader, upstream = await asyncio.open_connection("127.0.0.1", url.port)
            fields = head.split(b"\r\n")[1:-2]
            kept = b"".join(f + b"\r\n" for f in fields if not f.lower().startswith(b"connection:"))
            rest = kept + b"Connection: close\r\n\r\n"
            upstream.write(f"{method} {url.path} {version}\r\n".encode() + rest + body)
            writer.write(await upstream_reader.read())
            upstream.close()
            await writer.drain()
        except (asyncio.CancelledError, ConnectionError):
            pass  # the test is over, or the client hung up (a failed TLS handshake)
        finally:
            writer.close()


def proxy_env(monkeypatch: pytest.MonkeyPatch, **variables: str) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("EVOFORGE_TEST_KEY", SECRET)  # a host that is not local needs a key


async def test_http_proxy_relays_absolute_form_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    with ScriptedServer(["proxied"]) as server:
        port = server.base_url.split(":")[2].split("/")[0]
        async with Proxy() as proxy:
            proxy_env(monkeypatch, http_proxy=proxy.url)
            c = client(f"http://llm.example.test:{port}/v1", api_key_env="EVOFORGE_TEST_KEY")
            texts = [(await c.complete(MESSAGES)).text for _ in range(2)]
            await c.aclose()
        assert len(server.requests) == 2
    assert texts == ["proxied"] * 2
    assert proxy.lines == [f"POST http://llm.example.test:{port}/v1/chat/completions"] * 2


async def test_a_tunnel_the_proxy_refuses_is_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    async with Proxy() as proxy:
        proxy_env(monkeypatch, https_proxy=proxy.url)
        error = await failure(client("https://llm.example.test/v1", 0, api_key_env="EVOFORGE_TEST_KEY"))
    assert proxy.lines == ["CONNECT llm.example.test:443"]
    assert error.kind == "unreachable" and error.fatal
    assert "the proxy refused a tunnel to llm.example.test:443 (502 Bad Gateway)" in str(error)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a certificate")
async def test_https_through_a_connect_tunnel_verifies_the_targets_certificate(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", key,
         "-out", cert, "-subj", "/CN=llm.example.test", "-addext", "subjectAltName=DNS:llm.example.test"],
        check=True, capture_output=True,
    )  # fmt: skip
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    async with RawServer(http_answer(chat_json("secure")), tls=tls) as server, Proxy() as proxy:
        port = int(server.base_url.split(":")[2].split("/")[0])
        proxy_env(monkeypatch, https_proxy=proxy.url, SSL_CERT_FILE=str(cert))
        c = client(f"https://llm.example.test:{port}/v1", 0, api_key_env="EVOFORGE_TEST_KEY")
        texts = [(await c.complete(MESSAGES)).text for _ in range(2)]
        await c.aclose()
        monkeypatch.delenv("SSL_CERT_FILE")  # the system's CAs do not know this certificate
        error = await failure(
            client(f"https://llm.example.test:{port}/v1", 0, api_key_env="EVOFORGE_TEST_KEY")
        )
    assert texts == ["secure"] * 2 and server.connections == 1  # kept alive; the refused one never got in
    assert proxy.lines == [f"CONNECT llm.example.test:{port}"] * 2
    assert error.kind == "unreachable" and "CERTIFICATE_VERIFY_FAILED" in str(error)


async def test_local_and_no_proxy_hosts_bypass_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    with ScriptedServer(["answer"]) as server:
        port = server.base_url.split(":")[2].split("/")[0]
        async with Proxy() as proxy:
            proxy_env(monkeypatch, http_proxy=proxy.url, no_proxy="llm.example.test")
            for host in ("127.0.0.1", "localhost"):
                assert (await complete(client(f"http://{host}:{port}/v1"))).text == "answer"
            bypassed = await failure(
                client(f"http://llm.example.test:{port}/v1", 0, api_key_env="EVOFORGE_TEST_KEY")
            )
            assert proxy.lines == []
            proxied = client(f"http://other.example.test:{port}/v1", api_key_env="EVOFORGE_TEST_KEY")
            assert (await complete(proxied)).text == "answer"
        assert len(server.requests) == 3
    assert proxy.lines == [f"POST http://other.example.test:{port}/v1/chat/completions"]
    assert bypassed.kind == "unreachable"  # asked directly: the name does not resolve
