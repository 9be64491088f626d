"""The neuron's f: tanh, sigmoid, ReLU or linear, and the other activations of torch.nn
(GELU, SiLU, LeakyReLU, Softplus, ELU, ...), as functions and as modules.

Each function takes a Value (scalar or tensor), a number, an array, or a list of
those (one example's neuron outputs) and applies the engine's op elementwise: one
graph node per call, with its own label and formula. The functions and modules take
PyTorch's arguments; `inplace=` is accepted and changes nothing (the result is always a
new Value: every op is a node of the graph).
"""
from __future__ import annotations

from autograd.value import Value

from .module import Module


def _apply(x, method, *args):
    if isinstance(x, Value):
        return getattr(x, method)(*args)
    if isinstance(x, (list, tuple)):
        return [_apply(v, method, *args) for v in x]
    return getattr(Value(x, requires_grad=False), method)(*args)


def tanh(input):
    """tanh(x) = (e^x - e^-x) / (e^x + e^-x), in (-1, 1)."""
    return input.tanh() if type(input) is Value else _apply(input, "tanh")


def sigmoid(input):
    """σ(x) = 1 / (1 + e^-x), in (0, 1)."""
    return input.sigmoid() if type(input) is Value else _apply(input, "sigmoid")


def relu(input, inplace=False):
    """max(x, 0)."""
    return input.relu() if type(input) is Value else _apply(input, "relu")


def gelu(input, approximate="none"):
    """x·Φ(x) (Φ the normal CDF); approximate="tanh": 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))."""
    return _apply(input, "gelu", approximate)


def silu(input, inplace=False):
    """x·σ(x), also called swish."""
    return _apply(input, "silu")


swish = silu


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x if x > 0 else negative_slope·x."""
    return _apply(input, "leaky_relu", negative_slope)


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + e^(beta·x)) / beta, and x itself where beta·x > threshold."""
    return _apply(input, "softplus", beta, threshold)


def elu(input, alpha=1.0, inplace=False):
    """x if x > 0 else alpha·(e^x - 1)."""
    return _apply(input, "elu", alpha)


def selu(input, inplace=False):
    """1.0507·(x if x > 0 else 1.6733·(e^x - 1))."""
    return _apply(input, "selu")


def celu(input, alpha=1.0, inplace=False):
    """x if x > 0 else alpha·(e^(x/alpha) - 1)."""
    return _apply(input, "celu", alpha)


def mish(input, inplace=False):
    """x·tanh(softplus(x))."""
    return _apply(input, "mish")


def logsigmoid(input):
    """log σ(x) = -softplus(-x)."""
    return _apply(input, "logsigmoid")


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """x clamped to [min_val, max_val]."""
    return _apply(input, "hardtanh", min_val, max_val)


def relu6(input, inplace=False):
    """min(max(x, 0), 6)."""
    return _apply(input, "relu6")


def hardsigmoid(input, inplace=False):
    """min(max(x + 3, 0), 6) / 6."""
    return _apply(input, "hardsigmoid")


def hardswish(input, inplace=False):
    """x·min(max(x + 3, 0), 6) / 6."""
    return _apply(input, "hardswish")


def softsign(input):
    """x / (1 + |x|)."""
    return _apply(input, "softsign")


def softmin(input, dim=None):
    """softmax(-x) along dim (the last axis when None)."""
    x = input if isinstance(input, Value) else Value(input, requires_grad=False)
    return x.softmin(-1 if dim is None else dim)


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


class _Activation(Module):
    """A module that applies `fn` with the arguments it was built with (shown in its repr)."""

    fn = None
    arguments: tuple = ()

    def forward(self, x):
        return type(self).fn(x, *[getattr(self, name) for name in self.arguments])

    def extra_repr(self) -> str:
        return ", ".join(f"{name}={getattr(self, name)!r}" for name in self.arguments)


class GELU(_Activation):
    fn, arguments = staticmethod(gelu), ("approximate",)

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate


class SiLU(_Activation):
    fn = staticmethod(silu)

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace


class Mish(SiLU):
    fn = staticmethod(mish)


class SELU(SiLU):
    fn = staticmethod(selu)


class ReLU6(SiLU):
    fn = staticmethod(relu6)


class Hardsigmoid(SiLU):
    fn = staticmethod(hardsigmoid)


class Hardswish(SiLU):
    fn = staticmethod(hardswish)


class LeakyReLU(_Activation):
    fn, arguments = staticmethod(leaky_relu), ("negative_slope",)

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace


class Softplus(_Activation):
    fn, arguments = staticmethod(softplus), ("beta", "threshold")

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold


class ELU(_Activation):
    fn, arguments = staticmethod(elu), ("alpha",)

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace


class CELU(ELU):
    fn = staticmethod(celu)


class Hardtanh(_Activation):
    fn, arguments = staticmethod(hardtanh), ("min_val", "max_val")

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__()
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace


class Softsign(_Activation):
    fn = staticmethod(softsign)


class LogSigmoid(_Activation):
    fn = staticmethod(logsigmoid)


class Softmin(_Activation):
    fn, arguments = staticmethod(softmin), ("dim",)

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

