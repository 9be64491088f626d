"""Comparisons and tests: == != < <= > >=, isclose, isinf, isnan, logical ops. Their results are boolean masks, never recorded and never requiring grad."""
from __future__ import annotations

import numbers

import numpy as np

from . import _is_node, defmethod

# A mask is a plain numpy bool array (a Python bool for scalars: `if a < b:` works). It is
# not a node of the graph: nothing flows back through a comparison (its derivative is 0
# almost everywhere), so it is used as a constant: in autograd.where, indexing, masked_fill.


def operand(x, op):
    """The raw data of a comparison's operand: a Value's data, a number, a bool, an array."""
    if _is_node(x):
        return x.data
    if isinstance(x, (numbers.Number, np.ndarray, np.generic)):
        return x
    if isinstance(x, (list, tuple)):
        arr = np.asarray(x)
        if arr.dtype.kind in "biuf":
            return arr
    raise TypeError(f"{op}: cannot compare a Value with {type(x).__name__} {x!r:.40}; "
                    "compare with a number, an array or another Value")


def mask(r):
    """A ufunc's boolean result as a comparison returns it: bool for one element, else an array."""
    return bool(r) if np.ndim(r) == 0 else r


def _shape_error(op, a, b):
    from ..arguments import ShapeError
    return ShapeError(f"{op}: cannot compare shapes {np.shape(a)} and {np.shape(b)}; shapes must be equal or "
                      "broadcastable (compared from the right, sizes equal or 1)")


def elementwise(ufunc, name, doc):
    """x <op> other elementwise, as a mask: the function behind a method, a function and a dunder."""
    def compare(x, other):
        a, b = operand(x, name), operand(other, name)
        try:
            return mask(ufunc(a, b))
        except ValueError:
            raise _shape_error(name, a, b) from None
    compare.__name__ = name
    compare.__doc__ = doc
    return compare


eq = elementwise(np.equal, "eq", "x == other elementwise: a boolean mask (a bool for scalars), never recorded.")
ne = elementwise(np.not_equal, "ne", "x != other elementwise: a boolean mask (a bool for scalars), never recorded.")
lt = elementwise(np.less, "lt", "x < other elementwise: a boolean mask (a bool for scalars), never recorded.")
le = elementwise(np.less_equal, "le", "x <= other elementwise: a boolean mask (a bool for scalars), never recorded.")
gt = elementwise(np.greater, "gt", "x > other elementwise: a boolean mask (a bool for scalars), never recorded.")
ge = elementwise(np.greater_equal, "ge", "x >= other elementwise: a boolean mask (a bool for scalars), never recorded.")
logical_and = elementwise(np.logical_and, "logical_and", "x and other elementwise (nonzero is true): a boolean mask.")
logical_or = elementwise(np.logical_or, "logical_or", "x or other elementwise (nonzero is true): a boolean mask.")
logical_xor = elementwise(np.logical_xor, "logical_xor", "x xor other elementwise (nonzero is true): a boolean mask.")


def test(ufunc, name, doc):
    def check(x):
        return mask(ufunc(operand(x, name)))
    check.__name__ = name
    check.__doc__ = doc
    return check


isnan = test(np.isnan, "isnan", "Where x is nan: a boolean mask (a bool for scalars).")
isinf = test(np.isinf, "isinf", "Where x is +inf or -inf: a boolean mask (a bool for scalars).")
isposinf = test(np.isposinf, "isposinf", "Where x is +inf: a boolean mask (a bool for scalars).")
isneginf = test(np.isneginf, "isneginf", "Where x is -inf: a boolean mask (a bool for scalars).")
isfinite = test(np.isfinite, "isfinite", "Where x is neither inf nor nan: a boolean mask (a bool for scalars).")
logical_not = test(np.logical_not, "logical_not", "Where x is zero (false): a boolean mask (a bool for scalars).")


def isclose(x, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|x - other| <= atol + rtol·|other| elementwise (PyTorch's defaults): a boolean mask."""
    a, b = operand(x, "isclose"), operand(other, "isclose")
    try:
        return mask(np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))
    except ValueError:
        raise _shape_error("isclose", a, b) from None


def allclose(x, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    """True when every element of x is close to other (isclose everywhere): one bool."""
    return bool(np.all(isclose(x, other, rtol, atol, equal_nan)))


def equal(x, other) -> bool:
    """True when x and other have the same shape and the same elements (torch.equal): one bool."""
    a, b = operand(x, "equal"), operand(other, "equal")
    return np.shape(a) == np.shape(b) and bool(np.all(np.equal(a, b)))


for _name, _fn in [("eq", eq), ("ne", ne), ("lt", lt), ("le", le), ("gt", gt), ("ge", ge),
                   ("isclose", isclose), ("allclose", allclose), ("equal", equal),
                   ("isnan", isnan), ("isinf", isinf), ("isposinf", isposinf), ("isneginf", isneginf),
                   ("isfinite", isfinite), ("logical_not", logical_not), ("logical_and", logical_and),
                   ("logical_or", logical_or), ("logical_xor", logical_xor),
                   # PyTorch's long names for the six comparisons
                   ("greater", gt), ("greater_equal", ge), ("less", lt), ("less_equal", le),
                   ("not_equal", ne)]:
    defmethod(_name, _fn)
