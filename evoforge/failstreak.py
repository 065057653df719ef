"""The run's current streak of failed generations, and the error that ends a run that only ever fails.

A run whose model only answers prose (or whose every child is rejected or a duplicate) produces no
program for ``MAX_CONSECUTIVE_FAILURES`` generations; the budget stops it, and this streak names the
cause on one line, so that the run ends as a failure (exit code 2) rather than as an ordinary stop.
"""

from __future__ import annotations

from collections import Counter

from evoforge.budgets import MAX_CONSECUTIVE_FAILURES
from evoforge.errors import EvoforgeError
from evoforge.events import Event, GenerationFailed, ProgramEvaluated

# What the most common kind of failure says about the run's settings.
HINTS = {
    "no_edit": "the model's answers hold no SEARCH/REPLACE block (or code, in rewrite mode): "
    "is it a chat model that follows instructions?",
    "edit_rejected": "the model's edits never apply to the program they were asked for",
    "empty_content": "the model answers with empty content",
    "bad_response": "the endpoint's answers are not chat completions",
    "duplicate": "every child repeats a program already evaluated",
    "too_similar": "every child is too similar to its island's elites: raise database.novelty.threshold "
    "or lower database.novelty.max_resamples",
}


class NoProgressError(EvoforgeError):
    """Generations failed so many times in a row that the run stopped without progress."""


class FailureStreak:
    """An event subscriber counting, by kind, the failed generations since the last evaluated program."""

    def __init__(self) -> None:
        self.kinds: Counter[str] = Counter()
        self.last_reason = ""

    def __call__(self, event: Event) -> None:
        if isinstance(event, ProgramEvaluated):
            self.kinds.clear()
        elif isinstance(event, GenerationFailed):
            self.kinds[event.failure.kind] += 1
            self.last_reason = event.failure.reason

    @property
    def stopped_the_run(self) -> bool:
        return self.kinds.total() >= MAX_CONSECUTIVE_FAILURES

    def error(self) -> NoProgressError:
        """One line: how many failed, by kind, what the most common kind means and the last reason."""
        kinds = ", ".join(f"{kind} {count}" for kind, count in self.kinds.most_common())
        common = self.kinds.most_common(1)[0][0]
        hint = HINTS.get(common, f"last: {' '.join(self.last_reason.split())[:200]}")
        return NoProgressError(
            f"{self.kinds.total()} generations in a row produced no program to evaluate ({kinds}): {hint}"
        )
