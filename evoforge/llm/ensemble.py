"""A weighted ensemble of models: each generation draws one awake model with the run's RNG."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time

from evoforge.errors import ConfigError, ProviderError
from evoforge.llm.breaker import Breaker, Health
from evoforge.llm.openai_compat import Completion, OpenAICompatClient
from evoforge.llm.pricing import price_of
from evoforge.llm.settings import LLMConfig
from evoforge.llm.waiting import WaitingNotice

log = logging.getLogger(__name__)


class Ensemble:
    """One long-lived client per configured model, chosen in proportion to its ``weight``.

    Clients are built up front, so a missing API key stops the run before the first generation.
    A fatal error of one model (a bad key, an unknown model, an endpoint never reached) retires it
    with one warning and that generation fails as an ordinary failure; only the fatal error of the
    last model left is raised as fatal. Each model has a circuit breaker (``llm.breaker_failures``,
    ``llm.breaker_cooldown_s``): a resting model is not drawn, and while no model may be asked
    callers wait for one to wake, until the models have failed without a success for
    ``llm.give_up_after_s`` and the run stops.
    """

    def __init__(self, llm: LLMConfig) -> None:
        if not llm.models:
            raise ConfigError("llm.models is empty: configure at least one model")
        self.clients = [OpenAICompatClient(model, llm) for model in llm.models]
        _warn_if_capped(llm)
        self._weights = [model.weight for model in llm.models]
        self._prices = [price_of(model) for model in llm.models]
        self.health = Health(
            [Breaker(llm.breaker_failures, llm.breaker_cooldown_s) for _ in llm.models], llm.give_up_after_s
        )
        self._changed = asyncio.Event()  # set (and replaced) whenever a call's outcome is recorded
        self._last_fatal: ProviderError | None = None  # what retired the last model left
        timeouts = [model.timeout for model in llm.models]
        self._waiting = WaitingNotice(self.model_names, timeouts, llm.waiting_notice_s)

    @property
    def model_names(self) -> list[str]:
        return [client.name for client in self.clients]

    async def choose(self, rng: random.Random, preferred: int | None = None) -> int:
        """The index of a model drawn by weight among the awake ones, waiting while none is awake.

        One ``rng.random()`` per call whatever the breakers say, so a seeded run replays its choices
        while every model is healthy. A ``preferred`` model (the arm's, chosen in ``ask`` by
        llm/selection.py) is taken without a draw while it is awake; while it rests, another awake one
        is drawn by weight instead, so the arm's child is still made. Raises a fatal ProviderError when
        it is time to give up.
        """
        while True:
            now = time.monotonic()
            awake = self.health.awake(now)
            if preferred in awake:
                self.health.take(preferred)
                return preferred
            if awake:
                index = rng.choices(awake, weights=[self._weights[index] for index in awake])[0]
                self.health.take(index)
                return index
            await self._pause(now)

    def cost(self, index: int, prompt_tokens: int, completion_tokens: int) -> float:
        """What a call to model ``index`` with these token counts cost, in US dollars (llm/pricing.py)."""
        return self._prices[index].cost(prompt_tokens, completion_tokens)

    async def _pause(self, now: float) -> None:
        """Wait until a model wakes, a call ends or it is time to give up, whichever comes first."""
        if self._last_fatal is not None:
            raise self._last_fatal
        until = self.health.give_up_at()
        if now >= until:
            raise self.health.give_up_error()
        wake = self.health.next_wake(now)
        if wake is not None:
            first, at = wake
            level = self.health.announce(at)
            if level is not None:
                name = self.clients[first].name
                log.log(level, "all models are failing; pausing until %s retries in %.1f s", name, at - now)
            until = min(until, at)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), None if math.isinf(until) else until - now)

    async def complete(
        self, index: int, messages: list[dict[str, str]], seed: int | None = None
    ) -> Completion:
        """Ask model ``index`` and note the outcome in its breaker; raises the client's ProviderError."""
        self._waiting.started(index)
        try:
            completion = await self.clients[index].complete(messages, seed=seed)
        except ProviderError as error:
            self._waiting.ended(index, answered=error.kind != "timeout")
            if error.fatal:
                raise self._retire(index, error) from None
            self._record(index, error)
            raise
        except BaseException:  # cancelled: no outcome, but a probe must not stay in flight forever
            self._waiting.ended(index, answered=False)
            self.health.release(index)
            raise
        self._waiting.ended(index, answered=True)
        self._record(index, None)
        return completion

    def _retire(self, index: int, error: ProviderError) -> ProviderError:
        """Take a model out after its fatal ``error``; what to raise: fatal only if none is left."""
        if self.health.retire(index, error):
            left = [self.clients[i].name for i in self.health.left()]
            if left:
                log.warning(
                    "%s; going on without it (%d of %d models left: %s)",
                    error,
                    len(left),
                    len(self.clients),
                    ", ".join(left),
                )
            self._wake()
        if not self.health.left():
            self._last_fatal = self._last_fatal or error
            return error
        return ProviderError(str(error), fatal=False, kind=error.kind)

    def _record(self, index: int, error: ProviderError | None) -> None:
        """Note an outcome and wake the callers waiting for one."""
        self.health.record(index, error, time.monotonic())
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def aclose(self) -> None:
        self._waiting.close()
        for client in self.clients:
            await client.aclose()


def _warn_if_capped(llm: LLMConfig) -> None:
    """Say once when the models' own limits allow fewer calls at once than ``llm.max_inflight``."""
    limits = [model.max_concurrency for model in llm.models]
    allowed = sum(limit for limit in limits if limit is not None)
    if None in limits or allowed >= llm.max_inflight:
        return
    log.warning(
        "llm.max_inflight is %d but the models' max_concurrency allow %d calls at once; "
        "unset max_concurrency to follow llm.max_inflight",
        llm.max_inflight,
        allowed,
    )
