"""``openevolve.evaluation_result.EvaluationResult``: metrics plus text or bytes artifacts.

Evaluators written for OpenEvolve return it; evoforge's contract reads its ``metrics`` and ``artifacts``
attributes, so this class only has to carry them and offer the helpers such evaluators call.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class EvaluationResult:
    metrics: dict
    artifacts: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, metrics: dict) -> EvaluationResult:
        return cls(metrics=metrics)

    def to_dict(self) -> dict:
        return self.metrics

    def has_artifacts(self) -> bool:
        return bool(self.artifacts)

    def get_artifact_keys(self) -> list:
        return list(self.artifacts)

    def get_artifact_size(self, key: str) -> int:
        """Bytes of one artifact (UTF-8 for text); 0 for a key that is absent."""
        if key not in self.artifacts:
            return 0
        value = self.artifacts[key]
        if isinstance(value, bytes | bytearray):
            return len(value)
        return len(str(value).encode("utf-8"))

    def get_total_artifact_size(self) -> int:
        return sum(self.get_artifact_size(key) for key in self.artifacts)
