"""Terminal output: live progress for people, plain log lines for CI and files."""
