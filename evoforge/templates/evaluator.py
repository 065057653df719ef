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
loophole. Never import the candidate here: it would share this process's memory, modules and
descriptors, and could rewrite TARGET, patch abs(), return a number that lies about its value, or
write its own verdict straight to evoforge. evaluate_solve runs solve() in an interpreter of its
own and hands back plain data (lists and numbers, as JSON) that check() re-checks and report()
scores here, where the candidate cannot reach. docs/writing-evaluators.md says more.
"""

from evoforge import EvaluationResult
from evoforge.verify import evaluate_solve, real, sequence

TARGET = 3.0
SOLVE_TIMEOUT_S = 50  # under evaluation.timeout_s in config.yaml, so that a slow solve() says so


def check(result):
    """solve()'s result, as plain data, checked rule by rule: here a list of two finite reals.

    real() rejects bools, strings, NaN, inf and |value| > 1e6; sequence() anything but a list of
    the right length. A broken rule raises InvalidObject, which scores -inf and shows the model
    the message. Check every constraint of your problem here, and keep it a pure function.
    """
    values = sequence(result, "solve()'s result", length=2)
    return [real(value, f"value {i}") for i, value in enumerate(values)]


def report(values):
    """The score of a valid result, computed here: example objective, both numbers close to TARGET."""
    a, b = values
    distance = abs(a - TARGET) + abs(b - TARGET)
    return EvaluationResult(
        metrics={"combined_score": -distance, "a": a, "b": b},
        artifacts={"note": f"total distance to {TARGET}: {distance:.4g}"},
    )


def evaluate(program_path):
    return evaluate_solve(program_path, check, report, SOLVE_TIMEOUT_S)
