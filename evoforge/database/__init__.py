"""The evolutionary database: MAP-Elites grids per island, feature descriptors and parent selection."""

from evoforge.database.archive import AddStatus, Archive
from evoforge.database.features import FeatureReference, check_dimensions, compute_features
from evoforge.database.selection import Selection

__all__ = ["AddStatus", "Archive", "FeatureReference", "Selection", "check_dimensions", "compute_features"]
