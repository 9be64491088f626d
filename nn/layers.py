"""Neurons, layers and networks that run one example or a whole batch.

The same object takes either
  * one example as a list of numbers or scalar Values: every neuron becomes ONE graph
    node (Σ w·x + b, `autograd.neuron`) followed by its activation node, labelled
    "L0.n3" and "L0.n3.out" so a drawing reads like a textbook figure; or
  * a batch as a 2-D array or tensor Value (batch, nin), or one example as a 1-D
    array: one `linear` node per layer, `x @ weight.T + bias`.
Both give the same numbers and the same parameter gradients.

Parameters are shaped like PyTorch's: `weight` is (nout, nin), `bias` is (nout,).
"""
from __future__ import annotations

import numpy as np

from autograd import blas
from autograd.arguments import ShapeError
from autograd.functional import linear, neuron, neurons
from autograd.value import Value, apply1, apply3, const
from autograd.value_layer import apply_layer

from .activations import get_activation, identity, relu, sigmoid, tanh
from .init import init_weight, rng_from
from .module import Module, ModuleList

_TABLE_ACTIVATIONS = {tanh: "tanh", sigmoid: "sigmoid", relu: "relu"}  # activation -> its op in the table


def _is_scalar(v) -> bool:
    if isinstance(v, Value):
        return v.ndim == 0
    return isinstance(v, (int, float, np.number)) and not isinstance(v, bool)


def is_example(x) -> bool:
    """True for one example given as a list of numbers / scalar Values (the per-neuron graph)."""
    if isinstance(x, (list, tuple)):
        return not x or _is_scalar(x[0])
    return _is_scalar(x)


def as_batch(x) -> Value:
    """A batch input as a Value: arrays and nested lists become constants (no gradient).

    A float array is wrapped, not copied (copying a batch costs as much as a layer's tanh).
    """
    if isinstance(x, Value):
        return x
    return const(np.asarray(x) if isinstance(x, (list, tuple)) else x)


class Layer(Module):
    """`nout` neurons that all see the same `nin` inputs: f(x @ weight.T + bias).

    >>> layer = Layer(3, 2, activation="tanh", seed=0)
    >>> [n.label for n in layer([1.0, -2.0, 0.5])]
    ['L.n0.out', 'L.n1.out']
    """

    def __init__(self, nin: int, nout: int, activation: str = "tanh", bias: bool = True,
                 seed=None, name: str = "L"):
        super().__init__()
        self._act = get_activation(activation)
        self.nin, self.nout, self.activation, self.name = int(nin), int(nout), activation, name
        if self.nin < 1 or self.nout < 1:
            raise ValueError(f"{type(self).__name__}: sizes must be positive, got nin={nin}, nout={nout}")
        rng = rng_from(seed)
        # PyTorch's shape (out, in), stored column-major where numpy's BLAS has small-matrix kernels for
        # untransposed products (OpenBLAS's AVX-512 kernels: x @ Wᵀ is then one, float32 (32, 128) @ (128, 128)
        # 16.8 -> 7.5 us, on one thread), row-major elsewhere, where that layout only costs
        # (autograd.blas.weight_order says which and why). The gradients keep the weight's layout (see
        # autograd.ops.network._linear_grad).
        w = init_weight((self.nout, self.nin), self.nin, self.nout, activation, rng)
        self.weight = Value(np.asarray(w, order=blas.weight_order()), label="weight")
        self.bias = Value(np.zeros(self.nout), label="bias") if bias else None

    def _who(self) -> str:
        return f"{type(self).__name__} {self.name!r} ({self.nin} -> {self.nout})"

    def forward(self, x):
        if type(x) is not Value and type(x) is not np.ndarray:  # (checks ordered for a batch's sake)
            if is_example(x):
                return self._forward_example(list(x) if isinstance(x, (list, tuple)) else [x])
            x = as_batch(x)
        shape = x.shape  # (once: a Value's shape is a property)
        if not shape and type(x) is Value:
            return self._forward_example([x])
        if not shape or shape[-1] != self.nin:
            raise ShapeError(
                f"{self._who()}: expects inputs of shape (..., {self.nin}), e.g. (batch, {self.nin}) or "
                f"({self.nin},) (weight shape {self.weight.shape}), got shape {np.shape(x)}; check the "
                f"previous layer's width or the number of features in x")
        act = self._act
        op = _TABLE_ACTIVATIONS.get(act)  # tanh/sigmoid/relu: the op's own node (None: identity and the rest)
        if self.bias is not None and (op is not None or act is identity):
            # linear()'s node without its argument checks (done above; the parameters are ours), and its
            # activation's, in one call
            return apply_layer(x, self.weight, self.bias, op, self.name)
        z = linear(x, self.weight) if self.bias is None else apply3("linear", x, self.weight, self.bias)
        z.label = f"{self.name}.z"  # (one graph node, and one fused backward, per layer)
        if act is identity:
            return z
        out = apply1(op, z) if op is not None else act(z)
        out.label = f"{self.name}.out"
        return out

    def _forward_example(self, xs):
        if len(xs) != self.nin:
            raise ShapeError(f"{self._who()}: expects {self.nin} inputs for one example, got {len(xs)} "
                             f"(weight shape {self.weight.shape})")
        # numbers become constant leaves once, shared by every neuron (drawn once: x0, x1, ...)
        xs = [x if isinstance(x, Value) else Value(x, label=f"x{i}", requires_grad=False) for i, x in enumerate(xs)]
        bias = self.bias if self.bias is not None else np.zeros(self.nout, self.weight.dtype)
        outs, rows = [], neurons(self.weight, bias, xs)  # neuron(weight, bias, xs, row=j) for each j
        for j in range(self.nout):
            s = rows[j]
            s.label = f"{self.name}.n{j}"
            if self._act is not identity:
                s = self._act(s)
                s.label = f"{self.name}.n{j}.out"
            outs.append(s)
        return outs[0] if self.nout == 1 else outs

    def extra_repr(self) -> str:
        bias = "" if self.bias is not None else ", bias=False"
        return f"in_features={self.nin}, out_features={self.nout}, activation={self.activation!r}{bias}"


class Linear(Layer):
    """x @ weight.T + bias with no activation, like torch.nn.Linear(in_features, out_features)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, seed=None, name: str = "L"):
        super().__init__(in_features, out_features, "linear", bias, seed, name)

    def extra_repr(self) -> str:
        return f"in_features={self.nin}, out_features={self.nout}, bias={self.bias is not None}"


class Neuron(Module):
    """One neuron, f(Σ w[i]·x[i] + b), with weight shape (nin,) and a scalar bias.

    >>> n = Neuron(3, activation="tanh", seed=0); y = n([1.0, 2.0, 3.0]); y.label
    'n.out'
    """

    def __init__(self, nin: int, activation: str = "tanh", seed=None, name: str = "n"):
        super().__init__()
        self._act = get_activation(activation)
        self.nin, self.activation, self.name = int(nin), activation, name
        self.weight = Value(init_weight((self.nin,), self.nin, 1, activation, rng_from(seed)), label="w")
        self.bias = Value(0.0, label="b")

    def forward(self, x):
        if is_example(x):
            xs = list(x) if isinstance(x, (list, tuple)) else [x]
            if len(xs) != self.nin:
                raise ShapeError(f"Neuron {self.name!r}: expects {self.nin} inputs, got {len(xs)}")
            z = neuron(self.weight, self.bias, xs)
        else:
            x = as_batch(x)
            if x.ndim not in (1, 2) or x.shape[-1] != self.nin:
                raise ShapeError(f"Neuron {self.name!r}: expects inputs of shape (batch, {self.nin}) or "
                                 f"({self.nin},) (weight shape {self.weight.shape}), got shape {x.shape}")
            z = x @ self.weight + self.bias
        z.label = self.name
        if self._act is identity:
            return z
        out = self._act(z)
        out.label = f"{self.name}.out"
        return out

    def extra_repr(self) -> str:
        return f"nin={self.nin}, activation={self.activation!r}"


class MLP(Module):
    """A multilayer perceptron: `activation` on the hidden layers, `output_activation` on the last.

    >>> model = MLP(2, [16, 16, 1], activation="relu", seed=0)
    >>> [name for name, _ in model.named_parameters()][:2]
    ['layers.0.weight', 'layers.0.bias']
    """

    def __init__(self, nin: int, sizes, activation: str = "tanh", output_activation: str = "linear",
                 bias: bool = True, seed=None):
        super().__init__()
        sizes = [int(s) for s in (sizes if isinstance(sizes, (list, tuple)) else [sizes])]
        if not sizes:
            raise ValueError("MLP needs at least one layer size, e.g. MLP(2, [16, 1])")
        get_activation(activation)
        get_activation(output_activation)
        rng = rng_from(seed)
        dims = [int(nin)] + sizes
        last = len(sizes) - 1
        self.layers = ModuleList(
            Layer(dims[i], dims[i + 1], activation if i < last else output_activation, bias, rng, name=f"L{i}")
            for i in range(len(sizes)))

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)  # (what layer(x) does, without Module.__call__'s *args/**kwargs call)
        return x


class Sequential(ModuleList):
    """Modules applied in order, named "0", "1", ... like torch.nn.Sequential.

    >>> from nn import Tanh
    >>> net = Sequential(Linear(2, 4, seed=0), Tanh(), Linear(4, 1, seed=1))
    """

    def __init__(self, *modules):
        if len(modules) == 1 and isinstance(modules[0], (list, tuple)):
            modules = modules[0]
        super().__init__(modules)

    def forward(self, x):
        for m in self:
            x = m(x)
        return x
