"""The ``evoforge verify`` command: the text and JSON views of ``verify_run``."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import click

from evoforge.jsonout import strict_json

EXIT_FLAGGED = 1  # a program's metrics failed, varied, or differ from the stored ones
TOLERANCE = click.option(  # verify and replay compare metric values the same way
    "--tolerance",
    type=click.FloatRange(min=0),
    default=1e-9,
    show_default=True,
    help="Relative (and absolute) difference below which two metric values count as equal.",
)


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--top", type=click.IntRange(min=1), default=3, show_default=True, help="How many best programs."
)
@click.option(
    "--repeats", "-n", type=click.IntRange(min=1), default=5, show_default=True, help="Evaluations each."
)
@TOLERANCE
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def verify(run_dir: Path, top: int, repeats: int, tolerance: float, as_json: bool) -> None:
    """Evaluate the best programs of RUN_DIR again, N times each; report mean, min and max of each
    metric and flag noise or drift from the stored values (exit 1 if any is flagged)."""
    from evoforge.api import run_sync
    from evoforge.verify_run import verify_run

    checks = run_sync(verify_run(run_dir, top=top, repeats=repeats, tolerance=tolerance))
    if as_json:
        click.echo(strict_json({"repeats": repeats, "programs": [dataclasses.asdict(c) for c in checks]}))
    else:
        for check in checks:
            click.echo(
                f"program {check.program_id} (stored score {check.stored_score:.10g}), {repeats} repeats"
            )
            for m in check.metrics:
                stored = "-" if m.stored is None else f"{m.stored:.10g}"
                spread = f"mean {m.mean:.10g}  min {m.minimum:.10g}  max {m.maximum:.10g}"
                click.echo(f"  {m.name}: stored {stored}  {spread}")
            for flag in check.flags:
                click.echo(f"  FLAGGED {flag}")
    if any(check.flagged for check in checks):
        sys.exit(EXIT_FLAGGED)
