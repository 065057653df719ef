"""The chat-completions protocol as the scripted server speaks it: faults, answer bodies, embeddings."""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Callable
from typing import Any


class Fault(enum.Enum):
    """A way for one request to go wrong, as real providers do."""

    RATE_LIMIT = "rate_limit"  # 429 with a Retry-After header
    SERVER_ERROR = "server_error"  # 500
    HANG = "hang"  # no answer until the client gives up (or the server stops)
    DISCONNECT = "disconnect"  # the connection closes without an answer
    TRUNCATED_JSON = "truncated_json"  # 200, a JSON body cut in half
    HTML = "html"  # 200, a text/html error page from a proxy
    NOT_UTF8 = "not_utf8"  # 200, an application/json body that is not UTF-8
    EMPTY_CONTENT = "empty_content"  # content ""
    NULL_CONTENT = "null_content"  # content null
    EMPTY_CHOICES = "empty_choices"  # choices []
    GARBAGE = "garbage"  # prose without any edit
    UNAUTHORIZED = "unauthorized"  # 401 invalid_api_key
    FORBIDDEN = "forbidden"  # 403, the key may not use this model or region
    UNKNOWN_MODEL = "unknown_model"  # 404 model_not_found


Answer = str | Fault
Responder = Callable[[dict[str, Any]], Answer]

EMBEDDING_SIZE = 16  # dimensions of the vectors `/v1/embeddings` answers
GARBAGE_PROSE = (
    "I would consider several approaches here, but on reflection the current code looks fine.",
    "This is an interesting problem. A careful analysis suggests the existing approach is reasonable.",
    "One could vectorise the inner loop, or cache intermediate results; both have trade-offs.",
    "The program is already well structured, so I recommend keeping it as it is for now.",
)


def tokens_of(text: str) -> int:
    return math.ceil(len(text) / 4)  # roughly four characters a token


def chat_completion(
    content: str | None, request: dict[str, Any], index: int, choices: bool = True
) -> dict[str, Any]:
    """A ``chat.completion`` object answering ``request`` with ``content``, with ``usage``."""
    prompt = sum(tokens_of(str(message.get("content") or "")) for message in request.get("messages", []))
    completion = tokens_of(content or "")
    message = {"role": "assistant", "content": content}
    return {
        "id": f"chatcmpl-scripted-{index}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", "scripted"),
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}] if choices else [],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


def embedding_of(text: str) -> list[float]:
    """A small deterministic embedding: the text's characters counted in EMBEDDING_SIZE buckets by code
    point, at unit length. Texts differing by a few characters get vectors with a cosine near 1."""
    counts = [0.0] * EMBEDDING_SIZE
    for character in text:
        counts[ord(character) % EMBEDDING_SIZE] += 1.0
    norm = math.sqrt(sum(count * count for count in counts)) or 1.0
    return [count / norm for count in counts]


def error_body(message: str, kind: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}
