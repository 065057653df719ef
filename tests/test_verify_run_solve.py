"""evoforge.verify.run_solve starts the candidate's interpreter without the site module (fast), yet
the candidate imports whatever the evaluator could: plain packages and those a .pth file provides."""

from __future__ import annotations

import site
import subprocess
import sys
from pathlib import Path

from evoforge.verify import run_solve

REPOSITORY = Path(__file__).parents[1]

# An evaluator process as the sandbox runs one: no site module, the site directories on sys.path
# (their .pth files unread), evoforge.verify imported, and nothing else of this checkout reachable.
EVALUATOR = """
import sys
sys.path.extend({site_dirs!r})
sys.path.append({repository!r})
from evoforge.verify import run_solve
sys.path.remove({repository!r})
print(run_solve(sys.argv[1], timeout_s=60))
"""


def test_the_candidate_imports_packages_found_through_site_directories_and_pth_files(tmp_path: Path) -> None:
    candidate = tmp_path / "candidate.py"
    candidate.write_text(
        "import sys, numpy, evoforge.records\n\ndef solve():\n"
        "    return [sys.flags.no_site, float(numpy.float64(2.5)), evoforge.records.__name__]\n"
    )
    code = EVALUATOR.format(site_dirs=site.getsitepackages(), repository=str(REPOSITORY))
    done = subprocess.run(
        [sys.executable, "-S", "-c", code, str(candidate)], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[1, 2.5, 'evoforge.records']"


def test_the_candidate_is_a_registered_module_so_its_dataclasses_work(tmp_path: Path) -> None:
    candidate = tmp_path / "candidate.py"
    candidate.write_text(
        "from __future__ import annotations\nimport dataclasses\n\n\n@dataclasses.dataclass\n"
        "class Point:\n    x: float\n\n\ndef solve():\n    return [Point(1.5).x, __name__]\n"
    )
    assert run_solve(str(candidate), timeout_s=60) == [1.5, "candidate"]
