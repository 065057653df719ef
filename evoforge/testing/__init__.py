"""Test helpers shipped with evoforge: the scripted OpenAI-protocol server and the demo."""
