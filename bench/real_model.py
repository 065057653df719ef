"""How often a real small model's answers become applicable edits: SmolLM2-135M under llama.cpp.

    python bench/real_model.py [--calls 30] [--modes diff,rewrite,crossover] [--repair N] [--keep DIR]
                               [--variants JSON] [--max-tokens N] [--base-url URL]
    python bench/real_model.py --reparse DIR [--baseline OLD_EDITS_PY]   # kept answers, parsed again

A live run starts llama.cpp's server (evoforge/testing/llama_server.py; needs evoforge[real-llm]) and,
per edit mode, runs evoforge on a toy task until ``--calls`` model calls were made, with every prompt
variant slot drawn at random. It prints, per mode and per prompt variant, the share of answers that
parsed into an edit that applied (the child was evaluated), the failure kinds, and tokens per second.

``--variants`` fixes the weights of some slots (e.g. the small-local-model preset's ``intent`` and
``answer``, docs/ablations.md); the others are drawn at random. ``--repair N`` turns repair on
(``repair.max_attempts``) and reports how often a follow-up made a child and how often that child
evaluated ok; the parse rates then count first answers only.

``--reparse`` reads the answers stored by earlier runs and parses and applies them again with the
parser of the checkout, against the same parent programs: the parser's own gain on the same answers,
free of the model's randomness; ``--baseline`` names an older ``edits.py`` (from ``git show
REV:evoforge/edits.py``) to parse them with as well. bench/RESULTS.md compares the parsers this way.
An answer counts as complete (ended on its own, not at the token limit) when it used fewer tokens than
``--max-tokens``: give the value the runs had.

``evaluated_ok`` counts the children of a live run that evaluated without an error. ``copied_example``
counts diff answers that are the ``format_last`` prompt's example copied as it
stands (a real edit, but the prompt's, not the model's idea).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import inspect
import json
import sqlite3
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evoforge import evolve
from evoforge.edits import apply_edit, parse_response
from evoforge.errors import EditError
from evoforge.fences import ends_with_fence_opener
from evoforge.prompts.example import edit_example
from evoforge.prompts.variants import SLOTS
from evoforge.testing.llama_server import LlamaServer, missing

PROGRAM = '''"""Approximate pi: the score is minus the error of the estimate."""


# EVOLVE-BLOCK-START
def estimate_pi():
    terms = 10
    total = 0.0
    for k in range(terms):
        total += (-1) ** k / (2 * k + 1)
    return 4 * total
# EVOLVE-BLOCK-END
'''
EVALUATOR = """import importlib.util
import math


def evaluate(program_path):
    spec = importlib.util.spec_from_file_location("candidate", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    value = float(module.estimate_pi())
    return {"combined_score": -abs(value - math.pi)}
"""
EDIT_KINDS = ("diff", "rewrite", "crossover")
MODEL_OPERATORS = frozenset(EDIT_KINDS)  # repair and judge calls are not answers to a mutation prompt


def write_task(root: Path) -> Path:
    task = root / "pi"
    task.mkdir(parents=True)
    (task / "initial_program.py").write_text(PROGRAM)
    (task / "evaluator.py").write_text(EVALUATOR)
    return task


def run_mode(
    task: Path,
    run_dir: Path,
    base_url: str,
    mode: str,
    calls: int,
    seed: int,
    repair: int = 0,
    max_tokens: int = 512,
    variants: dict[str, dict[str, float]] | None = None,
) -> float:
    """One run of ``calls`` model calls with operator ``mode``; its wall time in seconds."""
    config = {
        "repair": {"max_attempts": repair},
        "seed": seed,
        "iterations": 10 * calls,  # the call cap ends the run, not the iterations
        "max_llm_calls": calls,
        "evaluation": {"timeout_s": 20, "parallel": 1},
        "llm": {
            "models": [{"name": "smollm2", "base_url": base_url, "max_tokens": max_tokens, "timeout": 1200}],
            "max_inflight": 1,
            "retries": 1,
        },
        "prompt": {
            "operators": {mode: 1.0},
            "variants": {
                slot: (variants or {}).get(slot) or dict.fromkeys(alternatives, 1.0)
                for slot, alternatives in SLOTS.items()
            },
        },
        "database": {"num_islands": 1},
        # A crossover needs a second program to combine with; a small model's children rarely evaluate,
        # so the offline tune mutator makes some (its children make no model calls).
        "mutators": {"llm": 0.7, "tune": 0.3} if mode == "crossover" else None,
    }
    started = time.monotonic()
    evolve(task, run_dir=run_dir, config=config)
    return time.monotonic() - started


def answers(run_dir: Path) -> list[dict[str, Any]]:
    """Each mutation call of a run: operator, variant, answer, tokens, latency, its parent's code and
    what became of it (``applied``, or the failure kind and reason; ``repaired_later`` when a repair
    follow-up made the generation's outcome, whose parent is then the parent of this answer too)."""
    db = sqlite3.connect(f"file:{run_dir / 'evoforge.db'}?mode=ro", uri=True)
    rows = db.execute(
        """
        SELECT c.operator, c.variant, c.response, c.completion_tokens, c.latency_s, c.error,
               COALESCE(p.parent_id, f.parent_id,
                        (SELECT parent_id FROM programs WHERE submission = c.submission),
                        (SELECT parent_id FROM failed_generations WHERE submission = c.submission)),
               f.kind, f.reason, p.id, c.messages, p.ok
        FROM llm_calls AS c
        LEFT JOIN programs AS p ON p.llm_call_id = c.id
        LEFT JOIN failed_generations AS f ON f.llm_call_id = c.id
        ORDER BY c.id
        """
    ).fetchall()
    codes = dict(db.execute("SELECT id, code FROM programs"))
    db.close()
    found = []
    for (
        operator,
        variant,
        response,
        tokens,
        latency,
        error,
        parent,
        kind,
        reason,
        program,
        messages,
        ok,
    ) in rows:
        if operator not in MODEL_OPERATORS:
            continue
        outcome = "applied" if program is not None else kind or ("call_failed" if error else "repaired_later")
        found.append(
            {"operator": operator, "variant": variant, "response": response, "tokens": tokens,
             "latency_s": latency, "parent_code": codes.get(parent), "outcome": outcome,
             "reason": reason or "", "opened": ends_with_fence_opener(json.loads(messages)[-1]["content"]),
             "ok": bool(ok)}
        )  # fmt: skip
    return found


def copied_example(answer: dict[str, Any]) -> bool:
    """Whether a diff answer holds the format_last example of its parent as it stands."""
    example = edit_example(answer["parent_code"] or "")
    if answer["response"] is None or example is None or not example.changed:
        return False
    return f"{example.line}\n=======\n{example.changed}\n" in answer["response"].replace("\r\n", "\n")


def repairs(run_dir: Path) -> dict[str, int]:
    """Repair follow-ups asked, the children they made, and how many of those evaluated ok."""
    db = sqlite3.connect(f"file:{run_dir / 'evoforge.db'}?mode=ro", uri=True)
    asked = db.execute("SELECT COUNT(*) FROM llm_calls WHERE operator = 'repair'").fetchone()[0]
    children, valid = db.execute(
        "SELECT COUNT(*), COALESCE(SUM(ok), 0) FROM programs WHERE repaired = 1"
    ).fetchone()
    db.close()
    return {"asked": asked, "children": children, "valid": valid}


Parser = tuple[Callable[..., Any], Callable[..., Any]]  # parse_response, apply_edit


def load_parser(path: Path) -> Parser:
    """``parse_response`` and ``apply_edit`` of another version of evoforge/edits.py."""
    spec = importlib.util.spec_from_file_location("baseline_edits", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.parse_response, module.apply_edit


def reparsed(answer: dict[str, Any], max_tokens: int, parser: Parser = (parse_response, apply_edit)) -> str:
    """What a parser makes of a stored answer: ``applied``, ``no_edit`` or ``edit_rejected``."""
    if answer["response"] is None or answer["parent_code"] is None:
        return answer["outcome"]
    parse, apply = parser
    mode = "diff" if answer["operator"] == "diff" else "rewrite"
    hints = {"opened": answer["opened"], "complete": answer["tokens"] < max_tokens}
    known = inspect.signature(parse).parameters  # an older parser takes fewer hints
    edit = parse(answer["response"], mode, **{name: hint for name, hint in hints.items() if name in known})
    if edit is None:
        return "no_edit"
    try:
        apply(answer["parent_code"], edit)
    except EditError:
        return "edit_rejected"
    return "applied"


def share(outcomes: list[str]) -> str:
    """``applied/total (percent)``, counting a duplicate child as applied: its edit parsed and applied."""
    good = sum(outcome in ("applied", "duplicate") for outcome in outcomes)
    return f"{good}/{len(outcomes)} ({100 * good / max(len(outcomes), 1):.0f} %)"


def report(found: list[dict[str, Any]], outcome_key: str) -> dict[str, Any]:
    """Parse rates per operator and per variant alternative, failure kinds, tokens per second."""
    by_operator: dict[str, list[str]] = defaultdict(list)
    by_variant: dict[str, list[str]] = defaultdict(list)
    for answer in found:
        by_operator[answer["operator"]].append(answer[outcome_key])
        for part in filter(None, answer["variant"].split(",")):
            by_variant[part].append(answer[outcome_key])
    tokens = sum(answer["tokens"] for answer in found)
    seconds = sum(answer["latency_s"] for answer in found)
    return {
        "answers": len(found),
        "applicable": {operator: share(outcomes) for operator, outcomes in sorted(by_operator.items())},
        "by_variant": {part: share(outcomes) for part, outcomes in sorted(by_variant.items())},
        "outcomes": dict(Counter(answer[outcome_key] for answer in found).most_common()),
        "copied_example": sum(copied_example(answer) for answer in found),
        "evaluated_ok": sum(answer["ok"] for answer in found),  # of the children the run made
        "completion_tokens_per_s": round(tokens / seconds, 1) if seconds else None,
    }


def rejection_reasons(found: list[dict[str, Any]], top: int = 8) -> dict[str, int]:
    """The most common rejection messages, with the quoted SEARCH text cut out so that they group."""
    reasons = Counter()
    for answer in found:
        if answer["outcome"] in ("edit_rejected", "no_edit"):
            reasons[answer["reason"].split("'")[0] + "…" + answer["reason"].rsplit("'", 1)[-1]] += 1
    return dict(reasons.most_common(top))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=30, help="model calls per edit mode")
    parser.add_argument("--modes", default=",".join(EDIT_KINDS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-tokens", type=int, default=512, help="the model's max_tokens")
    parser.add_argument("--base-url", help="a model server already running (else llama.cpp is started)")
    parser.add_argument("--repair", type=int, default=0, help="repair.max_attempts (default 0: off)")
    parser.add_argument(
        "--variants",
        type=json.loads,
        help='JSON weights of some slots, e.g. \'{"answer": {"format_last": 1}}\' (the others: all drawn)',
    )
    parser.add_argument("--keep", type=Path, help="keep the runs in this directory (for --reparse later)")
    parser.add_argument("--reparse", type=Path, help="re-parse the answers of the runs kept in a directory")
    parser.add_argument("--baseline", type=Path, help="with --reparse: an older edits.py to compare with")
    args = parser.parse_args()
    if args.reparse is not None:
        found = [a for run in sorted(args.reparse.glob("run-*")) for a in answers(run)]
        results = {"stored": report(found, "outcome")}
        if args.baseline is not None:
            baseline = load_parser(args.baseline)
            for answer in found:
                answer["baseline"] = reparsed(answer, args.max_tokens, baseline)
            results["baseline_parser"] = report(found, "baseline")
        for answer in found:
            answer["now"] = reparsed(answer, args.max_tokens)
        results["parser_now"] = report(found, "now")
        print(json.dumps(results, indent=2))
        return
    root = args.keep or Path(tempfile.mkdtemp(prefix="evoforge-real-model-"))
    root.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        base_url = args.base_url
        if base_url is None:
            why = missing()
            if why is not None:
                sys.exit(f"bench/real_model.py: {why}")
            base_url = stack.enter_context(LlamaServer()).base_url
        results = {}
        for mode in args.modes.split(","):
            task = write_task(root / f"task-{mode}")
            run_dir = root / f"run-{mode}"
            seconds = run_mode(
                task,
                run_dir,
                base_url,
                mode,
                args.calls,
                args.seed,
                args.repair,
                args.max_tokens,
                args.variants,
            )
            found = answers(run_dir)
            results[mode] = {**report(found, "outcome"), "wall_s": round(seconds, 1),
                             "rejections": rejection_reasons(found), "repairs": repairs(run_dir)}  # fmt: skip
    print(json.dumps({"runs": str(root), "results": results}, indent=2))


if __name__ == "__main__":
    main()
