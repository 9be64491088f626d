"""Elementwise math functions: trigonometric and hyperbolic, erf, logs and exponentials in other bases, rounding, clamping and pairwise extremes."""
from __future__ import annotations

import math

import numpy as np

from . import _is_node, call, data, defmethod, defop, exp, scalar_safe

LN2, LN10 = math.log(2.0), math.log(10.0)
TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


# ---- helpers the rules of this family (and of activations) share -----------------------


def select(cond, x, y):
    """x where cond else y, for rules: recorded (the where op) when x or y is a Value, so the
    rule stays differentiable; a plain choice for Python scalars; else np.where. Unlike a
    product with a 0/1 mask, the branch not taken never turns an inf into a nan."""
    if _is_node(x) or _is_node(y):
        return call("where", x, y, cond=np.asarray(cond))
    if type(cond) is bool or type(cond) is np.bool_:
        return x if cond else y
    return np.where(cond, x, y)


def zeros(x):
    """A zero gradient for input x (floor, sign, ...): zeros of x's shape and dtype, as PyTorch."""
    d = data(x)
    return 0.0 if type(d) is float else np.zeros(np.shape(d), np.asarray(d).dtype)


def binary(math_fn, np_fn):
    """A forward of two inputs: Python floats through `math_fn` (numpy's inf/nan where math
    raises), anything else through numpy."""
    def forward(a, b):
        if type(a) is float and type(b) is float:
            try:
                return float(math_fn(a, b))
            except (ValueError, OverflowError, ZeroDivisionError):
                pass
        with np.errstate(all="ignore"):
            r = np_fn(a, b)
        return float(r) if type(a) is float and type(b) is float else r

    return forward


def quiet(np_fn):
    """np_fn without numpy's divide/invalid warnings (inf and nan are the answers, as in PyTorch)."""
    def forward(*args):
        with np.errstate(all="ignore"):
            return np_fn(*args)

    return forward


def _other(name):
    """Arguments of a binary op exposed as x.name(other) / autograd.name(x, other)."""
    def args(x, other):
        return (x, other), {}
    args.__name__ = f"{name}_args"
    return args


# ---- erf on arrays: scipy's ufunc where installed, else math.erf element by element --------
# (looked up on first use: importing scipy costs a few hundred ms that `import autograd` need not pay)
_ERF = []


def _erf_array(x):
    if not _ERF:
        try:
            from scipy.special import erf
        except ImportError:  # scipy comes with scikit-learn (the test and demo extras)
            ufunc = np.frompyfunc(math.erf, 1, 1)

            def erf(x):
                x = np.asarray(x)
                return ufunc(x).astype(x.dtype if x.dtype.kind == "f" else np.float64)
        _ERF.append(erf)
    return _ERF[0](x)


erf_forward = scalar_safe(math.erf, _erf_array)


# ---- forwards with a Python-float fast path -----------------------------------------------


def _sign(x):  # sign(nan) is 0, as in PyTorch (numpy says nan)
    if type(x) is float:
        return 1.0 if x > 0 else -1.0 if x < 0 else 0.0 if math.isnan(x) else x  # 0.0 and -0.0 stay themselves
    return np.sign(np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0))


def _rounding(math_fn, np_fn):
    def forward(x):
        if type(x) is float:
            try:
                return float(math_fn(x))
            except (ValueError, OverflowError):  # inf, nan
                return x
        return np_fn(x)
    return forward


def _round(x, decimals=0):
    if type(x) is float and decimals == 0:
        return round(x, 0)  # round half to even, like numpy and PyTorch
    r = np.round(x, decimals)
    return float(r) if type(x) is float else r


def _maximum(a, b):
    if type(a) is float and type(b) is float:
        return a if a >= b or math.isnan(a) else b  # nan wins, as in numpy and PyTorch
    return np.maximum(a, b)


def _minimum(a, b):
    if type(a) is float and type(b) is float:
        return a if a <= b or math.isnan(a) else b
    return np.minimum(a, b)


def _clamp(a, min, max):
    if type(a) is float:
        return a if math.isnan(a) else _minimum(_maximum(a, min), max)
    return np.minimum(np.maximum(a, min), max)  # min > max gives max everywhere, as PyTorch


def _clamp_tensor(a, lo, hi):
    return np.minimum(np.maximum(a, lo), hi)


def _lerp(a, b, w):
    return a + w * (b - a)


def _extreme_grad(g, a, b, loses):
    """maximum/minimum: the whole gradient to the winner, half to each where a == b (PyTorch's
    rule; a nan compares false both ways, so both get g)."""
    ad, bd = data(a), data(b)
    half = select(ad == bd, g * 0.5, g)
    return select(loses(ad, bd), 0.0, half), select(loses(bd, ad), 0.0, half)


def _clamp_tensor_grad(g, out, a, lo, hi):
    ad, lod, hid = data(a), data(lo), data(hi)
    inside = (ad >= lod) & (ad <= hid)  # PyTorch's clamp_backward and clamp_backward_min_max
    below = (ad < lod) & (lod < hid)
    above = (ad > hid) | (hid < lod)
    return select(inside, g, 0.0), select(below, g, 0.0), select(above, g, 0.0)


def _pick_clamp(x, min=None, max=None):
    """clamp(x, min=None, max=None): each element kept inside [min, max] (PyTorch's torch.clamp).

    Number bounds are part of the node ("clamp[-1, 1]"); Value or array bounds are inputs
    and get gradients (where the bound was the one taken), as in PyTorch."""
    from ..value import apply  # (value imports the op table)
    if min is None and max is None:
        raise TypeError("clamp: at least one of min= and max= must be given (PyTorch's rule)")
    if _is_node(min) or _is_node(max) or isinstance(min, (np.ndarray, list, tuple)) or \
            isinstance(max, (np.ndarray, list, tuple)):
        lo = -math.inf if min is None else min
        hi = math.inf if max is None else max
        return apply("clamp_tensor", (x, lo, hi))
    for name, bound in (("min", min), ("max", max)):
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, (int, float, np.integer, np.floating))):
            raise TypeError(f"clamp: {name}= must be a number, an array, a Value or None, got {type(bound).__name__}")
    lo = -math.inf if min is None else float(min)
    hi = math.inf if max is None else float(max)
    return apply("clamp", (x,), {"min": lo, "max": hi})


def _clamp_min(x, min):
    """clamp(x, min=min): elements below min raised to min."""
    return _pick_clamp(x, min=min)


def _clamp_max(x, max):
    """clamp(x, max=max): elements above max lowered to max."""
    return _pick_clamp(x, max=max)


def _round_args(x, decimals=0):
    if isinstance(decimals, bool) or not isinstance(decimals, (int, np.integer)):
        raise TypeError(f"round: decimals must be an int, got {decimals!r}")
    return (x,), ({"decimals": int(decimals)} if decimals else {})


def _lerp_args(x, end, weight):
    return (x, end, weight), {}


def _sign_ratio(out, a):
    """copysign's d(out)/da = out / a: ±1, and 0 where a = 0 (PyTorch's rule)."""
    if type(a) is float:
        return 0.0 if a == 0 else out / a
    with np.errstate(all="ignore"):
        return np.where(a == 0, 0.0, out / a)


# fmt: off
# ---- trigonometric and hyperbolic ------------------------------------------------------------
defop("sin", scalar_safe(math.sin, np.sin), lambda g, out, a: (g * call("cos", a),),
      "sin", ("cos(a)",), doc="sine of a (radians)", method=True, function=True)
defop("cos", scalar_safe(math.cos, np.cos), lambda g, out, a: (-g * call("sin", a),),
      "cos", ("-sin(a)",), doc="cosine of a (radians)", method=True, function=True)
defop("tan", scalar_safe(math.tan, np.tan), lambda g, out, a: (g * (1 + out * out),),
      "tan", ("1 + out²",), doc="tangent of a (radians)", method=True, function=True)
defop("asin", scalar_safe(math.asin, quiet(np.arcsin)),
      lambda g, out, a: (g * call("rsqrt", 1 - a * a),),
      "asin", ("1/√(1 - a²)",), doc="inverse sine, in [-π/2, π/2]", method=True, function=True)
defop("acos", scalar_safe(math.acos, quiet(np.arccos)),
      lambda g, out, a: (-g * call("rsqrt", 1 - a * a),),
      "acos", ("-1/√(1 - a²)",), doc="inverse cosine, in [0, π]", method=True, function=True)
defop("atan", scalar_safe(math.atan, np.arctan), lambda g, out, a: (g / (a * a + 1),),
      "atan", ("1/(1 + a²)",), doc="inverse tangent, in (-π/2, π/2)", method=True, function=True)
defop("sinh", scalar_safe(math.sinh, quiet(np.sinh)), lambda g, out, a: (g * call("cosh", a),),
      "sinh", ("cosh(a)",), doc="hyperbolic sine", method=True, function=True)
defop("cosh", scalar_safe(math.cosh, quiet(np.cosh)), lambda g, out, a: (g * call("sinh", a),),
      "cosh", ("sinh(a)",), doc="hyperbolic cosine", method=True, function=True)
defop("asinh", scalar_safe(math.asinh, np.arcsinh), lambda g, out, a: (g * call("rsqrt", a * a + 1),),
      "asinh", ("1/√(a² + 1)",), doc="inverse hyperbolic sine", method=True, function=True)
defop("acosh", scalar_safe(math.acosh, quiet(np.arccosh)), lambda g, out, a: (g * call("rsqrt", a * a - 1),),
      "acosh", ("1/√(a² - 1)",), doc="inverse hyperbolic cosine (a >= 1)", method=True, function=True)
defop("atanh", scalar_safe(math.atanh, quiet(np.arctanh)), lambda g, out, a: (call("div", g, 1 - a * a),),
      "atanh", ("1/(1 - a²)",), doc="inverse hyperbolic tangent (|a| < 1)", method=True, function=True)
defop("erf", erf_forward, lambda g, out, a: (g * TWO_OVER_SQRT_PI * exp(-(a * a)),),
      "erf", ("2/√π·e^(-a²)",), doc="the error function 2/√π ∫₀ᵃ e^(-t²) dt", method=True, function=True)

# ---- powers, logs and exponentials in other bases -------------------------------------------
defop("rsqrt", scalar_safe(lambda x: 1.0 / math.sqrt(x), quiet(lambda x: 1 / np.sqrt(x))),
      lambda g, out, a: (g * -0.5 * out * out * out,),
      "rsqrt", ("-½·out³",), doc="1 / √a", method=True, function=True)
defop("square", lambda a: a * a, lambda g, out, a: (g * 2.0 * a,),
      "square", ("2a",), doc="a²", method=True, function=True)
defop("reciprocal", scalar_safe(lambda x: 1.0 / x, quiet(lambda x: 1 / x)), lambda g, out, a: (-g * out * out,),
      "reciprocal", ("-out²",), doc="1 / a", method=True, function=True)
defop("log2", scalar_safe(math.log2, quiet(np.log2)), lambda g, out, a: (call("div", g, a * LN2),),
      "log2", ("1/(a·ln 2)",), doc="base-2 logarithm", method=True, function=True)
defop("log10", scalar_safe(math.log10, quiet(np.log10)), lambda g, out, a: (call("div", g, a * LN10),),
      "log10", ("1/(a·ln 10)",), doc="base-10 logarithm", method=True, function=True)
defop("log1p", scalar_safe(math.log1p, quiet(np.log1p)), lambda g, out, a: (call("div", g, a + 1),),
      "log1p", ("1/(1 + a)",), doc="log(1 + a), accurate for small a", method=True, function=True)
defop("expm1", scalar_safe(math.expm1, quiet(np.expm1)), lambda g, out, a: (g * (out + 1),),
      "expm1", ("out + 1",), doc="e^a - 1, accurate for small a", method=True, function=True)
defop("exp2", scalar_safe(lambda x: 2.0 ** x, quiet(np.exp2)), lambda g, out, a: (g * out * LN2,),
      "exp2", ("out·ln 2",), doc="2^a", method=True, function=True)
defop("logaddexp", binary(lambda a, b: np.logaddexp(a, b), np.logaddexp),
      lambda g, out, a, b: (call("div", g, exp(b - a) + 1), call("div", g, exp(a - b) + 1)),
      "logaddexp", ("1/(1 + e^(b - a))", "1/(1 + e^(a - b))"), doc="log(e^a + e^b), without overflow",
      method=True, function=True, args=_other("logaddexp"))
defop("lerp", _lerp, lambda g, out, a, b, w: (g * (1 - w), g * w, g * (b - a)),
      "lerp", ("1 - weight", "weight", "b - a"), doc="a + weight·(b - a): from a (weight 0) to b (weight 1)",
      method=True, function=True, args=_lerp_args)

# ---- signs and remainders ----------------------------------------------------------------------
defop("sign", _sign, lambda g, out, a: (zeros(a),),
      "sign", ("0",), doc="-1, 0 or 1 by the sign of a (0 for nan, as PyTorch; gradient 0)", method=True, function=True)
defop("copysign", binary(math.copysign, np.copysign),
      lambda g, out, a, b: (g * _sign_ratio(data(out), data(a)), zeros(b)),
      "copysign", ("out/a (±1, 0 at a = 0)", "0"), doc="|a| with the sign of b",
      method=True, function=True, args=_other("copysign"))
defop("fmod", binary(math.fmod, np.fmod),
      lambda g, out, a, b: (g, -g * quiet(lambda x, y: np.trunc(x / y))(data(a), data(b))),
      "fmod", ("1", "-trunc(a/b)"), doc="C's remainder: a - trunc(a/b)·b, with the sign of a",
      method=True, function=True, args=_other("fmod"))
defop("remainder", binary(lambda a, b: a % b, np.remainder),
      lambda g, out, a, b: (g, -g * quiet(np.floor_divide)(data(a), data(b))),
      "%", ("1", "-floor(a/b)"), doc="Python's a % b: a - floor(a/b)·b, with the sign of b",
      method=True, function=True, args=_other("remainder"))
defop("floor_divide", binary(lambda a, b: a // b, np.floor_divide), lambda g, out, a, b: (zeros(a), zeros(b)),
      "//", ("0", "0"), doc="floor(a / b), as Python's a // b (gradient 0)",
      method=True, function=True, args=_other("floor_divide"))

# ---- rounding: piecewise constant, gradient 0 ---------------------------------------------------
defop("floor", _rounding(math.floor, np.floor), lambda g, out, a: (zeros(a),),
      "floor", ("0",), doc="the largest integer <= a (gradient 0)", method=True, function=True)
defop("ceil", _rounding(math.ceil, np.ceil), lambda g, out, a: (zeros(a),),
      "ceil", ("0",), doc="the smallest integer >= a (gradient 0)", method=True, function=True)
defop("trunc", _rounding(math.trunc, np.trunc), lambda g, out, a: (zeros(a),),
      "trunc", ("0",), doc="a rounded towards zero (gradient 0)", method=True, function=True)
defop("round", _round, lambda g, out, a, decimals=0: (zeros(a),),
      "round", ("0",), doc="a rounded half to even, to `decimals` places (gradient 0)",
      method=True, function=True, args=_round_args)

# ---- clamping and pairwise extremes -------------------------------------------------------------
defop("maximum", _maximum, lambda g, out, a, b: _extreme_grad(g, a, b, lambda x, y: x < y),
      "maximum", ("1 where a > b, ½ where a = b", "1 where b > a, ½ where a = b"),
      doc="the larger of a and b, elementwise (ties share the gradient)",
      method=True, function=True, args=_other("maximum"))
defop("minimum", _minimum, lambda g, out, a, b: _extreme_grad(g, a, b, lambda x, y: x > y),
      "minimum", ("1 where a < b, ½ where a = b", "1 where b < a, ½ where a = b"),
      doc="the smaller of a and b, elementwise (ties share the gradient)",
      method=True, function=True, args=_other("minimum"))
defop("clamp", _clamp, lambda g, out, a, min, max: (select((data(a) >= min) & (data(a) <= max), g, 0.0),),
      "clamp[{min:g}, {max:g}]", ("1 if {min} ≤ a ≤ {max} else 0",),
      doc="a kept inside [min, max] (number bounds)")
defop("clamp_tensor", _clamp_tensor, _clamp_tensor_grad,
      "clamp", ("1 if min ≤ a ≤ max else 0", "1 where a < min (< max)", "1 where a > max or max < min"),
      doc="a kept inside [min, max] (bounds that are Values or arrays)")
# fmt: on
defmethod("clamp", _pick_clamp)
defmethod("clip", _pick_clamp, doc="clamp(x, min, max) under numpy's name")
defmethod("clamp_min", _clamp_min)
defmethod("clamp_max", _clamp_max)
