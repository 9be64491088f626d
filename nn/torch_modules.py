"""PyTorch classes that mirror tracegrad's layers (what `to_torch` builds), defined at module level.

Importing this module imports torch; `nn.torch_bridge` imports it only when converting.
Because the classes live here (not inside a function), a converted model pickles,
`torch.save`s whole and crosses `torch.multiprocessing` spawn: a fresh process that
unpickles it imports `nn.torch_modules` by name and never needs the converter.
"""
from __future__ import annotations

import torch

__all__ = ["ACTIVATIONS", "TorchLayer", "TorchNeuron", "TorchMLP", "activate"]


def _identity(z):
    return z


ACTIVATIONS = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu, "linear": _identity}


def activate(name: str, z):
    """tracegrad's activation `name` ('tanh', 'sigmoid', 'relu', 'linear') applied with torch."""
    return ACTIVATIONS[name](z)


class TorchLayer(torch.nn.Linear):
    """torch.nn.Linear followed by the layer's activation (same keys: weight, bias)."""

    def __init__(self, nin: int, nout: int, activation: str, bias: bool = True):
        super().__init__(nin, nout, bias=bias, dtype=torch.float64)
        self.activation = activation

    def forward(self, x):
        return activate(self.activation, super().forward(x))

    def extra_repr(self) -> str:
        return super().extra_repr() + f", activation={self.activation!r}"


class TorchNeuron(torch.nn.Module):
    """One neuron: activation(x @ weight + bias), weight of shape (nin,), bias a 0-d tensor."""

    def __init__(self, nin: int, activation: str):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(nin, dtype=torch.float64))
        self.bias = torch.nn.Parameter(torch.zeros((), dtype=torch.float64))
        self.activation = activation

    def forward(self, x):
        return activate(self.activation, x @ self.weight + self.bias)

    def extra_repr(self) -> str:
        return f"nin={self.weight.shape[0]}, activation={self.activation!r}"


class TorchMLP(torch.nn.Module):
    """tracegrad's MLP: its layers in a ModuleList named `layers` (keys layers.0.weight, ...)."""

    def __init__(self, layers):
        super().__init__()
        self.layers = torch.nn.ModuleList(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x
