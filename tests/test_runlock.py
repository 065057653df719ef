"""The run lock: one controller per run directory, and readers can tell a run is live."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from evoforge.errors import StoreError
from evoforge.runlock import RunLock, is_running


def test_lock_marks_run_live_and_excludes_a_second_holder(tmp_path: Path) -> None:
    assert not is_running(tmp_path)
    with RunLock(tmp_path):
        assert is_running(tmp_path)
        with pytest.raises(StoreError, match="another evoforge process"), RunLock(tmp_path):
            pass
    assert not is_running(tmp_path)


def test_lock_of_a_killed_process_is_released(tmp_path: Path) -> None:
    code = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from evoforge.runlock import RunLock\n"
        f"lock = RunLock(Path({str(tmp_path)!r})).__enter__()\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert not is_running(tmp_path)
