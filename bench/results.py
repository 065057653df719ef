"""Append a benchmark's table to bench/RESULTS.md, headed by the date, the machine and its load."""

from __future__ import annotations

import os
import time
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def record(title: str, table: str) -> None:
    """``title`` says what was run; the date, core count and load average are added (numbers need them)."""
    load = os.getloadavg()[0]
    heading = f"### {title}, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, load average {load:.1f}"
    with RESULTS.open("a") as out:
        out.write(f"\n{heading}\n\n{table}\n")
