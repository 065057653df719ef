"""Every user mistake ends in one exact line on stderr and exit code 2, run through the real CLI.

Each case prepares real files (tasks, configs, run directories with real SQLite databases) and names
the command line and the whole message it must end in. A case that gets as far as setting up the run
(evaluating the initial program, calling the model) may print log lines first; no other case may.
"""

from __future__ import annotations

import re
import shutil
import socket
import sqlite3
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from evoforge.runlock import RunLock
from evoforge.testing.scripted_server import Fault, ScriptedServer
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


CASES: dict[str, Callable[[Setup], Bad]] = {}


def case(function: Callable[[Setup], Bad]) -> Callable[[Setup], Bad]:
    CASES[function.__name__] = function
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


def failing_initial(evaluator: str, reason: str) -> Callable[[Setup], Bad]:
    """A case whose evaluator fails on the initial program, so the run cannot start."""

    def make(s: Setup) -> Bad:
        task = s.task(files={"evaluator.py": evaluator})
        message = f"{task}/initial_program.py: the initial program failed evaluation: {reason}"
        return Bad(run_args(task), message, logs=True)

    return make


# --- the task folder -------------------------------------------------------------------------------


@case
def missing_task_folder(s: Setup) -> Bad:
    return Bad(run_args(s.tmp / "missing"), f"{s.tmp}/missing: task folder not found")


@case
def task_path_is_a_file(s: Setup) -> Bad:
    (s.tmp / "task.py").write_text("")
    return Bad(run_args(s.tmp / "task.py"), f"{s.tmp}/task.py: not a folder")


@case
def no_initial_program(s: Setup) -> Bad:
    task = s.task()
    (task / "initial_program.py").unlink()
    return Bad(run_args(task), f"{task}: no initial_program.* file (the program to evolve)")


@case
def two_initial_programs(s: Setup) -> Bad:
    task = s.task(files={"initial_program.c": "// EVOLVE-BLOCK-START\n// EVOLVE-BLOCK-END\n"})
    return Bad(
        run_args(task),
        f"{task}: several initial programs (initial_program.c, initial_program.py); keep exactly one",
    )


@case
def no_evaluator(s: Setup) -> Bad:
    task = s.task()
    (task / "evaluator.py").unlink()
    return Bad(
        run_args(task),
        f"{task}/evaluator.py: evaluator not found (a task needs evaluator.py with evaluate(program_path))",
    )


@case
def no_evolve_block(s: Setup) -> Bad:
    task = s.task(files={"initial_program.py": "def solve():\n    return 1.0\n"})
    return Bad(
        run_args(task), f"{task}/initial_program.py: no EVOLVE-BLOCK-START … EVOLVE-BLOCK-END region found"
    )


@case
def block_never_closed(s: Setup) -> Bad:
    task = s.task(files={"initial_program.py": "x = 1\n# EVOLVE-BLOCK-START\ndef solve():\n    return 1.0\n"})
    return Bad(
        run_args(task), f"{task}/initial_program.py:2: EVOLVE-BLOCK-START is never closed by EVOLVE-BLOCK-END"
    )


@case
def block_end_without_start(s: Setup) -> Bad:
    task = s.task(files={"initial_program.py": "def solve():\n    return 1.0\n# EVOLVE-BLOCK-END\n"})
    return Bad(
        run_args(task),
        f"{task}/initial_program.py:3: EVOLVE-BLOCK-END without a matching EVOLVE-BLOCK-START before it",
    )


@case
def nested_blocks(s: Setup) -> Bad:
    program = (
        "# EVOLVE-BLOCK-START\nx = 1\n  # EVOLVE-BLOCK-START\ny = 2\n# EVOLVE-BLOCK-END\n# EVOLVE-BLOCK-END\n"
    )
    task = s.task(files={"initial_program.py": program})
    return Bad(
        run_args(task),
        f"{task}/initial_program.py:3: EVOLVE-BLOCK-START inside the block opened on line 1; "
        "blocks cannot nest",
    )


@case
def program_not_utf8(s: Setup) -> Bad:
    task = s.task()
    (task / "initial_program.py").write_bytes(b"# EVOLVE-BLOCK-START\nx = '\xff'\n# EVOLVE-BLOCK-END\n")
    return Bad(run_args(task), f"{task}/initial_program.py: the program is not UTF-8 text (byte 26)")


@case
def context_not_utf8(s: Setup) -> Bad:
    task = s.task()
    (task / "context.md").write_bytes(b"\xfe\xff context")
    return Bad(run_args(task), f"{task}/context.md: the context is not UTF-8 text (byte 0)")


@case
def evaluator_syntax_error(s: Setup) -> Bad:
    task = s.task(files={"evaluator.py": "def evaluate(program_path)\n    return {}\n"})
    return Bad(run_args(task), f"{task}/evaluator.py:1: syntax error in the evaluator: expected ':'")


@case
def evaluator_without_evaluate(s: Setup) -> Bad:
    task = s.task(files={"evaluator.py": "def score(program_path):\n    return {}\n"})
    return Bad(
        run_args(task), f"{task}/evaluator.py: the evaluator defines no evaluate(program_path) function"
    )


# --- the evaluator on the initial program: the run cannot start --------------------------------------

CASES["evaluator_raises_at_import"] = failing_initial(
    "raise RuntimeError('no data file')\ndef evaluate(program_path):\n    return {}\n",
    "the evaluator failed to import: RuntimeError: no data file",
)
CASES["evaluator_returns_a_list"] = failing_initial(
    "def evaluate(program_path):\n    return [1.0]\n",
    "invalid result: evaluate() returned list, expected a dict of metrics or an EvaluationResult",
)
CASES["evaluator_returns_a_string"] = failing_initial(
    "def evaluate(program_path):\n    return 'great'\n",
    "invalid result: evaluate() returned str, expected a dict of metrics or an EvaluationResult",
)
CASES["metric_is_nan"] = failing_initial(
    "def evaluate(program_path):\n    return {'score': float('nan')}\n",
    "invalid result: metric 'score' is NaN",
)
CASES["metric_is_a_list"] = failing_initial(
    "def evaluate(program_path):\n    return {'score': [1]}\n",
    "invalid result: metric 'score' is not a number: [1]",
)
CASES["metric_is_a_string"] = failing_initial(
    "def evaluate(program_path):\n    return {'score': 'high'}\n",
    "invalid result: metric 'score' is not a number: 'high'",
)
CASES["evaluate_raises"] = failing_initial(
    "def evaluate(program_path):\n    raise ValueError('solve() missing')\n",
    "evaluator raised ValueError: solve() missing",
)


@case
def feature_dimension_not_a_metric(s: Setup) -> Bad:
    task = s.task("database:\n  feature_dimensions: [code_length, accuracy]\n")
    return Bad(
        run_args(task),
        "database.feature_dimensions: 'accuracy' is neither built in nor a finite metric of the initial "
        "program (known: code_length, diversity, combined_score, value)",
        logs=True,
    )


# --- the configuration -----------------------------------------------------------------------------


# Mistakes in config.yaml: (the file's text, the message after "<task>/config.yaml: ").
CONFIG_MISTAKES = {
    "config_unknown_key": (
        "evaluation:\n  timeoutt_s: 3\n",
        "unknown key 'evaluation.timeoutt_s' (did you mean 'timeout_s'?)",
    ),
    "config_wrong_type": (
        "evaluation:\n  timeout_s: soon\n",
        "evaluation.timeout_s: Input should be a valid number, unable to parse "
        "string as a number (got 'soon')",
    ),
    "config_negative_count": (
        "database:\n  num_islands: -2\n",
        "database.num_islands: Input should be greater than 0 (got -2)",
    ),
    "config_ratios_not_summing_to_one": (
        "database:\n  elite_ratio: 0.5\n",
        "database: exploration_ratio + exploitation_ratio + elite_ratio must be 1, got 1.4",
    ),
    "config_invalid_yaml": ("evaluation:\n  timeout_s: [3\n", "invalid YAML (line 3)"),
    "config_not_a_mapping": ("- seed: 1\n", "the top level must be a mapping of keys to values"),
    "config_section_is_a_number": (
        "llm: 3\n",
        "llm: Input should be a valid dictionary or instance of LLMConfig (got 3)",
    ),
}


def config_mistake(text: str, message: str) -> Callable[[Setup], Bad]:
    def make(s: Setup) -> Bad:
        task = s.task(text)
        return Bad(run_args(task), f"{task}/config.yaml: {message}")

    return make


for _name, (_text, _message) in CONFIG_MISTAKES.items():
    CASES[_name] = config_mistake(_text, _message)


@case
def config_file_missing(s: Setup) -> Bad:
    task = s.task()
    return Bad(
        [*run_args(task), "--config", f"{s.tmp}/other.yaml"],
        f"{s.tmp}/other.yaml: cannot read: No such file or directory",
    )


@case
def set_without_equals(s: Setup) -> Bad:
    task = s.task()
    return Bad(
        [*run_args(task), "--set", "evaluation.timeout_s"],
        "--set 'evaluation.timeout_s': expected key=value, e.g. --set evaluation.timeout_s=30",
    )


@case
def set_unknown_key(s: Setup) -> Bad:
    task = s.task()
    return Bad(
        [*run_args(task), "--set", "evaluation.timout_s=3"],
        "--set 'evaluation.timout_s=3': unknown key 'evaluation.timout_s' (did you mean 'timeout_s'?)",
    )


@case
def set_wrong_type(s: Setup) -> Bad:
    task = s.task()
    return Bad(
        [*run_args(task), "--set", "llm.max_inflight=lots"],
        "--set 'llm.max_inflight=lots': llm.max_inflight: Input should be a valid integer, unable to parse "
        "string as an integer (got 'lots')",
    )


@case
def base_url_without_model(s: Setup) -> Bad:
    task = s.task()
    return Bad(["run", str(task), "--base-url", closed_port_url()], "--base-url needs --model NAME")


@case
def iterations_zero(s: Setup) -> Bad:
    return Bad(
        [*run_args(s.task()), "--iterations", "0"],
        "Invalid value for '--iterations': 0 is not in the range x>=1 (see 'evoforge run --help')",
    )


@case
def missing_argument(s: Setup) -> Bad:
    return Bad(["run"], "Missing argument 'TASK_DIR' (see 'evoforge run --help')")


@case
def unknown_command(s: Setup) -> Bad:
    return Bad(
        ["evolve", str(s.tmp)], "No such command 'evolve'. Did you mean 'eval'? (see 'evoforge --help')"
    )


# --- the language model ------------------------------------------------------------------------------


def only_initial(args: list[str]) -> str:
    """The end of a fatal model error on a run's first call: the run directory can go."""
    run_dir = args[args.index("--run-dir") + 1]
    return f"; {run_dir} holds only the initial program: remove it to start over with other settings"


def failing_provider(s: Setup, fault: Fault) -> tuple[list[str], str]:
    """Arguments of a run whose model answers every call with ``fault``, and the model's URL."""
    server = s.stack.enter_context(ScriptedServer(["never used"], fault_rate=1.0, fault_kinds=[fault]))
    return run_args(s.task(), url=server.base_url), server.base_url


@case
def unknown_model(s: Setup) -> Bad:
    args, url = failing_provider(s, Fault.UNKNOWN_MODEL)
    return Bad(
        args,
        f"model m at {url}: unknown model or endpoint (404): The model `m` does not exist or you do not have "
        f"access to it.{only_initial(args)}",
        logs=True,
    )


@case
def unauthorized(s: Setup) -> Bad:
    args, url = failing_provider(s, Fault.UNAUTHORIZED)
    message = f"model m at {url}: authentication failed (401) — check $OPENAI_API_KEY{only_initial(args)}"
    return Bad(args, message, logs=True)


@case
def unreachable_base_url(s: Setup) -> Bad:
    url = closed_port_url()
    args = run_args(s.task(), "--set", "llm.retries=0", url=url)  # retrying a refused connection takes 3.5 s
    message = f"model m at {url}: cannot connect (All connection attempts failed){only_initial(args)}"
    return Bad(args, message, logs=True)


@case
def base_url_without_scheme(s: Setup) -> Bad:
    args = run_args(s.task(), url="localhost:8000/v1")
    return Bad(args, "--base-url 'localhost:8000/v1': expected an http:// or https:// URL with a host")


@case
def base_url_port_out_of_range(s: Setup) -> Bad:
    args = run_args(s.task(), url="http://127.0.0.1:99999/v1")
    return Bad(args, "--base-url 'http://127.0.0.1:99999/v1': the port is not a number from 0 to 65535")


@case
def api_key_variable_not_set(s: Setup) -> Bad:
    task = s.task("llm:\n  models:\n    - {name: m, api_key_env: EVOFORGE_TEST_UNSET_KEY}\n")
    return Bad(
        ["run", str(task), "--run-dir", f"{s.tmp}/r"],
        "environment variable EVOFORGE_TEST_UNSET_KEY is not set (API key for model m)",
    )


# --- run directories ---------------------------------------------------------------------------------


@case
def run_dir_of_another_task(s: Setup) -> Bad:
    other = s.task().rename(s.tmp / "other")
    return Bad(
        run_args(other, run_dir=s.run),
        f"{s.run} already holds a run of another task, toy ({s.run.parent / 'toy'}): "
        "choose another --run-dir",
    )


@case
def run_dir_of_the_same_task(s: Setup) -> Bad:
    return Bad(
        run_args(s.run.parent / "toy", run_dir=s.run),
        f"{s.run} already holds a run of this task: continue it with `evoforge resume {s.run}` or choose "
        "another --run-dir",
    )


@case
def run_dir_is_a_file(s: Setup) -> Bad:
    (s.tmp / "r").write_text("")
    return Bad(
        run_args(s.task()), f"{s.tmp}/r: not a directory (--run-dir names the folder the run is stored in)"
    )


@case
def resume_missing_directory(s: Setup) -> Bad:
    return Bad(
        ["resume", f"{s.tmp}/nowhere"],
        f"Invalid value for 'RUN_DIR': Directory '{s.tmp}/nowhere' does not exist "
        "(see 'evoforge resume --help')",
    )


@case
def resume_directory_without_run(s: Setup) -> Bad:
    return Bad(["resume", str(s.tmp)], f"no evoforge run in {s.tmp}")


@case
def resume_run_whose_task_is_gone(s: Setup) -> Bad:
    run = s.run_copy()
    with sqlite3.connect(run / "evoforge.db") as db:
        db.execute("UPDATE run SET task_dir = ?", (f"{s.tmp}/moved",))
    return Bad(["resume", str(run)], f"{s.tmp}/moved: task folder not found (the task of the run in {run})")


@case
def resume_run_that_is_running(s: Setup) -> Bad:
    run = s.run_copy()
    s.stack.enter_context(RunLock(run))  # a live controller holds this lock
    return Bad(["resume", str(run)], f"{run}: another evoforge process is running this run")


@case
def database_from_a_newer_evoforge(s: Setup) -> Bad:
    run = s.run_copy()
    with sqlite3.connect(run / "evoforge.db") as db:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        db.execute(f"PRAGMA user_version = {version + 1}")
    return Bad(
        ["resume", str(run)],
        f"{run}/evoforge.db: database from a newer evoforge (schema {version + 1} > {version})",
    )


@case
def database_that_is_not_sqlite(s: Setup) -> Bad:
    (s.tmp / "evoforge.db").write_text("these are notes, not a database\n" * 10)
    return Bad(
        ["status", str(s.tmp)], f"{s.tmp}/evoforge.db: cannot open the database: file is not a database"
    )


@case
def status_of_a_non_run(s: Setup) -> Bad:
    return Bad(["status", str(s.tmp)], f"no evoforge run in {s.tmp}")


@case
def best_of_a_non_run(s: Setup) -> Bad:
    return Bad(["best", str(s.tmp)], f"no evoforge run in {s.tmp}")


@case
def show_of_a_non_run(s: Setup) -> Bad:
    return Bad(["show", str(s.tmp), "0"], f"no evoforge run in {s.tmp}")


@case
def show_of_a_missing_program(s: Setup) -> Bad:
    return Bad(["show", str(s.run), "99"], f"{s.run}: no program with id 99")


@case
def show_of_a_program_id_that_is_not_a_number(s: Setup) -> Bad:
    return Bad(
        ["show", str(s.run), "best"],
        "Invalid value for 'PROGRAM_ID': 'best' is not a valid integer (see 'evoforge show --help')",
    )


@case
def best_written_into_a_missing_folder(s: Setup) -> Bad:
    return Bad(
        ["best", str(s.run), "-o", f"{s.tmp}/no/best.py"],
        f"{s.tmp}/no/best.py: cannot write: No such file or directory",
    )


@case
def eval_of_a_missing_file(s: Setup) -> Bad:
    task = s.task()
    return Bad(
        ["eval", str(task), f"{s.tmp}/child.py"],
        f"{s.tmp}/child.py: cannot read the program: No such file or directory",
    )


@case
def init_into_a_folder_that_is_not_empty(s: Setup) -> Bad:
    (s.tmp / "notes.txt").write_text("mine")
    return Bad(
        ["init", str(s.tmp)], f"{s.tmp}: already exists and is not empty (init needs a new or empty folder)"
    )


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real one-program run of the toy task, for the cases that need a run directory."""
    root = tmp_path_factory.mktemp("finished").resolve()
    task = write_task(root)
    result = evoforge_cli(*run_args(task, "--iterations", "1"))
    assert result.returncode == 0, result.stderr
    return root / "r"


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_ends_in_one_line_and_exit_code_2(name: str, tmp_path: Path, finished_run: Path) -> None:
    with ExitStack() as stack:
        bad = CASES[name](Setup(tmp_path.resolve(), finished_run, stack))
        result = evoforge_cli(*bad.args, timeout=60)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    *before, last = result.stderr.splitlines() or [""]
    assert last == f"evoforge: {bad.message}"
    assert not before or (bad.logs and all(LOG_LINE.match(line) for line in before)), result.stderr
