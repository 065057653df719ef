"""What a program's record keeps, through the real sandbox: bounded output, artifacts and metrics,
and the traceback of whatever the evaluator's objects raised while its result was read."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest

from evoforge.config import EvaluationConfig, SandboxConfig
from evoforge.evaluation.capture import result_size_cap
from evoforge.evaluation.layers import plan_sandbox
from evoforge.evaluation.sandbox import Sandbox
from evoforge.records import Evaluation

PROCESS_ONLY = plan_sandbox(SandboxConfig(isolation="process"))
GOOD = "def evaluate(path):\n    return {'combined_score': 1.0}\n"
KIB = 1024


def make_sandbox(
    tmp_path: Path, evaluator: str, score_metric: str | None = None, **limits: object
) -> Sandbox:
    path = tmp_path / "evaluator.py"
    path.write_text(evaluator)
    config = EvaluationConfig.model_validate({"timeout_s": 60, "memory_mb": 1024, "parallel": 1, **limits})
    return Sandbox(path, config, score_metric=score_metric, plan=PROCESS_ONLY)


def stored_bytes(result: Evaluation) -> int:
    """The size of the record as the store writes it (JSON of metrics and artifacts)."""
    return len(json.dumps(result.metrics)) + len(json.dumps(result.artifacts))


async def test_a_megabyte_on_each_stream_keeps_its_head_and_tail(tmp_path: Path) -> None:
    evaluator = (
        "import sys\n\ndef evaluate(path):\n"
        "    print('first line')\n    sys.stdout.write('o' * 999_000)\n    print('last line')\n"
        "    sys.stderr.write('e' * 999_000)\n"
        "    return {'combined_score': 1.0}\n"
    )
    with make_sandbox(tmp_path, evaluator) as box:
        result = await box.evaluate("x = 1\n")
    assert result.ok, result.error
    for stream in ("stdout", "stderr"):
        assert len(result.artifacts[stream].encode()) <= 32 * KIB
    head, tail = result.artifacts["stdout"].split("\n[truncated ", 1)
    assert head.startswith("first line\nooo") and tail.endswith("ooolast line\n")
    assert result.artifacts["truncated"].splitlines() == [
        "stdout: kept the first 16,360 and the last 16,360 of 999,021 bytes",
        "stderr: kept the first 16,360 and the last 16,360 of 999,000 bytes",
    ]
    print(f"\nstored per program with 1 MB on each stream: {stored_bytes(result):,} bytes")


async def test_two_hundred_thousand_metrics_keep_the_score_and_say_what_was_cut(tmp_path: Path) -> None:
    evaluator = (
        "def evaluate(path):\n"
        "    metrics = {f'm{i}': float(i) for i in range(200_000)}\n"
        "    metrics['speed'] = 42.0\n"
        "    return metrics\n"
    )
    with make_sandbox(tmp_path, evaluator, score_metric="speed") as box:
        started = time.perf_counter()
        result = await box.evaluate("x = 1\n")
        seconds = time.perf_counter() - started
    assert result.ok, result.error
    assert len(result.metrics) == 256 and result.metrics["speed"] == 42.0 and result.score == 42.0
    assert result.artifacts["truncated"] == (
        "metrics: kept 256 of 200,001: the first 255 in the evaluator's order and 'speed'"
    )
    print(f"\n200,000 metrics: {seconds:.2f} s, {stored_bytes(result):,} bytes stored")


async def test_a_huge_artifact_is_cut_with_a_note(tmp_path: Path) -> None:
    evaluator = (
        "from evoforge import EvaluationResult\n\ndef evaluate(path):\n"
        "    log = 'begin ' + 'z' * 10_000_000 + ' end'\n"
        "    return EvaluationResult({'combined_score': 2.0}, {'log': log, 'hint': 'fine'})\n"
    )
    with make_sandbox(tmp_path, evaluator) as box:
        result = await box.evaluate("x = 1\n")
    assert result.ok and result.score == 2.0, result.error
    assert len(result.artifacts["log"]) <= 32 * KIB and result.artifacts["hint"] == "fine"
    assert result.artifacts["log"].startswith("begin zzz") and result.artifacts["log"].endswith("zzz end")
    assert result.artifacts["truncated"] == (
        "artifact 'log': kept the first 16,360 and the last 16,360 of 10,000,010 bytes"
    )


# A candidate runs in the evaluator's process, so it can write its own answer on the result pipe
# (fd 3) and leave before the child writes the true one.
FORGED_METRICS = (
    "import json, os\n\ndef evaluate(path):\n"
    "    metrics = {f'm{i}': 1.0 for i in range(20_000)} | {'combined_score': 5.0}\n"
    "    os.write(3, json.dumps({'ok': True, 'metrics': metrics}).encode())\n"
    "    os._exit(0)\n"
)
FORGED_FLOOD = (
    "import os\n\ndef evaluate(path):\n"
    "    chunk = b'x' * 65536\n"
    "    for _ in range(200):\n"
    "        os.write(3, chunk)\n"
    "    os._exit(0)\n"
)


async def test_a_forged_answer_is_bounded_by_the_controller_too(tmp_path: Path) -> None:
    with make_sandbox(tmp_path, FORGED_METRICS) as box:
        result = await box.evaluate("x = 1\n")
    assert result.ok and len(result.metrics) == 256 and result.score == 5.0
    assert result.artifacts["truncated"].startswith("metrics: kept 256 of 20,001: the first 255")


async def test_a_forged_failure_keeps_one_line_of_error(tmp_path: Path) -> None:
    evaluator = (
        "import json, os\n\ndef evaluate(path):\n"
        "    os.write(3, json.dumps({'ok': False, 'error': 'E' * 1_000_000}).encode())\n"
        "    os._exit(0)\n"
    )
    with make_sandbox(tmp_path, evaluator) as box:
        result = await box.evaluate("x = 1\n")
    assert not result.ok and result.error == "E" * 2000


async def test_a_deeply_nested_forged_answer_is_invalid_json(tmp_path: Path) -> None:
    evaluator = "import os\n\ndef evaluate(path):\n    os.write(3, b'[' * 100_000)\n    os._exit(0)\n"
    with make_sandbox(tmp_path, evaluator) as box:
        result = await box.evaluate("x = 1\n")
    assert not result.ok and result.error == "the result was not valid JSON"


async def test_a_flood_on_the_result_pipe_fails_the_evaluation(tmp_path: Path) -> None:
    with make_sandbox(tmp_path, FORGED_FLOOD) as box:
        result = await box.evaluate("x = 1\n")
    assert not result.ok and result.score == -math.inf
    assert result.error is not None
    cap = result_size_cap(EvaluationConfig(timeout_s=60, memory_mb=1024, parallel=1))
    assert 2_000_000 < cap < 13_107_200  # what the flood writes
    assert result.error.startswith(f"result too large: more than {cap:,} bytes"), result.error
    assert result.error.endswith(" bytes, more than the record limits allow")


HOSTILE_OBJECTS = (
    "from evoforge import EvaluationResult\n\n"
    "class Hostile:\n"
    "    def __float__(self):\n        raise RuntimeError('float refused')\n"
    "    def __str__(self):\n        raise RuntimeError('str refused')\n"
    "    def __repr__(self):\n        raise RuntimeError('repr refused')\n\n"
    "class Result:\n"
    "    @property\n    def metrics(self):\n        raise LookupError('metrics refused')\n\n"
    "class Unreadable(dict):\n"
    "    def items(self):\n        raise OSError('items refused')\n\n"
    "class Leaving:\n"
    "    def __float__(self):\n        raise SystemExit(4)\n\n"
    "class Opaque:\n"
    "    def __repr__(self):\n        raise RuntimeError('repr refused')\n\n"
)


@pytest.mark.parametrize(
    ("returned", "error", "frame"),
    [
        ("{'x': Hostile()}", "metric 'x' raised RuntimeError: float refused", "__float__"),
        (
            "EvaluationResult({'a': 1.0}, {'log': Hostile()})",
            "artifact 'log' raised RuntimeError: str refused",
            "__str__",
        ),
        ("Result()", "reading the result's metrics raised LookupError: metrics refused", "metrics"),
        ("Unreadable(x=1.0)", "reading the metrics raised OSError: items refused", "items"),
        ("{'x': Leaving()}", "reading it raised SystemExit: 4", "__float__"),
    ],
)
async def test_what_reading_the_result_raises_comes_with_its_traceback(
    tmp_path: Path, returned: str, error: str, frame: str
) -> None:
    evaluator = HOSTILE_OBJECTS + f"def evaluate(path):\n    return {returned}\n"
    with make_sandbox(tmp_path, evaluator) as box:
        result = await box.evaluate("x = 1\n")
    assert not result.ok and result.error == f"invalid result: {error}"
    trace = result.artifacts["traceback"]
    assert 'evaluator.py", line ' in trace and f", in {frame}\n" in trace, trace
    last = trace.rstrip().splitlines()[-1]  # the ContractError naming what was read, or the exit itself
    assert last in (f"_evoforge_contract.ContractError: {error}", "SystemExit: 4"), last


async def test_a_value_whose_repr_raises_is_a_plain_contract_error(tmp_path: Path) -> None:
    evaluator = HOSTILE_OBJECTS + "def evaluate(path):\n    return {'x': Opaque()}\n"
    with make_sandbox(tmp_path, evaluator) as box:
        result = await box.evaluate("x = 1\n")
    assert result.error == "invalid result: metric 'x' is not a number: <Opaque>"


async def test_a_mapping_whose_len_raises_is_read_without_len(tmp_path: Path) -> None:
    evaluator = (
        "class Sized(dict):\n    def __len__(self):\n        raise RuntimeError('len refused')\n\n"
        "def evaluate(path):\n    return Sized(combined_score=3.0)\n"
    )
    with make_sandbox(tmp_path, evaluator) as box:
        result = await box.evaluate("x = 1\n")
    assert result.ok and result.score == 3.0, result.error
