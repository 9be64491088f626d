"""Gradcheck cases for the elementwise math, clamp/maximum/minimum and the activations of
autograd/ops/functions.py and activations.py (collected by tests/test_ops_gradcheck.py).

Each draws values inside the op's domain and away from its kinks: piecewise ops take
values on a grid offset from their breakpoints (k/10 + 0.05 never equals 0, ±1, 3 or 6),
so a finite difference never straddles a kink."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from test_ops_gradcheck import SHAPES, Case, arr, binary, pair, softmax_like, unary

import autograd


def within(draw, shape, lo, hi):
    """A float64 array of `shape` with values in [lo, hi]."""
    return draw(hnp.arrays(np.float64, shape, elements=st.floats(lo, hi)))


def grid(draw, shape, lo=-20, hi=20, offset=0.05):
    """Values k/10 + offset, k in [lo, hi]: off the integers and half-integers for offset 0.05."""
    return draw(hnp.arrays(np.int64, shape, elements=st.integers(lo, hi))) / 10 + offset


def on(op, fn, lo, hi, name=None):
    return Case(op, name or op, lambda draw: (fn, [within(draw, draw(SHAPES), lo, hi)]))


def off_kinks(op, fn, lo=-20, hi=20, name=None):
    return Case(op, name or op, lambda draw: (fn, [grid(draw, draw(SHAPES), lo, hi)]))


def fractional(draw, shape):
    """k + u with u in [0.15, 0.85]: away from every integer and from their midpoints' neighbours."""
    k = draw(hnp.arrays(np.int64, shape, elements=st.integers(-3, 3)))
    u = draw(hnp.arrays(np.float64, shape, elements=st.floats(0.15, 0.35) | st.floats(0.65, 0.85)))
    return k + u


def rounding(op, fn):
    return Case(op, op, lambda draw: (fn, [fractional(draw, draw(SHAPES))]))


def division_case(op, fn):
    """a = q·b with q off the integers: a/b never near a jump of floor/trunc/remainder."""
    def build(draw):
        sa, sb = pair(draw)
        b = arr(draw, sb, "away")
        q = fractional(draw, np.broadcast_shapes(sa, sb))
        return fn, [q * b, b]
    return Case(op, op, build)


def extreme_case(op):
    """maximum/minimum on a grid of tenths: exact ties happen, and there the central
    difference is ½ for each input, as the rule says."""
    def build(draw):
        sa, sb = pair(draw)
        a = draw(hnp.arrays(np.int64, sa, elements=st.integers(-5, 5))) / 10
        b = draw(hnp.arrays(np.int64, sb, elements=st.integers(-5, 5))) / 10
        fn = draw(st.sampled_from([lambda x, y: getattr(x, op)(y), lambda x, y: getattr(autograd, op)(x, y)]))
        return fn, [a, b]
    return Case(op, op, build)


def clamp_case(draw):
    x = grid(draw, draw(SHAPES))
    lo, hi = draw(st.integers(-15, 5)) / 10, draw(st.integers(-5, 15)) / 10
    bounds = draw(st.sampled_from([(lo, hi), (lo, None), (None, hi), (hi, lo)]))
    name = draw(st.sampled_from(["clamp", "clip"]))
    return (lambda a: getattr(a, name)(*bounds)), [x]


def clamp_tensor_case(draw):
    """Value bounds, broadcast against x; lo and hi on grids that never meet each other or x."""
    sx, slo, shi = draw(hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3)).input_shapes
    x = grid(draw, sx)
    lo, hi = grid(draw, slo, offset=0.0), grid(draw, shi, offset=0.033)
    kind = draw(st.sampled_from(["both", "min", "max", "function"]))
    if kind == "min":
        return (lambda a, m: a.clamp(min=m)), [x, lo]
    if kind == "max":
        return (lambda a, m: a.clamp(max=m)), [x, hi]
    if kind == "function":
        return (lambda a, m, n: autograd.clamp(a, m, n)), [x, lo, hi]
    return (lambda a, m, n: a.clamp(m, n)), [x, lo, hi]


def lerp_case(draw):
    sa, sb, sw = draw(hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3)).input_shapes
    a, b = arr(draw, sa), arr(draw, sb)
    if draw(st.booleans()):
        w = draw(st.floats(-0.5, 1.5))
        return (lambda x, y: x.lerp(y, w)), [a, b]
    return (lambda x, y, z: autograd.lerp(x, y, z)), [a, b, within(draw, sw, -0.5, 1.5)]


def with_args(op, domain_fn, make):
    """An op with static arguments: make(draw) -> fn(a)."""
    return Case(op, op, lambda draw: (make(draw), [domain_fn(draw)]))


def alpha_fn(method):
    def make(draw):
        alpha = draw(st.sampled_from([1.0, 0.5, 2.0]))
        return lambda a: getattr(a, method)(alpha)
    return make


def hardtanh_fn(draw):
    bounds = draw(st.sampled_from([(-1.0, 1.0), (-0.5, 1.5), (0.0, 6.0)]))
    return lambda a: a.hardtanh(*bounds)


def softplus_fn(draw):
    beta, threshold = draw(st.sampled_from([0.5, 1.0, 2.0])), draw(st.sampled_from([20.0, 1.0]))
    return lambda a: a.softplus(beta, threshold)


def _shape_grid(lo=-20, hi=20):
    return lambda draw: grid(draw, draw(SHAPES), lo, hi)


CASES = [
    # trigonometric and hyperbolic
    on("sin", lambda a: a.sin(), -3, 3),
    on("cos", lambda a: autograd.cos(a), -3, 3),
    on("tan", lambda a: a.tan(), -1.2, 1.2),
    on("asin", lambda a: a.asin(), -0.8, 0.8),
    on("acos", lambda a: a.acos(), -0.8, 0.8),
    unary("atan", lambda a: a.atan()),
    unary("sinh", lambda a: a.sinh()),
    unary("cosh", lambda a: a.cosh()),
    unary("asinh", lambda a: a.asinh()),
    on("acosh", lambda a: a.acosh(), 1.3, 3.0),
    on("atanh", lambda a: a.atanh(), -0.8, 0.8),
    unary("erf", lambda a: a.erf()),
    # powers, logs, exponentials
    unary("rsqrt", lambda a: a.rsqrt(), "pos"),
    unary("square", lambda a: a.square()),
    unary("reciprocal", lambda a: a.reciprocal(), "away"),
    unary("log2", lambda a: a.log2(), "pos"),
    unary("log10", lambda a: autograd.log10(a), "pos"),
    on("log1p", lambda a: a.log1p(), -0.7, 2.0),
    unary("expm1", lambda a: a.expm1()),
    unary("exp2", lambda a: a.exp2()),
    binary("logaddexp", lambda a, b: a.logaddexp(b)),
    Case("lerp", "lerp", lerp_case),
    # signs, remainders, rounding
    unary("sign", lambda a: a.sign() * a, "away"),
    binary("copysign", lambda a, b: a.copysign(b), ("away", "away")),
    division_case("fmod", lambda a, b: a.fmod(b)),
    division_case("remainder", lambda a, b: a % b),
    division_case("floor_divide", lambda a, b: a // b + a),
    rounding("floor", lambda a: a.floor() + a),
    rounding("ceil", lambda a: a.ceil() * a),
    rounding("trunc", lambda a: a.trunc() + a),
    rounding("round", lambda a: a.round() + autograd.round(a) + a),
    # clamping and pairwise extremes
    extreme_case("maximum"),
    extreme_case("minimum"),
    Case("clamp", "clamp", clamp_case),
    Case("clamp_tensor", "clamp_tensor", clamp_tensor_case),
    # activations
    unary("leaky_relu", lambda a: a.leaky_relu(0.2) + autograd.leaky_relu(a), "away"),
    unary("gelu", lambda a: a.gelu()),
    unary("gelu_tanh", lambda a: autograd.gelu(a, approximate="tanh")),
    unary("silu", lambda a: a.silu()),
    unary("silu", lambda a: autograd.swish(a), name="swish"),
    with_args("softplus", _shape_grid(), softplus_fn),
    with_args("elu", _shape_grid(), alpha_fn("elu")),
    unary("selu", lambda a: a.selu(), "away"),
    with_args("celu", _shape_grid(), alpha_fn("celu")),
    unary("mish", lambda a: a.mish()),
    unary("logsigmoid", lambda a: a.logsigmoid()),
    with_args("hardtanh", _shape_grid(), hardtanh_fn),
    off_kinks("relu6", lambda a: a.relu6(), -20, 70),
    off_kinks("hardsigmoid", lambda a: a.hardsigmoid(), -45, 45),
    off_kinks("hardswish", lambda a: a.hardswish(), -45, 45),
    unary("softsign", lambda a: a.softsign(), "away"),
    softmax_like("softmin", False),
    softmax_like("softmin", True),
]
