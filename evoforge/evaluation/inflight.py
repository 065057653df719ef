"""What every evaluation backend does the same way: bound the evaluations running at once, and know
the tasks running them, so that closing the backend can stop them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class InFlight:
    """At most ``limit`` evaluations at once (back-pressure: the others wait for a turn), and the
    tasks awaiting them."""

    def __init__(self, limit: int) -> None:
        self._turns = asyncio.Semaphore(limit)
        self._tasks: set[asyncio.Task[object]] = set()

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold one of the ``limit`` turns while the body runs (waiting for one first)."""
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            async with self._turns:
                yield
        finally:
            self._tasks.discard(task)

    async def cancel(self) -> None:
        """Cancel the tasks in an evaluation (or waiting for a turn) and wait until they have ended."""
        tasks = [task for task in self._tasks if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
