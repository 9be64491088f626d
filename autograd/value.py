"""`Value`: a Python float or a numpy array that remembers how it was computed.

Every operation on Values creates a new Value whose `op` names the entry of the op
table (`autograd.ops.OPS`) and whose `parents` are its inputs, in order. The graph
of those links is what `backward()` walks in reverse (see `autograd.engine`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from . import engine, ops
from .arguments import ShapeError, index_key, shape_error, to_data
from .details import _NO_ATTRS, LEAF, PLAIN, Details, labelled
from .mode import ALTERED, MODE, caller_site, check_finite, replayable
from .value_arithmetic import Arithmetic
from .value_python import PythonObject

_alloc = object.__new__  # a blank Value: _alloc(Value) (bound once: 92 -> 76 ns a node against object.__new__(Value))


def _normalize(r):
    """Op results: float64 scalars become Python floats (fast path), others arrays."""
    if type(r) is float:
        return r
    if type(r) is np.ndarray:
        # (dtype.type is float64: an identity test, where dtype == float64 converts the type to a dtype first)
        return float(r) if r.ndim == 0 and r.dtype.type is np.float64 else r
    if isinstance(r, (bool, int, np.bool_, np.integer, np.float64)):
        return float(r)
    return np.asarray(r)


def _new(data, label=""):
    """A leaf Value that does not require grad (constants, detached copies, results)."""
    v = _alloc(Value)
    v.data = data
    v._grad = None
    v._details = labelled(LEAF, label) if label else LEAF  # (a constant's: no call)
    v._p0 = v._p1 = None
    v._depth = 0
    v.requires_grad = False
    return v


def const(x) -> "Value":
    """x as a Value; numbers and arrays become constant leaves (requires_grad=False).
    Float arrays are wrapped, not copied: change one only after the backward that reads it."""
    if type(x) is Value:
        return x
    if type(x) is float or type(x) is int:
        return _new(float(x))
    if isinstance(x, Value):
        return x
    if type(x) is np.ndarray and x.ndim and x.dtype.kind == "f":
        return _new(x)
    return _new(to_data(x))


def apply(name: str, inputs, attrs=_NO_ATTRS) -> "Value":
    """Run op `name` forward on `inputs` and record the result in the graph."""
    if type(inputs) is not tuple and type(inputs) is not list:
        inputs = tuple(inputs)
    if len(inputs) == 2 and not attrs and not ops.OPS[name].saves:  # apply2 keeps no saved= for the backward
        return apply2(name, inputs[0], inputs[1])
    if len(inputs) == 1:
        return apply1(name, inputs[0], attrs)
    op = ops.OPS[name]
    attrs = attrs or _NO_ATTRS
    if len(inputs) == 3 and not op.saves and attrs is _NO_ATTRS:
        return apply3(name, *inputs)
    parents = tuple([x if type(x) is Value else const(x) for x in inputs])
    try:
        out = op.forward(*[p.data for p in parents], **attrs) if attrs else op.forward(*[p.data for p in parents])
    except (ValueError, IndexError, TypeError) as e:
        raise shape_error(name, parents, e) from None
    out, saved = out if op.saves else (out, None)
    if type(out) is not np.ndarray or not out.ndim:
        out = _normalize(out)
    requires_grad = True in [p.requires_grad for p in parents]
    if len(parents) == 2:
        return _record(name, out, parents[0], parents[1], None, attrs, requires_grad, saved)
    return _record(name, out, None, None, parents, attrs, requires_grad, saved)


# The two hot paths of scalar graphs, `apply` without its generic packing: no list of
# inputs, no * / ** unpacking (each costs an allocation per op), no _normalize call
# when the forward already returned a Python float.
def apply2(name: str, a, b) -> "Value":
    """apply(name, (a, b)) for an op without attrs (+ - * / ...)."""
    if type(a) is not Value:
        a = const(a)
    if type(b) is not Value:
        b = const(b)
    try:
        out = ops.OPS[name].forward(a.data, b.data)
    except (ValueError, IndexError, TypeError) as e:
        raise shape_error(name, (a, b), e) from None
    if type(out) is not float and (type(out) is not np.ndarray or not out.ndim):
        out = _normalize(out)
    if ALTERED[0]:
        return _record(name, out, a, b, None, _NO_ATTRS, a.requires_grad or b.requires_grad)
    return _node2(name, out, a, b)


def apply3(name: str, a, b, c) -> "Value":
    """apply(name, (a, b, c)) for an op without attrs: linear(x, W, bias), a layer per step (no lists
    of parents, data or flags, no ** call)."""
    if type(a) is not Value:  # (a layer's input batch, an array: wrapped as a constant leaf)
        a = const(a)
    if type(b) is not Value or type(c) is not Value:
        b, c = const(b), const(c)
    try:
        out = ops.OPS[name].forward(a.data, b.data, c.data)
    except (ValueError, IndexError, TypeError) as e:
        raise shape_error(name, (a, b, c), e) from None
    if type(out) is not np.ndarray or not out.ndim:
        out = _normalize(out)
    if ALTERED[0]:  # (no_grad, anomaly mode or a jit capture somewhere: _record reads this thread's mode)
        requires_grad = a.requires_grad or b.requires_grad or c.requires_grad
        return _record(name, out, None, None, (a, b, c), _NO_ATTRS, requires_grad)
    return _node3(name, out, a, b, c)


def apply1(name: str, x, attrs=_NO_ATTRS) -> "Value":
    """apply(name, (x,), attrs) for a one-input op (neg, exp, ** 2, sum(axis=0) ...)."""
    if type(x) is not Value:
        x = const(x)
    if attrs is not _NO_ATTRS and not attrs:
        attrs = _NO_ATTRS
    op = ops.OPS[name]
    try:
        out = op.forward(x.data) if attrs is _NO_ATTRS else op.forward(x.data, **attrs)
    except (ValueError, IndexError, TypeError) as e:
        raise shape_error(name, (x,), e) from None
    if op.saves or ALTERED[0]:
        out, saved = out if op.saves else (out, None)
        return _record(name, _normalize(out), x, None, None, attrs, x.requires_grad, saved)
    # (the tuple and the `attrs or` tests above, kept off this path: -a 0.9 -> 0.6 us)
    if type(out) is not float and (type(out) is not np.ndarray or not out.ndim):
        out = _normalize(out)
    return _node1(PLAIN[name] if attrs is _NO_ATTRS else Details(name, attrs), out, x)


# _record's default case (recording on, no anomaly check, nothing saved) written out: one call
# with seven arguments fewer per op (100k-op expression: build 0.075 -> 0.06 s with the GC off).
# The arithmetic operators call these directly for two floats (see value_arithmetic).
def _node2(name, out, a, b) -> "Value":
    node = _alloc(Value)
    node.data = out
    node._grad = None
    node._details = PLAIN[name]
    node._p0 = a
    node._p1 = b
    depth = a._depth
    node._depth = (depth if depth > b._depth else b._depth) + 1
    node.requires_grad = a.requires_grad or b.requires_grad
    return node


def _node1(details, out, x) -> "Value":
    """(details: the op's shared record, PLAIN[name], or one with its attrs, e.g. details.power's)"""
    node = _alloc(Value)
    node.data = out
    node._grad = None
    node._details = details
    node._p0 = x
    node._p1 = None
    node._depth = x._depth + 1
    node.requires_grad = x.requires_grad
    return node


def _node3(name, out, a, b, c) -> "Value":
    """_record's default case for three inputs (a layer's linear node): no mode reads, no loop for the depth."""
    node = _alloc(Value)
    node.data = out
    node._grad = None
    node._details = PLAIN[name]
    node._p0 = None
    node._p1 = (a, b, c)
    depth = a._depth
    if b._depth > depth:
        depth = b._depth
    if c._depth > depth:
        depth = c._depth
    node._depth = depth + 1
    node.requires_grad = a.requires_grad or b.requires_grad or c.requires_grad
    return node


def _record(name, data, p0, p1, pn, attrs, requires_grad, saved=None) -> "Value":
    """The graph node for an op's result (a plain leaf when recording is off); `saved` is
    what a saves=True op's forward kept for its backward."""
    anomaly = False
    if ALTERED[0]:  # some thread is in no_grad()/detect_anomaly(): read this one's mode (see mode.ALTERED)
        if not MODE.grad_enabled:
            return _new(data)
        anomaly = MODE.anomaly
    node = _alloc(Value)
    node.data = data
    node._grad = None
    node._p0 = p0
    node._p1 = p1 if pn is None else pn  # (no input, or more than two: _p0 None, all of them in _p1)
    # depth: 1 + the deepest input, so that inputs always sort before their results
    if pn is None:
        depth = p0._depth
        if p1 is not None and p1._depth > depth:
            depth = p1._depth
    else:  # (a loop, not max() over a list: 0.4 -> 0.06 µs for a layer's three inputs)
        depth = -1
        for p in pn:
            if p._depth > depth:
                depth = p._depth
    node._depth = depth + 1
    node.requires_grad = requires_grad
    extra = {"site": caller_site()} if anomaly else None
    if saved is not None and requires_grad:
        extra = {"saved": saved} if extra is None else {**extra, "saved": saved}
    # (a plain node shares its op's Details; anything more makes one of its own, see autograd.details)
    node._details = PLAIN[name] if extra is None and not attrs else Details(name, attrs or _NO_ATTRS, "", extra)
    if anomaly:
        labels = ", ".join(p.label or p.op or "?" for p in node.parents)
        check_finite(data, f"in the forward of {name}({labels}) at {extra['site']}")
    return node


class Value(PythonObject, Arithmetic):
    """A scalar or tensor node of the computation graph.

    >>> x = Value(2.0, label="x"); y = (x * x + 1).tanh(); y.backward(); round(x.grad, 4)
    0.0011
    """

    # Eight pointers a node, the cyclic GC's cost in mind: a full collection visits every live
    # node, so its cost grows with the number of tracked objects and with their size (see
    # benchmarks/engine.py). The inputs live in slots, not in a tuple (a second object per node):
    # one or two in _p0, _p1; none or more than two as one tuple in _p1, _p0 None (a leaf: both
    # None). The op's name, keyword arguments, label, hooks and saved arrays are in _details, one
    # record most nodes share (see autograd.details).
    __slots__ = ("data", "_grad", "_details", "_p0", "_p1", "_depth", "requires_grad", "__weakref__")
    __array_ufunc__ = None  # make numpy defer to our reflected operators (ndarray * Value)
    data: Any       # a float, or a float64 numpy array
    requires_grad: bool

    if TYPE_CHECKING:  # for type checkers: the op table's methods (tanh, sum, ...) that _bind adds
        def __getattr__(self, name: str) -> Callable[..., Value]: ...

    def __init__(self, data, label: str = "", requires_grad: bool = True):
        if not isinstance(label, str) or not isinstance(requires_grad, (bool, np.bool_)):
            raise _argument_error(label, requires_grad)
        self.data = to_data(data)
        self._grad = None
        self._details = labelled(LEAF, str(label))
        self._p0 = self._p1 = None
        self._depth = 0
        self.requires_grad = bool(requires_grad)

    # ---- public attributes -------------------------------------------------------
    @property
    def grad(self):
        """d(output)/d(self), same shape and type as `data` (zeros before backward)."""
        if self._grad is None:
            self._grad = 0.0 if type(self.data) is float else np.zeros_like(self.data)
        return self._grad

    @grad.setter
    def grad(self, g):
        if g is not None and np.shape(ops.data(g)) != self.shape:
            raise ValueError(f"grad must have the shape of data {self.shape}, got {np.shape(ops.data(g))}")
        self._grad = None if g is None else engine.fit(ops.data(g), self)

    @property
    def op(self) -> str:
        """The op table entry that made this node ("" for a leaf)."""
        return self._details.op

    @property
    def attrs(self):
        """The op's keyword arguments, e.g. {"axis": 0} for x.sum(axis=0)."""
        return self._details.attrs

    @property
    def label(self) -> str:
        """A display name for drawings and messages ("" for none)."""
        return self._details.label

    @label.setter
    def label(self, label: str):
        label = "" if label is None else str(label)  # (a name given as a number, as nn.Neuron(name=0) does)
        self._details = labelled(self._details, label)  # (a new record, or a shared one: see autograd.details)

    @property
    def parents(self) -> tuple:
        """The op's inputs, in order (() for a leaf)."""
        if self._p0 is None:
            return () if self._p1 is None else self._p1
        return (self._p0,) if self._p1 is None else (self._p0, self._p1)

    @property
    def shape(self) -> tuple:
        return () if type(self.data) is float else self.data.shape

    @property
    def ndim(self) -> int:
        return 0 if type(self.data) is float else self.data.ndim

    @property
    def size(self) -> int:
        return 1 if type(self.data) is float else self.data.size

    @property
    def dtype(self):
        return np.dtype(np.float64) if type(self.data) is float else self.data.dtype

    @property
    def is_leaf(self) -> bool:
        return not self.op

    def item(self) -> float:
        if self.size != 1:
            raise ValueError(f"item() needs a single element, this Value has shape {self.shape}")
        return float(np.asarray(self.data).reshape(()))

    def numpy(self) -> np.ndarray:
        return np.array(self.data)

    def detach(self) -> "Value":
        """The same data as a new leaf that does not require grad."""
        return _new(self.data, self.label)

    # ---- graph hooks -----------------------------------------------------------
    def register_hook(self, fn):
        """Call fn(grad) when this node's gradient is complete; a non-None return replaces it."""
        details = self._details
        extra = dict(details.extra or {})
        extra["hooks"] = [*extra.get("hooks", ()), fn]
        self._details = details.replace(extra=extra)  # (a new one: details may be shared)
        return fn

    def backward(self, gradient=None, retain_graph=None, *, grad=None) -> None:
        """Fill `.grad` of every node this one depends on (accumulating, like PyTorch).

        `gradient`: d(loss)/d(self) to start from (needed when self is not a single number);
        `grad=` is its older name. `retain_graph` is accepted for PyTorch code and changes
        nothing: the graph is always kept, so backward() can run again."""
        if grad is not None:
            if gradient is not None:
                raise TypeError("backward: got both gradient= and grad= (they mean the same); pass one")
            gradient = grad
        engine.backward(self, gradient)

    @replayable  # inside a jitted step, each replay runs it again
    def zero_grad(self):
        self._grad = None

    # ---- arithmetic: + - * / ** neg // % @ are in value_arithmetic.Arithmetic (a base class) ----

    # ---- methods of the op table ---------------------------------------------------
    # exp, log, tanh, sum, reshape, ... are not written here: each op's entry in the op table
    # says which method exposes it (autograd.ops.expose), and `_bind` below adds them all.

    @property
    def T(self) -> Value:
        return self.transpose()

    @property
    def mT(self) -> Value:
        if self.ndim < 2:
            raise ShapeError(f"mT: needs at least 2 dimensions, got shape {self.shape}")
        return ops.swap_last(self)

    def __getitem__(self, key) -> Value:  # a 0-d Value indexes as a 0-d array: x[None] has shape (1,)
        return apply("getitem", (self,), {"key": index_key(key)})


def _argument_error(label, requires_grad):
    """Value(1.0, (), '') is micrograd's Value(data, _children, _op): say what the arguments are."""
    wrong = (f"label must be a str, got {type(label).__name__} {label!r:.40}" if not isinstance(label, str) else
             f"requires_grad must be a bool, got {type(requires_grad).__name__} {requires_grad!r:.40}")
    return TypeError(f"Value(data, label='', requires_grad=True): {wrong}. The arguments are the data (a number, "
                     "a list or an array), a display name and whether gradients flow to it; inputs are not passed "
                     "in (micrograd's Value(data, _children, _op)): ops record them, e.g. Value(2.0) * Value(3.0)")


# The op table's methods (tanh, sum, ...) live in value_methods; imported last, once Value exists
from .value_methods import _bind, bound  # noqa: E402,F401,I001

if getattr(ops, "READY", False):
    _bind()
