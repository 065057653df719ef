"""What `evoforge run` says about its models, through the real command line: a model that only answers prose
ends the run with one line and exit 2, a model that does not answer is named while the run waits on it, and an
empty base_url is refused wherever it is written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from evoforge.testing.responders import tweak_constants_responder
from evoforge.testing.scripted_server import Fault, ScriptedServer
from evoforge.testing.tasks import evoforge_cli, write_task


def sets(**settings: object) -> list[str]:
    return [arg for key, value in settings.items() for arg in ("--set", f"llm.{key}={value}")]


def test_a_model_that_only_answers_prose_ends_the_run_with_one_line_and_exit_2(tmp_path: Path) -> None:
    task = write_task(tmp_path)
    with ScriptedServer(["unused"], fault_rate=1.0, fault_kinds=[Fault.GARBAGE]) as server:
        result = evoforge_cli(
            "run", str(task), "--model", "m", "--base-url", server.base_url, "--run-dir", str(tmp_path / "r"),
            "--iterations", "5", *sets(max_inflight=8, retries=0),
        )  # fmt: skip
    lines = result.stderr.splitlines()
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert re.fullmatch(
        r"evoforge: \d{3} generations in a row produced no program to evaluate \(no_edit \d{3}\): "
        r"the model's answers hold no SEARCH/REPLACE block \(or code, in rewrite mode\): "
        r"is it a chat model that follows instructions\?",
        lines[-1],
    )
    assert (tmp_path / "r" / "best_program.py").is_file()  # the stop itself is clean


def test_a_model_that_does_not_answer_is_named_while_the_run_waits(tmp_path: Path) -> None:
    task = write_task(tmp_path)
    with ScriptedServer(tweak_constants_responder(seed=1), faults={0: Fault.HANG}) as server:
        model = {"name": "slow", "base_url": server.base_url, "timeout": 3}
        result = evoforge_cli(
            "run", str(task), "--run-dir", str(tmp_path / "r"), "--iterations", "2",
            *sets(models=json.dumps([model]), max_inflight=1, retries=0, waiting_notice_s=0.5),
        )  # fmt: skip
    notices = [line for line in result.stderr.splitlines() if "waiting on model" in line]
    assert result.returncode == 0, result.stderr
    assert notices and all(
        re.search(
            r"waiting on model slow: 1 call in flight, no answer for \d+\.\d s \(its timeout is 3 s\)$", n
        )
        for n in notices
    )


@pytest.mark.parametrize("where", ["--base-url", "--set", "config.yaml"])
def test_an_empty_base_url_is_refused_in_one_line(tmp_path: Path, where: str) -> None:
    task = write_task(
        tmp_path, "llm:\n  models:\n    - {name: m, base_url: ''}\n" if where == "config.yaml" else ""
    )
    args = {
        "--base-url": ["--model", "m", "--base-url", ""],
        "--set": sets(models='[{name: m, base_url: ""}]'),
        "config.yaml": [],
    }[where]
    result = evoforge_cli("run", str(task), "--run-dir", str(tmp_path / "r"), *args)
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1
    expected = "--base-url is empty" if where == "--base-url" else "llm.models.0.base_url: is empty"
    assert expected in result.stderr and not (tmp_path / "r").exists()
