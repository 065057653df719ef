"""Scores one candidate. evoforge calls evaluate(program_path) in a sandboxed child process.

Return a dict of numeric metrics (all maximised), or an EvaluationResult with metrics plus text
artifacts that the model sees next time (a failing case, a hint). The primary score is
`combined_score` if present, else `score_metric` from config.yaml, else the mean of the metrics.
Raise (or return combined_score = -inf) when the candidate is invalid: it scores -inf and the
reason is shown to the model.

Be strict: never trust numbers the candidate computed; re-check the object it returns.
"""

import importlib.util
import math

from evoforge import EvaluationResult


def load_candidate(program_path):
    spec = importlib.util.spec_from_file_location("candidate", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def evaluate(program_path):
    values = load_candidate(program_path).solve()
    if not isinstance(values, list) or len(values) != 2:
        return EvaluationResult(
            {"combined_score": -math.inf}, {"error": "solve() must return a list of 2 numbers"}
        )
    if any(type(v) not in (int, float) or not math.isfinite(v) for v in values):
        return EvaluationResult({"combined_score": -math.inf}, {"error": "the values must be finite numbers"})
    # Example objective: get the two numbers close to each other and to 3.
    distance = abs(values[0] - values[1]) + abs(values[0] - 3)
    return EvaluationResult({"combined_score": -distance}, {"note": f"distance {distance:.4g}"})
