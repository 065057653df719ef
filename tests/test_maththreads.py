"""The CLI gives the math libraries of its own process one thread, as the sandbox gives evaluations."""

from __future__ import annotations

import os

import pytest

from evoforge.cli import main
from evoforge.maththreads import SINGLE_THREAD_MATH


def test_the_cli_sets_one_math_thread_unless_the_user_chose(monkeypatch: pytest.MonkeyPatch) -> None:
    environ = {key: value for key, value in os.environ.items() if key not in SINGLE_THREAD_MATH}
    environ["OMP_NUM_THREADS"] = "3"  # the user's choice stands
    monkeypatch.setattr(os, "environ", environ)
    main(["--help"])
    assert {name: environ.get(name) for name in SINGLE_THREAD_MATH} == {
        "OMP_NUM_THREADS": "3",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
