"""What `status` (and `status --json`) shows of a run's model side: cost per model, arms, meta-prompts.

Read from the store alone, so the dashboard can show the same: the cost from ``llm_calls.cost_usd``,
the arms from the LLM mutator's saved state (state key ``mutator``, then ``llm``, then ``selection``:
``ArmSelector.state()``), which the controller rewrites whenever it changes; the meta-prompts from
their table (``meta_prompts``).
"""

from __future__ import annotations

from typing import Any

from evoforge.llm.selection import ArmSelector
from evoforge.mutators.base import MUTATOR_STATE_KEY
from evoforge.storage.base import ProgramStore


def selection_state(store: ProgramStore) -> dict[str, Any] | None:
    """The arm selector's saved state, if the run has one."""
    saved = store.get_state(MUTATOR_STATE_KEY) or {}
    llm = saved.get("llm") if isinstance(saved, dict) else None
    return llm.get("selection") if isinstance(llm, dict) else None


def llm_status(store: ProgramStore) -> dict[str, Any]:
    """``cost_usd`` in all, ``models`` (calls, tokens, cost_usd per model) and ``arms`` (one row per arm)."""
    models = store.spending_by_model()
    selection = selection_state(store)
    return {
        "cost_usd": round(sum(row["cost_usd"] for row in models.values()), 6),
        "models": models,
        "arms": ArmSelector.from_state(selection).report() if selection else [],
        "meta_prompts": store.meta_prompts(),
    }


def llm_status_lines(info: dict[str, Any]) -> list[str]:
    """The plain-text lines of ``llm_status`` for `evoforge status`."""
    if not info["models"]:
        return []
    per_model = ", ".join(
        f"{name} ${row['cost_usd']:.4f} ({row['calls']} calls)" for name, row in info["models"].items()
    )
    lines = [f"cost: ${info['cost_usd']:.4f} ({per_model})"]
    for arm in info["arms"]:
        mean = "-" if arm["mean_reward"] is None else f"{arm['mean_reward']:.2f}"
        lines.append(
            f"  arm {arm['model']}/{arm['operator']}: weight {arm['weight']:.3f}, "
            f"{arm['outcomes']} children, mean reward {mean}"
        )
    active = sorted((m for m in info["meta_prompts"] if m["active"]), key=_mean_improvement, reverse=True)
    if active:
        lines.append(f"meta-prompts: {len(active)} active of {len(info['meta_prompts'])}; the best:")
    for snippet in active[:3]:
        text = " ".join(snippet["text"].split())
        lines.append(
            f"  #{snippet['id']} (from #{snippet['parent_id']}, {snippet['uses']} children, "
            f"mean improvement {_mean_improvement(snippet):.4g}): {text[:80]}"
        )
    return lines


def _mean_improvement(snippet: dict[str, Any]) -> float:
    return snippet["total_improvement"] / snippet["uses"] if snippet["uses"] else 0.0
