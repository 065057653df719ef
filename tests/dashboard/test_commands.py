"""`evoforge dashboard` and `evoforge report` as a user runs them: the address it binds and the warning
off loopback, a folder of runs, one-line errors, and a report that stands on its own."""

from __future__ import annotations

import re
import shutil
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from evoforge.dashboard.command import is_loopback
from evoforge.testing.dashboard import serving
from evoforge.testing.tasks import evoforge_cli

WARNING = "reachable from other machines"


def test_it_binds_loopback_by_default_and_warns_when_told_to_listen_elsewhere(run_dir: Path) -> None:
    with serving(run_dir) as url:
        assert url.startswith("http://127.0.0.1:")
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    result = evoforge_cli("dashboard", str(run_dir), "--host", "256.1.1.1", "--port", "0", timeout=60)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert WARNING in lines[0] and lines[-1].startswith("evoforge: cannot listen on 256.1.1.1:0")


def test_a_folder_of_runs_is_served_together_and_compared(run_dir: Path, tmp_path: Path) -> None:
    for name in ("first", "second"):
        shutil.copytree(run_dir, tmp_path / name)
    (tmp_path / "not-a-run").mkdir()
    with serving(tmp_path) as url:
        assert httpx.get(f"{url}/api/runs").json() == {"runs": ["first", "second"]}
        curves = httpx.get(f"{url}/api/compare").json()["runs"]
        assert [c["run"] for c in curves] == ["first", "second"] and curves[0]["points"]
        index = httpx.get(f"{url}/")
        assert index.status_code == 200 and "/runs/second" in index.text


@pytest.mark.parametrize("command", ["dashboard", "report"])
def test_a_folder_without_a_run_is_one_line_and_exit_2(tmp_path: Path, command: str) -> None:
    result = evoforge_cli(command, str(tmp_path), timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == f"evoforge: no evoforge run in {tmp_path}" + (
        " (nor in any folder directly inside it)" if command == "dashboard" else ""
    )


def test_a_taken_port_is_one_line_and_exit_2(run_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = evoforge_cli("dashboard", str(run_dir), "--port", str(port), timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().startswith(f"evoforge: cannot listen on 127.0.0.1:{port}: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_report_is_one_self_contained_file_with_curves_best_program_and_diff_chain(
    run_dir: Path, tmp_path: Path
) -> None:
    output = tmp_path / "out" / "report.html"
    result = evoforge_cli("report", str(run_dir), "--output", str(output), timeout=120)
    assert result.returncode == 0, result.stderr
    text = output.read_text()
    assert len(re.findall(r"src='data:image/png;base64,", text)) == 2
    assert not re.search(r"(src|href)=['\"]?(https?:|//)", text)  # nothing fetched from elsewhere
    with sqlite3.connect(f"file:{run_dir / 'evoforge.db'}?mode=ro", uri=True) as db:
        best, code, parent = db.execute(
            "SELECT id, code, parent_id FROM programs WHERE ok = 1 ORDER BY score DESC, id LIMIT 1"
        ).fetchone()
    assert f"Best program #{best}" in text
    literal = re.search(r"x = ([\d.]+)", code)
    assert literal is not None and literal.group(1) in text
    assert f"#{parent} → #{best}" in text  # the last step of the diff chain
    assert "<td>#0</td>" in text  # the lineage starts at the initial program


@pytest.mark.parametrize(
    ("command", "module", "extra"),
    [("dashboard", "uvicorn", "dashboard"), ("report", "matplotlib", "report")],
)
def test_a_missing_extra_is_one_line_naming_it(run_dir: Path, command: str, module: str, extra: str) -> None:
    hide = f"import sys; sys.modules[{module!r}] = None; from evoforge.cli import main; main()"
    result = subprocess.run(
        [sys.executable, "-c", hide, command, str(run_dir)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f"evoforge: {module} is not installed: pip install 'evoforge[{extra}]'"
