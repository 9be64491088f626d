"""`apply_layer`: nn.Layer's linear node and its activation node made in one call, the plain
training loop's hottest recording path (value.apply3 and apply1 make the same nodes, slower)."""
from __future__ import annotations

import numpy as np

from . import ops
from .arguments import shape_error
from .details import PLAIN, labelled
from .mode import ALTERED
from .value import Value, _alloc, _normalize, apply1, apply3, const


_NAMED = {}  # layer name -> (its linear node's Details, its activation node's): the same every step


def _name(name: str, activation: str):
    """The records of a layer's two nodes, the ones their labels' setter gives (details.labelled), looked up
    once per layer name, not per step (two f-strings and two lookups: digits step ~1.5 µs)."""
    if len(_NAMED) >= 1024:  # (names made on the fly, e.g. one per model built: a bounded cache)
        _NAMED.clear()
    named = _NAMED[name] = (labelled(PLAIN["linear"], f"{name}.z"), labelled(PLAIN[activation], f"{name}.out"))
    return named


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
    named = _NAMED.get(name)
    if named is None or named[1].op != (activation or ""):
        named = _name(name, activation or "")
    z_details, out_details = named
    z._details = z_details  # (shared by this layer's linear nodes: Details never change, see autograd.details)
    z._p0 = None
    z._p1 = (x, w, b)  # (three inputs: all in _p1, see Value.__slots__)
    depth = x._depth
    if w._depth > depth:
        depth = w._depth
    if b._depth > depth:
        depth = b._depth
    z._depth = depth = depth + 1
    z.requires_grad = requires_grad = x.requires_grad or w.requires_grad or b.requires_grad
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
    out._details = out_details  # (shared by this layer's activation nodes: Details never change, see autograd.details)
    out._p0 = z
    out._p1 = None
    out._depth = depth + 1
    out.requires_grad = requires_grad
    return out
