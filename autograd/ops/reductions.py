"""Reductions over an axis: sum, mean, max/min, logsumexp, prod, var/std (and std_mean,
var_mean), normalize; argmax/argmin and all/any (plain numpy results, no gradient)."""
from __future__ import annotations

import math

import numpy as np

from .. import value as _value
from ..arguments import UNSET, check_axis, reduce_attrs, reduction, synonym
from . import broadcast_to, call, data, defmethod, defop, exp, keep_dims, reshape, shape, sum_


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


def _extreme_grad(g, out, x, axis=None, keepdims=False):
    """max and min: over one axis the whole gradient goes to the first extreme of each row (the
    element torch.max(x, dim) indexes); over everything or several axes, ties share it equally
    (x.max() and torch.amax)."""
    xd, od = data(x), data(out)
    od = od if keepdims or axis is None else np.expand_dims(od, axis)
    mask = xd == od
    if isinstance(axis, (int, np.integer)) and np.ndim(xd):
        share = mask & (np.cumsum(mask, axis=axis) == 1)
    else:
        share = mask / np.sum(mask, axis=axis, keepdims=True)  # ties split the gradient
    return (keep_dims(g, axis, shape(x), keepdims) * share,)


def _raw(x):
    return type(x) is float or type(x) is np.ndarray


def _axes(x, axis):
    n = len(shape(x))
    return tuple(range(n)) if axis is None else tuple(a % n for a in (axis if isinstance(axis, tuple) else (axis,)))


def _others(a, axis):
    """For each element of a, the product of the other elements of its reduced group (zeros
    included: exact, no division)."""
    axes = _axes(a, axis)
    s = shape(a)
    rest = tuple(i for i in range(len(s)) if i not in axes)
    perm = rest + axes
    grouped = (tuple(s[i] for i in rest), math.prod(s[i] for i in axes))

    def back(t):  # (..., n) -> a's layout
        return call("transpose", reshape(t, tuple(s[i] for i in perm)), axes=tuple(np.argsort(perm)))

    if _raw(a):  # exclusive products from the left and from the right
        flat = np.transpose(a, perm).reshape(grouped[0] + (grouped[1],))
        ones = np.ones(flat.shape[:-1] + (1,), flat.dtype)
        left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
        right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
        return back(left * right)
    if not (np.abs(data(a)) < np.finfo(data(a).dtype).tiny ** 0.5).any():  # create_graph: out / a
        return keep_dims(call("prod", a, axis=axis, keepdims=False), axis, s, False) / a
    flat = reshape(call("transpose", a, axes=perm), grouped[0] + (1, grouped[1]))  # (..., 1, n)
    n = grouped[1]
    rows = call("where", 1.0, call("broadcast_to", flat, shape=grouped[0] + (n, n)), cond=np.eye(n, dtype=bool))
    return back(call("prod", rows, axis=len(grouped[0]) + 1))  # row j: every element but the j-th


def _moments(op):
    """Arguments of var/std: PyTorch's (dim, unbiased, keepdim) or keywords correction= (default 1,
    PyTorch's), numpy's ddof=, axis=, keepdims=."""
    def args(x, axis=None, unbiased=UNSET, keepdims=False, *, dim=UNSET, keepdim=UNSET, correction=UNSET,
             ddof=UNSET):
        if isinstance(axis, bool):  # x.var(False): PyTorch's unbiased as the first argument
            axis, unbiased = None, axis
        axis = synonym(op, "axis", axis, "dim", dim, None)
        keepdims = synonym(op, "keepdims", keepdims, "keepdim", keepdim, False)
        given = {k: v for k, v in (("unbiased", unbiased), ("correction", correction), ("ddof", ddof)) if v is not UNSET}
        if len(given) > 1:
            raise TypeError(f"{op}: got {' and '.join(k + '=' for k in given)}; they say the same, pass one")
        c = (1 if given["unbiased"] else 0) if "unbiased" in given else next(iter(given.values()), 1)
        c = 1 if c is None else c
        return (x,), {**reduce_attrs(x, axis, keepdims, op), "correction": int(c) if c == int(c) else float(c)}
    return args


def _var(a, axis=None, keepdims=False, correction=1):
    a = np.asarray(a)
    d = a - a.mean(axis=axis, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):  # n <= correction: inf or nan, as PyTorch
        return np.add.reduce(d * d, axis=axis, keepdims=keepdims) / max(_size(a.shape, axis) - correction, 0)


def _var_grad(g, out, a, axis=None, keepdims=False, correction=1):
    n = max(_size(shape(a), axis) - correction, 0)
    centered = a - call("mean", a, axis=axis, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (keep_dims(g, axis, shape(a), keepdims) * centered * (2.0 / n if n else math.inf),)


def _std_grad(g, out, a, axis=None, keepdims=False, correction=1):
    n = max(_size(shape(a), axis) - correction, 0)
    centered = a - call("mean", a, axis=axis, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):  # a constant row: 0/0, nan as PyTorch
        return (keep_dims(g, axis, shape(a), keepdims) * centered / (keep_dims(out, axis, shape(a), keepdims) * n),)


def std_mean(x, *args, **kwargs):
    """(std, mean) of x over dim, as torch.std_mean (correction=1 by default)."""
    inputs, attrs = _moments("std_mean")(_value.const(x), *args, **kwargs)
    mean = {k: v for k, v in attrs.items() if k != "correction"}
    return _value.apply("std", inputs, attrs), _value.apply("mean", inputs, mean)


def var_mean(x, *args, **kwargs):
    """(var, mean) of x over dim, as torch.var_mean (correction=1 by default)."""
    inputs, attrs = _moments("var_mean")(_value.const(x), *args, **kwargs)
    mean = {k: v for k, v in attrs.items() if k != "correction"}
    return _value.apply("var", inputs, attrs), _value.apply("mean", inputs, mean)


def _index_of(np_fn, op):
    def index(x, axis=None, keepdims=False, *, dim=UNSET, keepdim=UNSET):
        axis = synonym(op, "axis", axis, "dim", dim, None)
        keepdims = synonym(op, "keepdims", keepdims, "keepdim", keepdim, False)
        d = np.asarray(data(x))
        return np_fn(d, axis=check_axis(d, axis, op), keepdims=bool(keepdims)).astype(np.int64)
    index.__doc__ = (f"The index of the {op[3:]}imum over dim (flat without one; first among ties), an int64 "
                     f"numpy array: no gradient (torch.{op})")
    return index


def _test_of(np_fn, op):
    def test(x, axis=None, keepdims=False, *, dim=UNSET, keepdim=UNSET):
        axis = synonym(op, "axis", axis, "dim", dim, None)
        keepdims = synonym(op, "keepdims", keepdims, "keepdim", keepdim, False)
        d = np.asarray(data(x))
        return np_fn(d != 0, axis=check_axis(d, axis, op), keepdims=bool(keepdims))
    test.__doc__ = f"Whether {'every' if op == 'all' else 'any'} element over dim is non-zero: numpy booleans"
    return test


def _norm(a, p, axis):
    if p == 2:
        return np.sqrt(np.add.reduce(a * a, axis=axis, keepdims=True))
    return np.add.reduce(np.abs(a) ** p, axis=axis, keepdims=True) ** (1.0 / p)


def _normalize(a, p=2.0, axis=1, eps=1e-12):
    a = np.asarray(a)
    return a / np.maximum(_norm(a, p, axis), eps)


def _normalize_grad(g, out, a, p=2.0, axis=1, eps=1e-12):
    """d(a / max(‖a‖, eps)): g/d - Σ(g·a)/d² · d‖a‖/da, the second term only where ‖a‖ >= eps."""
    norm = call("pow", sum_(call("pow", call("abs", a), exponent=p), axis=axis, keepdims=True), exponent=1.0 / p)
    mask = data(norm) >= eps  # PyTorch's clamp_min(eps): the norm's gradient passes where norm >= eps
    safe = call("where", norm, 1.0, cond=mask)
    denom = call("where", norm, eps, cond=mask)
    dnorm = a / safe if p == 2 else np.sign(data(a)) * call("pow", call("abs", a) / safe, exponent=p - 1)
    return (g / denom - sum_(g * a, axis=axis, keepdims=True) / (denom * denom) * dnorm * mask,)


def _normalize_args(x, p=2.0, dim=1, eps=1e-12, *, axis=UNSET):
    if x.ndim == 0:
        raise ValueError("normalize: needs at least one dimension, got a scalar")
    dim = synonym("normalize", "dim", dim, "axis", axis, 1)
    if x.ndim == 1 and dim in (1, -2):  # PyTorch's default dim=1 does not exist for a vector
        raise ValueError(f"normalize: dim {dim} is out of range for shape {x.shape}; pass dim=0 for a vector")
    if not p > 0:
        raise ValueError(f"normalize: p must be positive, got {p}")
    return (x,), {"p": float(p), "axis": check_axis(x, dim, "normalize"), "eps": float(eps)}


def normalize(x, p=2.0, dim=1, eps=1e-12):
    """x / max(‖x‖_p over dim, eps), as torch.nn.functional.normalize."""
    x = _value.const(x)
    return _value.apply("normalize", *_normalize_args(x, p, dim, eps))


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
defop("max", _max, _extreme_grad,
      "max", ("g at the max (one axis: the first; else ties share)",), elementwise=False, doc="max of a over axis",
      method=True, args=reduction("max"))
defop("min", lambda x, axis=None, keepdims=False: np.min(x, axis=axis, keepdims=keepdims), _extreme_grad,
      "min", ("g at the min (one axis: the first; else ties share)",), elementwise=False, doc="min of a over axis",
      method=True, args=reduction("min"))
defop("prod", lambda x, axis=None, keepdims=False: np.prod(x, axis=axis, keepdims=keepdims),
      lambda g, out, a, axis=None, keepdims=False: (keep_dims(g, axis, shape(a), keepdims) * _others(a, axis),),
      "prod", ("g · product of the others",), elementwise=False, doc="product of a over axis (zeros exact)",
      method=True, function=True, args=reduction("prod"))
defop("var", _var, _var_grad, "var", ("g · 2(a - mean) / (n - correction)",), elementwise=False,
      doc="variance of a over axis, Σ(a - mean)² / (n - correction), correction=1 as PyTorch",
      method=True, function=True, args=_moments("var"))
defop("std", lambda a, axis=None, keepdims=False, correction=1: np.sqrt(_var(a, axis, keepdims, correction)),
      _std_grad, "std", ("g · (a - mean) / ((n - correction) · out)",), elementwise=False,
      doc="standard deviation of a over axis, √var (correction=1 as PyTorch)",
      method=True, function=True, args=_moments("std"))
defop("normalize", _normalize, _normalize_grad, "normalize p={p}", ("g/‖a‖ - Σ(g·a)/‖a‖² · d‖a‖/da",),
      elementwise=False, doc="a / max(‖a‖_p over axis, eps)")
defop("logsumexp", _logsumexp, lambda g, out, a, axis=None, keepdims=False:
      (keep_dims(g, axis, shape(a), keepdims) * exp(a - keep_dims(out, axis, shape(a), keepdims)),),
      "logsumexp", ("g · softmax(a)",), elementwise=False, doc="log Σ e^a over axis, max-shifted",
      method=True, function=True, args=reduction("logsumexp"))
defmethod("std_mean", std_mean, method=False)
defmethod("var_mean", var_mean, method=False)
defmethod("normalize", normalize, method=False)
defmethod("argmax", _index_of(np.argmax, "argmax"))
defmethod("argmin", _index_of(np.argmin, "argmin"))
defmethod("all", _test_of(np.all, "all"), function=False)  # autograd.all would shadow the builtin
defmethod("any", _test_of(np.any, "any"), function=False)
# fmt: on
