"""The program evoforge evolves: a complete program that runs as it is.

evoforge evaluates this file first (a run does not start if it fails), then asks language models
for edits. Only the code between the EVOLVE-BLOCK-START and EVOLVE-BLOCK-END marker lines may
change; everything else (imports, helpers, the entry point your evaluator calls) stays exactly as
you wrote it, so put fixed scaffolding outside the block and the part worth improving inside.

- The markers are comments in the program's own language: `# EVOLVE-BLOCK-START` here,
  `// EVOLVE-BLOCK-START` in C, `-- EVOLVE-BLOCK-START` in SQL or Lua.
- A file may hold several blocks; they must not nest.
- The models see the whole file, this docstring and every comment included: say here what the
  code is for if it helps them.
- Start simple (a trivial or random answer). Evolution does the rest, and a weak start shows how
  far it got.
"""

# Outside the block: fixed. Code in the block may use these imports, but not change them.
import math


# EVOLVE-BLOCK-START
def solve():
    """Return the object the evaluator scores: here a list of two numbers."""
    return [math.sqrt(2), 1.0]


# EVOLVE-BLOCK-END
