"""The C speed evaluator compiles, checks and times a C matmul(); broken programs fail with the reason."""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import pytest

from evoforge.blocks import find_blocks
from evoforge.task import load_task
from tests.examples.helpers import EXAMPLES, Example, broken_rule

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs the system gcc")

IKJ = """#include <stdint.h>
#include <string.h>
void matmul(int n, const uint32_t *a, const uint32_t *b, uint32_t *c) {
    memset(c, 0, sizeof *c * (size_t)n * (size_t)n);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n; k++)
            for (int j = 0; j < n; j++) c[i * n + j] += a[i * n + k] * b[k * n + j];
}
"""


@pytest.fixture
def example(monkeypatch: pytest.MonkeyPatch) -> Example:
    """The evaluator with a small timed size, so each test runs in a fraction of a second."""
    example = Example("c_speed_matmul")
    monkeypatch.setattr(example.verifier, "TIMED_SIZE", 64)
    monkeypatch.setattr(example.verifier, "TIMING_RUNS", 1)
    return example


def test_a_correct_rewrite_is_timed_against_the_reference(example: Example, tmp_path: Path) -> None:
    metrics = example.run(tmp_path, IKJ, "initial_program.c")
    assert metrics["valid"] == 1.0
    assert metrics["combined_score"] == metrics["speedup"]
    assert metrics["speedup"] == pytest.approx(metrics["reference_ms"] / metrics["time_ms"])
    assert math.isfinite(metrics["speedup"]) and metrics["speedup"] > 0


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            ("c[i * n + j] +=", "c[i * n + j] -="),
            r"wrong result for n = 1 \(seed \d+\): C\[0\]\[0\] = \d+, expected",
        ),
        (("memset(c, 0,", "memset(c, 1,"), "wrong result for n = 1"),
        (
            ("for (int i = 0; i < n; i++)", "for (int i = 0; i < n - (n > 50); i++)"),
            r"n = 100 .*C\[99\]\[0\]",
        ),
        (("memset", "if (n == 7) __builtin_trap();\n    memset"), "the program crashed for n = 7"),
        (
            ("uint32_t *c) {", "uint32_t *c) {\n    int broken = ;"),
            "does not compile:\n.*error: expected expression",
        ),
        (("void matmul", "void matmul_renamed"), "does not compile:.*undefined reference to `matmul'"),
    ],
)
def test_broken_programs_score_minus_infinity_with_the_reason(
    example: Example, tmp_path: Path, change: tuple[str, str], reason: str
) -> None:
    result = example.run(tmp_path, IKJ.replace(*change), "initial_program.c")
    assert re.search(reason, broken_rule(result), re.DOTALL), result.artifacts["infeasible"]


def test_a_stalled_program_is_stopped(
    example: Example, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(example.verifier, "RUN_TIMEOUT_S", 1)
    result = example.run(
        tmp_path, IKJ.replace("memset", "while (n == 16) {}\n    memset"), "initial_program.c"
    )
    assert broken_rule(result) == "matmul() did not return within 1 s for n = 16"


def test_faked_clocks_and_printed_scores_cannot_help(example: Example, tmp_path: Path) -> None:
    # Redefining the clock changes nothing (times are taken from outside the process); printing a score
    # to stdout only corrupts the output, which then fails the comparison with the reference.
    fake_clock = (
        "#define _POSIX_C_SOURCE 199309L\n#include <time.h>\n"
        "int clock_gettime(clockid_t id, struct timespec *t) { t->tv_sec = t->tv_nsec = 0; return 0; }\n"
    )
    assert example.run(tmp_path, fake_clock + IKJ, "initial_program.c")["valid"] == 1.0
    printer = (
        '#include <stdio.h>\n__attribute__((constructor)) static void fake(void) { puts("speedup: 1000"); }\n'
    )
    result = example.run(tmp_path, printer + IKJ, "initial_program.c")
    assert "for n = 1 the program wrote 18 bytes, expected 4" in broken_rule(result)


def test_the_task_loads_as_a_c_program_with_one_block() -> None:
    task = load_task(EXAMPLES / "c_speed_matmul")
    assert task.language == "c" and task.program_filename == "initial_program.c"
    (block,) = find_blocks(task.initial_code)
    assert block.content.startswith("void matmul(")


def test_initial_program_is_valid(example: Example) -> None:
    metrics = example.run_initial("initial_program.c")
    assert metrics["valid"] == 1.0 and metrics["reference_ms"] > 0 and metrics["time_ms"] > 0
