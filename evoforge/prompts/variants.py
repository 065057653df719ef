"""Stochastic formatting: alternative phrasings and orders of the prompt, drawn per prompt by weight.

AlphaEvolve varies the wording of its prompts so that the models see the same problem from several
angles. Each *slot* has named alternatives; the first is the default a run uses when the config gives
the slot no weights, so an unconfigured run draws nothing and its prompts stay as they were. The draw
uses the submission's RNG: a seeded run gets the same variants again, another seed others. Templates
see the drawn texts (``role``, ``intent``) and the names (``variant.prior_order`` and so on).
"""

from __future__ import annotations

import random
from collections.abc import Mapping

SLOTS: dict[str, dict[str, str]] = {
    # The first line of the system message.
    "role": {
        "expert": (
            "You are an expert software engineer and researcher improving a program step by step. Each "
            "version is scored by an automatic evaluator; higher scores are better."
        ),
        "scientist": (
            "You are a research scientist who writes excellent code. You are refining a program over many "
            "rounds, and an automatic evaluator scores every version (higher is better)."
        ),
        "concise": "Improve the program below. An automatic evaluator scores each version; higher is better.",
    },
    # What the task asks for, before the operator says how to write it.
    "intent": {
        "idea": "Propose one new idea that improves the score, drawing on expert knowledge of the problem",
        "bottleneck": (
            "Find what limits the score of the current program most and propose one change that removes "
            "that limit"
        ),
        "bold": (
            "Propose one substantial new approach, not a small tuning of constants, that could raise the "
            "score clearly"
        ),
        # For small models: the smallest edit, which they can copy from the format_last example.
        "tweak": "Change one number or one line of the current program so that the score improves",
    },
    # The order of the prior programs: the best first (then the different ones), or by rising score so
    # that the best sits right before the current program (FunSearch's order).
    "prior_order": {"best_first": "", "ascending": ""},
    # How the answer is asked for: an explanation first (the rules in the system message), the code
    # only, or the code only with the answer format repeated last in the user message, right before
    # the model writes, with an example made from a real line of the current program (a rewrite's
    # prompt then ends with the fence opener). Small models follow the most recent text and drift
    # into prose when asked to explain (bench/RESULTS.md, real_model.py).
    "answer": {"explain_first": "", "code_only": "", "format_last": ""},
}

DEFAULT_VARIANT = {slot: next(iter(alternatives)) for slot, alternatives in SLOTS.items()}


def draw_variant(weights: Mapping[str, Mapping[str, float]], rng: random.Random) -> dict[str, str]:
    """The alternative of every slot: drawn by weight where configured (slot order), else the first.

    A slot with one configured alternative draws nothing, so such a config leaves the RNG untouched.
    """
    chosen = {}
    for slot, alternatives in SLOTS.items():
        configured = weights.get(slot)
        if not configured:
            chosen[slot] = next(iter(alternatives))
        elif len(configured) == 1:
            chosen[slot] = next(iter(configured))
        else:
            chosen[slot] = rng.choices(list(configured), weights=list(configured.values()))[0]
    return chosen


def variant_label(variant: Mapping[str, str]) -> str:
    """``role=expert,intent=idea,prior_order=best_first``: what an LLM call records."""
    return ",".join(f"{slot}={name}" for slot, name in variant.items())
