"""The evaluator contract, shared by the sandbox child and the controller.

``evaluate(program_path)`` returns a dict of metrics or any object with a ``metrics`` dict and an
optional ``artifacts`` dict (duck typing: evoforge's and OpenEvolve's EvaluationResult both work).

- Metric names are strings of at most 256 characters; values are real numbers (int, float, numpy
  scalars, anything ``float()`` accepts except strings). NaN, +inf and non-numbers are errors.
- ``-inf`` is allowed and means infeasible: a program scoring ``-inf`` is kept but never a parent.
- Bools are metrics too (0/1) but they are flags, not measurements: ``normalize_metrics`` keeps
  them as ``bool`` so that ``primary_score`` can leave them out of the mean (``True == 1.0``, so
  they compare and add as numbers; the sandbox hands them on as 0.0/1.0).
- Artifacts are text: every value goes through ``str()``.
- An exception raised while a result is read (a metric's ``__float__``, an artifact's ``__str__``, a
  ``metrics`` property, a mapping's ``items()``) becomes a ContractError naming what was read,
  chained to the original, so that its traceback reaches the record.
- What is stored is bounded (``bound_record``): at most ``max_metrics`` metrics, each artifact and
  all of them together at most so many bytes; a ``truncated`` artifact says what was cut.

This module imports only the standard library and nothing of evoforge: the sandbox child loads it
by path, next to untrusted code, without importing the controller's package. That is also why it
raises its own ``ContractError`` rather than ``evoforge.errors.EvaluatorError``.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterable, Mapping

SCORE_KEY = "combined_score"
NOTE_KEY = "truncated"  # the artifact that says what bound_record cut
MAX_NAME_CHARS = 256
MAX_ERROR_CHARS = 2000  # an error line, on both sides of the result pipe
MARKER_BYTES = 48  # room kept for the "[truncated N bytes]" marker inside a cut text
SHOWN_NAMES = 5  # names listed in a note about dropped artifacts or a missing score metric
MAX_SOLUTION_BYTES = 256 * 1024  # search mode: the JSON text of a returned solution


class ContractError(ValueError):
    """The evaluator returned something that is not metrics; the message says what."""


def describe(error: BaseException) -> str:
    """``Type: message``, or just ``Type`` when the message is empty or its ``__str__`` raises."""
    try:
        detail = str(error)
    except BaseException:  # a hostile __str__
        detail = ""
    name = type(error).__name__
    return f"{name}: {detail}" if detail else name


def normalize_result(raw: object) -> tuple[dict[str, float], dict[str, str]]:
    """(metrics, artifacts) from whatever ``evaluate`` returned."""
    try:
        if isinstance(raw, Mapping):
            return normalize_metrics(raw), {}
        if not hasattr(raw, "metrics"):
            raise ContractError(
                f"evaluate() returned {type(raw).__name__}, expected a dict of metrics or an EvaluationResult"
            )
        metrics = raw.metrics
    except ContractError:
        raise
    except Exception as error:
        raise ContractError(f"reading the result's metrics raised {describe(error)}") from error
    try:
        artifacts = getattr(raw, "artifacts", None)
    except Exception as error:
        raise ContractError(f"reading the result's artifacts raised {describe(error)}") from error
    return normalize_metrics(metrics), normalize_artifacts(artifacts)


def normalize_metrics(raw: object) -> dict[str, float]:
    """Validated metrics: floats, except bools, which stay bools (see the module docstring)."""
    if not isinstance(raw, Mapping):
        raise ContractError(f"metrics must be a dict, got {type(raw).__name__}")
    metrics: dict[str, float] = {}
    name = None  # the metric being converted; None while the mapping itself is read
    try:
        for name, value in raw.items():
            if not isinstance(name, str):
                raise ContractError(f"metric names must be strings, got {_shown(name)}")
            if len(name) > MAX_NAME_CHARS:
                raise ContractError(f"metric name longer than {MAX_NAME_CHARS} characters: {name[:60]!r}...")
            if type(value) is float and value < math.inf:  # the common case, NaN and +inf excluded
                metrics[name] = value
            else:
                metrics[name] = value if isinstance(value, bool) else _number(name, value)
            name = None
    except ContractError:
        raise
    except Exception as error:
        what = "reading the metrics" if name is None else f"metric '{name}'"
        raise ContractError(f"{what} raised {describe(error)}") from error
    return metrics


def normalize_artifacts(raw: object) -> dict[str, str]:
    """Artifacts as text; ``None`` means none."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ContractError(f"artifacts must be a dict, got {type(raw).__name__}")
    artifacts: dict[str, str] = {}
    name = None  # the artifact being converted; None while the mapping itself is read
    try:
        for name, value in raw.items():
            artifacts[str(name)] = value if isinstance(value, str) else str(value)
            name = None
    except Exception as error:
        what = "reading the artifacts" if name is None else f"artifact {_shown(name)}"
        raise ContractError(f"{what} raised {describe(error)}") from error
    return artifacts


def _number(name: str, value: object) -> float:
    if isinstance(value, str | bytes | bytearray):
        raise ContractError(f"metric '{name}' is not a number: {_shown(value)}")
    convertible = hasattr(type(value), "__float__") or hasattr(type(value), "__index__")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError) as error:
        if convertible:  # its own conversion failed: keep the traceback
            raise ContractError(f"metric '{name}' raised {describe(error)}") from error
        raise ContractError(f"metric '{name}' is not a number: {_shown(value)}") from None
    if math.isnan(number):
        raise ContractError(f"metric '{name}' is NaN")
    if number == math.inf:
        raise ContractError(f"metric '{name}' is +inf (only -inf, meaning infeasible, is allowed)")
    return number


def _shown(value: object) -> str:
    """A short repr for a message, even of an object whose ``__repr__`` raises."""
    try:
        return f"{value!r:.60}"
    except Exception:
        return f"<{type(value).__name__}>"


def primary_score(metrics: Mapping[str, float], score_metric: str | None) -> float:
    """``combined_score``, else the configured ``score_metric``, else the mean of the non-bool metrics.

    No metric to average (none at all, or only bools) scores ``-inf``.
    """
    if SCORE_KEY in metrics:
        return float(metrics[SCORE_KEY])
    if score_metric is not None:
        if score_metric not in metrics:
            names = list(itertools.islice(metrics, SHOWN_NAMES + 1))
            shown = ", ".join(map(repr, names[:SHOWN_NAMES])) + (", ..." if len(names) > SHOWN_NAMES else "")
            raise ContractError(f"score_metric '{score_metric}' is not among the metrics [{shown}]")
        return float(metrics[score_metric])
    values = [float(value) for value in metrics.values() if not isinstance(value, bool)]
    return math.fsum(values) / len(values) if values else -math.inf


def bound_record(
    metrics: Mapping[str, float],
    artifacts: Mapping[str, str],
    limits: Mapping[str, int],
    score_metric: str | None = None,
    notes: Iterable[str] = (),
) -> tuple[dict[str, float], dict[str, str]]:
    """Metrics and artifacts cut to ``limits``, and a ``truncated`` artifact saying what was cut.

    ``limits`` holds ``max_metrics``, ``max_artifact_bytes`` (each artifact) and
    ``max_total_artifact_bytes`` (all of them, names included). Metrics are kept in the evaluator's
    order; the score metric is never dropped, and when the score is the mean of all metrics it is
    kept as ``combined_score``, computed before the cut, so that cutting never changes a score.
    Artifacts keep their head and tail and are kept in the evaluator's order until the total is
    spent. ``notes`` are cuts made elsewhere (captured output) to list in the same artifact. One
    pass over each input: 200,000 metrics cost milliseconds.
    """
    lines = list(notes)
    kept_metrics = _bound_metrics(metrics, limits["max_metrics"], score_metric, lines)
    earlier = artifacts.get(NOTE_KEY)
    rest = {name: text for name, text in artifacts.items() if name != NOTE_KEY}
    kept = _bound_artifacts(rest, limits["max_artifact_bytes"], limits["max_total_artifact_bytes"], lines)
    if lines or earlier:
        note = "\n".join(([earlier] if earlier else []) + lines)
        kept[NOTE_KEY] = cut_text(note, limits["max_artifact_bytes"])
    return kept_metrics, kept


def _bound_metrics(
    metrics: Mapping[str, float], most: int, score_metric: str | None, notes: list[str]
) -> dict[str, float]:
    if len(metrics) <= most:
        return dict(metrics)
    kept = dict(itertools.islice(metrics.items(), most))
    score_name = SCORE_KEY if SCORE_KEY in metrics else score_metric
    mean = ""
    if score_name is None:  # the score is the mean of them all: keep it as combined_score
        score_name, mean = SCORE_KEY, f"; '{SCORE_KEY}' is the mean of all {len(metrics):,}, the score"
        extra = {SCORE_KEY: primary_score(metrics, None)}
    else:
        extra = {score_name: metrics[score_name]} if score_name in metrics else {}
    if extra and score_name not in kept:
        del kept[next(reversed(kept))]
        kept.update(extra)
        first = f"the first {most - 1:,} in the evaluator's order and '{score_name}'"
    else:
        first = f"the first {most:,} in the evaluator's order"
    notes.append(f"metrics: kept {len(kept):,} of {len(metrics):,}: {first}{mean}")
    return kept


def _bound_artifacts(artifacts: Mapping[str, str], each: int, total: int, notes: list[str]) -> dict[str, str]:
    kept: dict[str, str] = {}
    dropped: list[str] = []
    room = total
    for name, text in artifacts.items():
        name_size = _utf8_size(name)
        if name_size + MARKER_BYTES >= room:
            dropped.append(name)
            continue
        size = _utf8_size(text)
        limit = min(each, room - name_size)
        if size > limit:
            text = cut_text(text, limit)
            notes.append(cut_note(f"artifact {_shown(name)}", *cut_sizes(limit), size))
        kept[name] = text
        room -= name_size + min(size, limit)
    if dropped:
        shown = ", ".join(_shown(name) for name in dropped[:SHOWN_NAMES])
        more = f" and {len(dropped) - SHOWN_NAMES:,} more" if len(dropped) > SHOWN_NAMES else ""
        notes.append(f"artifacts: dropped {len(dropped):,} past the total of {total:,} bytes: {shown}{more}")
    return kept


def cut_text(text: str, limit: int) -> str:
    """``text`` if its UTF-8 form fits in ``limit`` bytes, else its head and tail around a marker."""
    if 4 * len(text) <= limit:  # no character takes more than 4 bytes
        return text
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= limit:
        return text
    head, tail = cut_sizes(limit)
    return join_ends(data[:head], data[len(data) - tail :], len(data))


def cut_sizes(limit: int) -> tuple[int, int]:
    """How many bytes of its head and of its tail a text cut to ``limit`` bytes keeps."""
    keep = max(limit - MARKER_BYTES, 0)
    return keep - keep // 2, keep // 2


def join_ends(head: bytes, tail: bytes, total: int) -> str:
    """The kept head and tail of a text of ``total`` bytes, a marker where its middle was cut."""
    cut = total - len(head) - len(tail)
    if not cut:
        return (head + tail).decode("utf-8", "replace")
    marker = f"\n[truncated {cut:,} bytes]" + ("\n" if tail else "")
    return head.decode("utf-8", "replace") + marker + tail.decode("utf-8", "replace")


def cut_note(name: str, head: int, tail: int, total: int) -> str:
    """The ``truncated`` line for a text of ``total`` bytes of which ``head`` and ``tail`` were kept."""
    return f"{name}: kept the first {head:,} and the last {tail:,} of {total:,} bytes"


def _utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def solution_text(raw: object) -> str | None:
    """Search mode: the ``solution`` attribute of an evaluator's result as compact JSON text, or None.

    Plain JSON data only (no NaN or infinities), at most MAX_SOLUTION_BYTES: it is stored with the
    program and handed to later evaluations, so a solution that cannot be is an invalid result.
    """
    if isinstance(raw, Mapping):
        return None
    try:
        value = getattr(raw, "solution", None)
        if value is None:
            return None
        text = json.dumps(value, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError) as error:
        raise ContractError(f"the solution is not plain JSON data: {describe(error)}") from None
    return check_solution(text)


def check_solution(text: object) -> str:
    """``text`` if it is a solution's JSON text within MAX_SOLUTION_BYTES, else ContractError."""
    if not isinstance(text, str):
        raise ContractError(f"the solution must be JSON text, got {type(text).__name__}")
    size = _utf8_size(text)
    if size > MAX_SOLUTION_BYTES:
        raise ContractError(f"the solution is {size:,} bytes of JSON, more than {MAX_SOLUTION_BYTES:,}")
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        raise ContractError("the solution is not valid JSON") from None
    return text
