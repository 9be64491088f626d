"""Weight initialisation suited to the activation, reproducible from a seed.

Xavier/Glorot (std = √(2 / (fan_in + fan_out))) keeps the variance of tanh, sigmoid
and linear layers steady from layer to layer; He (std = √(2 / fan_in)) does the
same for ReLU, which zeroes half its inputs. Biases start at zero.
"""
from __future__ import annotations

import numpy as np


def rng_from(seed) -> np.random.Generator:
    """A numpy Generator from an int seed, None (fresh entropy) or an existing Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def xavier_normal(shape, fan_in: int, fan_out: int, rng) -> np.ndarray:
    return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=shape)


def he_normal(shape, fan_in: int, fan_out: int, rng) -> np.ndarray:
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)


SCHEMES = {"tanh": xavier_normal, "sigmoid": xavier_normal, "linear": xavier_normal, "relu": he_normal}


def init_weight(shape, fan_in: int, fan_out: int, activation: str, rng) -> np.ndarray:
    """A float64 weight array of `shape` drawn for `activation` (He for relu, else Xavier)."""
    return SCHEMES[activation](shape, fan_in, fan_out, rng)
