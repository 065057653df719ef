"""The evaluator's optional functions, run in the sandbox child: the cascade and ``fingerprint``.

Standard library only, loaded by path beside ``sandboxed_evaluation.py`` and never imported by the
controller (it runs next to untrusted code).

**Cascade** (``evaluation.cascade`` set): ``evaluate_stage1``, then ``evaluate_stage2`` if the primary
score of the metrics so far reaches ``thresholds[0]``, then ``evaluate_stage3`` if it reaches
``thresholds[1]`` (OpenEvolve's names and order; a missing threshold lets every child through). An
evaluator without ``evaluate_stage1`` is evaluated by ``evaluate`` alone, as OpenEvolve does. A
later stage's metrics and artifacts are merged over the earlier ones. A child below a gate is kept
with the metrics it has (the cheap stage's score is its score); a stage that raises, times out or
returns no metrics fails the whole evaluation (score ``-inf``), unlike OpenEvolve, which keeps the
earlier stages' metrics: a candidate must not keep a good cheap-stage score by crashing the
expensive stage. The answer says how far it got: ``cascade: {"passed": k, "times_s": [...]}``, one
duration per stage that ran; ``passed < len(times_s)`` means the last stage that ran rejected it.
In search mode, the solution is the one the last stage that returned one returned.

**Fingerprint** (the ``fingerprint`` call): ``fingerprint(program_path) -> str``, a digest of what the
candidate does on fixed probe inputs; the answer carries it as ``fingerprint`` (``None`` when the
evaluator defines none).
"""

import contextlib
import signal
import time

STAGES = ("evaluate_stage1", "evaluate_stage2", "evaluate_stage3")
MAX_FINGERPRINT_CHARS = 4096


class StageTimeout(BaseException):
    """A stage ran past its ``timeouts_s`` entry (a BaseException: ``except Exception`` does not eat it)."""


@contextlib.contextmanager
def time_limit(seconds):
    """Raise StageTimeout in this thread after ``seconds`` (None: no limit but the evaluation's own)."""
    if seconds is None:
        yield
        return

    def expire(signum, frame):
        raise StageTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_stage(number, function, program, timeout_s, contract):
    """(metrics, artifacts, search mode's solution) of one stage, or an error line and its exception."""
    name = STAGES[number - 1]
    started = time.monotonic()
    try:
        with time_limit(timeout_s):
            raw = function(program)
        if timeout_s is not None and time.monotonic() - started > timeout_s:
            raise StageTimeout  # the alarm was caught or blocked: the stage still took too long
        return (*contract.normalize_result(raw), contract.solution_text(raw)), None, None
    except StageTimeout:
        return None, f"{name} timed out after {timeout_s:g} s", None
    except contract.ContractError as error:
        return None, f"{name}: invalid result: {error}", error if error.__cause__ is not None else None
    except BaseException as error:  # SystemExit and KeyboardInterrupt from the candidate too
        return None, f"{name} raised {contract.describe(error)}", error


def run_cascade(evaluator, request, contract, failure):
    """The cascade's answer for the parent (see the module docstring); ``failure`` makes error answers."""
    functions = [getattr(evaluator, name, None) for name in STAGES]  # the caller saw evaluate_stage1
    settings = request["cascade"]
    thresholds, timeouts = settings["thresholds"], settings["timeouts_s"]
    defined = next((n for n, function in enumerate(functions) if not callable(function)), len(functions))
    metrics, artifacts, times, solution = {}, {}, [], None
    passed = 0
    for number in range(1, defined + 1):
        started = time.monotonic()
        timeout_s = timeouts[number - 1] if number <= len(timeouts) else None
        result, error, cause = run_stage(
            number, functions[number - 1], request["program"], timeout_s, contract
        )
        times.append(time.monotonic() - started)
        progress = {"passed": passed, "times_s": times}
        if result is None:
            return failure(error, cause) | {"cascade": progress}
        metrics.update(result[0])
        artifacts.update(result[1])
        solution = result[2] if result[2] is not None else solution
        if number < defined and number <= len(thresholds):
            try:
                score = contract.primary_score(metrics, request["score_metric"])
            except contract.ContractError as error:
                return failure(f"after {STAGES[number - 1]}: {error}") | {"cascade": progress}
            if not score >= thresholds[number - 1]:
                break
        passed = number
    try:
        metrics, artifacts = contract.bound_record(
            metrics, artifacts, request["records"], request["score_metric"]
        )
    except contract.ContractError as error:
        return failure(f"invalid result: {error}") | {"cascade": {"passed": passed, "times_s": times}}
    answer = {
        "ok": True,
        "metrics": metrics,
        "artifacts": artifacts,
        "cascade": {"passed": passed, "times_s": times},
    }
    return answer | ({"solution": solution} if solution is not None else {})


def run_fingerprint(evaluator, request, contract, failure):
    """``fingerprint(program_path)``'s string as the answer's ``fingerprint`` (None: not defined)."""
    function = getattr(evaluator, "fingerprint", None)
    if not callable(function):
        return {"ok": True, "metrics": {}, "fingerprint": None}
    try:
        value = function(request["program"])
    except BaseException as error:  # the candidate's SystemExit too
        return failure(f"fingerprint() raised {contract.describe(error)}", error)
    if not isinstance(value, str):
        return failure(f"fingerprint() returned {type(value).__name__}, expected a str")
    if len(value) > MAX_FINGERPRINT_CHARS:
        return failure(
            f"fingerprint() returned {len(value):,} characters, more than {MAX_FINGERPRINT_CHARS:,}"
        )
    return {"ok": True, "metrics": {}, "fingerprint": value}
