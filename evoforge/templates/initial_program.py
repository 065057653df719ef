"""The program evoforge evolves. It must run as it is: evoforge evaluates it first.

Only the code between the EVOLVE-BLOCK-START and EVOLVE-BLOCK-END markers may change; everything
else (imports, helpers, the entry point the evaluator calls) stays exactly as you wrote it. Use the
language's own comment syntax for the markers (# here, // in C, -- in SQL), and as many blocks as
you like.
"""

import math


# EVOLVE-BLOCK-START
def solve():
    """Return the object the evaluator scores. Start simple: evolution does the rest."""
    return [math.sqrt(2), 1.0]


# EVOLVE-BLOCK-END
