"""User mistakes end in one line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.integration.conftest import evoforge_cli, write_task


def assert_one_line_error(result, fragment: str) -> None:  # type: ignore[no-untyped-def]
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert fragment in lines[0]


def run_with_a_local_model(task: Path, run_dir: Path) -> subprocess.CompletedProcess[str]:
    """`evoforge run` with a local model URL: nothing listens there, errors come before any call."""
    return evoforge_cli(
        "run", str(task), "--model", "m", "--base-url", "http://127.0.0.1:9/v1", "--run-dir", str(run_dir)
    )


def test_missing_task_folder(tmp_path: Path) -> None:
    result = evoforge_cli("run", str(tmp_path / "missing"), "--model", "m")
    assert_one_line_error(result, "task folder not found")


def test_unknown_config_key(tmp_path: Path) -> None:
    task = write_task(tmp_path, "evaluation:\n  timeoutt_s: 3\n")
    result = evoforge_cli("run", str(task), "--model", "m", "--run-dir", str(tmp_path / "r"))
    assert_one_line_error(result, "unknown key 'evaluation.timeoutt_s'")


def test_wrong_type_in_set_override(tmp_path: Path) -> None:
    task = write_task(tmp_path)
    result = evoforge_cli(
        "run", str(task), "--set", "llm.max_inflight=lots", "--run-dir", str(tmp_path / "r")
    )
    assert_one_line_error(result, "llm.max_inflight")


def test_missing_evaluator(tmp_path: Path) -> None:
    task = write_task(tmp_path)
    (task / "evaluator.py").unlink()
    result = evoforge_cli("run", str(task), "--model", "m")
    assert_one_line_error(result, "evaluator not found")


def test_evaluator_without_evaluate(tmp_path: Path) -> None:
    task = write_task(tmp_path)
    (task / "evaluator.py").write_text("def score(path):\n    return {}\n")
    result = evoforge_cli("eval", str(task), str(task / "initial_program.py"))
    assert_one_line_error(result, "defines no evaluate")


def test_no_model_configured(tmp_path: Path) -> None:
    task = write_task(tmp_path)
    result = evoforge_cli("run", str(task), "--run-dir", str(tmp_path / "r"))
    assert_one_line_error(result, "no language model configured")


@pytest.mark.parametrize("command", ["status", "best", "resume"])
def test_run_that_does_not_exist(tmp_path: Path, command: str) -> None:
    result = evoforge_cli(command, str(tmp_path / "nothing-here"))
    assert_one_line_error(result, "no evoforge run")


def test_initial_program_that_fails(tmp_path: Path) -> None:
    task = write_task(tmp_path)
    (task / "initial_program.py").write_text(
        "# EVOLVE-BLOCK-START\ndef solve():\n    return 'x'\n# EVOLVE-BLOCK-END\n"
    )
    result = run_with_a_local_model(task, tmp_path / "r")
    assert_one_line_error(result, "initial program failed evaluation")


def test_missing_api_key_for_a_remote_model(tmp_path: Path) -> None:
    task = write_task(tmp_path, "llm:\n  models:\n    - {name: m, api_key_env: EVOFORGE_NO_SUCH_KEY}\n")
    result = evoforge_cli("run", str(task), "--set", "llm.models.0.temperature=0.1")
    assert_one_line_error(result, "EVOFORGE_NO_SUCH_KEY is not set")


def test_feature_dimension_that_is_not_a_metric(tmp_path: Path) -> None:
    task = write_task(tmp_path, "database:\n  feature_dimensions: [code_length, accuracy]\n")
    result = run_with_a_local_model(task, tmp_path / "r")
    assert_one_line_error(result, "'accuracy' is neither built in nor a finite metric")


def test_unusable_provider_stops_the_run_at_once(tmp_path: Path) -> None:
    from evoforge.testing.scripted_server import Fault, ScriptedServer

    task = write_task(tmp_path)
    with ScriptedServer(["never used"], fault_rate=1.0, fault_kinds=[Fault.UNAUTHORIZED]) as server:
        result = evoforge_cli(
            "run",
            str(task),
            "--model",
            "m",
            "--base-url",
            server.base_url,
            "--run-dir",
            str(tmp_path / "r"),
            timeout=60,
        )
        assert len(server.requests) <= 10  # the calls already in flight; retries would make 4 times as many
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "authentication failed (401)" in result.stderr.splitlines()[-1]
