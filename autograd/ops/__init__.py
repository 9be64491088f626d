"""The op table: every operation tracegrad knows, each defined exactly once.

An entry holds
  forward   (*input_data, **attrs) -> output data         (floats or numpy arrays)
  backward  (grad_out, out, *inputs, **attrs) -> one gradient per input (None = none)
  label     how the graph drawer names the node ("*", "tanh", "**{exponent}")
  formula   one string per input: the local derivative d(out)/d(input) for
            elementwise ops, or the whole contribution in terms of g for the rest
            (the step explainer prints it next to the numbers). Variadic ops
            (concat, stack, neuron) reuse their last formula for further inputs.

Derivative rules are written once and run two ways: on raw floats/arrays (the fast
first-order path) and on `Value`s (``create_graph=True``), where every operation
they perform is itself recorded and can be differentiated again. The helpers below
(`exp`, `reshape`, ...) dispatch to the op table or to the recorder accordingly.

Rules may return a gradient in the *broadcast* shape of the output: the engine sums
it back to each input's shape in one place (`engine._fit`).

Two opt-in flags save work on the first-order path: a ``needs=True`` backward gets ``needs=``
(per input: does it require grad? a layer's input batch does not) and skips the rest; a
``saves=True`` forward returns ``(out, saved)`` and its backward gets ``saved=`` (None: recompute).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import value as _value


@dataclass(frozen=True)
class Op:
    name: str
    forward: Callable
    backward: Callable
    label: str
    formula: tuple[str, ...]
    elementwise: bool = True
    doc: str = ""
    needs: bool = False  # backward takes needs=(bool per input) and skips unneeded gradients
    saves: bool = False  # forward returns (out, saved); backward takes saved= (None: recompute)

    def describe(self, attrs) -> str:
        """The display label with this node's static arguments filled in."""
        return self.label.format(**attrs) if attrs else self.label


OPS: dict[str, Op] = {}


def defop(name, forward, backward, label, formula, elementwise=True, doc="", needs=False, saves=False):
    OPS[name] = Op(name, forward, backward, label, tuple(formula), elementwise, doc, needs, saves)


# ---- dispatch helpers used inside the rules: raw data -> op.forward, Value -> record
# (raw arrays go straight to numpy: the first-order path runs these for every node)


def _is_node(x):
    return isinstance(x, _value.Value)


def call(name: str, *args, **attrs):
    """Apply op `name`: recorded in the graph if any argument is a Value, else raw."""
    for a in args:
        if isinstance(a, _value.Value):
            return _value.apply(name, args, attrs)
    op = OPS[name]
    return op.forward(*args, **attrs)[0] if op.saves else op.forward(*args, **attrs)


def data(x):
    """The raw data of x (for masks and other constants inside a rule)."""
    return x.data if _is_node(x) else x


def shape(x) -> tuple:
    return getattr(x, "shape", ())


def exp(x):
    return call("exp", x)


def log(x):
    return call("log", x)


def reshape(x, shape_):
    if type(x) is np.ndarray:
        return x.reshape(shape_)
    return call("reshape", x, shape=tuple(shape_))


def sum_(x, axis=None, keepdims=False):
    if type(x) is np.ndarray:  # np.add.reduce: x.sum without its Python wrapper
        return np.add.reduce(x, axis=axis, keepdims=keepdims)
    return call("sum", x, axis=axis, keepdims=keepdims)


def broadcast_to(x, shape_):
    return call("broadcast_to", x, shape=tuple(shape_))


def swap_last(x):
    if type(x) is np.ndarray:
        return x.swapaxes(-1, -2)
    axes = tuple(range(len(shape(x))))
    return call("transpose", x, axes=axes[:-2] + (axes[-1], axes[-2]))


def keep_dims(g, axis, in_shape, keepdims):
    """Reshape a reduced gradient so it broadcasts against the input again."""
    if keepdims or axis is None and not in_shape:
        return g
    axes = range(len(in_shape)) if axis is None else (axis if isinstance(axis, tuple) else (axis,))
    axes = {a % len(in_shape) for a in axes}
    return reshape(g, tuple(1 if i in axes else n for i, n in enumerate(in_shape)))


# ---- forward helpers: Python floats go through `math` (fast), arrays through numpy.
# math raises where numpy returns inf/nan; we follow numpy, quietly.


def _scalar_safe(math_fn, np_fn):
    def forward(x, *args):
        if type(x) is float:
            try:
                return math_fn(x, *args)
            except (ValueError, OverflowError, ZeroDivisionError):
                with np.errstate(all="ignore"):
                    return float(np_fn(np.float64(x), *args))
        return np_fn(x, *args)

    return forward


def _div(a, b):
    try:
        return a / b
    except ZeroDivisionError:
        with np.errstate(all="ignore"):
            return float(np.float64(a) / np.float64(b))


def _sigmoid(x):
    if type(x) is float:
        if x >= 0:
            return 1.0 / (1.0 + math.exp(-x))
        z = math.exp(x)
        return z / (1.0 + z)
    z = np.exp(-np.abs(x))  # never overflows
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z)).astype(x.dtype, copy=False)


def _pow(x, exponent):
    if type(x) is float and type(exponent) in (float, int):
        try:
            return math.pow(x, exponent)
        except (ValueError, OverflowError, ZeroDivisionError):
            pass
    with np.errstate(all="ignore"):
        r = np.power(x, exponent)
    return float(r) if np.ndim(r) == 0 and type(x) is float else r


def _logsumexp(x, axis=None, keepdims=False):
    x = np.asarray(x)  # methods (x.max) skip the ~1 µs dispatch layer of functions (np.max)
    m = x.max(axis=axis, keepdims=True)
    if not math.isfinite(m.sum()):  # one cheap test; only ±inf/nan maxima need the shift zeroed
        m = np.where(np.isfinite(m), m, 0)
    r = np.log(np.exp(x - m).sum(axis=axis, keepdims=True)) + m
    return r if keepdims else r.squeeze(axis)


def _softmax(x, axis=-1):
    x = np.asarray(x)
    z = np.exp(x - x.max(axis=axis, keepdims=True))
    return z / z.sum(axis=axis, keepdims=True)


def _log_softmax(x, axis=-1):
    return x - _logsumexp(x, axis=axis, keepdims=True)


def _scatter(g, key, shape):
    # a Python float g means float64 (np.result_type(0.5, float32) would say float32)
    out = np.zeros(shape, dtype=np.result_type(np.asarray(g).dtype, np.float32))
    np.add.at(out, key, g)
    return out


def _neuron(w, b, *xs, row=None):
    wr = w if row is None else w[row]
    br = b if row is None else b[row]
    return float(np.dot(wr, xs) + br) if wr.dtype == np.float64 else np.dot(wr, xs) + br


def _max_grad(g, out, x, axis=None, keepdims=False):
    xd, od = data(x), data(out)
    od = od if keepdims or axis is None else np.expand_dims(od, axis)
    mask = xd == od
    share = mask / np.sum(mask, axis=axis, keepdims=True)  # ties split the gradient
    return (keep_dims(g, axis, shape(x), keepdims) * share,)


def _matmul_grad(g, out, a, b, needs=(True, True)):
    sa, sb = shape(a), shape(b)
    if len(sa) == 2 and len(sb) == 2:  # the common case: no reshapes, and skip what nobody needs
        return g @ swap_last(b) if needs[0] else None, swap_last(a) @ g if needs[1] else None
    if len(sa) == 1 and len(sb) == 1:
        return g * b, g * a
    a2 = reshape(a, (1,) + sa) if len(sa) == 1 else a
    b2 = reshape(b, sb + (1,)) if len(sb) == 1 else b
    g2 = g
    if len(sa) == 1:
        g2 = reshape(g, shape(g)[:-1] + (1, shape(g)[-1]))
    elif len(sb) == 1:
        g2 = reshape(g, shape(g) + (1,))
    ga, gb = g2 @ swap_last(b2), swap_last(a2) @ g2
    if len(sa) == 1:
        ga = reshape(ga, shape(ga)[:-2] + sa)
    if len(sb) == 1:
        gb = reshape(gb, shape(gb)[:-2] + sb)
    return ga, gb


def _split_grad(g, out, *xs, axis=0, stacked=False):
    grads, start = [], 0
    for x in xs:
        stop = start + (1 if stacked else shape(x)[axis])
        pick = start if stacked else slice(start, stop)
        grads.append(g[(slice(None),) * axis + (pick,)])
        start = stop
    return tuple(grads)


def _neuron_grad(g, out, w, b, *xs, row=None):
    wr = w if row is None else w[row]
    xv = call("stack", *xs, axis=0)
    gw = g * xv if row is None else call("scatter", g * xv, key=row, shape=shape(w))
    gb = g if row is None else call("scatter", g, key=row, shape=shape(b))
    return (gw, gb) + tuple(g * wr[i] for i in range(len(xs)))


_sum = lambda x, axis=None, keepdims=False: np.sum(x, axis=axis, keepdims=keepdims)  # noqa: E731
_mean = lambda x, axis=None, keepdims=False: np.mean(x, axis=axis, keepdims=keepdims)  # noqa: E731
_max = lambda x, axis=None, keepdims=False: np.max(x, axis=axis, keepdims=keepdims)  # noqa: E731


def _spread(g, a, axis, keepdims, n):
    """The gradient of a sum (n = 1) or mean (n = count) over axis: g / n at every element of a."""
    if type(g) is float and type(a) is np.ndarray:  # a whole array reduced to one float: one fill
        return np.full(a.shape, g / n, a.dtype)
    g = keep_dims(g, axis, shape(a), keepdims)
    return broadcast_to(g if n == 1 else g / n, shape(a))


@functools.lru_cache(maxsize=256)  # the permutation undoing `axes`: the same ones every step
def _inverse(axes):
    return tuple(int(i) for i in np.argsort(axes))


def _size(shape_, axis):
    if axis is None:
        return math.prod(shape_)
    return math.prod(shape_[a] for a in (axis if isinstance(axis, tuple) else (axis,)))


# ---- the table ---------------------------------------------------------------------
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
defop("pow_value", _pow, lambda g, out, a, b:  # log(a + [a == 0]): d(0**b)/db is 0, not 0·(-inf)
      (g * b * call("pow_value", a, b - 1), g * out * log(a + (data(a) == 0))),
      "**", ("b·a^(b-1)", "out·log(a)"), doc="a ** b for two Values")
defop("exp", _scalar_safe(math.exp, np.exp), lambda g, out, a: (g * out,),
      "exp", ("out",), doc="e^a")
defop("log", _scalar_safe(math.log, np.log), lambda g, out, a: (_div(g, a),),
      "log", ("1/a",), doc="natural log of a")
defop("sqrt", _scalar_safe(math.sqrt, np.sqrt), lambda g, out, a: (_div(g * 0.5, out),),
      "sqrt", ("1/(2·out)",), doc="√a")
defop("tanh", _scalar_safe(math.tanh, np.tanh), lambda g, out, a: (g * (1 - out * out),),
      "tanh", ("1 - out²",), doc="tanh(a)")
defop("sigmoid", _sigmoid, lambda g, out, a: (g * out * (1 - out),),
      "σ", ("out·(1 - out)",), doc="1 / (1 + e^-a), computed without overflow")
defop("relu", lambda a: (0.0 if a < 0 else a) if type(a) is float else np.maximum(a, 0), lambda g, out, a: (g * (data(a) > 0),),
      "ReLU", ("1 if a > 0 else 0",), doc="max(a, 0)")
defop("abs", abs, lambda g, out, a: (g * np.sign(data(a)),),
      "abs", ("sign(a)",), doc="|a|")
defop("sum", _sum, lambda g, out, a, axis=None, keepdims=False: (_spread(g, a, axis, keepdims, 1),),
      "sum", ("broadcast(g)",), elementwise=False, doc="sum of a over axis")
defop("mean", _mean, lambda g, out, a, axis=None, keepdims=False:
      (_spread(g, a, axis, keepdims, _size(shape(a), axis)),),
      "mean", ("broadcast(g) / n",), elementwise=False, doc="mean of a over axis")
defop("max", _max, _max_grad,
      "max", ("g where a == max (ties share)",), elementwise=False, doc="max of a over axis")
defop("broadcast_to", lambda a, shape: np.broadcast_to(a, shape), lambda g, out, a, shape: (g,),
      "broadcast", ("sum(g) over the broadcast axes",), elementwise=False, doc="a repeated to shape")
defop("reshape", lambda a, shape: np.reshape(a, shape), lambda g, out, a, shape: (reshape(g, np.shape(data(a))),),
      "reshape", ("reshape(g, a.shape)",), elementwise=False, doc="a with a new shape")
defop("transpose", lambda a, axes: np.transpose(a, axes),
      lambda g, out, a, axes: (call("transpose", g, axes=_inverse(axes)),),
      "transpose", ("transpose(g) back",), elementwise=False, doc="a with its axes permuted")
defop("getitem", lambda a, key: a[key], lambda g, out, a, key: (call("scatter", g, key=key, shape=shape(a)),),
      "[]", ("g scattered into zeros",), elementwise=False, doc="a[key]")
defop("scatter", _scatter, lambda g, out, a, key, shape: (g[key],),
      "scatter", ("g[key]",), elementwise=False, doc="zeros(shape) with a added at key")
defop("matmul", lambda a, b: a @ b, _matmul_grad,
      "@", ("g @ bᵀ", "aᵀ @ g"), elementwise=False, doc="matrix product a @ b", needs=True)
defop("concat", lambda *xs, axis=0: np.concatenate(xs, axis=axis),
      lambda g, out, *xs, axis=0: _split_grad(g, out, *xs, axis=axis),
      "concat", ("g sliced back",), elementwise=False, doc="inputs joined along axis")
defop("stack", lambda *xs, axis=0: np.stack(xs, axis=axis),
      lambda g, out, *xs, axis=0: _split_grad(g, out, *xs, axis=axis, stacked=True),
      "stack", ("g[i] along axis",), elementwise=False, doc="inputs stacked on a new axis")
defop("where", lambda a, b, cond: np.where(cond, a, b), lambda g, out, a, b, cond: (g * cond, g * ~cond),
      "where", ("1 where cond", "1 where not cond"), doc="a where cond else b")
defop("logsumexp", _logsumexp, lambda g, out, a, axis=None, keepdims=False:
      (keep_dims(g, axis, shape(a), keepdims) * exp(a - keep_dims(out, axis, shape(a), keepdims)),),
      "logsumexp", ("g · softmax(a)",), elementwise=False, doc="log Σ e^a over axis, max-shifted")
defop("softmax", _softmax, lambda g, out, a, axis=-1: (out * (g - call("sum", g * out, axis=axis, keepdims=True)),),
      "softmax", ("out·(g - Σ g·out)",), elementwise=False, doc="e^a / Σ e^a over axis, max-shifted")
defop("log_softmax", _log_softmax, lambda g, out, a, axis=-1: (g - exp(out) * call("sum", g, axis=axis, keepdims=True),),
      "log_softmax", ("g - softmax(a)·Σ g",), elementwise=False, doc="a - logsumexp(a) over axis")
defop("neuron", _neuron, _neuron_grad,
      "Σ w·x + b", ("x", "1", "w"), doc="weighted sum of inputs plus bias: one neuron")
# fmt: on


from . import ops_fused  # noqa: E402,F401  (registers linear and cross_entropy, which use the helpers above)
