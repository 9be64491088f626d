"""Gradcheck cases for the reductions, statistics and scans (autograd/ops/reductions.py,
ordering.py) and the probability loss of nn (binary_cross_entropy): collected by
tests/test_ops_gradcheck.py."""
from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st
from test_ops_gradcheck import SHAPES, TENSOR_SHAPES, Case, arr, axis_arg

import autograd
import nn


def _reduced_size(shape, axis):
    if axis is None:
        return math.prod(shape)
    return math.prod(shape[a] for a in (axis if isinstance(axis, tuple) else (axis,)))


def extreme(op):
    """min (and max again) over an int axis, a tuple or everything: distinct values (no ties)."""
    def build(draw):
        x = arr(draw, draw(SHAPES), "distinct")
        axis, keepdims = axis_arg(draw, x.ndim), draw(st.booleans())
        return (lambda a: getattr(a, op)(dim=axis, keepdim=keepdims)), [x]
    return Case(op, op, build)


def prod_case(draw):
    x = arr(draw, draw(SHAPES))
    if x.size > 1 and draw(st.booleans()):  # zeros: one or several
        flat = x.reshape(-1)
        flat[draw(st.lists(st.integers(0, x.size - 1), min_size=1, max_size=2))] = 0.0
    axis, keepdims = axis_arg(draw, x.ndim), draw(st.booleans())
    fn = draw(st.sampled_from([lambda a: a.prod(axis=axis, keepdims=keepdims),
                               lambda a: autograd.prod(a, dim=axis, keepdim=keepdims)]))
    return fn, [x]


def moments(op):
    def build(draw):
        x = arr(draw, draw(SHAPES), "distinct")
        axis, keepdims = axis_arg(draw, x.ndim), draw(st.booleans())
        if op == "std" and _reduced_size(x.shape, axis) < 2:  # std of one number: 0, its gradient 0/0
            x, axis = (x if x.size > 1 else arr(draw, (3,), "distinct")), None
        correction = draw(st.sampled_from([0, 1])) if _reduced_size(x.shape, axis) > 1 else 0
        return (lambda a: getattr(a, op)(dim=axis, keepdim=keepdims, correction=correction)), [x]
    return Case(op, op, build)


def moments_pair(fn_name, op):
    def build(draw):
        x = arr(draw, draw(TENSOR_SHAPES), "distinct")
        axis = draw(st.integers(-x.ndim, x.ndim - 1))
        if x.shape[axis] < 2:  # std of one number: 0, its gradient 0/0
            x = arr(draw, x.shape[:axis % x.ndim] + (3,) + x.shape[axis % x.ndim + 1:], "distinct")
        correction = draw(st.sampled_from([0, 1]))
        f = getattr(autograd, fn_name)

        def fn(a):
            s, m = f(a, dim=axis, correction=correction)
            return s * 2.0 + m
        return fn, [x]
    return Case(op, fn_name, build)


def normalize_case(draw):
    x = arr(draw, draw(TENSOR_SHAPES), "away")
    axis = draw(st.integers(-x.ndim, x.ndim - 1))
    p = draw(st.sampled_from([2.0, 1.0, 3.0]))
    f = draw(st.sampled_from([autograd.normalize, nn.functional.normalize]))
    return (lambda a: f(a, p=p, dim=axis)), [x]


def along(op, fn):
    """A scan or sort along one axis (maybe negative) of a tensor."""
    def build(draw):
        x = arr(draw, draw(TENSOR_SHAPES), "distinct" if op in ("sort", "topk", "cummax", "cummin") else "any")
        axis = draw(st.integers(-x.ndim, x.ndim - 1))
        return fn(draw, x, axis), [x]
    return Case(op, op, build)


def _topk(draw, x, axis):
    k = draw(st.integers(1, x.shape[axis]))
    largest = draw(st.booleans())
    return lambda a: a.topk(k, dim=axis, largest=largest).values


def _cumprod(draw, x, axis):
    if draw(st.booleans()):
        x.reshape(-1)[draw(st.integers(0, x.size - 1))] = 0.0  # a zero inside the scan
    return lambda a: a.cumprod(dim=axis)


def _sort(draw, x, axis):
    descending = draw(st.booleans())
    return lambda a: a.sort(dim=axis, descending=descending)[0]


def bce_case(draw):
    shape = draw(SHAPES)
    p = draw(st.lists(st.floats(0.05, 0.95), min_size=math.prod(shape), max_size=math.prod(shape)))
    y = draw(st.lists(st.sampled_from([0.0, 1.0, 0.3]), min_size=len(p), max_size=len(p)))
    p, y = np.array(p).reshape(shape), np.array(y).reshape(shape)
    reduction = draw(st.sampled_from(["mean", "sum", "none"]))
    return (lambda a: nn.binary_cross_entropy(a, y, reduction=reduction)), [p]


def nll_case(draw):
    """Log-probabilities (rows, classes) against class targets, some equal to ignore_index (1) or none,
    with or without class weights and label smoothing, in each reduction: nll_loss's node (nn.nll_loss,
    and nn.cross_entropy with smoothing: both always take it)."""
    rows, classes = draw(st.integers(1, 4)), draw(st.integers(2, 4))
    y = np.array(draw(st.lists(st.integers(0, classes - 1), min_size=rows, max_size=rows)))
    weight = draw(st.sampled_from([None, np.linspace(0.5, 2.0, classes)]))
    kwargs = dict(weight=weight, ignore_index=draw(st.sampled_from([1, -100])),
                  reduction=draw(st.sampled_from(["mean", "sum", "none"])))
    if kwargs["reduction"] == "mean" and (y == kwargs["ignore_index"]).all():
        kwargs["ignore_index"] = -100  # (every row ignored: a nan mean, no derivative to check; tested apart)
    smoothing = draw(st.sampled_from([0.0, 0.2]))
    if smoothing:
        return (lambda a: nn.cross_entropy(a, y, label_smoothing=smoothing, **kwargs)), [arr(draw, (rows, classes))]
    return (lambda a: nn.nll_loss(a, y, **kwargs)), [arr(draw, (rows, classes))]


CASES = [
    extreme("min"),
    extreme("max"),
    Case("prod", "prod", prod_case),
    moments("var"),
    moments("std"),
    moments_pair("std_mean", "std"),
    moments_pair("var_mean", "var"),
    Case("normalize", "normalize", normalize_case),
    along("sort", _sort),
    along("topk", _topk),
    along("cummax", lambda draw, x, axis: (lambda a: a.cummax(axis).values)),
    along("cummin", lambda draw, x, axis: (lambda a: a.cummin(dim=axis)[0])),
    along("cumsum", lambda draw, x, axis: (lambda a: a.cumsum(axis))),
    Case("cumsum", "cumsum_flat", lambda draw: ((lambda a: autograd.cumsum(a)), [arr(draw, draw(SHAPES))])),
    along("cumprod", _cumprod),
    along("logcumsumexp", lambda draw, x, axis: (lambda a: a.logcumsumexp(dim=axis))),
    Case("binary_cross_entropy", "binary_cross_entropy", bce_case),
    Case("nll_loss", "nll_loss", nll_case),
]
