"""Online bin packing: the priority function that decides which bin receives each arriving item.

priority(item, bins) gets the item's size and a numpy array of the remaining capacities of the bins it
fits in (the last one an empty bin of capacity 100, standing for a new bin) and returns one priority per
bin; the item goes to the highest. This starting point is best fit (the tightest bin wins).
"""

import numpy as np


# EVOLVE-BLOCK-START
def priority(item: float, bins: np.ndarray) -> np.ndarray:
    """Best fit: prefer the bin that the item leaves with the least room."""
    return -(bins - item)


# EVOLVE-BLOCK-END
