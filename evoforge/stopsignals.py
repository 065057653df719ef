"""The signals that stop a run: SIGINT, SIGTERM and SIGHUP ask for a clean stop; a later Ctrl-C aborts.

A clean stop records in-flight work as cancelled and writes ``best_program.*``, so every way a run
is usually ended must lead to it: Ctrl-C (SIGINT), a supervisor or ``kill`` (SIGTERM), and closing
the terminal (SIGHUP). One request often arrives as several signals: ``timeout -s INT`` and a
terminal's Ctrl-C reach the process and then its whole group, so evoforge sees two SIGINTs a moment
apart. Signals within SAME_REQUEST_S of the one acted on are therefore the same request. A SIGINT
after that is the user insisting: the escape hatch from a stop that takes too long. It aborts
(KeyboardInterrupt), after writing the best program found so far from what is already stored.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import stat
import sys
import time
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
SAME_REQUEST_S = 1.0  # signals closer than this to the one acted on are one request


class SignalStop:
    """While active, STOP_SIGNALS call ``request_stop`` in the loop; a SIGINT after SAME_REQUEST_S aborts.

    The handlers are Python-level (``signal.signal``), not the loop's: they run as soon as the main
    thread runs Python again, even while the loop is stuck in a long synchronous step of the stop,
    which is exactly when the escape hatch is needed; the stop request itself goes through the loop.
    ``on_abort`` runs just before the abort (the runner writes the best program there); its errors
    are logged, never raised, so that the abort itself always happens. Once a stop was requested, the
    handlers stay for the rest of the process (the commands that ask for them end with the run).
    """

    def __init__(
        self,
        request_stop: Callable[[str], None],
        enabled: bool,
        on_abort: Callable[[], object] | None = None,
    ) -> None:
        self._request_stop = request_stop
        self._enabled = enabled
        self._on_abort = on_abort
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous: dict[int, Any] = {}
        self._acted_at: float | None = None
        self.signal_received: int | None = None

    def __enter__(self) -> SignalStop:
        if self._enabled:
            self._loop = asyncio.get_running_loop()
            for number in STOP_SIGNALS:
                self._previous[number] = signal.signal(number, self._on_signal)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self.signal_received is not None:
            # The stop is done, but the second signal of a pair may still be on its way (a group is
            # signalled after the process): keep treating it as the same request until the process ends.
            self._on_abort = None
            return
        for number, previous in self._previous.items():
            signal.signal(number, previous)
        self._previous.clear()

    def _on_signal(self, number: int, frame: FrameType | None) -> None:
        now = time.monotonic()
        name = signal.Signals(number).name
        if number == signal.SIGHUP:
            _detach_from_terminal()
        if self._acted_at is not None and now - self._acted_at < SAME_REQUEST_S:
            return  # the same request, delivered to the process and then to its group
        if self.signal_received is None:
            self._acted_at = now
            self.signal_received = number
            log.warning("%s: stopping cleanly (press Ctrl-C again to abort)", name)
            assert self._loop is not None
            self._loop.call_soon_threadsafe(self._request_stop, f"stopped by {name}")
        elif number == signal.SIGINT:
            self._acted_at = now
            log.warning("SIGINT again: aborting")
            self._write_what_is_stored()
            raise KeyboardInterrupt
        else:
            log.info("%s: already stopping", name)

    def _write_what_is_stored(self) -> None:
        if self._on_abort is None:
            return
        try:
            self._on_abort()
        except Exception as error:  # the abort must happen even if this fails (a full disk, say)
            log.warning("aborting without writing the best program: %s", error)


def _detach_from_terminal() -> None:
    """Point stdout and stderr that are a terminal (any character device) at /dev/null.

    After a hang-up, writing to the terminal fails (EIO), which would turn the clean stop's last
    messages into a crash; nobody is left to read them anyway. A hung-up terminal no longer passes
    ``isatty``, hence the device test. Pipes and files (a log, ``nohup``) are kept.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for stream in (sys.stdout, sys.stderr):
            try:
                fd = stream.fileno()
                if stat.S_ISCHR(os.fstat(fd).st_mode):
                    os.dup2(devnull, fd)
                    stream.flush()  # what was buffered for the terminal goes nowhere, not into an error
            except (AttributeError, OSError, ValueError):
                continue  # no file descriptor, or one already unusable: nothing to keep writing to
    finally:
        os.close(devnull)


def ignore_stop_signals() -> None:
    """Ignore STOP_SIGNALS from here to the end of the process, once a stopped run has ended.

    The second signal of a pair can arrive while the interpreter shuts down, which resets Python's
    handlers to the default action (death by that signal, a wrong exit code) but leaves ignored ones.
    """
    for number in STOP_SIGNALS:
        signal.signal(number, signal.SIG_IGN)
