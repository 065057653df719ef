"""A circuit breaker per model, and the ensemble-wide "every model keeps failing" clock.

Without a breaker a dead endpoint costs every generation drawn for it a full timeout-and-retries cycle,
and with every model down the loop would spin through failed generations. A model that failed
``failures`` times in a row rests for ``cooldown_s``; after its rest one call probes it ("half-open")
while the others keep waiting: a failure sends it back to rest, a success closes its breaker. One
probe per rest keeps a dead provider from being hit by every waiting generation at once. Times are
``time.monotonic()`` seconds passed in by the caller, so the state machine is a plain, testable object.
A model whose error is fatal (a bad key, an unknown model, an endpoint never reached) is retired: it is
never asked again, and the ensemble goes on with the others.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

from evoforge.errors import ProviderError


@dataclass
class Breaker:
    """The failure streak of one model and until when it rests."""

    failures: int
    cooldown_s: float
    streak: int = 0
    resting_until: float = -math.inf
    probing: bool = False
    last_error: ProviderError | None = None
    retired: bool = False

    def awake(self, now: float) -> bool:
        """May be asked now: not retired, not resting, and not half-open with its probe in flight."""
        return not self.retired and now >= self.resting_until and not self.probing

    def taken(self) -> None:
        """A call was drawn for this model; after a rest that call is the probe."""
        self.probing = self.streak >= self.failures

    def succeeded(self) -> None:
        """A success closes the breaker: the streak and any rest are forgotten."""
        self.streak = 0
        self.resting_until = -math.inf
        self.probing = False
        self.last_error = None

    def failed(self, error: ProviderError, now: float) -> None:
        """Count a non-fatal failure; at ``failures`` in a row (or after a rest) the model rests again."""
        self.streak += 1
        self.probing = False
        self.last_error = error
        if self.streak >= self.failures:
            self.resting_until = now + self.cooldown_s


@dataclass
class Health:
    """The breakers of every model of an ensemble and how long they have all been failing."""

    breakers: list[Breaker]
    give_up_after_s: float
    failing_since: float | None = None  # the first failure after the last success of any model
    _last_pause: float = field(default=-math.inf, repr=False)
    _warned_streak: float | None = field(default=None, repr=False)

    def awake(self, now: float) -> list[int]:
        """Indices of the models that may be asked now."""
        return [index for index, breaker in enumerate(self.breakers) if breaker.awake(now)]

    def take(self, index: int) -> None:
        self.breakers[index].taken()

    def retire(self, index: int, error: ProviderError) -> bool:
        """Take model ``index`` out for good after a fatal ``error``; False if it was out already."""
        breaker = self.breakers[index]
        if breaker.retired:
            return False
        breaker.retired = True
        breaker.last_error = error
        return True

    def left(self) -> list[int]:
        """Indices of the models not retired."""
        return [index for index, breaker in enumerate(self.breakers) if not breaker.retired]

    def release(self, index: int) -> None:
        """A call of model ``index`` ended without an outcome (cancelled): it may be probed again."""
        self.breakers[index].probing = False

    def record(self, index: int, error: ProviderError | None, now: float) -> None:
        """Note the outcome of one call to model ``index`` (``error`` None for a success)."""
        breaker = self.breakers[index]
        if error is None:
            breaker.succeeded()
            self.failing_since = None
            return
        breaker.failed(error, now)
        if self.failing_since is None:
            self.failing_since = now

    def next_wake(self, now: float) -> tuple[int, float] | None:
        """The resting model that wakes first and when; None when the only hope is a probe in flight."""
        resting = [(b.resting_until, i) for i, b in enumerate(self.breakers) if b.resting_until > now]
        if not resting:
            return None
        wake, index = min(resting)
        return index, wake

    def give_up_at(self) -> float:
        """When a run whose models all rest should stop (infinity while nothing is failing)."""
        return math.inf if self.failing_since is None else self.failing_since + self.give_up_after_s

    def announce(self, wake: float) -> int | None:
        """How loudly to announce a pause until ``wake``, so the user reads it once, not per caller.

        None if this pause was announced already (many callers wait at once), WARNING for the first
        pause of a failing streak, DEBUG for the next rests of the same streak.
        """
        if wake == self._last_pause:
            return None
        self._last_pause = wake
        first = self._warned_streak != self.failing_since
        self._warned_streak = self.failing_since
        return logging.WARNING if first else logging.DEBUG

    def give_up_error(self) -> ProviderError:
        """The fatal error that stops a run whose models have all failed for too long, on one line."""
        errors = "; ".join(str(b.last_error) for b in self.breakers if b.last_error is not None)
        return ProviderError(
            f"every model has failed for {self.give_up_after_s:g} s: {errors}", fatal=True, kind="all_failing"
        )
