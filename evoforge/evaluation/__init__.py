"""Evaluation of candidates: the evaluator contract and the sandbox that runs it."""

from evoforge.evaluation.sandbox import Sandbox

__all__ = ["Sandbox"]
