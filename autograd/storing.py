"""Putting gradients into `.grad`: `store_grads` (a pass over backprop's result) and `keep` (one
node at its turn inside backprop, see engine.backward), with `unstore` to put them back.

Optimizers and users change `.grad` in place, so each array there must be the node's own: rules
pass some gradients on unchanged (add gives g to both inputs) or as views (reshape, broadcast), and
those are copied; fresh results (g @ x, a batch sum, a fresh=True rule's arrays) are kept as they are.
"""
from __future__ import annotations

import numpy as np

from . import recycle


def keep(node, g, mine, kept, stored):
    """Add g into node.grad during backprop (see `stored`): as it is when `mine` (this backward made
    it and nobody else will see it), else as store_grads does (a copy of a view or of an array
    already kept), `kept` holding the ids of arrays kept so far."""
    if not mine:
        g, _ = _own(node, g, kept)
    old = node._grad
    node._grad = g if old is None else _add(old, g, node)
    stored.append(node if old is None else (node, old))  # what unstore needs to put back


def _add(old, g, node):
    """old + g as a .grad: a 0-d array stays one (numpy's sum of two 0-d arrays is a numpy scalar)."""
    total = old + g
    return total if type(total) is np.ndarray or type(node.data) is float else np.asarray(total)


def unstore(stored):
    """Put back the .grad values backprop replaced (see backward's `stored`)."""
    for x in stored:
        if type(x) is tuple:
            x[0]._grad = x[1]
        else:
            x._grad = None
    stored.clear()


def store_grads(pairs) -> bool:
    """Add each (node, gradient) into node.grad, the gradient becoming an array of its own (see
    above). True when none needed a copy."""
    kept, fresh = set(), True
    for node, g in pairs:
        if type(g) is not float or type(node.data) is not float:  # (a scalar node: nothing to own or copy)
            g, copied = _own(node, g, kept)
            if copied:
                fresh = False
        node._grad = g if node._grad is None else _add(node._grad, g, node)
    return fresh


def _own(node, g, kept):
    """(g as an array node's .grad may keep it, True if that took a copy): views and arrays
    already kept (ids in `kept`, which this adds to) or read-only are copied; numbers become arrays."""
    if type(node.data) is float:
        return g, False
    if type(g) is not np.ndarray:
        g = np.asarray(g)  # a 0-d float32 node gets a 0-d array, not a numpy scalar
        kept.add(id(g))
        return g, True
    # (a recycled array is a view of its own byte buffer, see autograd.recycle: kept as it is)
    if g.base is not None and not recycle.is_pooled(g) or id(g) in kept or not g.flags.writeable:
        g = g.copy()
        kept.add(id(g))
        return g, True
    kept.add(id(g))
    return g, False
