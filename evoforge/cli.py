"""The `evoforge` command line. User mistakes end in one line on stderr and exit code 2."""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

from evoforge.compat.command import import_openevolve
from evoforge.dashboard import command as dashboard_command
from evoforge.errors import EvoforgeError
from evoforge.jsonout import strict_json
from evoforge.maththreads import single_threaded_math
from evoforge.replay_command import replay
from evoforge.verify_command import verify

EXIT_EVALUATION_FAILED = 1  # `evoforge eval`: the program was evaluated and failed
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


class _NonEmpty(click.ParamType):
    """Refuses an empty value before the type converts it: ``--run-dir "$DIR"`` with ``DIR`` unset would
    otherwise mean the current directory, and ``--model ''`` no model at all."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            raise click.UsageError(f"{_as_typed(param)} is empty", ctx)
        return super().convert(value, param, ctx)


def _as_typed(param: click.Parameter | None) -> str:
    """A parameter as the user knows it: ``--run-dir`` for an option, ``RUN_DIR`` for an argument."""
    if isinstance(param, click.Option):
        return param.opts[0]
    return param.human_readable_name if param is not None else "a value"


class _Path(_NonEmpty, click.Path):
    """A path that is not empty."""


class _Text(_NonEmpty, click.types.StringParamType):
    """A string that is not empty."""


class _StoredInteger(click.IntRange):
    """An integer the run database can store (an SQLite INTEGER), refused in one line otherwise."""

    name = "integer"

    def __init__(self) -> None:
        super().__init__(-(2**63), 2**63 - 1)


SQLITE_INTEGER = _StoredInteger()
PATH = _Path(path_type=Path)
TEXT = _Text()
# An existing run directory (a missing one is a usage error naming the argument).
RUN_DIR = _Path(exists=True, file_okay=False, path_type=Path)


def _fail(message: str) -> NoReturn:
    click.echo(f"evoforge: {message}", err=True)
    sys.exit(EXIT_USER_ERROR)


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, invoke_without_command=True)
@click.version_option(package_name="evoforge")
@click.option("-v", "--verbose", is_flag=True, help="Log every failed generation and more detail.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """Evolve programs with language models and sandboxed evaluators."""
    if ctx.invoked_subcommand is None:  # a bare `evoforge` asks for help
        click.echo(ctx.get_help())
        return
    ctx.obj = {"verbose": verbose}


@cli.command()
@click.argument("name", type=PATH)
def init(name: Path) -> None:
    """Create a task folder NAME with a commented program, evaluator, config and context."""
    if name.exists() and (not name.is_dir() or any(name.iterdir())):
        _fail(f"{name}: already exists and is not empty (init needs a new or empty folder)")
    templates = Path(__file__).parent / "templates"
    try:
        name.mkdir(parents=True, exist_ok=True)
        for template in sorted(templates.iterdir()):
            if template.is_file() and not template.name.startswith(("_", ".")):
                shutil.copyfile(template, name / template.name)
    except OSError as error:
        _fail(f"{error.filename}: cannot create: {error.strerror}")
    click.echo(f"created {name}/ — edit it, then: evoforge run {name} --model NAME --base-url URL")


def config_options(command: Callable[..., None]) -> Callable[..., None]:
    """``--config FILE`` and ``--set KEY=VALUE``: how `run` and `eval` choose their configuration."""
    config = click.option(
        "--config", "config_path", type=PATH, help="Config file (default TASK/config.yaml)."
    )
    sets = click.option(
        "--set",
        "sets",
        multiple=True,
        metavar="KEY=VALUE",
        help="Override a config key, e.g. evaluation.timeout_s=30 (repeatable).",
    )
    return config(sets(command))


def _start(ctx: click.Context, run: Any) -> None:
    """Run a start or resume coroutine factory with progress output and the CLI's exit codes."""
    from evoforge.api import run_sync
    from evoforge.events import EventBus
    from evoforge.runner import run_evolution
    from evoforge.stopsignals import ignore_stop_signals
    from evoforge.ui.console import ConsoleProgress, setup_logging

    setup_logging(ctx.obj["verbose"])
    bus = EventBus()
    progress = ConsoleProgress()
    bus.subscribe(progress)
    try:
        result = run_sync(run_evolution(bus=bus, handle_signals=True, **run))
    finally:
        progress.close()
    if result.best_path is not None:
        click.echo(
            f"best score {result.best_score:.10g} (program {result.best_program_id}): {result.best_path}"
        )
    if result.signal_number is not None:
        ignore_stop_signals()  # the stop is done: a signal still on its way must not change the exit code
        sys.exit(128 + result.signal_number)  # the shell convention: 130 for Ctrl-C, 143 for SIGTERM


@cli.command()
@click.argument("task_dir", type=PATH)
@click.option("--run-dir", type=PATH, help="Where the run is stored (default runs/TASK-TIME).")
@click.option(
    "--iterations",
    type=click.IntRange(min=1),
    help="Programs to evaluate in total, the initial one included.",
)
@config_options
@click.option("--model", type=TEXT, help="Shorthand for a one-model ensemble: the model name.")
@click.option(
    "--base-url", type=TEXT, help="The OpenAI-compatible endpoint of --model, or of every configured model."
)
@click.option("--seed", type=SQLITE_INTEGER, help="Random seed of the run.")
@click.pass_context
def run(
    ctx: click.Context,
    task_dir: Path,
    run_dir: Path | None,
    iterations: int | None,
    config_path: Path | None,
    sets: tuple[str, ...],
    model: str | None,
    base_url: str | None,
    seed: int | None,
) -> None:
    """Start evolving the task in TASK_DIR."""
    from evoforge.api import default_run_dir, resolve_config
    from evoforge.task import load_task

    task = load_task(task_dir)
    overrides = list(sets)
    if seed is not None:
        overrides.append(f"seed={seed}")
    if model:
        entry: dict[str, Any] = {"name": model}
        if base_url:
            entry["base_url"] = base_url
        _check_model_options(entry)
        overrides.append(f"llm.models={json.dumps([entry])}")
    config = resolve_config(task, config_path, overrides)
    if base_url and not model:  # every configured model at this endpoint (a local server, a proxy)
        _check_model_options({"name": "any", "base_url": base_url})
        if not config.llm.models:
            _fail("--base-url needs --model NAME (the config names no model)")
        config = config.with_base_url(base_url)
    target = run_dir if run_dir is not None else default_run_dir(task)
    _start(ctx, {"run_dir": target, "task": task, "config": config, "iterations": iterations})


def _check_model_options(entry: dict[str, Any]) -> None:
    """Name a --model/--base-url mistake as typed, not as the llm.models override it becomes."""
    from pydantic import ValidationError

    from evoforge.config import ModelConfig

    try:
        ModelConfig(**entry)
    except ValidationError as error:
        first = error.errors()[0]
        key = str(first["loc"][0]) if first["loc"] else "name"
        option = "--base-url" if key == "base_url" else "--model"
        _fail(f"{option} {entry.get(key, '')!r}: {first['msg'].removeprefix('Value error, ')}")


@cli.command()
@click.argument("run_dir", type=RUN_DIR)
@click.option("--iterations", type=click.IntRange(min=1), help="New total of evaluated programs.")
@click.pass_context
def resume(ctx: click.Context, run_dir: Path, iterations: int | None) -> None:
    """Continue the run in RUN_DIR after a crash, a kill or a clean stop."""
    _start(ctx, {"run_dir": run_dir, "iterations": iterations})


@cli.command()
@click.argument("run_dir", type=RUN_DIR)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def status(run_dir: Path, as_json: bool) -> None:
    """Show the counts and the best score of a run (and its Pareto front, with two or more objectives)."""
    from evoforge.llm.feedback_report import feedback_status_lines
    from evoforge.llm.report import llm_status_lines
    from evoforge.runview import RunView, front_lines
    from evoforge.savings import savings_lines

    with RunView(run_dir) as view:
        info = view.status()
    if as_json:
        click.echo(strict_json(info))
        return
    best = (
        "-"
        if info["best_score"] is None
        else f"{info['best_score']:.10g} (program {info['best_program_id']})"
    )
    state = "running" if info["running"] else "not running"
    click.echo(f"{info['task']} · {state} · {info['evaluated']}/{info['iterations']} evaluated · best {best}")
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(info["failures_by_kind"].items())) or "none"
    click.echo(f"failed generations: {info['failed_generations']} ({kinds})")
    click.echo(f"tokens: {info['prompt_tokens']:,} prompt, {info['completion_tokens']:,} completion")
    for line in (
        *front_lines(info.get("pareto_front")),
        *savings_lines(info),
        *llm_status_lines(info),
        *feedback_status_lines(info),
    ):
        click.echo(line)


@cli.command()
@click.argument("run_dir", type=RUN_DIR)
@click.option("--output", "-o", type=PATH, help="Write the code to this file.")
@click.option("--front", is_flag=True, help="List the Pareto front instead (two or more objectives).")
def best(run_dir: Path, output: Path | None, front: bool) -> None:
    """Print (or write) the best program of a run, or list its Pareto front."""
    from evoforge.runview import RunView, front_lines

    with RunView(run_dir) as view:
        program = view.best()
        entries = view.pareto_front() if front else None
    if front:
        if entries is None:
            _fail(f"{run_dir}: the run has fewer than two objectives, so no Pareto front")
        click.echo("\n".join(front_lines(entries)))
        return
    if program is None:
        _fail(f"{run_dir}: no valid program yet")
    if output is None:
        click.echo(program.code, nl=False)
    else:
        try:
            output.write_text(program.code, encoding="utf-8")
        except OSError as error:
            _fail(f"{output}: cannot write: {error.strerror}")
        click.echo(f"program {program.id} (score {program.score:.10g}) written to {output}", err=True)


@cli.command()
@click.argument("run_dir", type=RUN_DIR)
@click.argument("program_id", type=SQLITE_INTEGER)
def show(run_dir: Path, program_id: int) -> None:
    """Show one program: code, metrics, artifacts, parent, diff, prompt and response."""
    from evoforge.runview import RunView

    with RunView(run_dir) as view:
        program = view.program(program_id)
        diff = view.diff_to_parent(program)
        call = view.llm_call(program.llm_call_id)
    score = f"{program.score:.10g}" if math.isfinite(program.score) else "failed"
    click.echo(
        f"# program {program.id} · score {score} · parent {program.parent_id} · island {program.island} "
        f"· generation {program.generation} · {program.mutator} · {program.eval_time_s:.2f} s"
    )
    click.echo(f"metrics: {json.dumps(program.metrics)}")
    for name, text in program.artifacts.items():
        click.echo(f"\n## artifact {name}\n{text}")
    click.echo(f"\n## code\n{program.code}")
    if diff is not None:
        click.echo(f"\n## diff to parent\n{diff}")
    if call is not None:
        for message in call.messages:
            click.echo(f"\n## prompt ({message['role']})\n{message['content']}")
        click.echo(f"\n## response ({call.model}, {call.latency_s:.2f} s)\n{call.response}")


@cli.command(name="eval")
@click.argument("task_dir", type=PATH)
@click.argument("program_file", type=PATH)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@config_options
def evaluate(
    task_dir: Path, program_file: Path, as_json: bool, config_path: Path | None, sets: tuple[str, ...]
) -> None:
    """Evaluate PROGRAM_FILE with the evaluator of TASK_DIR, in the sandbox (exit 1 if it fails)."""
    from evoforge.api import resolve_config, run_sync
    from evoforge.runner import evaluate_program
    from evoforge.task import load_task, read_text

    task = load_task(task_dir)
    config = resolve_config(task, config_path, list(sets))
    code = read_text(program_file, "the program")
    evaluation = run_sync(evaluate_program(task, config, code))
    if as_json:
        click.echo(
            strict_json(
                {
                    "ok": evaluation.ok,
                    "score": evaluation.score,
                    "metrics": evaluation.metrics,
                    "artifacts": evaluation.artifacts,
                    "error": evaluation.error,
                    "duration_s": evaluation.duration_s,
                }
            )
        )
    else:
        click.echo(f"score: {evaluation.score:.10g}" if evaluation.ok else f"failed: {evaluation.error}")
        for name, value in evaluation.metrics.items():
            click.echo(f"  {name}: {value:.10g}")
        for name, text in evaluation.artifacts.items():
            click.echo(f"--- {name}\n{text}")
    if not evaluation.ok:
        sys.exit(EXIT_EVALUATION_FAILED)


@cli.command()
@click.argument("task_dir", type=PATH, required=False)
def doctor(task_dir: Path | None) -> None:
    """Show which sandbox layers this machine offers (with TASK_DIR: checks its sandbox.require)."""
    from evoforge.config import SandboxConfig
    from evoforge.doctor import report

    sandbox = SandboxConfig()
    if task_dir is not None:
        from evoforge.api import resolve_config
        from evoforge.task import load_task

        sandbox = resolve_config(load_task(task_dir), None, []).sandbox
    for line in report(sandbox):
        click.echo(line)


cli.add_command(dashboard_command.dashboard)
cli.add_command(dashboard_command.report)
cli.add_command(verify)
cli.add_command(replay)
cli.add_command(import_openevolve)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: one line and exit 2 for any error a user can cause."""
    single_threaded_math(os.environ)  # before numpy loads: the cores are the evaluations'
    try:
        cli.main(args=argv, prog_name="evoforge", standalone_mode=False)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.UsageError as error:
        hint = f" (see '{error.ctx.command_path} --help')" if error.ctx is not None else ""
        _fail(error.format_message().rstrip(".") + hint)
    except click.ClickException as error:
        _fail(error.format_message())
    except click.Abort:
        click.echo("evoforge: aborted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except KeyboardInterrupt:
        click.echo("evoforge: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except EvoforgeError as error:
        _fail(str(error))


if __name__ == "__main__":
    main()
