"""Gradcheck cases of the vision ops (conv2d and its two gradient ops, pooling, batch norm, dropout):
shapes, strides, paddings, dilations and groups drawn by hypothesis, kept small for finite differences."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from test_ops_gradcheck import Case, arr

import autograd
from autograd.value import apply


def _geometry(draw, max_kernel=3):
    """(x shape, kernel, stride, padding, dilation) with the kernel inside the padded input."""
    n, h, w = draw(st.integers(1, 2)), draw(st.integers(1, 5)), draw(st.integers(1, 5))
    k = (draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel)))
    s = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    p = tuple(draw(st.integers(0, 1)) for _ in range(2))
    eff = [di * (ki - 1) + 1 for ki, di in zip(k, d)]
    h, w = max(h, eff[0] - 2 * p[0]), max(w, eff[1] - 2 * p[1])
    return n, h, w, k, s, p, d


def _conv_setup(draw):
    n, h, w, k, s, p, d = _geometry(draw)
    groups = draw(st.sampled_from([1, 1, 2]))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    conv = {"stride": s, "padding": p, "dilation": d, "groups": groups}
    return (n, cin, h, w), (cout, cin // groups) + k, conv


def conv2d_case(draw):
    xs, ws, conv = _conv_setup(draw)
    if draw(st.booleans()):
        return (lambda x, w, b: autograd.conv2d(x, w, b, **conv)), [arr(draw, xs), arr(draw, ws), arr(draw, ws[:1])]
    if draw(st.booleans()):  # a constant input batch: the rule skips its gradient (needs=)
        x = arr(draw, xs)
        return (lambda w: autograd.conv2d(x.astype(w.dtype), w, **conv)), [arr(draw, ws)]
    return (lambda x, w: autograd.conv2d(x, w, **conv)), [arr(draw, xs), arr(draw, ws)]


def _out_shape(xs, ws, conv):
    from autograd.ops.convolution import out_size
    return (xs[0], ws[0]) + tuple(out_size(xs[2 + i], ws[2 + i], conv["stride"][i], conv["padding"][i],
                                           conv["dilation"][i]) for i in range(2))


def input_grad_case(draw):
    xs, ws, conv = _conv_setup(draw)
    return (lambda g, w: apply("conv2d_input_grad", (g, w), dict(x_shape=xs, **conv))), \
        [arr(draw, _out_shape(xs, ws, conv)), arr(draw, ws)]


def weight_grad_case(draw):
    xs, ws, conv = _conv_setup(draw)
    return (lambda g, x: apply("conv2d_weight_grad", (g, x), dict(w_shape=ws, **conv))), \
        [arr(draw, _out_shape(xs, ws, conv)), arr(draw, xs)]


def max_pool_case(draw):
    n, h, w, k, s, p, d = _geometry(draw)
    p = tuple(min(pi, ki // 2) for pi, ki in zip(p, k))
    d = tuple(1 if pi else di for pi, di in zip(p, d))  # every window holds an input (none of padding alone)
    shape = (n, draw(st.integers(1, 2)), h, w)
    size = int(np.prod(shape))  # distinct values (a permutation): finite differences need a max without ties
    x = (np.array(draw(st.permutations(range(size))), dtype=np.float64).reshape(shape) - size / 2) / 10
    ceil = draw(st.booleans())
    if ceil:
        d = (1, 1)  # (with dilation and ceil_mode a window can hold padding alone: -inf)
    return (lambda a: autograd.max_pool2d(a, k, s, p, d, ceil_mode=ceil)), [x]


def avg_pool_case(draw):
    n, h, w, k, s, p, _ = _geometry(draw)
    p = tuple(min(pi, ki // 2) for pi, ki in zip(p, k))
    include = draw(st.booleans())
    divisor = draw(st.sampled_from([None, None, 3]))
    x = arr(draw, (n, draw(st.integers(1, 2)), h, w))
    ceil = draw(st.booleans())
    return (lambda a: autograd.avg_pool2d(a, k, s, p, ceil_mode=ceil, count_include_pad=include,
                                          divisor_override=divisor)), [x]


def adaptive_case(draw):
    x = arr(draw, (draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 5)), draw(st.integers(1, 5))))
    size = (draw(st.integers(1, x.shape[2] + 1)), draw(st.integers(1, x.shape[3] + 1)))
    return (lambda a: autograd.adaptive_avg_pool2d(a, size)), [x]


def batch_norm_case(draw):
    shape = draw(st.sampled_from([(3, 2), (2, 3, 2), (2, 2, 2, 3), (4, 1)]))
    training = draw(st.booleans())
    c = shape[1]
    rm, rv = arr(draw, (c,)), arr(draw, (c,), "pos")
    if draw(st.booleans()):
        # eps 1e-3, not the default 1e-5: a constant batch makes x - mean float32's rounding of the
        # mean, which 1/sqrt(eps) amplifies (316x at 1e-5: 1e-4 off float64, beyond the test's atol)
        return (lambda x, w, b: autograd.batch_norm(x, rm.copy(), rv.copy(), w, b, training=training, eps=1e-3)), \
            [arr(draw, shape), arr(draw, (c,)), arr(draw, (c,))]
    return (lambda x: autograd.batch_norm(x, rm.copy(), rv.copy(), training=training, eps=0.1)), [arr(draw, shape)]


def dropout_case(draw):
    shape = draw(st.sampled_from([(3,), (2, 3), (2, 2, 2, 2)]))
    p, seed = draw(st.sampled_from([0.0, 0.25, 0.5])), draw(st.integers(0, 100))
    # a fresh generator from the same seed on every call: finite differences see the same mask
    return (lambda a: autograd.dropout(a, p, generator=np.random.default_rng(seed))), [arr(draw, shape)]


CASES = [
    Case("conv2d", "conv2d", conv2d_case),
    Case("conv2d_input_grad", "conv2d_input_grad", input_grad_case),
    Case("conv2d_weight_grad", "conv2d_weight_grad", weight_grad_case),
    Case("max_pool2d", "max_pool2d", max_pool_case),
    Case("avg_pool2d", "avg_pool2d", avg_pool_case),
    Case("adaptive_avg_pool2d", "adaptive_avg_pool2d", adaptive_case),
    Case("batch_norm", "batch_norm", batch_norm_case),
    Case("dropout", "dropout", dropout_case),
]
