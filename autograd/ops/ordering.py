"""Sorting and scans: sort, topk, cummax/cummin ((values, indices): values differentiable, indices
plain int64 numpy), cumsum, cumprod, logcumsumexp."""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from .. import value as _value
from ..arguments import UNSET, check_axis, synonym
from . import call, data, defmethod, defop, reshape, shape
from .indexing import pick, pick_grad, pick_key

# PyTorch's torch.return_types: a tuple that also has .values and .indices
SortResult = namedtuple("sort", ["values", "indices"])
TopkResult = namedtuple("topk", ["values", "indices"])
CummaxResult = namedtuple("cummax", ["values", "indices"])
CumminResult = namedtuple("cummin", ["values", "indices"])


def _dim(op, x, axis, dim, default):
    axis = synonym(op, "axis", axis, "dim", dim, default)
    if axis is None:
        raise TypeError(f"{op}: needs dim= (the axis to work along)")
    return check_axis(x, axis, op)


def _picked(op, x, indices, axis):
    """x's elements at `indices` along axis, recorded as one `op` node (gradient: scattered back)."""
    if x.ndim == 0:
        return _value.apply(op, (x,), {"key": ()})
    return _value.apply(op, (x,), {"key": pick_key(indices, axis, x.ndim)})


def sort(x, dim=-1, descending=False, stable=False, *, axis=UNSET):
    """(values, indices) of x sorted along dim (torch.sort); equal elements keep their order
    (always stable). values is differentiable, indices an int64 numpy array."""
    x = _value.const(x)
    axis = _dim("sort", x, dim, axis, -1)
    d = np.asarray(x.data)
    idx = np.zeros((), np.int64) if x.ndim == 0 else \
        np.argsort(-d if descending else d, axis=axis, kind="stable").astype(np.int64)
    return SortResult(_picked("sort", x, idx, axis), idx)


def topk(x, k, dim=-1, largest=True, sorted=True, *, axis=UNSET):
    """(values, indices) of the k largest (or smallest) elements along dim (torch.topk)."""
    x = _value.const(x)
    axis = _dim("topk", x, dim, axis, -1)
    n = x.shape[axis] if x.ndim else 1
    if not 0 <= int(k) <= n:
        raise ValueError(f"topk: k={k} is out of range for dim {axis} of shape {x.shape} (0 to {n})")
    d = np.asarray(x.data)
    if x.ndim == 0:
        return TopkResult(_picked("topk", x, None, None), np.zeros((), np.int64))
    order = np.argsort(-d if largest else d, axis=axis, kind="stable")
    idx = np.take(order, np.arange(int(k)), axis=axis).astype(np.int64)
    return TopkResult(_picked("topk", x, idx, axis), idx)


def _running(op, better):
    def scan(x, dim=UNSET, *, axis=UNSET):
        x = _value.const(x)
        axis = _dim(op, x, None if dim is UNSET else dim, axis, None)
        if x.ndim == 0:
            return (CummaxResult if op == "cummax" else CumminResult)(_picked(op, x, None, None), np.zeros((), np.int64))
        d = np.asarray(x.data)
        best = (np.maximum if op == "cummax" else np.minimum).accumulate(d, axis=axis)
        pos = np.arange(d.shape[axis]).reshape([-1 if i == axis else 1 for i in range(d.ndim)])
        # where an element equals the running extreme, it is (one of) its holders; PyTorch keeps
        # the latest holder among ties, so the running maximum of those positions is the index
        idx = np.maximum.accumulate(np.where(better(d, best), pos, 0), axis=axis).astype(np.int64)
        return (CummaxResult if op == "cummax" else CumminResult)(_picked(op, x, idx, axis), idx)
    scan.__name__ = op
    scan.__doc__ = (f"(values, indices) of the running {op[3:]}imum along dim (torch.{op}); among ties the "
                    "latest index, as PyTorch")
    return scan


def _scan_args(op):
    def args(x, dim=UNSET, *, axis=UNSET):
        axis = synonym(op, "dim", None if dim is UNSET else dim, "axis", axis, None)
        if axis is None or x.ndim == 0:  # numpy: the flattened input
            return (reshape(x, (-1,)) if x.ndim != 1 else x,), {"axis": 0}
        return (x,), {"axis": check_axis(x, axis, op)}
    return args


def _flip(x, axis):
    return call("flip", x, axis=(axis,))


def _reverse_cumsum(g, axis):
    return _flip(call("cumsum", _flip(g, axis), axis=axis), axis)


def _cumprod_grad(g, out, a, axis):
    """Σ_{i>=j} g_i · Π_{k<=i, k!=j} a_k: reverse-cumsum(g·out) / a, except in rows holding a
    zero (or a number so small that the division loses it): those are summed exactly."""
    if not len(shape(a)):
        return (g,)
    tiny = np.abs(data(a)) < np.finfo(data(a).dtype).tiny ** 0.5
    if not tiny.any():
        return (_reverse_cumsum(g * out, axis) / a,)
    if type(a) is not np.ndarray:  # create_graph with zeros: the products written out, O(n³)
        n = shape(a)[axis]
        moved = call("transpose", a, axes=_last(len(shape(a)), axis))
        lead = shape(moved)[:-1]
        grid = call("broadcast_to", reshape(moved, lead + (1, 1, n)), shape=lead + (n, n, n))
        i, j, k = np.ogrid[:n, :n, :n]
        prods = call("prod", call("where", 1.0, grid, cond=(k > i) | (k == j)), axis=len(lead) + 2)  # [i, j]
        gm = call("transpose", g, axes=_last(len(shape(a)), axis))
        summed = call("sum", reshape(gm, lead + (n, 1)) * prods * (j[..., 0] <= i[..., 0]), axis=len(lead))
        return (call("transpose", summed, axes=tuple(np.argsort(_last(len(shape(a)), axis)))),)
    a2, g2 = np.moveaxis(a, axis, -1), np.moveaxis(np.asarray(g, a.dtype), axis, -1)
    with np.errstate(divide="ignore", invalid="ignore", under="ignore"):
        grad = _reverse_cumsum(g2 * np.cumprod(a2, axis=-1), -1) / a2
    flagged = np.moveaxis(tiny, axis, -1).any(axis=-1)
    for row in (map(tuple, np.argwhere(flagged)) if flagged.ndim else [()]):
        x, gr = a2[row], g2[row]
        left = np.concatenate([[1.0], np.cumprod(x[:-1])])  # Π a_k for k < j
        for j in range(len(x)):  # left_j · Σ_{i>=j} g_i · Π_{j<k<=i} a_k
            grad[row][j] = left[j] * np.dot(gr[j:], np.cumprod(np.concatenate([[1.0], x[j + 1:]])))
    return (np.moveaxis(grad, -1, axis),)


def _last(ndim, axis):
    return tuple(i for i in range(ndim) if i != axis) + (axis,)


def _logcumsumexp(a, axis):
    return np.logaddexp.accumulate(np.asarray(a), axis=axis)


def _logcumsumexp_grad(g, out, a, axis):
    """Σ_{i>=j} g_i e^(a_j - out_i), in log space for each sign of g (no overflow, as PyTorch)."""
    if type(g) is np.ndarray and type(a) is np.ndarray:
        with np.errstate(divide="ignore"):
            total = 0.0
            for part, sign in ((np.maximum(g, 0), 1.0), (np.maximum(-g, 0), -1.0)):
                rev = np.flip(np.logaddexp.accumulate(np.flip(np.log(part) - out, axis), axis=axis), axis)
                total = total + sign * np.exp(a + rev)
        return (total,)
    shift = data(out).max(axis=axis, keepdims=True) if np.ndim(data(out)) else data(out)  # create_graph: shifted
    return (call("exp", a - shift) * _reverse_cumsum(g * call("exp", shift - out), axis),)


# fmt: off
defop("sort", pick, pick_grad, "sort", ("g scattered back to the sorted places",), elementwise=False,
      doc="a's elements in sorted order along dim")
defop("topk", pick, pick_grad, "topk", ("g scattered back to the k places",), elementwise=False,
      doc="the k largest (or smallest) of a along dim")
defop("cummax", pick, pick_grad, "cummax", ("g added at each running maximum's index",), elementwise=False,
      doc="running maximum of a along dim")
defop("cummin", pick, pick_grad, "cummin", ("g added at each running minimum's index",), elementwise=False,
      doc="running minimum of a along dim")
defop("cumsum", lambda a, axis: np.cumsum(a, axis=axis), lambda g, out, a, axis: (_reverse_cumsum(g, axis),),
      "cumsum", ("reverse cumsum of g",), elementwise=False, doc="running sum of a along axis",
      method=True, function=True, args=_scan_args("cumsum"))
defop("cumprod", lambda a, axis: np.cumprod(a, axis=axis), _cumprod_grad,
      "cumprod", ("Σ_(i>=j) g_i · Π_(k<=i, k!=j) a_k",), elementwise=False,
      doc="running product of a along axis (zeros exact)", method=True, function=True, args=_scan_args("cumprod"))
defop("logcumsumexp", _logcumsumexp, _logcumsumexp_grad,
      "logcumsumexp", ("Σ_(i>=j) g_i · e^(a_j - out_i)",), elementwise=False,
      doc="running log Σ e^a along axis", method=True, function=True, args=_scan_args("logcumsumexp"))
defmethod("sort", sort)
defmethod("topk", topk)
defmethod("cummax", _running("cummax", lambda d, best: d == best))
defmethod("cummin", _running("cummin", lambda d, best: d == best))
# fmt: on
