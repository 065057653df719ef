"""Candidates that try to win without a better answer: the tests of the scaffold and the examples.

Each function returns the opening of a program (Python source put before its ``solve()``); the
``solve()`` after it returns an honest object, so a safe evaluator scores the whole program exactly
as it scores that object alone. The openings attack an evaluator that imports the candidate into
its own process: the result pipe, the evaluator's module globals, the standard library it calls,
and the methods of the returned object. They are meant for the sandbox: run them through
``Sandbox`` or ``evoforge eval``, never in a test's own interpreter.
"""

from __future__ import annotations

import json

FORGED_SCORE = 1e9
FORGED_ANSWER = json.dumps({"ok": True, "metrics": {"combined_score": FORGED_SCORE}})


ENDINGS = {
    "return": "",  # go on to solve(): its honest answer follows the forged one
    "exit": "os._exit(0)\n",  # leave before the evaluator writes any answer of its own
    "kill_the_parent": "os.kill(os.getppid(), 9)\nos._exit(0)\n",  # and let no one else write either
}


def forge_the_result(ending: str) -> str:
    """Write a winning evaluation answer to every descriptor it can reach: its own, and through
    /proc those of its parent and grandparent (the evaluation process and the slot's launcher when
    the candidate runs apart, the launcher and the controller when it is imported); then end as
    ``ENDINGS[ending]`` says.
    """
    return (
        "import contextlib, os\n"
        f"_forged = {FORGED_ANSWER.encode()!r}\n"
        "_targets = [f'/proc/self/fd/{fd}' for fd in range(3, 1024)]\n"
        "_pid = os.getpid()\n"
        "for _ in range(2):\n"
        "    with contextlib.suppress(OSError, ValueError, IndexError):\n"
        "        _pid = int(open(f'/proc/{_pid}/stat').read().rsplit(')', 1)[1].split()[1])\n"
        "        _targets += [f'/proc/{_pid}/fd/{fd}' for fd in os.listdir(f'/proc/{_pid}/fd')]\n"
        "for _fd in range(3, 1024):\n"
        "    with contextlib.suppress(OSError):\n"
        "        os.write(_fd, _forged)\n"
        "for _path in _targets:\n"
        "    with contextlib.suppress(OSError):\n"
        "        _out = os.open(_path, os.O_WRONLY | os.O_NONBLOCK | os.O_APPEND)\n"
        "        with contextlib.suppress(OSError):\n"
        "            os.write(_out, _forged)\n"
        "        os.close(_out)\n"
        f"{ENDINGS[ending]}"
    )


def patch_the_evaluator(constants: dict[str, float]) -> str:
    """Set the evaluator's module globals ``constants`` (its target, say) in every module that has
    them, and patch the builtins and math functions verifiers use so that any distance is 0 and
    any value finite."""
    return (
        "import builtins, math, sys\n"
        f"for _name, _value in {constants!r}.items():\n"
        "    for _module in list(sys.modules.values()):\n"
        "        if hasattr(_module, _name):\n"
        "            setattr(_module, _name, _value)\n"
        "builtins.abs = lambda value: 0.0\n"
        "math.fabs = lambda value: 0.0\n"
        "math.isfinite = lambda value: True\n"
        "math.fsum = lambda values: 0.0\n"
    )


def lying_number(claimed: float) -> str:
    """Decorate the ``solve()`` that follows so that it returns its numbers as ``LyingFloat``: floats
    whose conversion claims ``claimed`` and whose equality and arithmetic make any distance 0. Ends
    with the decorator line, so it goes straight before ``def solve():``."""
    return (
        "class LyingFloat(float):\n"
        f"    def __float__(self):\n        return {claimed!r}\n"
        "    def __eq__(self, other):\n        return True\n"
        "    __hash__ = float.__hash__\n"
        "    def __sub__(self, other):\n        return LyingFloat(0.0)\n"
        "    __rsub__ = __add__ = __radd__ = __mul__ = __rmul__ = __pow__ = __sub__\n"
        "    def __abs__(self):\n        return LyingFloat(0.0)\n"
        "    __neg__ = __abs__\n"
        "def _lying(solve):\n"
        "    def lying_solve():\n"
        "        result = solve()\n"
        "        if isinstance(result, list | tuple):\n"
        "            return [LyingFloat(value) for value in result]\n"
        "        return LyingFloat(result)\n"
        "    return lying_solve\n"
        "@_lying\n"
    )


def every_cheat(constants: dict[str, float], claimed: float) -> dict[str, str]:
    """Every opening above by name, aimed at an evaluator with the globals ``constants`` (set to what
    makes the honest answer perfect) and the optimum ``claimed``."""
    return {
        **{f"forge_the_result_then_{ending}": forge_the_result(ending) for ending in ENDINGS},
        "patch_the_evaluator": patch_the_evaluator(constants),
        "lying_number": lying_number(claimed),
    }
