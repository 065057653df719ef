"""Every mistake in the model settings or another command's arguments ends in one exact line and exit 2.

The harness is evoforge/testing/badinput.py; the task and config cases are in tests/test_bad_input.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from evoforge.testing import badinput
from evoforge.testing.badinput import Bad, Cases, Setup, closed_port_url, run_args
from evoforge.testing.scripted_server import Fault, ScriptedServer

CASES = Cases()
case = CASES.case


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


# --- other commands ------------------------------------------------------------------------------------


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


@case
def eval_of_an_empty_program_path(s: Setup) -> Bad:
    return Bad(["eval", str(s.task()), ""], "PROGRAM_FILE is empty (see 'evoforge eval --help')")


@case
def model_is_empty(s: Setup) -> Bad:
    return Bad(["run", str(s.task()), "--model", ""], "--model is empty (see 'evoforge run --help')")


@case
def eval_set_unknown_key(s: Setup) -> Bad:
    task = s.task()
    return Bad(
        ["eval", str(task), str(task / "initial_program.py"), "--set", "evaluation.timout_s=3"],
        "--set 'evaluation.timout_s=3': unknown key 'evaluation.timout_s' (did you mean 'timeout_s'?)",
    )


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return badinput.finished_run(tmp_path_factory.mktemp("finished").resolve())


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_command_ends_in_one_line_and_exit_code_2(name: str, tmp_path: Path, finished_run: Path) -> None:
    badinput.check(CASES[name], tmp_path, finished_run)
