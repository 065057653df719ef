"""The evaluation backend contract, and the one function that picks a backend from the config.

A backend evaluates candidate code with the task's evaluator somewhere safe and hands back an
``Evaluation``. Two implement it: ``Sandbox`` (this machine's sandboxed processes) and ``RayBackend``
(the same sandbox, on the nodes of a Ray cluster). ``evoforge.testing.backend_conformance`` is the
suite both pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self

from evoforge.errors import ConfigError, EvoforgeError

if TYPE_CHECKING:
    from evoforge.config import Config
    from evoforge.records import Evaluation


class BackendUnavailable(EvoforgeError):
    """The backend can evaluate nothing any more (a cluster unreachable past its deadline): the run
    stops cleanly with this message as its stop reason."""


class EvaluationBackend(Protocol):
    """Where evaluations run.

    - ``evaluate`` runs ``code`` (saved as ``filename``, ``files`` beside it, ``env`` added to the
      evaluation's environment) through the evaluator's ``call`` (``evaluate`` or ``fingerprint``) and
      returns the ``Evaluation``. Whatever the candidate does (raise, exit, loop, exhaust memory) is a
      failed Evaluation, never an exception, and is never retried. It raises only for problems of the
      controller's side (a config no evaluation can run under: ``EvoforgeError``) and
      ``BackendUnavailable`` when it can no longer evaluate at all.
    - At most ``evaluation.parallel`` evaluations run at once however many calls are made; the others
      wait for a free slot (back-pressure).
    - Cancelling the awaiting task stops its evaluation promptly, and ``aclose()`` (or leaving
      ``async with``) stops all of them and leaves no process behind. The backend never writes the
      run's database: the controller is its only writer.
    """

    async def evaluate(
        self,
        code: str,
        filename: str = "program.py",
        files: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        call: str = "evaluate",
    ) -> Evaluation: ...

    async def aclose(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None, /
    ) -> None: ...


def make_backend(evaluator_path: Path, config: Config, evaluator_kind: str = "evoforge") -> EvaluationBackend:
    """The backend ``config.evaluation.backend`` names; ray is imported only when it is asked for.
    The caller owns it: ``async with``."""
    if config.evaluation.backend == "ray":
        try:
            import ray  # noqa: F401  (only to say clearly that the extra is missing)
        except ImportError:
            raise ConfigError(
                "evaluation.backend ray needs the ray extra: pip install 'evoforge[ray]'"
            ) from None
        from evoforge.evaluation.ray_backend import RayBackend

        return RayBackend(evaluator_path, config, evaluator_kind=evaluator_kind)
    from evoforge.evaluation.layers import plan_sandbox
    from evoforge.evaluation.sandbox import Sandbox

    return Sandbox(
        evaluator_path,
        config.evaluation,
        score_metric=config.score_metric,
        plan=plan_sandbox(config.sandbox),
        evaluator_kind=evaluator_kind,
    )
