"""Prompt construction for the language-model mutator: templates, variants, context and budget."""

from evoforge.prompts.builder import build_messages
from evoforge.prompts.settings import PromptConfig, operator_weights

__all__ = ["PromptConfig", "build_messages", "operator_weights"]
