"""`evoforge dashboard` and `evoforge report`: the commands, and finding the runs they show."""

from __future__ import annotations

import importlib
import ipaddress
import socket
from pathlib import Path
from types import ModuleType

import click

from evoforge.errors import StoreError
from evoforge.runfiles import DB_FILENAME

LOOPBACK = "127.0.0.1"


def require(module: str, extra: str) -> ModuleType:
    """Import an optional dependency, or stop with the one line that says which extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise click.ClickException(f"{module} is not installed: pip install 'evoforge[{extra}]'") from None


def find_runs(path: Path) -> dict[str, Path]:
    """A run directory, or a folder whose subfolders hold runs: name → run directory."""
    if (path / DB_FILENAME).is_file():
        return {path.resolve().name: path}
    runs = {child.name: child for child in sorted(path.iterdir()) if (child / DB_FILENAME).is_file()}
    if not runs:
        raise StoreError(f"no evoforge run in {path} (nor in any folder directly inside it)")
    return runs


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--host", default=LOOPBACK, show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="Port.")
def dashboard(run_dir: Path, host: str, port: int) -> None:
    """Serve a live, read-only web dashboard of RUN_DIR (a run, or a folder of runs).

    Errors (no run there, a missing extra, a port in use) end in one line, as every command's do."""
    uvicorn = require("uvicorn", "dashboard")
    require("fastapi", "dashboard")
    from evoforge.dashboard.app import create_app
    from evoforge.dashboard.queries import RunReader

    readers = {name: RunReader(path) for name, path in find_runs(run_dir).items()}
    if not is_loopback(host):
        click.echo(
            f"evoforge: warning: the dashboard listens on {host}, reachable from other machines; it has no "
            "authentication and shows code, prompts and model answers",
            err=True,
        )
    try:  # bound here, so that a taken port is one clear line
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listening = socket.create_server((host, port), family=family)
    except OSError as error:
        raise click.ClickException(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    port = listening.getsockname()[1]  # the one the system chose for --port 0
    click.echo(f"evoforge dashboard on http://{host}:{port}/ ({len(readers)} run(s); Ctrl-C stops)", err=True)
    config = uvicorn.Config(create_app(readers), log_level="warning", timeout_graceful_shutdown=1)
    try:
        uvicorn.Server(config).run(sockets=[listening])
    finally:
        listening.close()
        for reader in readers.values():
            reader.close()


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=Path("report.html"),
    show_default=True, help="The HTML file to write.",
)  # fmt: skip
def report(run_dir: Path, output: Path) -> None:
    """Write a self-contained HTML report of RUN_DIR: curves, the best program, its lineage and diffs."""
    require("matplotlib", "report")
    from evoforge.dashboard.queries import RunReader
    from evoforge.report import write_report

    reader = RunReader(run_dir)
    try:
        write_report(reader, output)
    except OSError as error:
        raise click.ClickException(f"{output}: cannot write: {error.strerror}") from None
    finally:
        reader.close()
    click.echo(f"report written to {output}")
