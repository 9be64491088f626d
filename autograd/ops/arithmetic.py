"""Arithmetic and elementwise math: + - * / neg, powers, exp, log, sqrt, abs, where."""
from __future__ import annotations

import math

import numpy as np

from . import call, data, defop, log, scalar_safe
from .functions import select


def _div(a, b):
    try:
        return a / b
    except ZeroDivisionError:
        with np.errstate(all="ignore"):
            return float(np.float64(a) / np.float64(b))


def _pow(x, exponent):
    if type(x) is float and type(exponent) in (float, int):
        try:
            return math.pow(x, exponent)
        except (ValueError, OverflowError, ZeroDivisionError):
            pass
    with np.errstate(all="ignore"):
        r = np.power(x, exponent)
    return float(r) if np.ndim(r) == 0 and type(x) is float else r


def _pow_value_grad(g, out, a, b):
    """PyTorch's pow_backward_self / pow_backward_exponent: d/da is 0 where b = 0 (even at a = 0,
    not 0·inf); d/db is 0 where a = 0 and b >= 0, and out·log(a) elsewhere (-inf for 0 ** -1)."""
    ad, bd = data(a), data(b)
    with np.errstate(divide="ignore", invalid="ignore"):
        ga = g * select(bd == 0, 0.0, b * call("pow_value", a, b - 1))
        gb = g * select((ad == 0) & (bd >= 0), 0.0, out * log(a))
    return ga, gb


# fmt: off
defop("add", lambda a, b: a + b, lambda g, out, a, b: (g, g),
      "+", ("1", "1"), doc="a + b")
defop("sub", lambda a, b: a - b, lambda g, out, a, b: (g, -g),
      "-", ("1", "-1"), doc="a - b")
defop("mul", lambda a, b: a * b, lambda g, out, a, b: (g * b, g * a),
      "*", ("b", "a"), doc="a * b")
defop("div", _div, lambda g, out, a, b: (_div(g, b), _div(-g * out, b)),
      "/", ("1/b", "-out/b"), doc="a / b")
defop("neg", lambda a: -a, lambda g, out, a: (-g,),
      "neg", ("-1",), doc="-a")
defop("pow", _pow, lambda g, out, a, exponent:
      (g * 0.0 if exponent == 0 else g * exponent * call("pow", a, exponent=exponent - 1),),  # x**0: 0, not 0·inf
      "**{exponent}", ("p·a^(p-1)",), doc="a ** p for a number p")
defop("pow_value", _pow, lambda g, out, a, b: _pow_value_grad(g, out, a, b),
      "**", ("b·a^(b-1)", "out·log(a)"), doc="a ** b for two Values")
defop("exp", scalar_safe(math.exp, np.exp), lambda g, out, a: (g * out,),
      "exp", ("out",), doc="e^a", method=True)
defop("log", scalar_safe(math.log, np.log), lambda g, out, a: (_div(g, a),),
      "log", ("1/a",), doc="natural log of a", method=True)
defop("sqrt", scalar_safe(math.sqrt, np.sqrt), lambda g, out, a: (_div(g * 0.5, out),),
      "sqrt", ("1/(2·out)",), doc="√a", method=True)
defop("abs", abs, lambda g, out, a: (g * np.sign(data(a)),),
      "abs", ("sign(a)",), doc="|a|", method=True)
defop("where", lambda a, b, cond: np.where(cond, a, b), lambda g, out, a, b, cond: (g * cond, g * ~cond),
      "where", ("1 where cond", "1 where not cond"), doc="a where cond else b")
# fmt: on
