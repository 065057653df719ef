"""The scripted server over real HTTP: replay, computed answers, latency, every fault, the demo responder."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from evoforge.config import PromptConfig
from evoforge.edits import apply_edit, parse_response
from evoforge.prompts.builder import build_messages
from evoforge.records import Program
from evoforge.testing.responders import gathering, tweak_constants_responder
from evoforge.testing.scripted_server import Fault, ScriptedServer

PROGRAM = (
    "import math\n"
    "LIMIT = 100  # outside the block: never changed\n"
    "# EVOLVE-BLOCK-START\n"
    "def solve():\n"
    "    x = 1.5  # try 2.5\n"
    '    label = "7 items"\n'
    "    n = 3\n"
    "    return x * n + LIMIT\n"
    "# EVOLVE-BLOCK-END\n"
)
QUESTION = [{"role": "user", "content": "q"}]


def post(base_url: str, body: dict[str, Any], timeout: float = 5) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(
        f"{base_url}/chat/completions",
        data=json.dumps({"model": "m", **body}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def content_of(raw: bytes) -> Any:
    return json.loads(raw)["choices"][0]["message"]["content"]


def ask(base_url: str, messages: list[dict[str, str]] = QUESTION, **body: Any) -> str:
    status, _, raw = post(base_url, {"messages": messages, **body})
    assert status == 200
    return content_of(raw)


def program(code: str) -> Program:
    return Program(
        id=0, submission=0, code=code, parent_id=None, inspiration_ids=(), island=0, generation=0,
        mutator="initial", metrics={"score": 1.0}, artifacts={}, score=1.0, ok=True, features={},
        created_at=0.0, eval_time_s=0.1,
    )  # fmt: skip


def test_replays_answers_in_order_cycling_and_faults_do_not_use_them_up() -> None:
    with ScriptedServer(["one", "two"], faults={1: Fault.SERVER_ERROR}) as server:
        first = ask(server.base_url)
        assert post(server.base_url, {"messages": QUESTION})[0] == 500
        answers = [first] + [ask(server.base_url) for _ in range(3)]
        assert answers == ["one", "two", "one", "two"]
        assert len(server.requests) == 5
        assert server.counts == {"answer": 4, "server_error": 1}


def test_callable_responder_sees_the_request() -> None:
    seen: list[dict[str, Any]] = []

    def respond(request: dict[str, Any]) -> str:
        seen.append(request)
        return request["messages"][-1]["content"].upper()

    with ScriptedServer(respond) as server:
        assert ask(server.base_url, [{"role": "user", "content": "echo"}], temperature=0.3) == "ECHO"
    assert seen[0]["temperature"] == 0.3 and seen[0]["model"] == "m"


def test_answer_is_a_chat_completion_with_usage() -> None:
    messages = [{"role": "user", "content": "x" * 400}]
    with ScriptedServer(["y" * 40]) as server:
        status, headers, raw = post(server.base_url, {"messages": messages})
    body = json.loads(raw)
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert body["object"] == "chat.completion" and body["model"] == "m"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "y" * 40}
    assert body["usage"] == {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}


def test_lists_models() -> None:
    with ScriptedServer(["x"]) as server, urllib.request.urlopen(f"{server.base_url}/models") as response:
        assert json.loads(response.read())["data"][0]["object"] == "model"


def timed_ask(base_url: str) -> tuple[str, float]:
    started = time.monotonic()
    return ask(base_url), time.monotonic() - started


def test_64_requests_are_handled_at_once_each_after_the_latency() -> None:
    latency = 0.1
    with (
        ScriptedServer(gathering(lambda request: "ok", 64), latency_s=latency) as server,
        ThreadPoolExecutor(64) as pool,
    ):
        answers, waits = zip(*pool.map(lambda _: timed_ask(server.base_url), range(64)), strict=True)
        assert server.max_concurrent == 64
    assert answers == ("ok",) * 64 and min(waits) >= latency


@pytest.mark.parametrize(
    ("fault", "status", "check"),
    [
        (Fault.RATE_LIMIT, 429, lambda headers, raw: headers["Retry-After"] == "0.1"),
        (Fault.SERVER_ERROR, 500, lambda headers, raw: "error" in json.loads(raw)),
        (Fault.UNAUTHORIZED, 401, lambda _, raw: json.loads(raw)["error"]["code"] == "invalid_api_key"),
        (Fault.UNKNOWN_MODEL, 404, lambda _, raw: json.loads(raw)["error"]["code"] == "model_not_found"),
        (Fault.FORBIDDEN, 403, lambda _, raw: "not allowed" in json.loads(raw)["error"]["message"]),
        (Fault.HTML, 200, lambda headers, raw: headers["Content-Type"] == "text/html"),
        (Fault.EMPTY_CHOICES, 200, lambda _, raw: json.loads(raw)["choices"] == []),
        (Fault.EMPTY_CONTENT, 200, lambda _, raw: content_of(raw) == ""),
        (Fault.NULL_CONTENT, 200, lambda _, raw: content_of(raw) is None),
        (Fault.GARBAGE, 200, lambda _, raw: content_of(raw) and parse_response(content_of(raw)) is None),
    ],
)
def test_each_fault_answers_like_a_failing_provider(fault: Fault, status: int, check: Any) -> None:
    with ScriptedServer(["fine"], faults={0: fault}) as server:
        got, headers, raw = post(server.base_url, {"messages": QUESTION})
        assert ask(server.base_url) == "fine"
    assert got == status and check(headers, raw)


def test_truncated_json_is_cut_short() -> None:
    with ScriptedServer(["fine"], faults={0: Fault.TRUNCATED_JSON}) as server:
        status, _, raw = post(server.base_url, {"messages": QUESTION})
    assert status == 200 and raw.startswith(b'{"id"')
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw)


def test_not_utf8_is_json_shaped_but_undecodable() -> None:
    with ScriptedServer(["fine"], faults={0: Fault.NOT_UTF8}) as server:
        status, headers, raw = post(server.base_url, {"messages": QUESTION})
    assert status == 200 and headers["Content-Type"] == "application/json" and raw.startswith(b'{"id"')
    with pytest.raises(UnicodeDecodeError):
        raw.decode()


def test_disconnect_closes_without_an_answer() -> None:
    with ScriptedServer(["fine"], faults={0: Fault.DISCONNECT}) as server:
        with pytest.raises(http.client.RemoteDisconnected):
            post(server.base_url, {"messages": QUESTION})
        assert ask(server.base_url) == "fine"


def test_hang_answers_nothing_and_stop_releases_it() -> None:
    server = ScriptedServer(["fine"], faults={0: Fault.HANG}).start()
    with pytest.raises(TimeoutError):
        post(server.base_url, {"messages": QUESTION}, timeout=0.3)
    assert ask(server.base_url) == "fine"
    for _ in range(200):  # the answered request's handler leaves just after its answer is sent
        if server.concurrent == 1:
            break
        time.sleep(0.01)
    assert server.concurrent == 1  # the hung request is still being handled
    server.stop()
    for _ in range(600):  # its handler ends on its own thread: wait for it (HANG_S is an hour)
        if server.concurrent == 0:
            break
        time.sleep(0.05)
    assert server.concurrent == 0


def test_stop_closes_the_port() -> None:
    with ScriptedServer(["fine"]) as server:
        ask(server.base_url)
    with pytest.raises(urllib.error.URLError):
        post(server.base_url, {"messages": QUESTION}, timeout=2)


def test_fault_rate_is_seeded_and_deterministic() -> None:
    def run(seed: int) -> list[str]:
        with ScriptedServer(["fine"], fault_rate=0.5, fault_kinds=[Fault.GARBAGE], seed=seed) as server:
            return [ask(server.base_url) for _ in range(40)]

    first, again, other = run(4), run(4), run(5)
    assert first == again and first != other
    assert 8 < sum(answer != "fine" for answer in first) < 32


def current_program_prompt(code: str) -> list[dict[str, str]]:
    """The real prompt builder's messages, with a prior program before the current one."""
    prior = program(code.replace("x = 1.5", "x = 9.5"))
    return build_messages(context=None, parent=program(code), top=[prior], diverse=[], config=PromptConfig())


def test_tweak_constants_answers_an_applicable_deterministic_edit() -> None:
    messages = current_program_prompt(PROGRAM)
    with ScriptedServer(tweak_constants_responder(seed=1)) as server:
        answers = {s: ask(server.base_url, messages, seed=s) for s in range(12)}
        assert ask(server.base_url, messages, seed=3) == answers[3]
    children = set()
    for answer in answers.values():
        edit = parse_response(answer)
        assert edit is not None and len(edit.replacements) == 1
        assert edit.replacements[0].search in PROGRAM
        children.add(apply_edit(PROGRAM, edit))
    assert len(children) > 3  # different seeds perturb differently
    for child in children:  # only block literals change: not comments, strings or code outside
        assert "LIMIT = 100  #" in child and "# try 2.5" in child and '"7 items"' in child
        assert "x = 9.5" not in child


def test_tweak_constants_skips_lines_that_are_not_unique() -> None:
    code = "# EVOLVE-BLOCK-START\nx = 2\nx = 2\ny = 7\n# EVOLVE-BLOCK-END\n"
    respond = tweak_constants_responder()
    for seed in range(10):
        edit = parse_response(respond({"messages": current_program_prompt(code), "seed": seed}))
        assert edit is not None and edit.replacements[0].search == "y = 7\n"


def test_tweak_constants_reads_long_fences() -> None:
    code = '# EVOLVE-BLOCK-START\ndoc = """```"""\nk = 4\n# EVOLVE-BLOCK-END\n'
    answer = tweak_constants_responder()({"messages": current_program_prompt(code)})
    edit = parse_response(answer)
    assert edit is not None and edit.replacements[0].search == "k = 4\n"


@pytest.mark.parametrize(
    "content",
    ["hello", "## Current program\n```python\nx = 1\n```\n", "## Current program\nno code here"],
)
def test_tweak_constants_without_a_block_literal_answers_prose(content: str) -> None:
    answer = tweak_constants_responder()({"messages": [{"role": "user", "content": content}]})
    assert answer and parse_response(answer) is None


def test_runs_as_a_module_and_prints_its_base_url() -> None:
    command = [sys.executable, "-m", "evoforge.testing.scripted_server", "--latency", "0", "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().split()[-1]
        answer = ask(base_url, current_program_prompt(PROGRAM), seed=1)
        assert "<<<<<<< SEARCH" in answer
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert "Traceback" not in stderr and "RuntimeWarning" not in stderr
