"""Reductions over an axis: sum, mean, max, logsumexp."""
from __future__ import annotations

import math

import numpy as np

from ..arguments import reduction
from . import broadcast_to, data, defop, exp, keep_dims, shape


_sum = lambda x, axis=None, keepdims=False: np.sum(x, axis=axis, keepdims=keepdims)  # noqa: E731


_mean = lambda x, axis=None, keepdims=False: np.mean(x, axis=axis, keepdims=keepdims)  # noqa: E731


_max = lambda x, axis=None, keepdims=False: np.max(x, axis=axis, keepdims=keepdims)  # noqa: E731


def _spread(g, a, axis, keepdims, n):
    """The gradient of a sum (n = 1) or mean (n = count) over axis: g / n at every element of a."""
    if type(g) is float and type(a) is np.ndarray:  # a whole array reduced to one float: one fill
        return np.full(a.shape, g / n, a.dtype)
    g = keep_dims(g, axis, shape(a), keepdims)
    return broadcast_to(g if n == 1 else g / n, shape(a))


def _size(shape_, axis):
    if axis is None:
        return math.prod(shape_)
    return math.prod(shape_[a] for a in (axis if isinstance(axis, tuple) else (axis,)))


def _max_grad(g, out, x, axis=None, keepdims=False):
    xd, od = data(x), data(out)
    od = od if keepdims or axis is None else np.expand_dims(od, axis)
    mask = xd == od
    share = mask / np.sum(mask, axis=axis, keepdims=True)  # ties split the gradient
    return (keep_dims(g, axis, shape(x), keepdims) * share,)


def _logsumexp(x, axis=None, keepdims=False):
    x = np.asarray(x)  # methods (x.max) skip the ~1 µs dispatch layer of functions (np.max)
    m = x.max(axis=axis, keepdims=True)
    if not math.isfinite(m.sum()):  # one cheap test; only ±inf/nan maxima need the shift zeroed
        m = np.where(np.isfinite(m), m, 0)
    r = np.log(np.exp(x - m).sum(axis=axis, keepdims=True)) + m
    return r if keepdims else r.squeeze(axis)


# fmt: off
defop("sum", _sum, lambda g, out, a, axis=None, keepdims=False: (_spread(g, a, axis, keepdims, 1),),
      "sum", ("broadcast(g)",), elementwise=False, doc="sum of a over axis",
      method=True, args=reduction("sum"))
defop("mean", _mean, lambda g, out, a, axis=None, keepdims=False:
      (_spread(g, a, axis, keepdims, _size(shape(a), axis)),),
      "mean", ("broadcast(g) / n",), elementwise=False, doc="mean of a over axis",
      method=True, args=reduction("mean"))
defop("max", _max, _max_grad,
      "max", ("g where a == max (ties share)",), elementwise=False, doc="max of a over axis",
      method=True, args=reduction("max"))
defop("logsumexp", _logsumexp, lambda g, out, a, axis=None, keepdims=False:
      (keep_dims(g, axis, shape(a), keepdims) * exp(a - keep_dims(out, axis, shape(a), keepdims)),),
      "logsumexp", ("g · softmax(a)",), elementwise=False, doc="log Σ e^a over axis, max-shifted",
      method=True, function=True, args=reduction("logsumexp"))
# fmt: on
