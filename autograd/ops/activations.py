"""Activations: tanh, sigmoid, ReLU, and the softmax family over an axis."""
from __future__ import annotations

import math

import numpy as np

from ..arguments import along
from . import call, data, defop, exp, scalar_safe
from .reductions import _logsumexp


def _sigmoid(x):
    if type(x) is float:
        if x >= 0:
            return 1.0 / (1.0 + math.exp(-x))
        z = math.exp(x)
        return z / (1.0 + z)
    z = np.exp(-np.abs(x))  # never overflows
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z)).astype(x.dtype, copy=False)


def _softmax(x, axis=-1):
    x = np.asarray(x)
    z = np.exp(x - x.max(axis=axis, keepdims=True))
    return z / z.sum(axis=axis, keepdims=True)


def _log_softmax(x, axis=-1):
    return x - _logsumexp(x, axis=axis, keepdims=True)


# fmt: off
defop("tanh", scalar_safe(math.tanh, np.tanh), lambda g, out, a: (g * (1 - out * out),),
      "tanh", ("1 - out²",), doc="tanh(a)", method=True)
defop("sigmoid", _sigmoid, lambda g, out, a: (g * out * (1 - out),),
      "σ", ("out·(1 - out)",), doc="1 / (1 + e^-a), computed without overflow", method=True)
defop("relu", lambda a: (0.0 if a < 0 else a) if type(a) is float else np.maximum(a, 0), lambda g, out, a: (g * (data(a) > 0),),
      "ReLU", ("1 if a > 0 else 0",), doc="max(a, 0)", method=True)
defop("softmax", _softmax, lambda g, out, a, axis=-1: (out * (g - call("sum", g * out, axis=axis, keepdims=True)),),
      "softmax", ("out·(g - Σ g·out)",), elementwise=False, doc="e^a / Σ e^a over axis, max-shifted",
      method=True, function=True, args=along("softmax"))
defop("log_softmax", _log_softmax, lambda g, out, a, axis=-1: (g - exp(out) * call("sum", g, axis=axis, keepdims=True),),
      "log_softmax", ("g - softmax(a)·Σ g",), elementwise=False, doc="a - logsumexp(a) over axis",
      method=True, function=True, args=along("log_softmax"))
# fmt: on
