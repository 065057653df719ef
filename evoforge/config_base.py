"""The base of every configuration section, so that a section can live beside the code it configures.

``config.py`` assembles the sections into ``Config``; a new section (prompts, search, dashboard...) is a
``Strict`` model in its own area's module, and adds one field line to ``Config``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Unknown keys are errors, assignments are validated, and no infinities or NaN are accepted.

    ``timeout_s: 1e400`` is a typo, not a wish, and would fail deep inside a run.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)
