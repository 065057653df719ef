"""Prices, the cost of each model call, and the spending caps that stop a run cleanly."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

import pytest

import evoforge
from evoforge.budgets import Spending
from evoforge.llm.pricing import approximate_price, price_of
from evoforge.llm.settings import ModelConfig
from evoforge.storage import DB_FILENAME
from evoforge.testing.responders import tweak_constants_responder
from evoforge.testing.scripted_server import ScriptedServer
from evoforge.testing.tasks import evoforge_cli, write_task

PRICE_IN, PRICE_OUT = 20.0, 60.0  # USD per million tokens: a scripted call costs about a cent


def test_the_table_matches_the_longest_prefix_and_ignores_a_provider_prefix() -> None:
    assert approximate_price("gpt-4o-mini-2024-07-18") == approximate_price("gpt-4o-mini")
    assert approximate_price("gpt-4o-2024-08-06") != approximate_price("gpt-4o-mini")
    assert approximate_price("openai/gpt-4o") == approximate_price("gpt-4o")
    assert approximate_price("my-local-model") is None


def test_a_configured_price_beats_the_table_and_an_unknown_model_is_free_said_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    priced = price_of(ModelConfig(name="gpt-4o", price_out_per_mtok=1.0))
    assert priced.output_per_mtok == 1.0 and priced.input_per_mtok == approximate_price("gpt-4o")[0]  # type: ignore[index]
    assert priced.cost(1_000_000, 2_000_000) == pytest.approx(approximate_price("gpt-4o")[0] + 2.0)  # type: ignore[index]
    with caplog.at_level(logging.INFO, logger="evoforge.llm.pricing"):
        assert price_of(ModelConfig(name="unpriced-test-model")).cost(10**6, 10**6) == 0.0
        price_of(ModelConfig(name="unpriced-test-model"))
    assert sum("unpriced-test-model" in record.message for record in caplog.records) == 1


def test_a_call_beside_those_in_flight_must_fit_under_each_cap() -> None:
    spending = Spending(max_cost_usd=1.0, first_call_usd=0.3)
    assert spending.exhausted(inflight=2) is None  # 3 x 0.3 (no call counted yet) fits
    assert spending.exhausted(inflight=3) is not None
    spending.add(0.1, 100)  # now the mean of the calls made: 0.1
    assert spending.exhausted(inflight=8) is None and spending.exhausted(inflight=9) is not None
    calls = Spending(max_llm_calls=3, calls=1)
    assert calls.exhausted(inflight=1) is None and calls.exhausted(inflight=2) is not None


def priced_config(server: ScriptedServer, caps: str) -> str:
    model = f"{{name: scripted, base_url: '{server.base_url}', max_tokens: 300, "
    model += f"price_in_per_mtok: {PRICE_IN}, price_out_per_mtok: {PRICE_OUT}}}"
    return (
        f"evaluation:\n  timeout_s: 20\n  parallel: 2\nllm:\n  max_inflight: 4\n  models: [{model}]\n{caps}"
    )


def call_costs(run_dir: Path) -> list[float]:
    db = sqlite3.connect(f"{(run_dir / DB_FILENAME).as_uri()}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT prompt_tokens, completion_tokens, cost_usd FROM llm_calls ORDER BY id")
        costs = []
        for prompt, completion, cost in rows:
            assert cost == pytest.approx((prompt * PRICE_IN + completion * PRICE_OUT) / 1e6)
            costs.append(cost)
        return costs
    finally:
        db.close()


def test_a_cost_cap_stops_the_run_within_one_call_of_it_and_resume_honours_it(tmp_path: Path) -> None:
    cap = 0.15
    with ScriptedServer(tweak_constants_responder(seed=1)) as server:
        task = write_task(tmp_path, priced_config(server, f"max_cost_usd: {cap}\n"))
        run_dir = tmp_path / "run"
        result = evoforge.evolve(task, run_dir=run_dir, iterations=200)
        costs = call_costs(run_dir)
        assert "cost limit" in result.stop_reason
        assert cap - max(costs) <= sum(costs) <= cap + max(costs)
        with evoforge.load_run(run_dir) as run:
            status = run.status()
        assert status["cancelled"] == 0  # the calls in flight were finished, not cut off
        assert status["cost_usd"] == pytest.approx(sum(costs), abs=1e-6)
        assert status["models"]["scripted"]["calls"] == len(costs)

        resumed = evoforge_cli("resume", str(run_dir), "--iterations", "300")
        assert resumed.returncode == 0, resumed.stderr
        assert sum(call_costs(run_dir)) <= cap + max(costs)  # what it spent before still counts
    shown = json.loads(evoforge_cli("status", str(run_dir), "--json").stdout)
    assert shown["models"]["scripted"]["cost_usd"] == pytest.approx(sum(call_costs(run_dir)), abs=1e-6)


@pytest.mark.parametrize(
    ("caps", "reason"), [("max_llm_calls: 7\n", "model calls"), ("max_tokens: 4000\n", "token")]
)
def test_call_and_token_caps(tmp_path: Path, caps: str, reason: str) -> None:
    with ScriptedServer(tweak_constants_responder(seed=1)) as server:
        task = write_task(tmp_path, priced_config(server, caps))
        result = evoforge.evolve(task, run_dir=tmp_path / "run", iterations=200)
    assert reason in result.stop_reason
    with evoforge.load_run(tmp_path / "run") as run:
        status = run.status()
    calls = status["models"]["scripted"]["calls"]
    if reason == "model calls":
        assert calls == 7
    else:
        tokens = status["prompt_tokens"] + status["completion_tokens"]
        # The calls in flight when the cap is crossed (up to llm.max_inflight: 4) are finished, not cut off.
        assert 4000 - 2 * tokens / calls <= tokens <= 4000 + 4 * tokens / calls
