"""`apply_layer`: nn.Layer's linear node and its activation node made in one call, the plain
training loop's hottest recording path (value.apply3 and apply1 make the same nodes, slower)."""
from __future__ import annotations

import numpy as np

from . import ops
from .arguments import shape_error
from .mode import ALTERED
from .value import _NO_ATTRS, Value, _alloc, _normalize, apply1, apply3, const


def apply_layer(x, w, b, activation, name: str) -> "Value":
    """A layer's two nodes in one call: linear(x, w, b) labelled f"{name}.z", then the one-input op
    `activation` (no attrs; None: none) on it labelled f"{name}.out" (nn.Layer's forward: ~1 µs less a
    digits step than apply3's and apply1's calls and checks). Inside no_grad, anomaly mode or a jit
    capture, or for parameters that are not Values, it makes them through apply3 and apply1."""
    if type(x) is not Value:  # (a layer's input batch, an array: wrapped as a constant leaf)
        x = const(x)
    if ALTERED[0] or type(w) is not Value or type(b) is not Value:
        z = apply3("linear", x, w, b)
        z.label = f"{name}.z"
        if activation is None:
            return z
        out = apply1(activation, z)
        out.label = f"{name}.out"
        return out
    try:
        data = ops.OPS["linear"].forward(x.data, w.data, b.data)
    except (ValueError, IndexError, TypeError) as e:
        raise shape_error("linear", (x, w, b), e) from None
    # value._node3's node written out (its call and apply3's cost a digits step ~1 µs: a call here costs
    # ~0.15 µs, each a frame of its own)
    z = _alloc(Value)
    z.data = data if type(data) is np.ndarray and data.ndim else _normalize(data)
    z._grad = None
    z.label = f"{name}.z"
    z.op = "linear"
    z._p0 = z._p1 = None
    z._pn = (x, w, b)
    depth = x._depth
    if w._depth > depth:
        depth = w._depth
    if b._depth > depth:
        depth = b._depth
    z._depth = depth = depth + 1
    z.attrs = _NO_ATTRS
    z.requires_grad = requires_grad = x.requires_grad or w.requires_grad or b.requires_grad
    z._extra = None
    if activation is None:
        return z
    try:
        data = ops.OPS[activation].forward(z.data)
    except (ValueError, IndexError, TypeError) as e:
        raise shape_error(activation, (z,), e) from None
    # and value._node1's for the activation
    out = _alloc(Value)
    out.data = data if type(data) is np.ndarray and data.ndim or type(data) is float else _normalize(data)
    out._grad = None
    out.label = f"{name}.out"
    out.op = activation
    out._p0 = z
    out._p1 = out._pn = None
    out._depth = depth + 1
    out.attrs = _NO_ATTRS
    out.requires_grad = requires_grad
    out._extra = None
    return out
