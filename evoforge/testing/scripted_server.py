"""A real OpenAI chat-completions server on 127.0.0.1 that replays or computes scripted answers.

Every test of the model path goes through it over real HTTP, so the client, its retries, timeouts
and error mapping are exercised as in production. Latency and faults (429 with Retry-After, 500,
hang, truncated JSON, HTML, empty or null content, no choices, garbage prose, 401, 404) are
injected by request index or at a seeded rate, deterministically.

    python -m evoforge.testing.scripted_server --port 8000 --latency 0.5 --responder tweak-constants
"""

from __future__ import annotations

import argparse
import contextlib
import enum
import hashlib
import io
import itertools
import json
import random
import re
import threading
import time
import tokenize
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


class Fault(enum.Enum):
    RATE_LIMIT = "rate_limit"
    SERVER_ERROR = "server_error"
    HANG = "hang"
    TRUNCATED_JSON = "truncated_json"
    HTML = "html"
    EMPTY_CONTENT = "empty_content"
    NULL_CONTENT = "null_content"
    EMPTY_CHOICES = "empty_choices"
    GARBAGE = "garbage"
    UNAUTHORIZED = "unauthorized"
    UNKNOWN_MODEL = "unknown_model"


Answer = str | Fault
Responder = Callable[[dict[str, Any]], Answer]
HANG_S = 3600.0
GARBAGE_TEXT = "I would consider several approaches here, but on reflection the current code looks fine."


def _completion(
    text: str | None, request: dict[str, Any], index: int, choices: bool = True
) -> dict[str, Any]:
    prompt_chars = sum(len(str(m.get("content", ""))) for m in request.get("messages", []))
    return {
        "id": f"chatcmpl-scripted-{index}",
        "object": "chat.completion",
        "created": 0,
        "model": request.get("model", "scripted"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]
        if choices
        else [],
        "usage": {
            "prompt_tokens": prompt_chars // 4,
            "completion_tokens": len(text or "") // 4,
            "total_tokens": prompt_chars // 4 + len(text or "") // 4,
        },
    }


class ScriptedServer:
    """Serve scripted answers; ``responder`` is a list replayed in order (cycling) or a callable."""

    def __init__(
        self,
        responder: Sequence[str] | Responder,
        *,
        latency_s: float = 0.0,
        faults: dict[int, Fault] | None = None,
        fault_rate: float = 0.0,
        fault_kinds: Sequence[Fault] = (Fault.GARBAGE,),
        seed: int = 0,
        retry_after_s: float = 0.1,
        port: int = 0,
    ) -> None:
        if callable(responder):
            self._respond: Responder = responder
        else:
            answers = itertools.cycle(list(responder))
            self._respond = lambda _request: next(answers)
        self.latency_s = latency_s
        self._faults = dict(faults or {})
        self._fault_rate = fault_rate
        self._fault_kinds = list(fault_kinds)
        self._rng = random.Random(seed)
        self._retry_after_s = retry_after_s
        self._lock = threading.Lock()
        self._count = 0
        self.requests: list[dict[str, Any]] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def serve_forever(self) -> None:
        """Serve in the calling thread (the command-line entry point)."""
        self._httpd.serve_forever()

    def start(self) -> ScriptedServer:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="scripted-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def _answer_for(self, request: dict[str, Any]) -> tuple[int, Answer]:
        """The request's index and what to answer: a scheduled or random fault, else the responder."""
        with self._lock:
            index = self._count
            self._count += 1
            self.requests.append(request)
            fault = self._faults.get(index)
            if fault is None and self._fault_rate and self._rng.random() < self._fault_rate:
                fault = self._rng.choice(self._fault_kinds)
        return index, fault if fault is not None else self._respond(request)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out at once, no 40 ms delayed-ACK stall

            def log_message(self, format: str, *args: Any) -> None:
                """Silent: tests read ``server.requests`` instead."""

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._send(200, {"object": "list", "data": [{"id": "scripted", "object": "model"}]})
                else:
                    self._send(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                try:
                    request = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    self._send(400, {"error": {"message": "invalid JSON"}})
                    return
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, {"error": {"message": "not found"}})
                    return
                index, answer = server._answer_for(request)
                if server.latency_s:
                    time.sleep(server.latency_s)
                if isinstance(answer, Fault):
                    self._fault(answer, request, index)
                else:
                    self._send(200, _completion(answer, request, index))

            def _fault(self, fault: Fault, request: dict[str, Any], index: int) -> None:
                if fault is Fault.RATE_LIMIT:
                    self._send(
                        429,
                        {"error": {"message": "rate limited"}},
                        {"Retry-After": f"{server._retry_after_s:g}"},
                    )
                elif fault is Fault.SERVER_ERROR:
                    self._send(500, {"error": {"message": "internal error"}})
                elif fault is Fault.UNAUTHORIZED:
                    self._send(401, {"error": {"message": "invalid api key", "code": "invalid_api_key"}})
                elif fault is Fault.UNKNOWN_MODEL:
                    self._send(404, {"error": {"message": "model not found", "code": "model_not_found"}})
                elif fault is Fault.HANG:
                    time.sleep(HANG_S)
                elif fault is Fault.TRUNCATED_JSON:
                    body = json.dumps(_completion("cut", request, index)).encode()
                    self._raw(200, body[: len(body) // 2], "application/json")
                elif fault is Fault.HTML:
                    self._raw(200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
                elif fault is Fault.EMPTY_CONTENT:
                    self._send(200, _completion("", request, index))
                elif fault is Fault.NULL_CONTENT:
                    self._send(200, _completion(None, request, index))
                elif fault is Fault.EMPTY_CHOICES:
                    self._send(200, _completion(None, request, index, choices=False))
                else:
                    self._send(200, _completion(GARBAGE_TEXT, request, index))

            def _send(
                self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
            ) -> None:
                self._raw(status, json.dumps(payload).encode(), "application/json", headers)

            def _raw(
                self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
            ) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test); nothing to answer

        return Handler


_CURRENT = re.compile(r"Current program.*?```[^\n]*\n(.*?)```", re.DOTALL)


def current_program(request: dict[str, Any]) -> str | None:
    """The code fenced after the heading 'Current program' in the last user message."""
    users = [m for m in request.get("messages", []) if m.get("role") == "user"]
    if not users:
        return None
    match = _CURRENT.search(str(users[-1].get("content", "")))
    return match.group(1) if match else None


def _block_numbers(code: str) -> list[tuple[str, int, int, str]]:
    """(line, start column, end column, literal) for each numeric literal between EVOLVE markers."""
    lines = code.splitlines()
    starts = [i for i, line in enumerate(lines) if "EVOLVE-BLOCK-START" in line]
    ends = [i for i, line in enumerate(lines) if "EVOLVE-BLOCK-END" in line]
    inside = {i for s, e in zip(starts, ends, strict=False) for i in range(s + 1, e)}
    found = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            row = token.start[0] - 1
            if token.type == tokenize.NUMBER and row in inside and token.start[0] == token.end[0]:
                found.append((lines[row], token.start[1], token.end[1], token.string))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return []
    return found


def tweak_constants_responder(seed: int = 0) -> Responder:
    """Answer with one SEARCH/REPLACE that perturbs a numeric literal of the current program.

    The choice is drawn from an RNG seeded by ``seed`` and a hash of the request's messages and its
    ``seed`` parameter, so the same request always gets the same answer (runs replay exactly).
    """

    def respond(request: dict[str, Any]) -> str:
        code = current_program(request)
        numbers = _block_numbers(code) if code else []
        if not numbers:
            return "I see nothing numeric to change in this program."
        content = {"messages": request.get("messages", []), "seed": request.get("seed")}
        digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).digest()
        rng = random.Random(f"{seed}:{digest.hex()}")
        line, start, end, literal = rng.choice(numbers)
        value = (
            float(literal.replace("_", ""))
            if not literal.lower().startswith("0x")
            else float(int(literal, 16))
        )
        new_value = value + rng.gauss(0.0, max(abs(value), 1.0) * 0.3)
        new_literal = (
            f"{new_value:.6g}" if "." in literal or "e" in literal.lower() else str(round(new_value))
        )
        if new_literal == literal:
            new_literal = str(int(value) + 1) if "." not in literal else f"{value + 0.1:.6g}"
        new_line = line[:start] + new_literal + line[end:]
        edit = f"<<<<<<< SEARCH\n{line}\n=======\n{new_line}\n>>>>>>> REPLACE\n"
        return f"Let me try a different constant.\n{edit}"

    return respond


RESPONDERS: dict[str, Callable[[], Responder]] = {"tweak-constants": tweak_constants_responder}


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Serve scripted OpenAI chat-completions answers on 127.0.0.1."
    )
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--responder", choices=sorted(RESPONDERS), default="tweak-constants")
    args = parser.parse_args()
    server = ScriptedServer(RESPONDERS[args.responder](), latency_s=args.latency, port=args.port)
    print(f"scripted server listening on {server.base_url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
