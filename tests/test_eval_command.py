"""`evoforge eval` takes its configuration the way `run` does: --config FILE, repeatable --set KEY=VALUE."""

from __future__ import annotations

from pathlib import Path

from evoforge.testing.tasks import evoforge_cli, write_task

SLEEPER = "import time\n\n\ndef solve():\n    time.sleep(60)\n    return 3.7\n"


def test_set_overrides_the_task_config(tmp_path: Path) -> None:
    task = write_task(tmp_path)  # its config.yaml allows 20 s
    program = tmp_path / "slow.py"
    program.write_text(SLEEPER)
    result = evoforge_cli("eval", str(task), str(program), "--set", "evaluation.timeout_s=1")
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("failed: timeout after 1 s"), result.stdout


def test_set_applies_over_the_config_file(tmp_path: Path) -> None:
    task = write_task(tmp_path)
    config = tmp_path / "other.yaml"
    config.write_text("evaluation:\n  timeout_s: 30\n  parallel: 1\n")
    program = tmp_path / "slow.py"
    program.write_text(SLEEPER)
    result = evoforge_cli(
        "eval", str(task), str(program), "--config", str(config), "--set", "evaluation.timeout_s=2"
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("failed: timeout after 2 s"), result.stdout
