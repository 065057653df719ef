"""What the evaluation cascade and deduplication saved in a run: for ``status`` (and ``--json``).

The dashboard reads the same tables (docs/search.md): ``stages`` (per program: stages passed, seconds
of each stage run), ``fingerprints`` (per program: fingerprint, ``duplicate_of``), and the
``duplicate_of`` column of ``failed_generations`` of kind ``duplicate``.
"""

from __future__ import annotations

from typing import Any

from evoforge.database.dedup import dedup_summary
from evoforge.evaluation.stages import cascade_summary
from evoforge.storage.base import ProgramStore


def savings(store: ProgramStore, duplicates: int) -> dict[str, Any]:
    """``cascade`` and ``dedup`` summaries; ``duplicates``: failed generations of kind ``duplicate``."""
    rows = ((fp, of, ok, score) for _, _, fp, of, ok, score in store.fingerprint_rows())
    return {"cascade": cascade_summary(store.stage_rows()), "dedup": dedup_summary(duplicates, rows)}


def savings_lines(info: dict[str, Any]) -> list[str]:
    """The status lines of what ``savings`` found; none for a run that used neither mechanism."""
    lines = []
    cascade = info["cascade"]
    if cascade["evaluated"]:
        rejected = ", ".join(f"{stage} {count}" for stage, count in cascade["rejected_by_stage"].items())
        lines.append(
            f"cascade: rejected by {rejected}; about {cascade['time_saved_s']:.3g} s of evaluation saved"
        )
    dedup = info["dedup"]
    if any(dedup.values()):
        lines.append(
            f"dedup: {dedup['saved_structural']} structural and {dedup['saved_functional']} functional "
            f"duplicates not evaluated; {dedup['fingerprint_matches_evaluated']} fingerprint matches "
            f"evaluated, {dedup['collisions']} collisions"
        )
    return lines
