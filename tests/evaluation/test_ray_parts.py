"""The parts of the Ray backend that need no cluster: what travels to the workers, what a killed worker
leaves, and the one-line errors of a config that asks for Ray where it cannot be had."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import tarfile
from pathlib import Path

from evoforge.evaluation.ray_worker import UNPACKED, pack_task, sweep_unpacked
from evoforge.testing.tasks import evoforge_command, write_task


def test_the_task_folder_travels_without_runs_hidden_files_or_links(tmp_path: Path) -> None:
    task = write_task(tmp_path)
    (task / "data").mkdir()
    (task / "data" / "cases.txt").write_text("1 2 3\n")
    (task / ".env").write_text("OPENAI_API_KEY=secret\n")
    (task / "__pycache__").mkdir()
    (task / "run").mkdir()
    (task / "run" / "evoforge.db").write_text("")
    (task / "link").symlink_to("/etc/passwd")
    with tarfile.open(fileobj=io.BytesIO(pack_task(task)), mode="r:gz") as tar:
        names = set(tar.getnames())
    assert names == {
        "task",
        "task/config.yaml",
        "task/data",
        "task/data/cases.txt",
        "task/evaluator.py",
        "task/initial_program.py",
    }


def test_task_folders_of_dead_workers_are_swept_and_living_ones_kept(tmp_path: Path) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    dead = tmp_path / f"{UNPACKED}{gone.pid}-abc"
    living = tmp_path / f"{UNPACKED}{os.getpid()}-def"
    for folder in (dead, living):
        (folder / "task").mkdir(parents=True)
    sweep_unpacked(tmp_path)
    assert not dead.exists() and living.exists()


def run_ray_task(
    tmp_path: Path, ray: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    task = write_task(tmp_path, f"evaluation:\n  backend: ray\nray: {ray}\n")
    command = evoforge_command("run", str(task), "--run-dir", str(tmp_path / "run"), "--iterations", "2")
    return subprocess.run(
        command, capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}
    )


def test_ray_without_its_extra_is_one_line_and_exit_2(tmp_path: Path) -> None:
    shadow = tmp_path / "shadow" / "ray"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named ray')\n")
    result = run_ray_task(tmp_path, "{}", {"PYTHONPATH": str(shadow.parent)})
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    error = "evoforge: evaluation.backend ray needs the ray extra: pip install 'evoforge[ray]'"
    assert result.stderr.splitlines()[-1] == error


def test_an_address_where_no_cluster_answers_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as closed:  # a port nothing listens on once this socket is gone
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    result = run_ray_task(tmp_path, f"{{address: '127.0.0.1:{port}'}}")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    error = f"evoforge: ray.address 127.0.0.1:{port}: no Ray cluster answers there (Connection refused)"
    assert result.stderr.splitlines()[-1].startswith(error)


def test_a_runtime_env_ray_refuses_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run_ray_task(tmp_path, "{runtime_env: {working_dir: /nonexistent}}")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert (
        result.stderr.splitlines()[-1]
        == "evoforge: ray: Ray refuses these settings: /nonexistent is not a valid path."
    )
