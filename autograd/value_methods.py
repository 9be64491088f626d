"""The op table's methods on `Value` (`x.tanh()`, `x.sum(dim=0)`, ...): the function behind each binding.

It imports `value` and `ops` inside its functions (they run once each module is complete), so any
import order works; the functions it makes hold apply/apply1 directly (no lookup per op).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from . import ops


def bound(b: ops.Binding):
    """The function behind binding `b`, taking the Value first (a method of Value)."""
    if b.impl is not None:
        fn = b.impl
    elif b.args is None:  # x alone (exp, tanh, ...): straight to apply1, the scalar hot path
        fn = _unary(b.op)
    else:
        fn = _with_args(b.op, b.args)
    return fn


def _unary(name):
    from .value import apply1

    def fn(self):
        return apply1(name, self)
    return fn


def _with_args(name, check):
    from .value import apply

    def fn(self, *args, **kwargs):
        inputs, attrs = check(self, *args, **kwargs)
        return apply(name, inputs, attrs)
    return fn


def _bind():
    """Add the op table's methods to Value (again: idempotent). Runs once both modules are complete:
    here when ops finished first, else at the end of ops (any import order; see ops.READY)."""
    from . import ops
    from .value import Value

    for b in ops.BINDINGS:
        if b.method:
            fn = bound(b)
            method = fn if b.impl is None else (lambda f: lambda self, *a, **k: f(self, *a, **k))(fn)
            method.__name__, method.__qualname__, method.__doc__ = b.method, f"Value.{b.method}", b.doc
            setattr(Value, b.method, method)
    Value.__abs__ = Value.abs
