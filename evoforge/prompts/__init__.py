"""Prompt construction for the language-model mutator."""

from evoforge.prompts.builder import build_messages

__all__ = ["build_messages"]
