"""Every user mistake in a task or its configuration ends in one exact line and exit code 2.

The harness (evoforge/testing/badinput.py) runs each case through the real CLI. Mistakes in the model
settings and other commands' arguments are in tests/test_bad_commands.py, mistakes about run
directories and their databases in tests/test_bad_run_dirs.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from evoforge.testing import badinput
from evoforge.testing.badinput import Bad, Cases, Setup, closed_port_url, run_args

CASES = Cases()
case = CASES.case
SQLITE_RANGE = "-9223372036854775808<=x<=9223372036854775807"  # what SQLite stores


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
        "program (known: code_length, diversity, novelty, combined_score, value)",
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
def seed_out_of_range(s: Setup) -> Bad:
    return Bad(
        [*run_args(s.task()), "--seed", str(2**64)],
        f"Invalid value for '--seed': {2**64} is not in the range {SQLITE_RANGE} (see 'evoforge run --help')",
    )


@case
def set_seed_out_of_range(s: Setup) -> Bad:
    return Bad(
        [*run_args(s.task()), "--set", f"seed={2**64}"],
        f"--set 'seed={2**64}': seed: Input should be less than or equal to {2**63 - 1} (got {2**64})",
    )


@case
def set_an_infinite_timeout(s: Setup) -> Bad:
    return Bad(
        [*run_args(s.task()), "--set", "evaluation.timeout_s=1e400"],
        "--set 'evaluation.timeout_s=1e400': evaluation.timeout_s: Input should be a finite number "
        "(got '1e400')",
    )


@case
def base_url_without_model(s: Setup) -> Bad:
    task = s.task()
    return Bad(
        ["run", str(task), "--base-url", closed_port_url()],
        "--base-url needs --model NAME (the config names no model)",
    )


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


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return badinput.finished_run(tmp_path_factory.mktemp("finished").resolve())


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_ends_in_one_line_and_exit_code_2(name: str, tmp_path: Path, finished_run: Path) -> None:
    badinput.check(CASES[name], tmp_path, finished_run)
