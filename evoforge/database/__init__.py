"""The evolutionary database: MAP-Elites grids per island, features and parent selection."""

from evoforge.database.archive import AddStatus, Archive, Selection
from evoforge.database.features import FeatureReference, compute_features

__all__ = ["AddStatus", "Archive", "FeatureReference", "Selection", "compute_features"]
