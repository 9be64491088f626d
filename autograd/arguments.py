"""Checking what users pass in: data for Value(), axes, index keys; shape errors that
name the op, every shape, and the fix."""
from __future__ import annotations

import numpy as np

from .mode import MODE

_ACCEPTED = "a Python int/float, a list of numbers, a numpy array of int/float/bool, or a Value"


class ShapeError(ValueError):
    """Operands whose shapes do not fit the op (names the op and every shape)."""


def to_data(x):
    """Validate user input: floats stay Python floats, everything else a float array."""
    if isinstance(x, _value.Value):
        return x.data
    if isinstance(x, (bool, int, float)) and not isinstance(x, np.generic):
        return float(x)
    if isinstance(x, (list, tuple, np.ndarray, np.generic)):
        try:
            arr = np.array(x)
        except ValueError as e:  # ragged nested lists
            raise TypeError(f"Value() got a ragged or irregular sequence ({e}); expected {_ACCEPTED}") from None
        if arr.dtype.kind in "biu":
            arr = arr.astype(np.float64)
        elif arr.dtype.kind != "f":
            raise TypeError(f"Value() got an array of dtype {arr.dtype}; expected {_ACCEPTED}")
        if type(x) is np.ndarray and arr.ndim and MODE.capture is not None:
            MODE.capture.append(("converted", x, arr))  # jit follows a copied argument (autograd.jit.replay)
        return float(arr) if arr.ndim == 0 and arr.dtype == np.float64 else arr
    raise TypeError(f"Value() got {type(x).__name__} {x!r:.40}; expected {_ACCEPTED}")


_FIXES = {
    "matmul": "the last axis of the left operand must equal the second-to-last of the right: (n, k) @ (k, m)",
    "concat": "all inputs need the same number of dimensions and equal sizes except along the axis",
    "stack": "all inputs need exactly the same shape",
    "reshape": "the new shape must hold the same number of elements",
}
_BROADCAST_FIX = "shapes must be equal or broadcastable (compared from the right, sizes equal or 1); reshape one operand"


def shape_error(name, parents, e):
    """The op's error with every input shape and how to fix it (IndexError stays IndexError)."""
    shapes = " and ".join(str(p.shape) for p in parents)
    if isinstance(e, IndexError):
        return IndexError(f"{name}: index out of range for shape {shapes}: {e}")
    return ShapeError(f"{name}: cannot apply to shapes {shapes}: {e}. Fix: {_FIXES.get(name, _BROADCAST_FIX)}")


def check_axis(v, axis, op):
    if axis is None:
        return None
    if isinstance(axis, (tuple, list)):
        return tuple(check_axis(v, a, op) for a in axis)
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: axis must be an int, a tuple of ints or None, got {axis!r}")
    if not -max(v.ndim, 1) <= axis < max(v.ndim, 1):
        raise ShapeError(f"{op}: axis {axis} is out of range for shape {v.shape} "
                         f"(valid: {-max(v.ndim, 1)} to {max(v.ndim, 1) - 1})")
    return axis % v.ndim if v.ndim else None


def reduce_attrs(v, axis, keepdims, op):
    return {"axis": check_axis(v, axis, op), "keepdims": bool(keepdims)}


UNSET = object()  # "not passed", for keywords whose None means something


def synonym(op, name, value, alias, alias_value, default):
    """PyTorch's keyword (dim=, keepdim=) as a synonym of numpy's (axis=, keepdims=)."""
    if alias_value is UNSET:
        return value
    if value is not default and value != default:
        raise TypeError(f"{op}: got both {name}= and {alias}= (they mean the same); pass one")
    return alias_value


def reduction(op):
    """Arguments of a reduction: (axis=None, keepdims=False), or PyTorch's dim=/keepdim=."""
    def args(x, axis=None, keepdims=False, *, dim=UNSET, keepdim=UNSET):
        axis = synonym(op, "axis", axis, "dim", dim, None)
        keepdims = synonym(op, "keepdims", keepdims, "keepdim", keepdim, False)
        return (x,), reduce_attrs(x, axis, keepdims, op)
    return args


def along(op, default=-1):
    """Arguments of an op along one axis (softmax): (axis=default), or PyTorch's dim=."""
    def args(x, axis=default, *, dim=UNSET):
        return (x,), {"axis": check_axis(x, synonym(op, "axis", axis, "dim", dim, default), op)}
    return args


def index_key(key):
    """Indexing keys: ints, slices, None, Ellipsis, integer or boolean arrays (or Values)."""
    if isinstance(key, tuple):
        return tuple(index_key(k) for k in key)
    if isinstance(key, _value.Value):
        key = key.data
    if isinstance(key, (list, np.ndarray)):
        arr = np.asarray(key)
        if arr.dtype.kind not in "biu":
            raise TypeError(f"getitem: index arrays must hold integers or booleans, got dtype {arr.dtype}")
        return arr
    if key is None or key is Ellipsis or isinstance(key, (int, np.integer, slice)):
        return key
    raise TypeError(f"getitem: unsupported index {key!r}; use ints, slices, None, ..., int or bool arrays")


def check_matmul(a, b):
    """(a, b) if both have at least one dimension, else a ShapeError saying to use *."""
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: needs at least 1-d operands, got {a.shape} and {b.shape}; use * for scalars")
    return a, b

# last: value imports these checks by name, so they must exist when it runs (any import order)
from . import value as _value  # noqa: E402
