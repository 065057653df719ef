"""The bin-packing evaluator packs with the candidate's priorities in its own process and checks them."""

from __future__ import annotations

import bisect
import math
from pathlib import Path

import pytest

from evoforge.verify import InvalidObject
from tests.examples.helpers import Example

EXAMPLE = Example("bin_packing_online")
verifier = EXAMPLE.verifier
make_instance = verifier.make_instance
SMALL = [make_instance(seed, 300) for seed in (10, 11)]
BEST_FIT = "def priority(item, bins):\n    return -(bins - item)\n"


def best_fit_bins(items: list[int]) -> int:
    """Best fit written independently: the fullest bin that still holds the item, else a new bin."""
    room: list[int] = []  # sorted remaining capacities; equal capacities are interchangeable
    bins = 0
    for item in items:
        at = bisect.bisect_left(room, item)
        if at == len(room):
            bins += 1
            bisect.insort(room, 100 - item)
        else:
            bisect.insort(room, room.pop(at) - item)
    return bins


def candidate(tmp_path: Path, body: str) -> str:
    path = tmp_path / "candidate.py"
    path.write_text("import numpy as np\n" + body)
    return str(path)


def test_instances_are_fixed_integer_weibull_samples() -> None:
    items = make_instance(0, 5000)
    assert items == make_instance(0, 5000) != make_instance(1, 5000)
    assert all(type(x) is int and 1 <= x <= 100 for x in items)
    assert 39 < sum(items) / len(items) < 41  # Weibull(3, 45) has mean 45·Γ(4/3) ≈ 40.2


def test_best_fit_packs_exactly_as_an_independent_best_fit(tmp_path: Path) -> None:
    results = verifier.pack_instances(candidate(tmp_path, BEST_FIT), SMALL)
    for items, (bins, bound, excess) in zip(SMALL, results, strict=True):
        assert bins == best_fit_bins(items)
        assert bound == math.ceil(sum(items) / 100) and excess == (bins - bound) / bound


def test_new_bin_every_time_uses_one_bin_per_item(tmp_path: Path) -> None:
    newest = "def priority(item, bins):\n    return np.arange(len(bins))\n"
    results = verifier.pack_instances(candidate(tmp_path, newest), SMALL)
    assert [bins for bins, _, _ in results] == [len(items) for items in SMALL]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("def priority(item, bins):\n    return bins * np.nan\n", "returned a NaN or infinite value"),
        ("def priority(item, bins):\n    return np.full(len(bins), np.inf)\n", "a NaN or infinite value"),
        ("def priority(item, bins):\n    return [1.0, 2.0, 3.0]\n", r"returned 3 values for 1 bins"),
        ("def priority(item, bins):\n    return np.append(bins, 1.0)\n", r"returned 2 values for 1 bins"),
    ],
)
def test_bad_priorities_are_rejected_with_the_reason(tmp_path: Path, body: str, reason: str) -> None:
    with pytest.raises(InvalidObject, match=reason):
        verifier.pack_instances(candidate(tmp_path, body), SMALL)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("def priority(item, bins):\n    raise ValueError('no idea')\n", "ValueError: no idea"),
        ("raise SystemExit(3)\n", "exit code 3"),
        ("def priority(item, bins):\n    return ['high'] * len(bins)\n", "could not convert string to float"),
    ],
)
def test_a_crashing_candidate_fails_with_its_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, error: str
) -> None:
    with pytest.raises(RuntimeError, match=f"the candidate failed: .*{error}"):
        verifier.pack_instances(candidate(tmp_path, body), SMALL)


def test_the_candidates_traceback_is_passed_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = "def priority(item, bins):\n    print('thinking')\n    raise ValueError('no idea')\n"
    with pytest.raises(RuntimeError):
        verifier.pack_instances(candidate(tmp_path, body), SMALL)
    forwarded = capsys.readouterr()
    assert "thinking" in forwarded.out and "raise ValueError" in forwarded.err


def test_a_candidate_cannot_claim_a_score_or_touch_the_packing(tmp_path: Path) -> None:
    # It prints a fake answer on every call and patches whatever it can reach in its own process;
    # the placements, capacities and counts stay in the evaluator.
    body = (
        "import struct, sys\n"
        "for module in list(sys.modules.values()):\n"
        "    if hasattr(module, 'pack'):\n"
        "        module.pack = lambda items, ask: 1\n"
        "def l1_bound(items):\n    return 10**9\n"
        "def priority(item, bins):\n"
        "    sys.stdout.write(str(struct.pack('<i', len(bins))) + 'combined_score: 0.0\\n')\n"
        "    return -(bins - item)\n"
    )
    results = verifier.pack_instances(candidate(tmp_path, body), SMALL)
    assert [bins for bins, _, _ in results] == [best_fit_bins(items) for items in SMALL]


def test_initial_program_is_best_fit_on_the_fixed_instances() -> None:
    metrics = EXAMPLE.run_initial()
    instances = [make_instance(seed, verifier.ITEMS) for seed in verifier.SEEDS]
    bounds = [math.ceil(sum(items) / 100) for items in instances]
    excesses = [
        (best_fit_bins(items) - bound) / bound for items, bound in zip(instances, bounds, strict=True)
    ]
    assert metrics["combined_score"] == -math.fsum(excesses) / len(excesses)
    assert metrics["valid"] == 1.0 and 0 < metrics["holdout_excess_percent"] < 10
