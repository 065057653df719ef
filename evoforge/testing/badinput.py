"""The harness of the bad-input tests: every user mistake ends in one exact line on stderr and exit code 2.

Each case prepares real files (tasks, configs, run directories with real SQLite databases) and names
the command line and the whole message it must end in; ``check`` runs it through the real CLI in a
fresh process. A case that gets as far as setting up the run (evaluating the initial program, calling
the model) may print log lines first; no other case may.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from evoforge.testing.tasks import evoforge_cli, write_task

LOG_LINE = re.compile(r"\d\d:\d\d:\d\d \S")  # evoforge's log format (ui/console.py)


@dataclass(frozen=True)
class Setup:
    """What a case may use: its own folder, a finished run to read or copy, and a place for servers."""

    tmp: Path
    run: Path
    stack: ExitStack

    def task(self, config: str = "", files: dict[str, str] | None = None) -> Path:
        """The toy task, with ``files`` (name → text) replacing or adding files."""
        task = write_task(self.tmp, config)
        for name, text in (files or {}).items():
            (task / name).write_text(text)
        return task

    def run_copy(self) -> Path:
        copy = self.tmp / "copied-run"
        shutil.copytree(self.run, copy)
        return copy


@dataclass(frozen=True)
class Bad:
    args: list[str]
    message: str
    logs: bool = False  # the run was being set up when the mistake showed: log lines may come first
    wrapper: tuple[str, ...] = ()  # a command the CLI runs under (see read_only)


Case = Callable[[Setup], Bad]


class Cases(dict[str, Case]):
    """A test module's cases by name; ``@cases.case`` adds a function under its own name."""

    def case(self, function: Case) -> Case:
        self[function.__name__] = function
        return function


def closed_port_url() -> str:
    """An OpenAI-style URL on 127.0.0.1 where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def run_args(task: Path, *extra: str, url: str | None = None, run_dir: Path | None = None) -> list[str]:
    """`evoforge run` with a local model, by default one that is never reached (the mistake shows first)."""
    url = url or closed_port_url()
    target = str(run_dir or task.parent / "r")
    return ["run", str(task), "--model", "m", "--base-url", url, "--run-dir", target, *extra]


def finished_run(root: Path) -> Path:
    """A real one-program run of the toy task in ``root/r``, for the cases that need a run directory."""
    task = write_task(root)
    result = evoforge_cli(*run_args(task, "--iterations", "1"))
    assert result.returncode == 0, result.stderr
    return root / "r"


def read_only(s: Setup, path: Path) -> tuple[str, ...]:
    """Make ``path`` read-only for the command: as root, which ignores permission bits, a read-only bind
    mount in the command's own mount namespace (the wrapper returned); else its permission bits, put
    back when the case ends."""
    if os.geteuid() == 0:
        return ("unshare", "--mount", "sh", "-c", 'mount --bind -o ro "$0" "$0" && exec "$@"', str(path))
    mode = path.stat().st_mode
    path.chmod(mode & ~0o222)
    s.stack.callback(path.chmod, mode)
    return ()


def run(args: list[str], wrapper: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """The real CLI in a fresh process, under ``wrapper`` (see read_only) if given."""
    return subprocess.run(
        [*wrapper, sys.executable, "-m", "evoforge.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def check(case: Case, tmp: Path, finished: Path) -> None:
    """Run ``case`` and assert exit code 2, nothing on stdout, and its message as the last line."""
    with ExitStack() as stack:
        bad = case(Setup(tmp.resolve(), finished, stack))
        result = run(bad.args, bad.wrapper)
    # Spelled out: pytest rewrites the asserts of test modules only, not of this helper.
    assert result.returncode == 2, f"exit code {result.returncode}: {result.stderr}"
    assert result.stdout == "", result.stdout
    *before, last = result.stderr.splitlines() or [""]
    assert last == f"evoforge: {bad.message}", f"last line {last!r}, expected {bad.message!r}"
    assert not before or (bad.logs and all(LOG_LINE.match(line) for line in before)), result.stderr
