"""The ``evoforge replay`` command: run a recorded run again from its record, then compare (rerun.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from evoforge.verify_command import TOLERANCE

EXIT_DIFFERENT = 1  # the replay stored programs that differ from the recorded ones
SHOWN_DIFFERENCES = 20


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--into", "into", required=True, type=click.Path(path_type=Path), help="The new run's folder.")
@TOLERANCE
@click.pass_context
def replay(ctx: click.Context, run_dir: Path, into: Path, tolerance: float) -> None:
    """Run RUN_DIR again into a new folder, the model's answers taken from the record, every program
    evaluated again; report programs whose code or metrics differ (exit 1 if any)."""
    from evoforge.cli import _start
    from evoforge.errors import EvoforgeError, StoreError
    from evoforge.rerun import (
        RecordedAnswers,
        compare_runs,
        read_recorded_run,
        replayed_programs,
    )
    from evoforge.runfiles import DB_FILENAME
    from evoforge.testing.scripted_server import ScriptedServer

    into = into.expanduser().resolve()
    if (into / DB_FILENAME).exists():
        raise StoreError(f"{into} already holds a run: replay into a new folder")
    recorded = read_recorded_run(run_dir.expanduser().resolve())
    answers = RecordedAnswers(recorded.calls)
    with ScriptedServer(answers) as server:
        config = recorded.config.with_base_url(server.base_url)  # a local endpoint: no key needed
        try:
            _start(ctx, {"run_dir": into, "task": recorded.task, "config": config, "iterations": None})
        except EvoforgeError as error:  # e.g. a streak of failures once the replay left the record
            if not (into / DB_FILENAME).is_file():
                raise
            click.echo(f"the replay stopped early: {error}")
    differences = compare_runs(recorded.programs, replayed_programs(into), tolerance)
    if answers.unmatched:
        click.echo(
            f"{answers.unmatched} model requests did not match a recorded prompt (the replay left the record)"
        )
    if not differences:
        click.echo(f"replay reproduced all {len(recorded.programs)} recorded programs, code and metrics")
        return
    submissions = sorted({d.submission for d in differences})
    click.echo(f"{len(submissions)} of {len(recorded.programs)} programs differ (by submission):")
    for difference in differences[:SHOWN_DIFFERENCES]:
        click.echo(f"  {difference.submission}: {difference.what}")
    if len(differences) > SHOWN_DIFFERENCES:
        click.echo(f"  ... and {len(differences) - SHOWN_DIFFERENCES} more")
    sys.exit(EXIT_DIFFERENT)
