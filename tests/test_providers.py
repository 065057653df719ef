"""Every provider configuration in docs/providers.md, loaded as written and sent to the scripted server (its
base_url's host swapped, its path kept): the path, the key's header and the body keys are what the provider
expects. Also the request options alone: reasoning models without temperature, max_completion_tokens."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import yaml

from evoforge.config import ModelConfig, parse_config
from evoforge.errors import ConfigError
from evoforge.llm.openai_compat import OpenAICompatClient, request_body
from evoforge.testing.scripted_server import ScriptedServer

DOC = Path(__file__).parents[1] / "docs" / "providers.md"
MESSAGES = [{"role": "system", "content": "rules"}, {"role": "user", "content": "improve this"}]
KEY = "sk-provider-test-key"
SECTION = re.compile(r"^## (.+?)\n(.*?)(?=^## |\Z)", re.MULTILINE | re.DOTALL)
YAML_BLOCK = re.compile(r"```yaml\n(.*?)```", re.DOTALL)

# What each documented model must put in the body (key: value, or ... for "present") and leave out.
EXPECTED: dict[str, tuple[dict[str, Any], set[str]]] = {
    "gpt-4.1-mini": ({"temperature": 0.7, "max_tokens": 4096, "seed": 7}, {"max_completion_tokens"}),
    "o4-mini": (
        {"max_completion_tokens": 16000, "reasoning_effort": "medium", "seed": 7},
        {"temperature", "max_tokens"},
    ),
    "gemini-2.5-flash": ({"reasoning_effort": "low", "max_tokens": 4096}, set()),
    "claude-sonnet-4-5": (
        {"thinking": {"type": "enabled", "budget_tokens": 2000}, "temperature": 0.7},
        {"seed", "reasoning_effort"},
    ),
    "deepseek/deepseek-chat-v3.1": ({"provider": {"sort": "throughput"}, "seed": 7}, set()),
    "Qwen/Qwen2.5-Coder-7B-Instruct": ({"top_k": 20, "seed": 7}, set()),
    "qwen2.5-coder:7b": ({"temperature": 0.7, "seed": 7}, set()),
    "local": ({"max_tokens": 1024, "seed": 7}, set()),
}
PROVIDERS = {
    "OpenAI",
    "Gemini (OpenAI-compatible endpoint)",
    "Anthropic (OpenAI-compatible endpoint)",
    "OpenRouter",
    "vLLM",
    "Ollama",
    "llama.cpp server",
}


def documented() -> dict[str, dict[str, Any]]:
    """The ``llm`` section of each provider's YAML block, by the section's heading."""
    sections = {}
    for title, body in SECTION.findall(DOC.read_text()):
        blocks = YAML_BLOCK.findall(body)
        if blocks:
            (block,) = blocks
            sections[title.strip()] = yaml.safe_load(block)["llm"]
    return sections


def test_the_doc_has_a_config_for_each_provider() -> None:
    assert set(documented()) == PROVIDERS


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
async def test_a_documented_config_sends_what_the_provider_expects(
    provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm = parse_config({"llm": documented()[provider]}).llm  # loads as written, unknown keys refused
    with ScriptedServer(["ok"]) as server:
        here = urlsplit(server.base_url)
        for model in llm.models:
            documented_url = urlsplit(model.base_url)
            remote = documented_url.hostname not in ("127.0.0.1", "localhost")
            if remote:
                monkeypatch.setenv(model.api_key_env, KEY)
            else:
                monkeypatch.delenv(model.api_key_env, raising=False)
            moved = urlunsplit((here.scheme, here.netloc, documented_url.path, "", ""))
            client = OpenAICompatClient(model.model_copy(update={"base_url": moved}), llm)
            try:
                assert (await client.complete(MESSAGES, seed=7)).text == "ok"
            finally:
                await client.aclose()
        sent = list(zip(server.requests, server.heads, strict=True))
    assert len(sent) == len(llm.models)
    for model, (body, (path, headers)) in zip(llm.models, sent, strict=True):
        documented_url = urlsplit(model.base_url)
        assert path == documented_url.path.rstrip("/") + "/chat/completions"
        if documented_url.hostname not in ("127.0.0.1", "localhost"):
            assert headers["authorization"] == f"Bearer {KEY}"
        for name, value in model.extra_headers.items():
            assert headers[name.lower()] == value
        assert body["model"] == model.name and body["messages"] == MESSAGES
        present, absent = EXPECTED[model.name]
        assert {name: body.get(name) for name in present} == present
        assert not absent & set(body)


def test_a_reasoning_model_sends_no_temperature_and_max_completion_tokens() -> None:
    model = ModelConfig(name="o3", send_temperature=False, max_tokens_field="max_completion_tokens")
    body = request_body(model, MESSAGES, seed=None)
    assert body == {"model": "o3", "messages": MESSAGES, "max_completion_tokens": 4096}


def test_extra_body_may_not_override_what_evoforge_sets() -> None:
    with pytest.raises(ConfigError, match="max_tokens is set by evoforge itself"):
        parse_config({"llm": {"models": [{"name": "m", "extra_body": {"max_tokens": 5}}]}})
