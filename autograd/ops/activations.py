"""Activations: tanh, sigmoid, ReLU, the softmax family over an axis, and the other activations of torch.nn (GELU, SiLU, ELU, ...)."""
from __future__ import annotations

import math

import numpy as np

from .. import recycle
from ..arguments import along
from . import call, data, defmethod, defop, exp, expose
from .reductions import _logsumexp


def _sigmoid(x):
    if type(x) is float:
        if x >= 0:
            return 1.0 / (1.0 + math.exp(-x))
        z = math.exp(x)
        return z / (1.0 + z)
    if type(x) is np.ndarray and x.ndim and x.dtype.kind == "f":
        # 1 / (1 + e^-x) in one array, as PyTorch (e^-x -> inf below -709 gives 0): 3 passes instead of
        # the 7 of the branch-free form below ((256, 128) float64: 578 -> 120 µs; within 2 ulp of it)
        with np.errstate(over="ignore"):
            z = np.negative(x)
            np.exp(z, out=z)
        z += 1
        return np.reciprocal(z, out=z)
    z = np.exp(-np.abs(x))  # never overflows
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z)).astype(x.dtype, copy=False)


def _sigmoid_grad(g, out, a):
    if type(g) is np.ndarray and type(out) is np.ndarray and g.shape == out.shape and g.dtype == out.dtype:
        return _sigmoid_first(g, out)
    if type(g) is np.ndarray:  # (an array for an array, as fresh=True promises)
        return (np.asarray(g * out * (1 - out)),)
    return (g * out * (1 - out),)


def _sigmoid_first(g, out, node=None):
    """g·out·(1 - out) for g an array of out's shape and dtype (backprop's fresh path; _sigmoid_grad)."""
    if not out.ndim:  # numpy hands back a scalar for 0-d arrays; fresh=True promises an array
        return (np.asarray(g * out * (1 - out)),)
    d = g * out  # (g·out)·(1 - out), the product in place: a temporary less, the same bits
    d *= np.subtract(1, out)
    return (d,)


def _tanh_grad(g, out, a):
    if type(g) is np.ndarray and type(out) is np.ndarray and g.shape == out.shape and g.dtype == out.dtype:
        return _tanh_first(g, out)
    if type(g) is np.ndarray:  # (as sigmoid's)
        return (np.asarray(g * (1 - out * out)),)
    return (g * (1 - out * out),)


def _tanh_first(g, out, node=None):
    """g·(1 - out²) for g an array of out's shape and dtype (backprop's fresh path; _tanh_grad)."""
    if not out.ndim:  # (as sigmoid's)
        return (np.asarray(g * (1 - out * out)),)
    # in one fresh (or recycled) array: two temporaries less per node (each an mmap and its page faults
    # above 128 KiB under glibc's defaults), the same bits (np.square: the bits of out·out, ~1 µs less
    # than np.multiply at (32, 128), as the jit's kernel)
    d = np.square(out, out=recycle.empty(out.shape, out.dtype)) if out.nbytes >= recycle.MIN_BYTES \
        else np.square(out)
    np.subtract(1, d, out=d)
    d *= g
    return (d,)


def _softmax(x, axis=-1):
    x = np.asarray(x)
    z = np.exp(x - x.max(axis=axis, keepdims=True))
    return z / z.sum(axis=axis, keepdims=True)


def _log_softmax(x, axis=-1):
    return x - _logsumexp(x, axis=axis, keepdims=True)


def _tanh(x):
    if type(x) is float:
        return math.tanh(x)  # (never raises: tanh(±inf) = ±1)
    if type(x) is np.ndarray and x.nbytes >= recycle.MIN_BYTES and x.dtype.kind == "f":  # a layer's activation
        return np.tanh(x, out=recycle.empty(x.shape, x.dtype))
    return np.tanh(x)


# fmt: off
defop("tanh", _tanh, _tanh_grad,
      "tanh", ("1 - out²",), doc="tanh(a)", method=True, fresh=True, first_order=_tanh_first)
defop("sigmoid", _sigmoid, _sigmoid_grad,
      "σ", ("out·(1 - out)",), doc="1 / (1 + e^-a), computed without overflow", method=True, fresh=True,
      first_order=_sigmoid_first)
defop("relu", lambda a: (0.0 if a < 0 else a) if type(a) is float else np.maximum(a, 0), lambda g, out, a: (g * (data(a) > 0),),
      "ReLU", ("1 if a > 0 else 0",), doc="max(a, 0)", method=True)
defop("softmax", _softmax, lambda g, out, a, axis=-1: (out * (g - call("sum", g * out, axis=axis, keepdims=True)),),
      "softmax", ("out·(g - Σ g·out)",), elementwise=False, doc="e^a / Σ e^a over axis, max-shifted",
      method=True, function=True, args=along("softmax"))
defop("log_softmax", _log_softmax, lambda g, out, a, axis=-1: (g - exp(out) * call("sum", g, axis=axis, keepdims=True),),
      "log_softmax", ("g - softmax(a)·Σ g",), elementwise=False, doc="a - logsumexp(a) over axis",
      method=True, function=True, args=along("log_softmax"))
# fmt: on


# ---- the other activations of torch.nn: each one node with its own formula ---------------
from .functions import erf_forward, select
from .normal_cdf import normal_cdf32

SELU_ALPHA = 1.6732632423543772848170429916717  # PyTorch's (and the SELU paper's) constants
SELU_SCALE = 1.0507009873554804934193349852946
INV_SQRT2 = 1 / math.sqrt(2.0)
INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
GELU_K = math.sqrt(2 / math.pi)  # tanh approximation: 0.5·a·(1 + tanh(K·(a + 0.044715·a³)))
GELU_C = 0.044715


def _leaky_relu(a, negative_slope=0.01):
    if type(a) is float:
        return a if a > 0 else a * negative_slope
    return np.where(a > 0, a, a * negative_slope)


def _gelu(a):  # saves Φ(a) for the backward; float32 arrays: normal_cdf32 (scipy's erf: 3.3 -> 1.2 ms at 1024×256)
    if type(a) is np.ndarray and a.dtype == np.float32 and a.ndim:
        cdf = normal_cdf32(a)
    else:
        cdf = 0.5 * (1 + erf_forward(a * INV_SQRT2))
    return a * cdf, cdf


def _gelu_grad(g, out, a, saved=None):
    if saved is not None and type(g) is type(a) is np.ndarray and a.ndim and g.dtype == a.dtype == saved.dtype:
        d = a * a  # first order: the same formula in one array (1024×256 float32: 7 arrays of 1 MB -> 1)
        d *= -0.5
        np.exp(d, out=d)
        d *= a
        d *= INV_SQRT_2PI
        d += saved
        d *= g
        return (d,)
    cdf = 0.5 * (1 + call("erf", a * INV_SQRT2)) if saved is None else saved
    return (g * (cdf + a * INV_SQRT_2PI * exp(a * a * -0.5)),)


def _gelu_tanh(a):
    t = np.tanh(GELU_K * (a + GELU_C * a * a * a))
    r = 0.5 * a * (1 + t)
    return float(r) if type(a) is float else r


def _gelu_tanh_grad(g, out, a):  # PyTorch's GeluBackward, approximate="tanh"
    t = call("tanh", GELU_K * (a + GELU_C * a * a * a))
    return (g * (0.5 * (1 + t) + 0.5 * a * (1 - t * t) * GELU_K * (1 + 3 * GELU_C * a * a)),)


def _silu(a):
    return a * _sigmoid(a)


def _silu_grad(g, out, a):
    s = call("sigmoid", a)
    return (g * s * (1 + a * (1 - s)),)


def _softplus(a, beta=1.0, threshold=20.0):
    if type(a) is float:
        z = a * beta
        return a if z > threshold else math.log1p(math.exp(z)) / beta if z < 700 else z / beta
    with np.errstate(over="ignore"):
        return np.where(a * beta > threshold, a, np.log1p(np.exp(a * beta)) / beta)


def _softplus_grad(g, out, a, beta=1.0, threshold=20.0):
    return (select(data(a) * beta > threshold, g, g * call("sigmoid", a * beta)),)


def _elu(a, alpha=1.0, scale=1.0, input_scale=1.0):
    """PyTorch's elu kernel: scale·a for a > 0, scale·alpha·(e^(input_scale·a) - 1) below."""
    if type(a) is float:
        return scale * a if a > 0 else scale * alpha * math.expm1(a * input_scale)
    with np.errstate(over="ignore"):
        return np.where(a > 0, a * scale, np.expm1(a * input_scale) * (alpha * scale))


def _elu_grad(g, a, alpha, scale=1.0, input_scale=1.0):
    """PyTorch's elu_backward: the a <= 0 side takes the exponential's slope (alpha·e^0 at 0)."""
    return (select(data(a) <= 0, g * (alpha * scale * input_scale) * exp(a * input_scale), g * scale),)  # nan: g·scale


def _mish(a):
    sp = np.logaddexp(0.0, a)  # softplus(a), without overflow
    r = a * np.tanh(sp)
    return float(r) if type(a) is float else r


def _mish_grad(g, out, a):
    t = call("tanh", call("softplus", a, beta=1.0, threshold=20.0))
    return (g * (t + a * call("sigmoid", a) * (1 - t * t)),)


def _logsigmoid(a):
    r = np.minimum(a, 0.0) - np.log1p(np.exp(-np.abs(a)))
    return float(r) if type(a) is float else r


def _hardtanh(a, min_val=-1.0, max_val=1.0):
    if type(a) is float:
        return a if math.isnan(a) else min(max(a, min_val), max_val)
    return np.minimum(np.maximum(a, min_val), max_val)


def _between(a, lo, hi):
    """lo < a < hi: where hardsigmoid passes the gradient (0 at both ends and for nan)."""
    d = data(a)
    return (d > lo) & (d < hi)


def _not_outside(a, lo, hi):
    """not (a <= lo or a >= hi): where hardtanh and relu6 pass the gradient (0 at both ends; nan passes)."""
    d = data(a)
    return ~((d <= lo) | (d >= hi)) if type(d) is not float else not (d <= lo or d >= hi)


def _hardsigmoid(a):
    return _hardtanh(a + 3.0, 0.0, 6.0) / 6


def _hardswish(a):
    return a * _hardtanh(a + 3.0, 0.0, 6.0) / 6


def _hardswish_grad(g, out, a):  # PyTorch: 0 up to -3 (included), a/3 + 1/2 below 3, 1 from 3 on
    d = data(a)
    return (select(d <= -3, 0.0, select(d < 3, g * (a / 3 + 0.5), g)),)


def _softsign(a):
    return a / (1 + abs(a))


def _number(op, name, v):
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise TypeError(f"{op}: {name} must be a number, got {type(v).__name__} {v!r:.40}")
    return float(v)


def _leaky_args(x, negative_slope=0.01):
    return (x,), {"negative_slope": _number("leaky_relu", "negative_slope", negative_slope)}


def _softplus_args(x, beta=1.0, threshold=20.0):
    beta = _number("softplus", "beta", beta)
    if beta == 0:
        raise ValueError("softplus: beta must not be 0 (the result is log(1 + e^(beta·x)) / beta)")
    return (x,), {"beta": beta, "threshold": _number("softplus", "threshold", threshold)}


def _alpha_args(op, zero_ok=True):
    def args(x, alpha=1.0):
        alpha = _number(op, "alpha", alpha)
        if not zero_ok and alpha == 0:
            raise ValueError(f"{op}: alpha must not be 0 (the negative side is alpha·(e^(x/alpha) - 1))")
        return (x,), {"alpha": alpha}
    return args


def _hardtanh_args(x, min_val=-1.0, max_val=1.0):
    lo, hi = _number("hardtanh", "min_val", min_val), _number("hardtanh", "max_val", max_val)
    if lo > hi:
        raise ValueError(f"hardtanh: min_val ({lo:g}) cannot be greater than max_val ({hi:g})")
    return (x,), {"min_val": lo, "max_val": hi}


def gelu(x, approximate="none"):
    """x·Φ(x), Φ the standard normal CDF; approximate="tanh": 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))."""
    from ..value import apply1  # (value imports the op table)
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return apply1("gelu" if approximate == "none" else "gelu_tanh", x)


def _softmin(x, axis=-1):
    return _softmax(-np.asarray(x), axis=axis)


# fmt: off
defop("leaky_relu", _leaky_relu,
      lambda g, out, a, negative_slope=0.01: (select(data(a) > 0, g, g * negative_slope),),
      "LeakyReLU({negative_slope:g})", ("1 if a > 0 else {negative_slope}",), doc="a if a > 0 else negative_slope·a",
      method=True, function=True, args=_leaky_args)
defop("gelu", _gelu, _gelu_grad, "GELU", ("Φ(a) + a·φ(a)",), doc="a·Φ(a), Φ the standard normal CDF (exact, with erf)",
      saves=True)
defop("gelu_tanh", _gelu_tanh, _gelu_tanh_grad,
      "GELU(tanh)", ("½(1 + t) + ½a(1 - t²)·√(2/π)(1 + 3·0.044715a²), t = tanh(√(2/π)(a + 0.044715a³))",),
      doc="GELU's tanh approximation 0.5·a·(1 + tanh(√(2/π)·(a + 0.044715·a³)))")
defop("silu", _silu, _silu_grad, "SiLU", ("σ(a)·(1 + a·(1 - σ(a)))",),
      doc="a·σ(a) (also called swish)", method=True, function=True)
defop("softplus", _softplus, _softplus_grad,
      "Softplus(β={beta:g})", ("σ({beta}·a), 1 where {beta}·a > {threshold}",),
      doc="log(1 + e^(beta·a)) / beta, a itself where beta·a > threshold",
      method=True, function=True, args=_softplus_args)
defop("elu", _elu, lambda g, out, a, alpha=1.0: _elu_grad(g, a, alpha),
      "ELU(α={alpha:g})", ("1 if a > 0 else {alpha}·e^a",), doc="a if a > 0 else alpha·(e^a - 1)",
      method=True, function=True, args=_alpha_args("elu"))
defop("selu", lambda a: _elu(a, SELU_ALPHA, SELU_SCALE), lambda g, out, a: _elu_grad(g, a, SELU_ALPHA, SELU_SCALE),
      "SELU", ("1.0507 if a > 0 else 1.0507·1.6733·e^a",),
      doc="1.0507·(a if a > 0 else 1.6733·(e^a - 1)): self-normalising", method=True, function=True)
defop("celu", lambda a, alpha=1.0: _elu(a, alpha, 1.0, 1 / alpha),
      lambda g, out, a, alpha=1.0: _elu_grad(g, a, alpha, 1.0, 1 / alpha),
      "CELU(α={alpha:g})", ("1 if a > 0 else e^(a/{alpha})",), doc="a if a > 0 else alpha·(e^(a/alpha) - 1)",
      method=True, function=True, args=_alpha_args("celu", zero_ok=False))
defop("mish", _mish, _mish_grad, "Mish", ("t + a·σ(a)·(1 - t²), t = tanh(softplus(a))",),
      doc="a·tanh(softplus(a))", method=True, function=True)
defop("logsigmoid", _logsigmoid, lambda g, out, a: (g * call("sigmoid", -a),),
      "LogSigmoid", ("σ(-a)",), doc="log σ(a) = -softplus(-a), without overflow", method=True, function=True)
defop("hardtanh", _hardtanh,
      lambda g, out, a, min_val=-1.0, max_val=1.0: (select(_not_outside(a, min_val, max_val), g, 0.0),),
      "Hardtanh[{min_val:g}, {max_val:g}]", ("1 if {min_val} < a < {max_val} else 0",),
      doc="a clamped to [min_val, max_val] (gradient 0 at both ends)", method=True, function=True, args=_hardtanh_args)
defop("relu6", lambda a: _hardtanh(a, 0.0, 6.0), lambda g, out, a: (select(_not_outside(a, 0.0, 6.0), g, 0.0),),
      "ReLU6", ("1 if 0 < a < 6 else 0",), doc="min(max(a, 0), 6)", method=True, function=True)
defop("hardsigmoid", _hardsigmoid, lambda g, out, a: (select(_between(a, -3.0, 3.0), g / 6, 0.0),),
      "Hardsigmoid", ("1/6 if -3 < a < 3 else 0",), doc="min(max(a + 3, 0), 6) / 6: a piecewise-linear σ",
      method=True, function=True)
defop("hardswish", _hardswish, _hardswish_grad,
      "Hardswish", ("0 if a ≤ -3, a/3 + ½ if a < 3, else 1",), doc="a·min(max(a + 3, 0), 6) / 6",
      method=True, function=True)
defop("softsign", _softsign, lambda g, out, a: (g / ((1 + call("abs", a)) * (1 + call("abs", a))),),
      "Softsign", ("1/(1 + |a|)²",), doc="a / (1 + |a|)", method=True, function=True)
defop("softmin", _softmin, lambda g, out, a, axis=-1: (-out * (g - call("sum", g * out, axis=axis, keepdims=True)),),
      "softmin", ("-out·(g - Σ g·out)",), elementwise=False, doc="softmax(-a) over axis: weights favouring small a",
      method=True, function=True, args=along("softmin"))
# fmt: on
expose("silu", method="swish", function="swish")
defmethod("gelu", gelu)
