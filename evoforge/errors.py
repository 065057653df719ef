"""The error tree. Every error a user can cause carries a one-line message that says what and where.

The CLI prints ``str(error)`` and exits with code 2; nothing in this tree should reach the user as a
traceback.
"""


class EvoforgeError(Exception):
    """Base of all evoforge errors; ``str()`` is the one-line message for the user."""


class ConfigError(EvoforgeError):
    """A configuration file or override is invalid (names the file and the dotted key)."""


class TaskError(EvoforgeError):
    """A task directory is missing, incomplete or malformed (names the file)."""


class BlockError(TaskError):
    """EVOLVE-BLOCK markers are missing, unbalanced or nested."""


class EditError(EvoforgeError):
    """A proposed edit cannot be applied; the message is fed back to the model."""


class EvaluatorError(EvoforgeError):
    """The user's evaluator cannot be loaded or returned something that is not metrics."""


class ProviderError(EvoforgeError):
    """A language-model provider failed. ``fatal`` errors (auth, unknown model, unreachable) stop the run."""

    def __init__(self, message: str, *, fatal: bool = False, kind: str = "provider_error") -> None:
        super().__init__(message)
        self.fatal = fatal
        self.kind = kind


class StoreError(EvoforgeError):
    """The run directory or its database is unusable (wrong task, newer schema, missing run)."""
