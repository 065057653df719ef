"""Mutators propose children; they share one ask/tell interface so a run can mix them."""

from evoforge.mutators.base import Feedback, Mutator, Proposal, ProposalRequest

__all__ = ["Feedback", "Mutator", "Proposal", "ProposalRequest"]
