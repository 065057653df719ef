"""The scripted server itself: replay, computed answers, faults by index and by rate."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from evoforge.edits import apply_edit, parse_response
from evoforge.testing.scripted_server import Fault, ScriptedServer, tweak_constants_responder

PROGRAM = (
    "import math\n# EVOLVE-BLOCK-START\ndef solve():\n    x = 1.5\n    n = 3\n    return x * n\n"
    "# EVOLVE-BLOCK-END\n"
)


def post(base_url: str, messages: list[dict[str, str]], seed: int | None = None) -> tuple[int, bytes]:
    body = {"model": "m", "messages": messages, **({"seed": seed} if seed is not None else {})}
    request = urllib.request.Request(
        f"{base_url}/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def content(raw: bytes) -> str:
    return json.loads(raw)["choices"][0]["message"]["content"]


def test_replays_answers_in_order_and_cycles() -> None:
    with ScriptedServer(["one", "two"]) as server:
        answers = [content(post(server.base_url, [{"role": "user", "content": "q"}])[1]) for _ in range(3)]
        assert answers == ["one", "two", "one"]
        assert len(server.requests) == 3


def test_callable_responder_sees_the_request() -> None:
    with ScriptedServer(lambda request: request["messages"][-1]["content"].upper()) as server:
        assert content(post(server.base_url, [{"role": "user", "content": "echo"}])[1]) == "ECHO"


def test_faults_by_index_and_by_rate() -> None:
    with ScriptedServer(["fine"], faults={1: Fault.RATE_LIMIT, 2: Fault.HTML}) as server:
        statuses = [post(server.base_url, [{"role": "user", "content": "q"}]) for _ in range(3)]
    assert statuses[0][0] == 200 and statuses[1][0] == 429
    assert statuses[2][1].startswith(b"<html>")
    with ScriptedServer(["fine"], fault_rate=0.5, fault_kinds=[Fault.GARBAGE], seed=4) as server:
        first = [content(post(server.base_url, [{"role": "user", "content": "q"}])[1]) for _ in range(40)]
    with ScriptedServer(["fine"], fault_rate=0.5, fault_kinds=[Fault.GARBAGE], seed=4) as server:
        second = [content(post(server.base_url, [{"role": "user", "content": "q"}])[1]) for _ in range(40)]
    assert first == second
    assert 8 < sum(answer != "fine" for answer in first) < 32


def test_tweak_constants_answers_an_applicable_deterministic_edit() -> None:
    messages = [{"role": "user", "content": f"## Current program\nscore: 1\n```python\n{PROGRAM}```\n"}]
    with ScriptedServer(tweak_constants_responder(seed=1)) as server:
        answers = [content(post(server.base_url, messages, seed=s)[1]) for s in (7, 7, 8)]
    assert answers[0] == answers[1]
    edit = parse_response(answers[0])
    assert edit is not None
    child = apply_edit(PROGRAM, edit)
    assert child != PROGRAM and child.startswith("import math\n")


def test_tweak_constants_without_a_program_answers_prose() -> None:
    answer = tweak_constants_responder()({"messages": [{"role": "user", "content": "hello"}]})
    assert parse_response(answer) is None
