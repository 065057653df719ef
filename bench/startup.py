"""Start-up cost: `import evoforge`, `evoforge --help` (fresh processes, median of 10) and install size.

python bench/startup.py [--record]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 10


def median_seconds(command: list[str]) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def package_size_mb() -> float:
    import evoforge

    root = Path(evoforge.__file__).parent
    return (
        sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts) / 1e6
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true", help="Append the table to bench/RESULTS.md.")
    args = parser.parse_args()
    cli = str(Path(sys.executable).with_name("evoforge"))
    rows = [
        (
            "bare interpreter (`python -c pass`)",
            f"{median_seconds([sys.executable, '-c', 'pass']) * 1000:.0f} ms",
        ),
        ("`import evoforge`", f"{median_seconds([sys.executable, '-c', 'import evoforge']) * 1000:.0f} ms"),
        ("`evoforge --help`", f"{median_seconds([cli, '--help']) * 1000:.0f} ms"),
        ("evoforge package on disk (without caches)", f"{package_size_mb():.2f} MB"),
    ]
    table = "| measure | value |\n| --- | --- |\n" + "\n".join(
        f"| {name} | {value} |" for name, value in rows
    )
    print(table)
    if args.record:
        with (Path(__file__).parent / "RESULTS.md").open("a") as out:
            out.write(
                f"\n### startup.py, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, median of {RUNS}\n\n"
            )
            out.write(table + "\n")


if __name__ == "__main__":
    main()
