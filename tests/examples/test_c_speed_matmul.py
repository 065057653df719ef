"""The C speed evaluator compiles, checks and times a C matmul(); broken programs fail with the reason."""

from __future__ import annotations

import math
import os
import re
import shutil
import signal
from pathlib import Path

import pytest

from evoforge.blocks import find_blocks
from evoforge.task import load_task
from evoforge.testing.processes import alive
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


BECOME_THE_REFERENCE = r"""#define _DEFAULT_SOURCE
#include <stdio.h>
#include <string.h>
#include <unistd.h>
__attribute__((constructor)) static void become_the_reference(void) {
    char self[4096] = {0}, reference[4200];
    if (readlink("/proc/self/exe", self, sizeof self - 1) <= 0) return;
    snprintf(reference, sizeof reference, "%.*s/reference", (int)(strrchr(self, '/') - self), self);
    unlink(reference);
    symlink(self, reference);
}
"""


def test_a_candidate_that_replaces_the_reference_binary_is_still_checked_against_it(
    example: Example, tmp_path: Path
) -> None:
    # It runs as the evaluator's user, so it can swap the reference binary for itself (a wrong result
    # would then match) or for a slow one: every reference run happens before its first run.
    wrong = IKJ.replace("c[i * n + j] +=", "c[i * n + j] ^=")
    result = example.run(tmp_path, BECOME_THE_REFERENCE + wrong, "initial_program.c")
    assert broken_rule(result).startswith("wrong result for n = 2 ")


def remembering(log: Path) -> str:
    """A constructor that appends the run's arguments (N SEED) to ``log`` and sets ``size_seen_before``
    when an earlier run had the same N: what a candidate needs to replay a stored answer."""
    return r"""#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static int size_seen_before;
__attribute__((constructor)) static void remember_this_run(void) {
    char input[256] = {0}, line[256];
    FILE *cmdline = fopen("/proc/self/cmdline", "rb");
    size_t size = fread(input, 1, sizeof input - 1, cmdline);
    fclose(cmdline);
    char *arguments = input + strlen(input) + 1;
    for (size_t i = arguments - input; i < size; i++) if (!input[i]) input[i] = ' ';
    FILE *log = fopen("LOG", "a+");
    rewind(log);
    while (fgets(line, sizeof line, log)) size_seen_before |= atoi(line) == atoi(arguments);
    fprintf(log, "%s\n", arguments);
    fclose(log);
}
""".replace("LOG", str(log))


def test_no_two_runs_get_the_same_input(
    example: Example, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(example.verifier, "TIMING_RUNS", 3)
    log = tmp_path / "runs.log"
    assert example.run(tmp_path, remembering(log) + IKJ, "initial_program.c")["valid"] == 1.0
    runs = log.read_text().splitlines()
    assert len(runs) == len(example.verifier.CHECK_SIZES) + 3 and len(set(runs)) == len(runs)


def test_every_timed_run_is_checked(
    example: Example, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Wrong from its second run of a size on, as a candidate that skips work it did before would be.
    monkeypatch.setattr(example.verifier, "TIMING_RUNS", 2)
    skipping = IKJ.replace("b[k * n + j];\n", "b[k * n + j];\n    if (size_seen_before) c[0] ^= 1;\n")
    result = example.run(tmp_path, remembering(tmp_path / "runs.log") + skipping, "initial_program.c")
    assert broken_rule(result).startswith("wrong result for n = 64 ")


def leaving_a_daemon(pid_file: Path) -> str:
    """A constructor whose first run starts a setsid daemon (double fork) that writes its pid to
    ``pid_file`` and waits, able to stop or slow every later run, the reference's included."""
    return r"""#define _DEFAULT_SOURCE
#include <stdio.h>
#include <unistd.h>
__attribute__((constructor)) static void leave_a_daemon(void) {
    if (access("PIDS", F_OK) == 0) return;
    if (fork() == 0) {
        setsid();
        if (fork() == 0) {
            close(0), close(1), close(2);  /* the evaluator waits for the end of its output */
            FILE *out = fopen("PIDS.tmp", "w");
            fprintf(out, "%d", getpid());
            fclose(out);
            rename("PIDS.tmp", "PIDS");
            for (;;) pause();
        }
        _exit(0);
    }
    while (access("PIDS", F_OK) != 0) usleep(1000);
}
""".replace("PIDS", str(pid_file))


def test_a_daemon_started_by_the_candidate_dies_with_its_run(example: Example, tmp_path: Path) -> None:
    pid_file = tmp_path / "daemon.pid"
    try:
        assert example.run(tmp_path, leaving_a_daemon(pid_file) + IKJ, "initial_program.c")["valid"] == 1.0
        assert not alive(int(pid_file.read_text()))
    finally:
        if pid_file.exists() and alive(int(pid_file.read_text())):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


def test_the_task_loads_as_a_c_program_with_one_block() -> None:
    task = load_task(EXAMPLES / "c_speed_matmul")
    assert task.language == "c" and task.program_filename == "initial_program.c"
    (block,) = find_blocks(task.initial_code)
    assert block.content.startswith("void matmul(")


def test_initial_program_is_valid(example: Example) -> None:
    metrics = example.run_initial("initial_program.c")
    assert metrics["valid"] == 1.0 and metrics["reference_ms"] > 0 and metrics["time_ms"] > 0
