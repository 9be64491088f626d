"""`to_torch(module)`: the same network as a torch.nn.Module, carrying the same weights.

The torch module mirrors the tree and the parameter names, so
`torch_model.state_dict()` has exactly the keys of `module.state_dict()` and either
loads into the other. Everything is float64, like tracegrad's parameters.
PyTorch is optional: only this file imports it, and only when called.
"""
from __future__ import annotations

import numpy as np

from .activations import Identity, ReLU, Sigmoid, Tanh
from .layers import MLP, Layer, Neuron, Sequential
from .module import ModuleList
from .recurrent import RNN, RNNCell

_CLASSES = {}
CONVERTERS = {}  # tracegrad Module class -> fn(module, torch) -> torch.nn.Module (see `converts`)


def converts(cls):
    """Register fn(module, torch) -> an empty torch module of the same shape, for `cls`
    (and its subclasses). Modules of new layer families register theirs beside them:

        @converts(Conv2d)
        def _(m, torch): return torch.nn.Conv2d(m.in_channels, ..., dtype=torch.float64)
    """
    def register(fn):
        CONVERTERS[cls] = fn
        return fn
    return register


def require_torch():
    try:
        import torch
    except ImportError:
        raise ImportError("to_torch needs PyTorch, which is not installed: pip install torch==2.13.0 "
                          "(the CPU wheel; a bare `pip install torch` pulls a multi-GB CUDA build)") from None
    return torch


def _classes(torch):
    """torch Module classes that mirror tracegrad's (built once, on first use)."""
    if _CLASSES:
        return _CLASSES
    tnn = torch.nn
    acts = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu, "linear": lambda z: z}

    class TorchLayer(tnn.Linear):
        """torch.nn.Linear followed by the layer's activation (same keys: weight, bias)."""

        def __init__(self, nin, nout, activation, bias):
            super().__init__(nin, nout, bias=bias, dtype=torch.float64)
            self.activation = activation

        def forward(self, x):
            return acts[self.activation](super().forward(x))

        def extra_repr(self):
            return super().extra_repr() + f", activation={self.activation!r}"

    class TorchNeuron(tnn.Module):
        def __init__(self, nin, activation):
            super().__init__()
            self.weight = tnn.Parameter(torch.zeros(nin, dtype=torch.float64))
            self.bias = tnn.Parameter(torch.zeros((), dtype=torch.float64))
            self.activation = activation

        def forward(self, x):
            return acts[self.activation](x @ self.weight + self.bias)

    class TorchMLP(tnn.Module):
        def __init__(self, layers):
            super().__init__()
            self.layers = tnn.ModuleList(layers)

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

    _CLASSES.update(layer=TorchLayer, neuron=TorchNeuron, mlp=TorchMLP)
    return _CLASSES


def _convert(m, torch):
    tnn, cls = torch.nn, _classes(torch)
    for klass in type(m).__mro__:
        if klass in CONVERTERS:
            return CONVERTERS[klass](m, torch)
    if isinstance(m, Layer):
        return cls["layer"](m.nin, m.nout, m.activation, m.bias is not None)
    if isinstance(m, Neuron):
        return cls["neuron"](m.nin, m.activation)
    if isinstance(m, MLP):
        return cls["mlp"]([_convert(layer, torch) for layer in m.layers])
    if isinstance(m, Sequential):
        return tnn.Sequential(*[_convert(c, torch) for c in m])
    if isinstance(m, ModuleList):
        return tnn.ModuleList([_convert(c, torch) for c in m])
    if isinstance(m, RNNCell):
        return tnn.RNNCell(m.nin, m.nhidden, bias=m.bias_ih is not None, dtype=torch.float64)
    if isinstance(m, RNN):
        return tnn.RNN(m.nin, m.nhidden, bias=m.bias_ih_l0 is not None, batch_first=m.batch_first,
                       dtype=torch.float64)
    simple = {Tanh: tnn.Tanh, ReLU: tnn.ReLU, Sigmoid: tnn.Sigmoid, Identity: tnn.Identity}
    if type(m) in simple:
        return simple[type(m)]()
    raise TypeError(f"to_torch: no PyTorch equivalent for {type(m).__name__}; supported: Layer, Linear, "
                    "Neuron, MLP, Sequential, ModuleList, RNNCell, RNN, Tanh, ReLU, Sigmoid, Identity")


def to_torch(module):
    """An equivalent torch.nn.Module (float64) with a copy of `module`'s weights.

    >>> tmodel = to_torch(MLP(2, [4, 1], seed=0))  # doctest: +SKIP
    >>> tmodel(torch.tensor([[0.5, -1.0]], dtype=torch.float64))  # doctest: +SKIP
    """
    torch = require_torch()
    tmodule = _convert(module, torch)
    state = {k: torch.from_numpy(np.array(v, dtype=np.float64)) for k, v in module.state_dict().items()}
    tmodule.load_state_dict(state, strict=True)
    return tmodule
