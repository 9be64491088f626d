"""How a Value behaves as a Python object: repr, len, iteration, truth, comparisons (elementwise
boolean masks, not graph nodes), hashing by identity, pickling and copying (autograd.value)."""
from __future__ import annotations

import copy

import numpy as np

from . import engine, ops


def _dunder(name):
    """The comparison operator `name` (eq, lt, ...): NotImplemented for operands it cannot
    compare, so Python falls back (`v == None` is False, `v < "a"` a TypeError)."""
    def compare(self, other):
        try:
            return getattr(ops.comparisons, name)(self, other)
        except TypeError:
            return NotImplemented
    compare.__name__ = f"__{name}__"
    return compare


class PythonObject:
    """The Python protocols of `autograd.Value` (a base class: Value holds the data)."""

    __slots__ = ()

    def __getstate__(self):  # pickling: the slots but __weakref__ (Details pickles its attrs as a dict)
        return {k: getattr(self, k) for k in self.__slots__[:-1]}

    def __setstate__(self, state):
        if "op" in state:  # pickled before the Details record (label, op, attrs, _pn, _extra were slots)
            from .details import _restore
            state = dict(state, _details=_restore(state.pop("op"), dict(state.pop("attrs")), state.pop("label"),
                                                  state.pop("_extra")))
            inputs = state.pop("_pn")
            if inputs is not None:  # (more than two inputs: all in _p1, see Value.__slots__)
                state["_p1"] = inputs
        for k, v in state.items():
            setattr(self, k, v)

    def __deepcopy__(self, memo):
        """Copy data, grad and label (and, for results, the graph below them), node by node in
        topological order: inputs are copied first, so a deep graph needs no recursion."""
        from .details import Details
        from .value import _new  # (value imports this module)
        for node in engine.topological_order(self):
            if id(node) in memo:
                continue
            v = _new(copy.deepcopy(node.data, memo))
            v._grad = copy.deepcopy(node._grad, memo)
            v.requires_grad, v._depth = node.requires_grad, node._depth
            p0, p1 = node._p0, node._p1
            v._p0 = None if p0 is None else memo[id(p0)]
            v._p1 = None if p1 is None else tuple([memo[id(p)] for p in p1]) if p0 is None else memo[id(p1)]
            d = node._details  # (hooks and saved arrays are not copied)
            v._details = d if d.extra is None else Details(d.op, d.attrs, d.label)
            memo[id(node)] = v
        return memo[id(self)]

    def __repr__(self):
        label = f", label={self.label!r}" if self.label else ""
        op = f", op={self.op!r}" if self.op else ""
        if type(self.data) is float:
            grad = "" if self._grad is None else f", grad={self._grad:.6g}"
            return f"Value(data={self.data:.6g}{grad}{label}{op})"
        body = np.array2string(self.data, precision=4, threshold=8, edgeitems=2, separator=", ")
        return f"Value({body}, shape={self.shape}, dtype={self.dtype}{label}{op})"

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a scalar Value")
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __bool__(self):
        if self.size != 1:
            raise TypeError(f"the truth value of a Value of shape {self.shape} is ambiguous; use .data.any() or .data.all()")
        return bool(self.item())

    # Comparisons are elementwise, as in numpy and PyTorch: a boolean mask (a plain bool for
    # one element), never a graph node. So `a == b` no longer means "the same node": the
    # engine, jit and viz find nodes by identity (`is`, id(), dicts and sets keyed by the
    # node), and hashing stays by identity.
    __eq__ = _dunder("eq")
    __ne__ = _dunder("ne")
    __lt__ = _dunder("lt")
    __le__ = _dunder("le")
    __gt__ = _dunder("gt")
    __ge__ = _dunder("ge")
    __hash__ = object.__hash__
