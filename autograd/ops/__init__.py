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
``fresh=True`` promises that the first-order backward, given arrays, returns for each input None or
a new array of exactly that input's shape and dtype that nothing else holds (not g, not a view of
anything another node sees): the engine then skips its fit check, sums into them in place and keeps
them as `.grad` without the copy checks of `engine.store_grads` (tests/test_fresh_rules.py checks it).
A fresh op may also give ``first_order=``: the same rule as backprop's fresh path calls it,
``(g, out, node) -> contributions`` with g an array of out's shape and dtype (the engine's invariant
there), reading the node's inputs itself (no `engine._rule` call, no checks the invariant makes
needless). It is the backward's own: an entry whose backward is replaced (or wrapped) has none.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np



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
    fresh: bool = False  # first-order backward returns new arrays of its inputs' shapes and dtypes (see above)
    first_order: Callable | None = field(default=None, init=False)  # (see above) the backward's, when fresh

    def __post_init__(self):
        # defop puts (backward, form) on the backward function: a replaced backward has none, and a
        # functools.wraps wrapper (which copies the wrapped function's __dict__) has its original's, not its own
        owner, form = getattr(self.backward, "first_order", (None, None))
        object.__setattr__(self, "first_order", form if self.fresh and owner is self.backward else None)

    def describe(self, attrs) -> str:
        """The display label with this node's static arguments filled in."""
        return self.label.format(**attrs) if attrs else self.label


OPS: dict[str, Op] = {}


def defop(name, forward, backward, label, formula, elementwise=True, doc="", needs=False, saves=False,
          method=None, function=None, args=None, fresh=False, first_order=None):
    """Register op `name`. `method` / `function` expose it as `Value.<method>` and
    `autograd.<function>` (True: the op's own name); `args(x, *args, **kwargs) -> (inputs, attrs)`
    checks and converts the call's arguments (None: the op takes x alone); `first_order` see above."""
    if first_order is not None:
        if not fresh:
            raise ValueError(f"defop {name!r}: first_order= is for fresh=True ops (backprop's fresh path calls it)")
        backward.first_order = (backward, first_order)
    OPS[name] = Op(name, forward, backward, label, tuple(formula), elementwise, doc, needs, saves, fresh)
    if method or function:
        expose(name, method=method, function=function, args=args)


# ---- how ops are exposed: Value methods and autograd functions, declared beside the entry


@dataclass(frozen=True)
class Binding:
    """Op `op` as `Value.<method>` and/or `autograd.<function>`; `args(x, *args, **kwargs)`
    returns (inputs, attrs) for `apply`, checking the arguments (None: x alone, no attrs).
    `impl` instead of an op: a plain function (x, ...) for what records no node of its own
    (argmax, comparisons) or calls several ops (sort's values and indices)."""
    op: str | None
    method: str | None
    function: str | None
    args: Callable | None = None
    impl: Callable | None = None
    doc: str = ""


BINDINGS: list[Binding] = []


def expose(op, method=None, function=None, args=None, doc=""):
    """Expose op `op` as a Value method and/or an autograd function (True: named as the op);
    `doc`: the binding's own doc line (default: the op's)."""
    BINDINGS.append(Binding(op, op if method is True else method, op if function is True else function, args,
                            doc=doc or OPS[op].doc))


def defmethod(name, impl, method=True, function=True, doc=""):
    """Expose a plain function impl(x, ...) as `Value.<name>` and/or `autograd.<name>`."""
    BINDINGS.append(Binding(None, name if method is True else method, name if function is True else function,
                            impl=impl, doc=doc or (impl.__doc__ or "").strip().split("\n")[0]))


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


def scalar_safe(math_fn, np_fn):
    """A forward for Python floats through `math` (fast) and arrays through numpy.
    math raises where numpy returns inf/nan; we follow numpy, quietly."""
    def forward(x, *args):
        if type(x) is float:
            try:
                return math_fn(x, *args)
            except (ValueError, OverflowError, ZeroDivisionError):
                with np.errstate(all="ignore"):
                    return float(np_fn(np.float64(x), *args))
        return np_fn(x, *args)

    return forward


# ---- the table, one module per family (each registers its entries on import) ----------
from . import arithmetic, functions, comparisons, activations  # noqa: E402,F401,I001
from . import reductions, ordering  # noqa: E402,F401,I001
from . import shaping, indexing  # noqa: E402,F401,I001
from . import network, class_nll, convolution, pooling, normalization, dropout, sequence  # noqa: E402,F401,I001

# Last: the table is complete, so Value's methods can be bound, whichever module was imported
# first (with HIPS autograd's autograd/__init__.py in the folder, nothing imports value first).
READY = True
from .. import value as _value  # noqa: E402
if hasattr(_value, "_bind"):  # value finished before the table did: bind now
    _value._bind()
