"""A raw gradient made to fit its node: summed back over broadcast axes, in the node's dtype
(`fit`, arrays and floats; `_fit_value`, Values for create_graph=True)."""
from __future__ import annotations

import numpy as np

from . import value as _value


def _mismatch(g_shape, node):
    return RuntimeError(f"internal: a gradient of shape {g_shape} cannot flow into "
                        f"{node.op or 'leaf'} node {node.label!r} of shape {node.shape}")


def fit(g, node):
    """Sum a raw gradient back to node's shape and dtype (undoes broadcasting)."""
    if type(node.data) is float:
        if type(g) is float:
            return g
        return float(g) if isinstance(g, (float, np.floating)) else float(np.sum(g))
    if type(g) is np.ndarray and g.shape == node.data.shape and g.dtype == node.data.dtype:
        return g  # the common case: nothing to undo
    g = np.asarray(g)
    target = node.data.shape
    if g.shape != target:
        lead = g.ndim - len(target)
        if lead < 0 or any(gs == 1 and ts != 1 for gs, ts in zip(g.shape[lead:], target)):
            try:
                return np.array(np.broadcast_to(g, target), dtype=node.data.dtype)
            except ValueError:
                raise _mismatch(g.shape, node) from None
        if lead:
            g = g.sum(axis=tuple(range(lead)))
        axes = tuple(i for i, n in enumerate(target) if n == 1 and g.shape[i] != 1)
        if axes:
            g = g.sum(axis=axes, keepdims=True)
        if g.shape != target:
            raise _mismatch(g.shape, node)
    return g.astype(node.data.dtype, copy=False)


def _fit_value(g, node):
    """`fit` for gradients that are themselves Values (create_graph=True)."""
    g = _value.const(g)
    target = node.shape
    if g.shape == target:
        return g
    if not target:
        return g.sum()
    lead = g.ndim - len(target)
    if lead < 0:
        return g.broadcast_to(target)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(target) if n == 1 and g.shape[lead + i] != 1)
    return g.sum(axis=axes, keepdims=True).reshape(target)
