"""Stop criteria."""

from __future__ import annotations

from evoforge.budgets import MAX_CONSECUTIVE_FAILURES, Budget


def test_iteration_budget_counts_evaluated_programs() -> None:
    budget = Budget(iterations=10)
    budget.update(evaluated=9, best_score=0.0, consecutive_failures=0)
    assert not budget.stopping
    budget.update(evaluated=10, best_score=0.0, consecutive_failures=0)
    assert budget.stop_reason == "reached 10 evaluated programs"


def test_target_score_and_first_reason_wins() -> None:
    budget = Budget(iterations=100, target_score=1.5)
    budget.update(evaluated=3, best_score=1.5, consecutive_failures=0)
    assert budget.stop_reason == "reached the target score 1.5"
    budget.request_stop("stopped by SIGINT")
    assert budget.stop_reason == "reached the target score 1.5"


def test_wall_time_and_failure_streak() -> None:
    budget = Budget(iterations=100, max_wall_time_s=0.0)
    budget.update(evaluated=1, best_score=0.0, consecutive_failures=0)
    assert budget.stop_reason is not None and "wall-time" in budget.stop_reason
    streak = Budget(iterations=100)
    streak.update(evaluated=1, best_score=0.0, consecutive_failures=MAX_CONSECUTIVE_FAILURES)
    assert streak.stop_reason is not None and "in a row" in streak.stop_reason
