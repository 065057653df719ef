"""What the CLI does around errors beyond the message (tests/test_bad_input.py checks each message)."""

from __future__ import annotations

from pathlib import Path

from evoforge.testing.scripted_server import Fault, ScriptedServer
from evoforge.testing.tasks import evoforge_cli, write_task


def test_unusable_provider_stops_the_run_at_once(tmp_path: Path) -> None:
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


def test_bare_command_prints_help_and_succeeds() -> None:
    result = evoforge_cli()
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: evoforge ")
    assert "resume" in result.stdout and result.stderr == ""
