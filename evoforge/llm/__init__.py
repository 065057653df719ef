"""Language-model access over the OpenAI chat-completions protocol, with evoforge's own HTTP client."""

from evoforge.llm.ensemble import Ensemble
from evoforge.llm.openai_compat import Completion, OpenAICompatClient

__all__ = ["Completion", "Ensemble", "OpenAICompatClient"]
