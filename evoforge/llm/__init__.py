"""Language-model access over the OpenAI chat-completions protocol, spoken by evoforge over httpx.

The clients are imported on first use: ``evoforge.config`` imports ``evoforge.llm.settings``, and
loading a config must not import httpx (nor the config module, half-built, back again).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Completion": "evoforge.llm.openai_compat",
    "Ensemble": "evoforge.llm.ensemble",
    "OpenAICompatClient": "evoforge.llm.openai_compat",
}

__all__ = ["Completion", "Ensemble", "OpenAICompatClient"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'evoforge.llm' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
