"""Scores one candidate program. Replace the example objective with your own.

The contract:
- evoforge calls evaluate(program_path) once per candidate, in a fresh sandboxed child process
  (time, memory and output limits from config.yaml; no API keys in the environment), with a
  temporary copy of the candidate at program_path. Modules next to this file can be imported.
- Return a dict of numeric metrics, all maximised, or EvaluationResult(metrics, artifacts):
  artifacts are short texts the model sees next to the program in later prompts (a failing case,
  the constraint that broke, a timing), so make them specific.
- The primary score is metrics["combined_score"] if present, else the metric named by
  score_metric in config.yaml, else the mean of the numeric metrics. NaN and +inf are errors;
  -inf means infeasible.
- Raising an exception fails the evaluation: the program scores -inf and the error is shown to
  the model. Returning combined_score = -inf with an artifact does the same with your own words.

Be strict: the candidate is written by a model rewarded for a high score and will exploit any
loophole. Re-check the object it returns (types, shape, every constraint); never trust a number it
computed. When the stakes are high, run solve() in a separate interpreter and pass back plain data,
as examples/circle_packing_26/evaluator.py does: then nothing the candidate patches in its own
process can reach your checks.
"""

import importlib.util
import math

from evoforge import EvaluationResult

TARGET = 3.0


def load_candidate(program_path):
    """Import the candidate as its own module (not as __main__, so its `if __name__` code does not run)."""
    spec = importlib.util.spec_from_file_location("candidate", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def infeasible(reason):
    """Score -inf and tell the model why."""
    return EvaluationResult({"combined_score": -math.inf}, {"error": reason})


def evaluate(program_path):
    values = load_candidate(program_path).solve()

    # 1. Check the shape and the types of the returned object (bool is an int in Python: reject it).
    if not isinstance(values, list | tuple) or len(values) != 2:
        return infeasible(f"solve() must return a list of 2 numbers, got {values!r:.80}")
    if any(isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) for v in values):
        return infeasible(f"both values must be finite real numbers, got {values!r:.80}")

    # 2. Compute the score here, from the object. Example objective: both numbers close to TARGET.
    a, b = float(values[0]), float(values[1])
    distance = abs(a - TARGET) + abs(b - TARGET)

    # 3. Return the primary score, any other metrics worth seeing, and feedback for the model.
    return EvaluationResult(
        metrics={"combined_score": -distance, "a": a, "b": b},
        artifacts={"note": f"total distance to {TARGET}: {distance:.4g}"},
    )
