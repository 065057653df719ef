"""One thread per process for the numeric libraries, in evoforge's processes as in its evaluations.

Evaluations already run in parallel, one per core, so a math library's worker threads only compete
with them: OpenBLAS spins its threads between calls, and on a busy machine one 42 x 42 eigen-
decomposition (tune's CMA-ES, once per generation) took 12 ms with its threads instead of 0.5 ms.
The variables are read when the library loads, so they must be set before numpy is first imported.
"""

from __future__ import annotations

from collections.abc import MutableMapping

SINGLE_THREAD_MATH = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def single_threaded_math(environ: MutableMapping[str, str]) -> None:
    """One thread for each math library, unless ``environ`` already says how many."""
    for name in SINGLE_THREAD_MATH:
        environ.setdefault(name, "1")
