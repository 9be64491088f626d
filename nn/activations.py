"""The neuron's f: tanh, sigmoid, ReLU or linear, as functions and as modules.

Each function takes a Value (scalar or tensor), a number, an array, or a list of
those (one example's neuron outputs) and applies the engine's op elementwise.
"""
from __future__ import annotations

from autograd.value import Value

from .module import Module


def _apply(x, method):
    if isinstance(x, Value):
        return getattr(x, method)()
    if isinstance(x, (list, tuple)):
        return [_apply(v, method) for v in x]
    return getattr(Value(x, requires_grad=False), method)()


def tanh(x):
    """tanh(x) = (e^x - e^-x) / (e^x + e^-x), in (-1, 1)."""
    return x.tanh() if type(x) is Value else _apply(x, "tanh")


def sigmoid(x):
    """σ(x) = 1 / (1 + e^-x), in (0, 1)."""
    return x.sigmoid() if type(x) is Value else _apply(x, "sigmoid")


def relu(x):
    """max(x, 0)."""
    return x.relu() if type(x) is Value else _apply(x, "relu")


def identity(x):
    """x unchanged: the "linear" activation of an output neuron."""
    return x


ACTIVATIONS = {"tanh": tanh, "sigmoid": sigmoid, "relu": relu, "linear": identity}


def get_activation(name: str):
    """The activation function called `name` (one of ACTIVATIONS)."""
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        known = ", ".join(repr(k) for k in ACTIVATIONS)
        raise ValueError(f"unknown activation {name!r}; known activations: {known}") from None


class Tanh(Module):
    def forward(self, x):
        return tanh(x)


class Sigmoid(Module):
    def forward(self, x):
        return sigmoid(x)


class ReLU(Module):
    def forward(self, x):
        return relu(x)


class Identity(Module):
    def forward(self, x):
        return x


MODULES = {"tanh": Tanh, "sigmoid": Sigmoid, "relu": ReLU, "linear": Identity}
