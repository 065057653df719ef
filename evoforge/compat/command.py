"""The ``evoforge import-openevolve`` command (compat/openevolve_checkpoint.py)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(name="import-openevolve")
@click.argument("checkpoint_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--task", "task_dir", required=True, type=click.Path(path_type=Path), help="The task folder it evolved."
)
@click.option("--run-dir", required=True, type=click.Path(path_type=Path), help="The new run's folder.")
@click.option(
    "--config", "config_path", type=click.Path(path_type=Path), help="Config (default TASK/config.yaml)."
)
def import_openevolve(checkpoint_dir: Path, task_dir: Path, run_dir: Path, config_path: Path | None) -> None:
    """Turn an OpenEvolve checkpoint into an evoforge run that `evoforge resume RUN_DIR` continues."""
    from evoforge.api import resolve_config
    from evoforge.compat.openevolve_checkpoint import import_checkpoint
    from evoforge.task import load_task

    task = load_task(task_dir)
    config = resolve_config(task, config_path, [])
    count = import_checkpoint(
        checkpoint_dir.expanduser().resolve(), task, config, run_dir.expanduser().resolve()
    )
    click.echo(f"imported {count} programs into {run_dir}: continue with `evoforge resume {run_dir}`")
