"""Saying that a run is waiting on a model that does not answer.

With the default timeouts a hanging endpoint holds every call in flight for two minutes, and its
retries longer, while the console shows nothing. After ``llm.waiting_notice_s`` without an answer
from a model that has calls in flight, one line names the model and how many calls wait on it, and
again every as many seconds while that lasts. One timer per model, armed only while it has calls in
flight, so a healthy run pays a counter update per call.
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)


class WaitingNotice:
    """Counts each model's calls in flight and when it last answered; logs when it has been quiet."""

    def __init__(self, names: list[str], timeouts: list[float], notice_s: float) -> None:
        self._names = names
        self._timeouts = timeouts
        self._notice_s = notice_s
        self._inflight = [0] * len(names)
        self._quiet_since = [0.0] * len(names)  # loop time of the last answer, or of the first call since
        self._timers: list[asyncio.TimerHandle | None] = [None] * len(names)

    def started(self, index: int) -> None:
        """A call to model ``index`` went out."""
        loop = asyncio.get_running_loop()
        if self._inflight[index] == 0:
            self._quiet_since[index] = loop.time()
        self._inflight[index] += 1
        if self._timers[index] is None:
            self._arm(index, self._quiet_since[index] + self._notice_s)

    def ended(self, index: int, answered: bool) -> None:
        """A call to model ``index`` ended: with an outcome (``answered``), or cancelled."""
        self._inflight[index] -= 1
        if answered:
            self._quiet_since[index] = asyncio.get_running_loop().time()

    def close(self) -> None:
        for index, timer in enumerate(self._timers):
            if timer is not None:
                timer.cancel()
                self._timers[index] = None

    def _arm(self, index: int, at: float) -> None:
        self._timers[index] = asyncio.get_running_loop().call_at(at, self._check, index)

    def _check(self, index: int) -> None:
        self._timers[index] = None
        calls = self._inflight[index]
        if not calls:
            return
        now = asyncio.get_running_loop().time()
        quiet = now - self._quiet_since[index]
        if quiet < self._notice_s:  # it answered since: look again a notice period after that answer
            self._arm(index, self._quiet_since[index] + self._notice_s)
            return
        log.warning(
            "waiting on model %s: %d %s in flight, no answer for %.1f s (its timeout is %g s)",
            self._names[index],
            calls,
            "call" if calls == 1 else "calls",
            quiet,
            self._timeouts[index],
        )
        self._arm(index, now + self._notice_s)
