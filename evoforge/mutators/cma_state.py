"""A CMA-ES optimizer's state as plain JSON, and the optimizer rebuilt from it.

tune keeps one CMA-ES run going across a resume, so its optimizer is saved in the run's database.
The ``cmaes`` package has no public state API, pickling would tie every saved run to its private
layout (and unpickling database content runs code), and CMA's own pickling keeps one triangle of the
covariance matrix, whose dropped rounding asymmetry would change the run. So the state is written out
field by field: what changes as the optimizer learns (the distribution, its evolution paths, the
generation, the cached eigen-decomposition, the fitness history its stopping test reads). The rest
(recombination weights, learning rates, tolerances) the public constructor derives again, bit for bit,
from the same dimension, population, initial step and bounds, which tune gives it from the run's
config. The random generator is not kept: tune reseeds it before every sample.

Arrays are saved as ``pack`` writes them: their float64 values, little-endian, in base64 (data, never
code). The state is saved after every ask; as decimal lists the covariance and eigenvectors of 42
literals took 7 ms to encode each time, most of the controller's time per evaluation, in base64 0.03 ms.

Both optimizers tune uses are handled: ``CMA`` (full covariance) and ``SepCMA`` (a diagonal one, for
many literals), whose covariance is a vector and whose cached decomposition is its square root only.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
from cmaes import CMA, SepCMA

Optimizer = CMA | SepCMA

# The private attributes the state restores, by their name in the saved JSON. A cmaes release that
# renames one makes restore raise IncompatibleState instead of continuing a different optimizer.
_VECTORS = {"mean": "_mean", "p_sigma": "_p_sigma", "p_c": "_pc", "fitness_history": "_funhist_values"}
_MATRICES = {"covariance": "_C"}
# Cached decompositions, None until the next sample computes them.
_CACHED = {CMA: {"eigenvectors": "_B", "eigenvalue_roots": "_D"}, SepCMA: {"eigenvalue_roots": "_D"}}


class IncompatibleState(ValueError):
    """A saved optimizer that this evoforge and cmaes cannot continue exactly."""


def new_optimizer(
    dimension: int, sigma: float, bounds: np.ndarray, population: int, separable: bool
) -> Optimizer:
    """A fresh optimizer at the origin, its fitness history blank.

    cmaes leaves the history's unwritten slots as ``np.empty`` found them (its stopping test reads
    them only once all are written); blanking them keeps the saved state free of leftover memory,
    so the same run saves the same state.
    """
    kind = SepCMA if separable else CMA
    optimizer = kind(mean=np.zeros(dimension), sigma=sigma, bounds=bounds, population_size=population, seed=0)
    optimizer._funhist_values = np.full_like(optimizer._funhist_values, np.nan)
    return optimizer


def pack(values: np.ndarray | list[float]) -> str:
    """An array's float64 values, little-endian, in base64: exact (NaN included) and quick to write."""
    return base64.b64encode(np.asarray(values, dtype="<f8").tobytes()).decode("ascii")


def unpack(text: Any, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """The array ``pack`` wrote (flat unless ``shape`` is given, which it must fit: else ValueError)."""
    if not isinstance(text, str):
        raise ValueError(f"an array is saved as base64 text, got {type(text).__name__}")
    values = np.frombuffer(base64.b64decode(text, validate=True), dtype="<f8").astype(float)
    if shape is None:
        return values
    if values.size != int(np.prod(shape)):
        raise ValueError(f"{values.size} values saved where {shape} were expected")
    return values.reshape(shape)


def cma_state(cma: Optimizer) -> dict[str, Any]:
    """Everything ``restore_cma`` needs to continue ``cma`` exactly, as JSON-able values."""
    state: dict[str, Any] = {"generation": cma.generation, "sigma": float(cma._sigma)}
    for key, name in (_VECTORS | _MATRICES).items():
        state[key] = pack(getattr(cma, name))
    for key, name in _CACHED[type(cma)].items():
        value = getattr(cma, name)
        state[key] = None if value is None else pack(value)
    return state


def restore_cma(fresh: Optimizer, state: dict[str, Any]) -> Optimizer:
    """``fresh`` (built by the constructor with the run's settings) moved to the saved ``state``."""
    cached_names = _CACHED[type(fresh)]
    for name in ("_sigma", "_g", *_VECTORS.values(), *_MATRICES.values(), *cached_names.values()):
        if not hasattr(fresh, name):
            raise IncompatibleState(f"the installed cmaes has no optimizer attribute {name}")
    dimension = fresh.dim
    shapes = {name: getattr(fresh, name).shape for name in (*_VECTORS.values(), *_MATRICES.values())}
    shapes |= {"_B": (dimension, dimension), "_D": (dimension,)}
    try:
        arrays = {name: unpack(state[key], shapes[name]) for key, name in (_VECTORS | _MATRICES).items()}
        cached = {
            name: None if state[key] is None else unpack(state[key], shapes[name])
            for key, name in cached_names.items()
        }
        generation, sigma = int(state["generation"]), np.float64(state["sigma"])
    except (KeyError, TypeError, ValueError) as error:
        raise IncompatibleState(
            f"the saved optimizer is incomplete, malformed or does not fit {dimension} literals ({error})"
        ) from None
    for name, value in (arrays | cached).items():
        setattr(fresh, name, value)
    fresh._g, fresh._sigma = generation, sigma
    return fresh
