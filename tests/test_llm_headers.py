"""What a model's config puts on the wire: the key's header, extra headers (values from the environment), and
the config mistakes about them that are refused before any call; the SOCKS extra named when it is missing."""

from __future__ import annotations

import importlib.util
import json
import re
import socket
from typing import Any

import pytest

from evoforge.config import LLMConfig, ModelConfig, parse_config
from evoforge.errors import ConfigError, ProviderError
from evoforge.llm import OpenAICompatClient

MESSAGES = [{"role": "user", "content": "improve this"}]
KEY = "sk-test-key-in-a-header"
SECRET = "attribution-secret-42"
ANSWER = json.dumps({"choices": [{"message": {"role": "assistant", "content": "ok"}}]}).encode()


class HeadServer:
    """A socket that reads one request, answers ``status`` with ``body`` and keeps the request's head."""

    def __init__(self, status: str = "200 OK", body: bytes = ANSWER) -> None:
        self.status, self.body = status, body
        self.head: dict[str, str] = {}

    async def __aenter__(self) -> HeadServer:
        import asyncio

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            raw = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"content-length: *(\d+)", raw, re.IGNORECASE)
            await reader.readexactly(int(length[1]) if length else 0)
            lines = raw.decode("latin-1").split("\r\n")[1:]
            self.head = {
                k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines if ln)
            }
            answer = f"HTTP/1.1 {self.status}\r\nContent-Type: application/json\r\n"
            writer.write(f"{answer}Content-Length: {len(self.body)}\r\n\r\n".encode() + self.body)
            await writer.drain()
            writer.close()

        self.server = await asyncio.start_server(serve, "127.0.0.1", 0)
        self.base_url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/v1"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.server.close()


def client(base_url: str, **model: Any) -> OpenAICompatClient:
    return OpenAICompatClient(ModelConfig(name="m", base_url=base_url, **model), LLMConfig(retries=0))


async def ask(c: OpenAICompatClient) -> str:
    try:
        return (await c.complete(MESSAGES)).text
    finally:
        await c.aclose()


async def test_the_key_goes_in_the_header_named_and_extra_headers_take_values_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EVOFORGE_TEST_KEY", KEY)
    monkeypatch.setenv("EVOFORGE_TEST_HEADER", SECRET)
    extra = {"HTTP-Referer": "https://example.org/evoforge", "X-Attribution": "${EVOFORGE_TEST_HEADER}"}
    async with HeadServer() as server:
        c = client(
            server.base_url, api_key_env="EVOFORGE_TEST_KEY", api_key_header="api-key", extra_headers=extra
        )
        assert await ask(c) == "ok"
    assert server.head["api-key"] == KEY and "authorization" not in server.head
    assert server.head["http-referer"] == "https://example.org/evoforge"
    assert server.head["x-attribution"] == SECRET


async def test_by_default_the_key_is_a_bearer_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVOFORGE_TEST_KEY", KEY)
    async with HeadServer() as server:
        assert await ask(client(server.base_url, api_key_env="EVOFORGE_TEST_KEY")) == "ok"
    assert server.head["authorization"] == f"Bearer {KEY}"


async def test_a_header_from_an_unset_variable_stops_before_any_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVOFORGE_ABSENT_HEADER", raising=False)
    with pytest.raises(ProviderError) as raised:
        client("http://127.0.0.1:9/v1", extra_headers={"X-Org": "${EVOFORGE_ABSENT_HEADER}"})
    assert raised.value.fatal and raised.value.kind == "auth"
    assert str(raised.value).endswith("environment variable EVOFORGE_ABSENT_HEADER is not set (header X-Org)")


async def test_secrets_from_the_environment_are_masked_when_a_server_echoes_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EVOFORGE_TEST_HEADER", SECRET)
    said = json.dumps({"error": {"message": f"unknown attribution {SECRET}"}}).encode()
    async with HeadServer("400 Bad Request", said) as server:
        with pytest.raises(ProviderError) as raised:
            await ask(client(server.base_url, extra_headers={"X-Attribution": "${EVOFORGE_TEST_HEADER}"}))
    assert str(raised.value).endswith("request refused (HTTP 400): unknown attribution ***")


def test_the_stored_config_holds_the_reference_not_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVOFORGE_TEST_HEADER", SECRET)
    config = parse_config(
        {"llm": {"models": [{"name": "m", "extra_headers": {"X-A": "${EVOFORGE_TEST_HEADER}"}}]}}
    )
    assert SECRET not in json.dumps(config.model_dump(mode="json"))


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ({"base_url": ""}, "llm.models.0.base_url: is empty: give the endpoint's URL"),
        ({"base_url": "  "}, "llm.models.0.base_url: is empty"),
        ({"extra_headers": {"X Bad": "v"}}, "llm.models.0.extra_headers: 'X Bad' is not a valid header name"),
        ({"extra_headers": {"X-A": "a\r\nInjected: 1"}}, "the value of X-A holds a line break"),
        ({"api_key_header": "api key"}, "llm.models.0.api_key_header: 'api key' is not a valid header name"),
        ({"max_concurrency": 0}, "llm.models.0.max_concurrency: Input should be greater than 0"),
    ],
)
def test_model_settings_that_cannot_work_are_refused_by_the_config(
    model: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config({"llm": {"models": [{"name": "m", **model}]}})
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_a_models_concurrency_follows_max_inflight_unless_set() -> None:
    llm = LLMConfig(max_inflight=64)
    assert (
        OpenAICompatClient(ModelConfig(name="m", base_url="http://127.0.0.1:9/v1"), llm).max_concurrency == 64
    )
    limited = ModelConfig(name="m", base_url="http://127.0.0.1:9/v1", max_concurrency=4)
    assert OpenAICompatClient(limited, llm).max_concurrency == 4


@pytest.mark.skipif(importlib.util.find_spec("socksio") is not None, reason="the socks extra is installed")
def test_a_socks_proxy_without_the_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        monkeypatch.setenv("all_proxy", f"socks5://127.0.0.1:{sock.getsockname()[1]}")
    monkeypatch.setenv("EVOFORGE_TEST_KEY", KEY)
    with pytest.raises(ProviderError) as raised:
        client("https://llm.example.test/v1", api_key_env="EVOFORGE_TEST_KEY")
    assert raised.value.fatal and raised.value.kind == "unreachable"
    assert "pip install 'evoforge[socks]'" in str(raised.value)
