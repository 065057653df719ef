"""Language-model access over the OpenAI chat-completions protocol, spoken by evoforge over httpx."""

from evoforge.llm.ensemble import Ensemble
from evoforge.llm.openai_compat import Completion, OpenAICompatClient

__all__ = ["Completion", "Ensemble", "OpenAICompatClient"]
