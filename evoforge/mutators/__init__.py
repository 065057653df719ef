"""Mutators propose children; they share one interface so a run can mix them."""

from evoforge.mutators.base import Mutator, Proposal, ProposalRequest

__all__ = ["Mutator", "Proposal", "ProposalRequest"]
