"""Language-model access over the OpenAI chat-completions protocol."""
