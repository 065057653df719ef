"""A real OpenAI chat-completions server on 127.0.0.1 that replays or computes scripted answers.

Every test of the model path goes through it over real HTTP, so the client, its retries, timeouts and
error mapping are exercised as in production. Latency and faults (429 with Retry-After, 500, hang,
a dropped connection, truncated JSON, HTML, a body that is not UTF-8, empty or null content, no
choices, garbage prose, 401, 403, 404) are injected by request index or at a seeded rate; the fault
of request ``i`` depends only on ``(seed, i)``. ``/v1/embeddings`` answers small deterministic vectors
(``embedding_of``), for the novelty measure's remote path.

    python -m evoforge.testing.scripted_server --port 8000 --latency 0.5 --responder tweak-constants
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from evoforge.testing.chat_protocol import (  # noqa: F401 - tests import them from here too
    EMBEDDING_SIZE,
    GARBAGE_PROSE,
    Answer,
    Fault,
    Responder,
    chat_completion,
    embedding_of,
    error_body,
    tokens_of,
)
from evoforge.testing.responders import tweak_constants_responder

log = logging.getLogger(__name__)


HANG_S = 3600.0
POLL_S = 0.05  # how often the accept loop checks for stop(): the delay of leaving a `with` block


class ScriptedServer:
    """Serve scripted answers in a background thread; use as a context manager.

    ``responder`` is either a list of answers replayed in order, cycling when exhausted (a faulted
    request does not use up an answer), or a callable ``request -> str | Fault`` that computes the
    answer from the request body (messages, model, temperature, seed); it is called from many
    threads at once, so it must be thread-safe. ``faults`` schedules a fault by request index (from
    0, in arrival order); ``fault_rate`` injects one of ``fault_kinds`` into other requests at that
    rate. Every request body is recorded in ``requests`` (its arrival time, ``time.monotonic()``,
    in ``arrivals``), every outcome counted in ``counts``, and the most requests handled at once in
    ``max_concurrent``: tests assert on what the server saw, not on how long the client took.
    """

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
        if not callable(responder) and not responder:
            raise ValueError("a scripted server needs at least one answer")
        if fault_rate and not fault_kinds:
            raise ValueError("fault_rate needs at least one fault kind")
        self._compute: Responder | None = responder if callable(responder) else None
        self._answers: list[str] = [] if callable(responder) else list(responder)
        self.latency_s = latency_s
        self.retry_after_s = retry_after_s
        self._faults = dict(faults or {})
        self._fault_rate = fault_rate
        self._fault_kinds = list(fault_kinds)
        self.seed = seed
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []
        self._embedding_requests: list[dict[str, Any]] = []
        self._arrivals: list[float] = []
        self._heads: list[tuple[str, dict[str, str]]] = []
        self._concurrent = 0
        self._max_concurrent = 0
        self._counts: Counter[str] = Counter()
        self._replayed = 0
        self.stopping = threading.Event()
        self._httpd = _HTTPServer(("127.0.0.1", port), _Handler, self)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The chat-completion request bodies received so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def embedding_requests(self) -> list[dict[str, Any]]:
        """The ``/v1/embeddings`` request bodies received so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._embedding_requests)

    def record_embedding(self, request: dict[str, Any]) -> None:
        with self._lock:
            self._embedding_requests.append(request)

    @property
    def heads(self) -> list[tuple[str, dict[str, str]]]:
        """The path and headers (names in lower case) of each request of ``requests``, in the same order."""
        with self._lock:
            return list(self._heads)

    @property
    def arrivals(self) -> list[float]:
        """When each request of ``requests`` arrived (``time.monotonic()``), in the same order."""
        with self._lock:
            return list(self._arrivals)

    @property
    def concurrent(self) -> int:
        """How many chat-completion requests are being handled now (answered or hanging)."""
        with self._lock:
            return self._concurrent

    @property
    def max_concurrent(self) -> int:
        """The most chat-completion requests that were being handled at once."""
        with self._lock:
            return self._max_concurrent

    @contextlib.contextmanager
    def handling(self) -> Iterator[None]:
        """Count one request as being handled for the duration of the block."""
        with self._lock:
            self._concurrent += 1
            self._max_concurrent = max(self._max_concurrent, self._concurrent)
        try:
            yield
        finally:
            with self._lock:
                self._concurrent -= 1

    @property
    def counts(self) -> dict[str, int]:
        """How requests were answered: ``"answer"`` or a fault's value, and how often."""
        with self._lock:
            return dict(self._counts)

    def start(self) -> ScriptedServer:
        """Serve in a daemon thread until ``stop()``."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(POLL_S,), name="scripted-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, release hung requests and drop every open connection."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self.stopping.set()
        self._httpd.server_close()
        self._httpd.drop_connections()

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def answer(
        self, request: dict[str, Any], head: tuple[str, dict[str, str]] = ("", {})
    ) -> tuple[int, Answer]:
        """Record ``request`` (and its path and headers) and decide its answer: a scheduled or random
        fault, else the responder's."""
        with self._lock:
            index = len(self._requests)
            self._requests.append(request)
            self._heads.append(head)
            self._arrivals.append(time.monotonic())
            answer: Answer | None = self._fault_for(index)
            if answer is None and self._compute is None:
                answer = self._answers[self._replayed % len(self._answers)]
                self._replayed += 1
        if answer is None:
            assert self._compute is not None
            answer = self._compute(request)
        with self._lock:
            self._counts["answer" if isinstance(answer, str) else answer.value] += 1
        return index, answer

    def _fault_for(self, index: int) -> Fault | None:
        if index in self._faults:
            return self._faults[index]
        if self._fault_rate:
            rng = random.Random(f"{self.seed}:{index}")
            if rng.random() < self._fault_rate:
                return rng.choice(self._fault_kinds)
        return None


class _HTTPServer(ThreadingHTTPServer):
    """One daemon thread per connection; a deep accept queue so 64+ clients connect at once."""

    daemon_threads = True
    block_on_close = False  # stop() must not wait for idle keep-alive connections
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], handler: type[_Handler], scripted: ScriptedServer) -> None:
        self.scripted = scripted
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        with self._open_lock:
            self._open.add(connection)
        return connection, address

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        with self._open_lock:
            for connection in self._open:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once, no 40 ms delayed-ACK stall
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: tests read ``ScriptedServer.requests`` instead."""

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._json(
                200, {"object": "list", "data": [{"id": "scripted", "object": "model", "owned_by": "me"}]}
            )
        else:
            self._json(404, error_body(f"no route {self.path}", "invalid_request_error"))

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.rstrip("/").endswith("/embeddings"):
            self._embeddings(body)
            return
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._json(404, error_body(f"no route {self.path}", "invalid_request_error"))
            return
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            self._json(400, error_body("the request body is not JSON", "invalid_request_error"))
            return
        with self.server.scripted.handling():
            self._chat(request)

    def _chat(self, request: dict[str, Any]) -> None:
        scripted = self.server.scripted
        try:
            head = (self.path, {name.lower(): value for name, value in self.headers.items()})
            index, answer = scripted.answer(request, head)
        except Exception as error:
            log.exception("scripted responder failed")
            self._json(500, error_body(f"scripted responder failed: {error!r}", "server_error"))
            return
        if scripted.latency_s:
            time.sleep(scripted.latency_s)
        if isinstance(answer, str):
            self._json(200, chat_completion(answer, request, index))
        else:
            self._fault(answer, request, index)

    def _embeddings(self, body: bytes) -> None:
        """``/v1/embeddings``: the vectors of ``embedding_of``, the request kept in ``embedding_requests``."""
        try:
            request = json.loads(body or b"{}")
            texts = [request["input"]] if isinstance(request["input"], str) else list(request["input"])
            if not all(isinstance(text, str) for text in texts):
                raise TypeError("input holds a non-string")
        except (ValueError, KeyError, TypeError):
            self._json(
                400, error_body("input must be a string or a list of strings", "invalid_request_error")
            )
            return
        self.server.scripted.record_embedding(request)
        data = [
            {"object": "embedding", "index": i, "embedding": embedding_of(t)} for i, t in enumerate(texts)
        ]
        usage = {"prompt_tokens": sum(map(tokens_of, texts)), "total_tokens": sum(map(tokens_of, texts))}
        self._json(200, {"object": "list", "data": data, "model": request.get("model"), "usage": usage})

    def _fault(self, fault: Fault, request: dict[str, Any], index: int) -> None:
        scripted = self.server.scripted
        match fault:
            case Fault.RATE_LIMIT:
                retry_after = {"Retry-After": f"{scripted.retry_after_s:g}"}
                self._json(
                    429, error_body("rate limit reached", "requests", "rate_limit_exceeded"), retry_after
                )
            case Fault.SERVER_ERROR:
                self._json(500, error_body("the server had an error", "server_error"))
            case Fault.HANG:
                scripted.stopping.wait(HANG_S)
                self.close_connection = True
            case Fault.DISCONNECT:
                self.close_connection = True
            case Fault.TRUNCATED_JSON:
                body = json.dumps(chat_completion("cut short", request, index)).encode()
                self._send(200, body[: len(body) // 2], "application/json")
            case Fault.HTML:
                self._send(200, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
            case Fault.NOT_UTF8:
                self._send(200, b'{"id": "\xff\xfe latin-1, not UTF-8"}', "application/json")
            case Fault.EMPTY_CONTENT:
                self._json(200, chat_completion("", request, index))
            case Fault.NULL_CONTENT:
                self._json(200, chat_completion(None, request, index))
            case Fault.EMPTY_CHOICES:
                self._json(200, chat_completion(None, request, index, choices=False))
            case Fault.GARBAGE:
                prose = random.Random(f"{scripted.seed}:{index}:garbage").choice(GARBAGE_PROSE)
                self._json(200, chat_completion(prose, request, index))
            case Fault.UNAUTHORIZED:
                self._json(
                    401, error_body("Incorrect API key provided", "invalid_request_error", "invalid_api_key")
                )
            case Fault.FORBIDDEN:
                self._json(403, error_body("You are not allowed to use this model", "invalid_request_error"))
            case Fault.UNKNOWN_MODEL:
                model = request.get("model")
                message = f"The model `{model}` does not exist or you do not have access to it."
                self._json(404, error_body(message, "invalid_request_error", "model_not_found"))

    def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json", headers)

    def _send(
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
        except OSError:
            self.close_connection = True  # the client gave up (a timeout) or the server is stopping


RESPONDERS: dict[str, Callable[[int], Responder]] = {"tweak-constants": tweak_constants_responder}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Serve scripted OpenAI chat-completions answers on 127.0.0.1."
    )
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port.")
    parser.add_argument("--latency", type=float, default=0.0, help="Seconds before each answer.")
    parser.add_argument("--responder", choices=sorted(RESPONDERS), default="tweak-constants")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    server = ScriptedServer(RESPONDERS[args.responder](args.seed), latency_s=args.latency, port=args.port)
    with contextlib.suppress(KeyboardInterrupt), server:
        print(f"scripted server listening on {server.base_url}", flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
