"""Shared pieces of the dashboard's tests and benchmark: a run made by the scripted server, and the
real `evoforge dashboard` command serving it in its own process."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from evoforge.testing.responders import tweak_constants_responder
from evoforge.testing.scripted_server import ScriptedServer
from evoforge.testing.tasks import evoforge_cli, evoforge_command, write_task

CHROMIUM = Path("/usr/bin/chromium")  # Debian's; Playwright never downloads a browser here
READY_TIMEOUT_S = 60.0
TWO_ISLANDS = "evaluation:\n  timeout_s: 20\n  parallel: 2\ndatabase:\n  num_islands: 2\n"


def scripted_run(root: Path, iterations: int = 12, name: str = "run", seed: int = 3) -> Path:
    """A finished run of the toy task in ``root/name``, its model answers from the scripted server."""
    task = root / "toy" if (root / "toy").is_dir() else write_task(root, TWO_ISLANDS)
    run_dir = root / name
    with ScriptedServer(tweak_constants_responder(seed=seed)) as server:
        models = json.dumps([{"name": "scripted", "base_url": server.base_url}])
        result = evoforge_cli(
            "run", str(task), "--run-dir", str(run_dir), "--iterations", str(iterations),
            "--seed", str(seed), "--set", f"llm.models={models}",
        )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"the scripted run failed: {result.stderr}")
    return run_dir


@contextmanager
def serving(run_dir: Path, *args: str) -> Iterator[str]:
    """`evoforge dashboard run_dir --port 0 *args` in its own process; yields its base URL."""
    process = subprocess.Popen(
        evoforge_command("dashboard", str(run_dir), "--port", "0", *args),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        url = ""
        for line in process.stderr:  # a warning may come first, then the address line
            if "evoforge dashboard on " in line:
                url = line.split(" on ", 1)[1].split()[0].rstrip("/")
                break
        if not url:
            raise RuntimeError(f"the dashboard did not start (exit {process.wait()})")
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            try:
                httpx.get(f"{url}/api/runs", timeout=5).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
