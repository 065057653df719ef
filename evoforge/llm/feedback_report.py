"""What `status` shows of repair and judges: how often repair asked, made a child, made a working one;
how many children judges rejected. Read from the store alone (the dashboard can show the same)."""

from __future__ import annotations

from typing import Any

from evoforge.storage.sqlite import SQLiteStore


def feedback_status(store: SQLiteStore) -> dict[str, Any]:
    """``repairs`` (asked, children, valid) and ``judge_rejected``, for `status --json`."""
    return store.feedback_counts()


def feedback_status_lines(info: dict[str, Any]) -> list[str]:
    """The plain-text lines of ``feedback_status`` for `evoforge status`; none when neither was used."""
    lines = []
    repairs = info["repairs"]
    if repairs["asked"]:
        lines.append(
            f"repairs: {repairs['asked']} asked, {repairs['children']} made a child, "
            f"{repairs['valid']} evaluated ok"
        )
    if info["judge_rejected"]:
        lines.append(f"rejected by judges: {info['judge_rejected']}")
    return lines
