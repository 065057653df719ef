"""Provider faults end to end: the breaker, pausing and giving up when all models fail; a run per fault.

Every model call goes over real HTTP to the scripted server; every run evaluates real programs in the sandbox.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from pathlib import Path
from typing import Any

import pytest

import evoforge
from evoforge.config import LLMConfig, ModelConfig
from evoforge.errors import ProviderError
from evoforge.llm import Ensemble
from evoforge.llm.breaker import Breaker, Health
from evoforge.testing.responders import tweak_constants_responder
from evoforge.testing.scripted_server import Fault, ScriptedServer
from evoforge.testing.tasks import evoforge_cli, write_task

MESSAGES = [{"role": "user", "content": "improve this"}]
DOWN = ProviderError("model m at http://x/v1: server error (500)", kind="server_error")


# The breaker as a state machine (times are plain numbers).


def test_breaker_opens_after_consecutive_failures_and_a_success_resets_the_streak() -> None:
    breaker = Breaker(failures=3, cooldown_s=10.0)
    breaker.failed(DOWN, now=0.0)
    breaker.failed(DOWN, now=1.0)
    breaker.succeeded()
    breaker.failed(DOWN, now=2.0)
    breaker.failed(DOWN, now=3.0)
    assert breaker.awake(3.0)
    breaker.failed(DOWN, now=4.0)
    assert not breaker.awake(4.0) and not breaker.awake(13.9)
    assert breaker.awake(14.0) and breaker.last_error is DOWN


def test_after_its_rest_one_probe_decides_rest_again_or_closed() -> None:
    breaker = Breaker(failures=2, cooldown_s=5.0)
    breaker.failed(DOWN, 0.0)
    breaker.failed(DOWN, 0.0)
    assert not breaker.awake(4.9) and breaker.awake(5.0)
    breaker.taken()  # drawn after its rest: this call is the probe, nobody else may ask
    assert breaker.probing and not breaker.awake(5.0)
    breaker.failed(DOWN, 6.0)  # the probe failed: back to rest at once, not after two more failures
    assert not breaker.awake(10.9) and breaker.awake(11.0)
    breaker.taken()
    breaker.succeeded()
    assert breaker.awake(11.0) and breaker.streak == 0 and breaker.last_error is None
    breaker.taken()
    assert not breaker.probing  # a closed breaker lets every call through


def test_health_knows_how_long_every_model_has_been_failing() -> None:
    health = Health([Breaker(1, 10.0), Breaker(1, 20.0)], give_up_after_s=100.0)
    assert health.give_up_at() == float("inf") and health.awake(0.0) == [0, 1]
    health.record(0, DOWN, 1.0)
    assert health.awake(1.0) == [1] and health.give_up_at() == 101.0
    health.record(1, ProviderError("model n at http://y/v1: no answer within 2 s", kind="timeout"), 3.0)
    assert health.awake(3.0) == [] and health.next_wake(3.0) == (0, 11.0)
    assert health.announce(11.0) == logging.WARNING and health.announce(11.0) is None
    assert health.announce(12.0) == logging.DEBUG  # the next rest of the same failing streak
    message = str(health.give_up_error())
    assert message == (
        "every model has failed for 100 s: model m at http://x/v1: server error (500); "
        "model n at http://y/v1: no answer within 2 s"
    )
    assert health.give_up_error().fatal
    health.take(0)  # model 0 is awake at 11 and drawn: its probe is in flight
    assert health.next_wake(12.0) == (1, 23.0)
    health.release(0)  # the probe was cancelled: model 0 may be probed again
    assert health.awake(12.0) == [0]
    health.record(0, None, 12.0)
    assert health.give_up_at() == float("inf") and health.awake(12.0) == [0]


# The ensemble over real HTTP.


def ensemble_config(*urls: str, weights: tuple[float, ...] = (), **llm: Any) -> LLMConfig:
    models = [
        ModelConfig(name=name, base_url=url, weight=weight, timeout=5.0)
        for name, url, weight in zip("abc"[: len(urls)], urls, weights or (1.0,) * len(urls), strict=True)
    ]
    return LLMConfig(models=models, retries=0, **llm)


class Recorder(logging.Handler):
    """Collects one logger's records at every level, whatever the logging setup of other tests."""

    def __init__(self, name: str) -> None:
        super().__init__(logging.DEBUG)
        self.logger = logging.getLogger(name)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def __enter__(self) -> Recorder:
        self.level = self.logger.level
        self.logger.setLevel(logging.DEBUG)
        self.logger.addHandler(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.logger.removeHandler(self)
        self.logger.setLevel(self.level)


async def ask(ensemble: Ensemble, rng: random.Random) -> str:
    """One generation's worth of model use: draw, then call; a failure is returned as its kind."""
    index = await ensemble.choose(rng)
    try:
        return (await ensemble.complete(index, MESSAGES)).text
    except ProviderError as error:
        if error.fatal:
            raise
        return error.kind


async def test_draws_are_restricted_to_awake_models_with_one_rng_draw_each() -> None:
    ensemble = Ensemble(
        ensemble_config(*["http://127.0.0.1:9/v1"] * 3, weights=(5, 1, 2), breaker_failures=1)
    )
    ensemble.health.record(0, DOWN, time.monotonic())
    rng, twin = random.Random(3), random.Random(3)
    picks = [await ensemble.choose(rng) for _ in range(300)]
    assert set(picks) == {1, 2}
    assert picks == [twin.choices([1, 2], weights=[1, 2])[0] for _ in range(300)]
    assert rng.random() == twin.random()
    await ensemble.aclose()


async def test_a_failing_model_rests_and_the_ensemble_uses_the_other() -> None:
    with (
        ScriptedServer(["never"], fault_rate=1.0, fault_kinds=[Fault.SERVER_ERROR]) as down,
        ScriptedServer(["from b"]) as up,
    ):
        ensemble = Ensemble(ensemble_config(down.base_url, up.base_url, breaker_failures=3))
        rng = random.Random(0)
        answers = [await ask(ensemble, rng) for _ in range(60)]
        await ensemble.aclose()
        assert len(down.requests) == 3  # then it rests for the default 30 s
    assert answers.count("server_error") == 3 and answers.count("from b") == 57


async def test_when_every_model_rests_callers_wait_for_one_probe() -> None:
    faults = {0: Fault.SERVER_ERROR, 1: Fault.SERVER_ERROR, 2: Fault.SERVER_ERROR}
    with ScriptedServer(["back"], faults=faults, latency_s=0.05) as server:
        config = ensemble_config(server.base_url, breaker_failures=2, breaker_cooldown_s=0.3)
        ensemble = Ensemble(config)
        rng = random.Random(0)
        assert [await ask(ensemble, rng), await ask(ensemble, rng)] == ["server_error"] * 2
        with Recorder("evoforge.llm.ensemble") as recorder:
            # Four callers wait; one probes after the rest (500: rest again), one probes again: "back".
            answers = await asyncio.gather(*(ask(ensemble, rng) for _ in range(4)))
        await ensemble.aclose()
        arrivals = server.arrivals
    assert sorted(answers) == ["back", "back", "back", "server_error"]
    assert len(arrivals) == 6  # two failures, two single probes, then the closed breaker lets two through
    assert arrivals[2] - arrivals[1] >= 0.3 and arrivals[3] - arrivals[2] >= 0.3  # each probe after a rest
    pauses = [r for r in recorder.records if "all models are failing" in r.getMessage()]
    assert [r.levelno for r in pauses] == [logging.WARNING, logging.DEBUG]  # once per rest, not per caller
    assert pauses[0].getMessage().startswith("all models are failing; pausing until a retries in 0.")


async def test_models_failing_past_give_up_after_s_raise_one_fatal_line() -> None:
    with ScriptedServer(["never"], fault_rate=1.0, fault_kinds=[Fault.SERVER_ERROR]) as server:
        config = ensemble_config(
            server.base_url, breaker_failures=2, breaker_cooldown_s=0.2, give_up_after_s=0.7
        )
        ensemble = Ensemble(config)
        rng = random.Random(0)
        with pytest.raises(ProviderError) as raised:
            while True:
                await ask(ensemble, rng)
        await ensemble.aclose()
        requests = len(server.requests)
    error = raised.value
    assert error.fatal and error.kind == "all_failing"
    assert str(error) == f"every model has failed for 0.7 s: model a at {server.base_url}: server error (500)"
    assert 3 <= requests <= 6  # two failures, then one probe per 0.2 s rest


# Whole runs, one per fault kind of the scripted server.

NON_FATAL = {
    Fault.RATE_LIMIT: "rate_limit",
    Fault.SERVER_ERROR: "server_error",
    Fault.HANG: "timeout",
    Fault.DISCONNECT: "connection",
    Fault.TRUNCATED_JSON: "bad_response",
    Fault.HTML: "bad_response",
    Fault.NOT_UTF8: "bad_response",
    Fault.EMPTY_CONTENT: "empty_content",
    Fault.NULL_CONTENT: "empty_content",
    Fault.EMPTY_CHOICES: "bad_response",
    Fault.GARBAGE: "no_edit",
}
FATAL = {Fault.UNAUTHORIZED: "auth", Fault.FORBIDDEN: "auth", Fault.UNKNOWN_MODEL: "unknown_model"}
ITERATIONS = 6


def test_every_fault_kind_is_covered() -> None:
    assert set(NON_FATAL) | set(FATAL) == set(Fault)


def evolve(
    task: Path, run_dir: Path, server: ScriptedServer, timeout: float = 0.5, **llm: Any
) -> evoforge.RunResult:
    settings = {"retries": 0, "max_inflight": 1, "breaker_cooldown_s": 0.2, **llm}
    return evoforge.evolve(
        task,
        run_dir=run_dir,
        iterations=ITERATIONS,
        evaluation__parallel=1,
        llm__models=[{"name": "scripted", "base_url": server.base_url, "timeout": timeout}],
        **{f"llm__{key}": value for key, value in settings.items()},
    )


@pytest.mark.parametrize("fault", list(NON_FATAL), ids=lambda fault: fault.value)
def test_a_run_with_provider_faults_reaches_its_target(tmp_path: Path, fault: Fault) -> None:
    task = write_task(tmp_path)
    responder = tweak_constants_responder(seed=4)
    with ScriptedServer(
        responder, faults={0: fault}, fault_rate=0.3, fault_kinds=[fault], seed=5, retry_after_s=0.01
    ) as server:
        result = evolve(task, tmp_path / "run", server, timeout=0.5 if fault is Fault.HANG else 10.0)
        faulted = server.counts[fault.value]
    assert result.evaluated == ITERATIONS
    with evoforge.load_run(tmp_path / "run") as run:
        failures = run.status()["failures_by_kind"]
    assert failures[NON_FATAL[fault]] >= 1
    if fault is not Fault.HANG:  # on a loaded machine an ordinary answer may take longer than 0.5 s too
        assert failures[NON_FATAL[fault]] <= faulted  # a faulted call in flight at the end is cancelled


@pytest.mark.parametrize("fault", list(FATAL), ids=lambda fault: fault.value)
def test_an_unusable_provider_stops_the_run_with_one_line(tmp_path: Path, fault: Fault) -> None:
    task = write_task(tmp_path)
    with ScriptedServer(["never"], faults={0: fault}) as server:
        with pytest.raises(ProviderError) as raised:
            evolve(task, tmp_path / "run", server, retries=3)
        assert len(server.requests) <= 2  # the next generation may have started; retries would make 4
    assert raised.value.fatal and raised.value.kind == FATAL[fault]
    assert "\n" not in str(raised.value)


ALL_DOWN = {"breaker_failures": 2, "breaker_cooldown_s": 0.2, "give_up_after_s": 1.5, "max_inflight": 4}


@pytest.mark.parametrize("fault", [Fault.SERVER_ERROR, Fault.HANG], ids=lambda fault: fault.value)
def test_a_run_whose_models_are_all_down_gives_up_cleanly(tmp_path: Path, fault: Fault) -> None:
    task = write_task(tmp_path)
    with (
        ScriptedServer(["never"], fault_rate=1.0, fault_kinds=[fault]) as server,
        pytest.raises(ProviderError) as raised,
    ):
        evolve(task, tmp_path / "run", server, **ALL_DOWN)
    assert str(raised.value).startswith(
        f"every model has failed for 1.5 s: model scripted at {server.base_url}"
    )
    assert raised.value.fatal and "\n" not in str(raised.value)
    with evoforge.load_run(tmp_path / "run") as run:
        status = run.status()
    assert status["evaluated"] == 1 and status["running"] is False
    assert status["failures_by_kind"][NON_FATAL[fault]] >= 2


def test_the_cli_stops_with_one_line_and_exit_code_2_when_every_model_is_down(tmp_path: Path) -> None:
    task = write_task(tmp_path)
    sets = [f"llm.{key}={value}" for key, value in {**ALL_DOWN, "retries": 0}.items()]
    with ScriptedServer(["never"], fault_rate=1.0, fault_kinds=[Fault.SERVER_ERROR]) as server:
        result = evoforge_cli(
            "run", str(task), "--model", "m", "--base-url", server.base_url,
            "--run-dir", str(tmp_path / "r"), *(arg for s in sets for arg in ("--set", s)),
            timeout=60,
        )  # fmt: skip
    lines = result.stderr.splitlines()
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert lines[-1].startswith("evoforge: every model has failed for 1.5 s: model m at http://127.0.0.1:")
    assert lines[-1].endswith("server error (500)")
    assert any("all models are failing; pausing until m retries in" in line for line in lines)
    assert any("stopped: a fatal model error (below); 1 evaluated" in line for line in lines)
    assert (tmp_path / "r" / "best_program.py").is_file()  # what the run found is kept
