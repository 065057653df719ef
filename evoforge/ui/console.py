"""Progress on the terminal as an event subscriber.

On a TTY a rich live panel refreshes on its own timer (no rendering on the controller's hot path);
elsewhere (CI, pipes, files) plain log lines: one per new best and a status line every few seconds.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from typing import TextIO

from evoforge.events import Event, GenerationFailed, ProgramEvaluated, RunStarted, RunStopped, TokensUsed

log = logging.getLogger("evoforge")

STATUS_EVERY_S = 10.0


def setup_logging(verbose: bool = False, stream: TextIO | None = None) -> None:
    """Send evoforge's log records to stderr (or ``stream``) as short plain lines."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
    root = logging.getLogger("evoforge")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False


def _fmt(score: float) -> str:
    return f"{score:.6g}" if math.isfinite(score) else "-"


class ConsoleProgress:
    """Counts what the controller reports and shows it; call ``close()`` when the run ends."""

    def __init__(self, live: bool | None = None) -> None:
        self.live = sys.stderr.isatty() if live is None else live
        self.iterations = 0
        self.evaluated = 0
        self.failed = 0
        self.inflight = 0
        self.best = -math.inf
        self.tokens = 0
        self._started = time.monotonic()
        self._baseline = 0
        self._last_status = time.monotonic()
        self._live_display = None

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self._on_start(event)
        elif isinstance(event, ProgramEvaluated):
            self.evaluated = event.evaluated
            self.inflight = event.inflight
            if event.new_best:
                self.best = event.program.score
                if not self.live:
                    log.info("new best %s (program %d)", _fmt(self.best), event.program.id)
            self._maybe_status()
        elif isinstance(event, GenerationFailed):
            self.failed = event.failed
            log.debug("generation failed (%s): %s", event.failure.kind, event.failure.reason)
            self._maybe_status()
        elif isinstance(event, TokensUsed):
            self.tokens += event.prompt_tokens + event.completion_tokens
        elif isinstance(event, RunStopped):
            self.close()
            best = (
                f"best score {_fmt(event.best.score)} (program {event.best.id})" if event.best else "no best"
            )
            log.info(
                "stopped: %s; %d evaluated, %d failed generations; %s",
                event.reason,
                event.evaluated,
                event.failed,
                best,
            )
            if event.best_path is not None:
                log.info("best program written to %s", event.best_path)

    def _on_start(self, event: RunStarted) -> None:
        self.iterations = event.iterations
        self.evaluated = self._baseline = event.evaluated
        self.best = event.best_score
        verb = "resuming" if event.resumed else "starting"
        models = ", ".join(event.models) or "none"
        log.info(
            "%s %s in %s: %d of %d programs evaluated; models: %s",
            verb,
            event.task_name,
            event.run_dir,
            event.evaluated,
            event.iterations,
            models,
        )
        if self.live:
            from rich.live import Live

            self._live_display = Live(
                get_renderable=self._render, refresh_per_second=4, transient=False, console=_stderr_console()
            )
            self._live_display.start()

    def _rate(self) -> float:
        elapsed = max(time.monotonic() - self._started, 1e-9)
        return (self.evaluated - self._baseline) / elapsed

    def status_line(self) -> str:
        return (
            f"{self.evaluated}/{self.iterations} evaluated · best {_fmt(self.best)} · "
            f"{self._rate():.2f}/s · {self.inflight} in flight · {self.failed} failed · "
            f"{self.tokens:,} tokens"
        )

    def _maybe_status(self) -> None:
        now = time.monotonic()
        if not self.live and now - self._last_status >= STATUS_EVERY_S:
            self._last_status = now
            log.info("%s", self.status_line())

    def _render(self) -> object:
        from rich.text import Text

        return Text(self.status_line())

    def close(self) -> None:
        if self._live_display is not None:
            self._live_display.stop()
            self._live_display = None


def _stderr_console() -> object:
    from rich.console import Console

    return Console(stderr=True)
