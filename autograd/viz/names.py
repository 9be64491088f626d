"""How numbers and nodes are named, in every picture: `preview` is the one number formatter
of the viz package (drawer, player, explainer and training views all call it), so a value
reads the same in the picture and in the text; `node_names` names the nodes of a graph."""
from __future__ import annotations

import math

import numpy as np

INLINE_MAX = 6  # tensors with at most this many elements are printed in full


def _number(x) -> str:
    x = float(x)
    if x == 0:
        return "0"  # also -0.0
    if math.isnan(x) or math.isinf(x):
        return str(x)
    return format(x, ".4g")


def _nested(a) -> str:
    if a.ndim == 0:
        return _number(a)
    return "[" + ", ".join(_nested(row) for row in a) + "]"


def preview(x) -> str:
    """A short text for a number or a tensor.

    Scalars: 4 significant digits ("0.5", "-6.88", "1.235e+06"). Tensors of up to
    6 elements: inline ("[0.5, -1]"); larger ones: "shape (3, 4) float64 · min/mean/max
    -1.2/0.03/2.1". None (no gradient yet) gives "".

    >>> preview(2 / 3), preview(np.array([[1.0, 2.0]])), preview(np.zeros((3, 4)))
    ('0.6667', '[[1, 2]]', 'shape (3, 4) float64 · min/mean/max 0/0/0')
    """
    if x is None:
        return ""
    if hasattr(x, "data") and not isinstance(x, (np.ndarray, np.generic, memoryview)):
        x = x.data  # a Value
    if isinstance(x, (bool, int, float, np.number, np.bool_)):
        return _number(x)
    a = np.asarray(x)
    if a.ndim == 0:
        return _number(a)
    if a.size <= INLINE_MAX and a.size:
        return _nested(a)
    head = f"shape {tuple(a.shape)} {a.dtype}"
    if a.size == 0:
        return f"{head} · empty"
    with np.errstate(all="ignore"):
        stats = "/".join(_number(f(a)) for f in (np.min, np.mean, np.max))
    return f"{head} · min/mean/max {stats}"


def node_names(nodes, root_index: int) -> list[str]:
    """A display name per node: its label; unlabelled ones `tanh#7` (op and index),
    constants their value, other leaves `leaf#3`. The root is "L" unless labelled."""
    names = []
    for i, node in enumerate(nodes):
        if node.label:
            names.append(node.label)
        elif i == root_index:
            names.append("L")
        elif node.op:
            names.append(f"{node.op}#{i}")
        elif not node.requires_grad and node.size <= INLINE_MAX:
            names.append(preview(node.data))
        else:
            names.append(f"{'leaf' if node.requires_grad else 'const'}#{i}")
    return names
