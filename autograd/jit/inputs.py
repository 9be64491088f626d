"""How a jit plan follows a call's arguments into the graph (autograd.jit.replay): which of the
graph's arrays are made from them (the arguments themselves, views such as x[t], copies made
into Values, copies stacked from their slices) and which attributes hold them; and the errors and
warnings jit raises.
"""
from __future__ import annotations

import os
import sys
import warnings

import numpy as np

from ..mode import _PACKAGE_DIR


class JitError(RuntimeError):
    """A function that jit cannot replay faithfully (the message says why and what to do)."""


class JitWarning(UserWarning):
    """Something jit will replay as a constant that may not be one."""


def warn(message: str) -> None:
    """A JitWarning pointing at the first line outside the autograd package (the user's call)."""
    frame, level = sys._getframe(1), 2  # stacklevel 2: the caller of warn
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    warnings.warn(JitWarning(message), stacklevel=level)


_byte_bounds = np.lib.array_utils.byte_bounds if hasattr(np.lib, "array_utils") else np.byte_bounds  # numpy 2 / 1


def maker_of(a, data, converted, name):
    """How to make array `a` again on the next call, from the list of argument data, or None
    when it is not made from the arguments. `a` may be an argument itself, a view into one
    (x[t], one time step of a sequence), or a copy made into a Value (`converted`: {id(copy):
    source}) of one of these or of any other array (re-copied each call: it may have changed)."""
    for i, d in enumerate(data):
        if a is d and a is not None:
            return argument(i)
    if type(a) is not np.ndarray:
        return None
    if id(a) in converted:
        source, dtype = converted[id(a)], a.dtype
        make = maker_of(source, data, converted, name)
        if make is None:
            return lambda data: np.array(source, dtype=dtype)
        return lambda data: np.array(make(data), dtype=dtype)
    if a.base is None:
        return None
    low, high = _byte_bounds(a)
    holders = [i for i, d in enumerate(data) if type(d) is np.ndarray and d.size
               and _byte_bounds(d)[0] <= low and high <= _byte_bounds(d)[1]]
    holders = [i for i in holders if not any(data[i] is data[j] for j in holders if j < i)]  # each array once
    if len(holders) > 1:
        raise JitError(f"jit: {name} takes a part of arguments #{holders[0]} and #{holders[1]}, which share "
                       "memory (overlapping windows of one array), so which one it came from is unclear; "
                       "pass copies (x.copy()) to the jitted function")
    if not holders:
        return None
    i = holders[0]
    if not data[i].flags.c_contiguous:
        raise JitError(f"jit: {name} takes a part of argument #{i}, which is not C-contiguous (a transpose "
                       "or a strided slice); pass np.ascontiguousarray(it) to the jitted function")
    shape, dtype, strides = a.shape, a.dtype, a.strides
    offset = a.__array_interface__["data"][0] - data[i].__array_interface__["data"][0]
    return lambda data: np.ndarray(shape, dtype, buffer=data[i], offset=offset, strides=strides)


def stacked_from(a, data):
    """The maker of `a` when it is a copy of an argument made by stacking its slices along one axis
    (np.stack([x[t] for t ...]) is x, np.stack([x[:, t] ...]) is x with axis 1 moved first): what
    nn.LSTM does with a plain numpy sequence, an array no op or Value() conversion records. Recognised
    by shape and numbers, as reshaped_from; None when no argument matches. Only for constants: a leaf
    that needs a gradient is a parameter, never an argument's copy; and only for an argument of two or
    more different numbers: a zero state made inside the function is not taken for a zero argument."""
    if type(a) is not np.ndarray or a.ndim < 2 or a.size < 2:
        return None
    for i, d in enumerate(data):
        if type(d) is not np.ndarray or d.ndim != a.ndim or d.size != a.size or d.dtype.kind not in "fiub" \
                or np.all(d == d.flat[0]):
            continue
        for axis in range(d.ndim):
            moved = np.moveaxis(d, axis, 0)
            if moved.shape == a.shape and np.array_equal(moved, a):
                return lambda data, i=i, axis=axis, dtype=a.dtype: np.ascontiguousarray(
                    np.moveaxis(data[i], axis, 0), dtype=dtype)
    return None


def argument(i: int):
    """The maker of argument i's data itself (`.argument` tells the generated code to read it directly)."""
    def make(data):
        return data[i]
    make.argument = i
    return make


def reshaped_from(a, data):
    """The index of the argument `a` is a reshape of (x.reshape(-1): a view of a contiguous x, a
    copy of another), or None. A copy is recognised by its numbers: equal ones from another source
    would be followed too, and the check on the second call reports that as a mismatch."""
    for i, d in enumerate(data):
        if type(d) is not np.ndarray or d.size != a.size or d.dtype != a.dtype or not a.ndim or a.size < 2:
            continue
        if np.may_share_memory(a, d):
            same_start = a.__array_interface__["data"][0] == d.__array_interface__["data"][0]
            if same_start and a.flags.c_contiguous and d.flags.c_contiguous:
                return i
        elif np.array_equal(a, np.reshape(d, a.shape)):
            return i
    return None


def arrays_in(value):
    """The arrays inside an attribute (itself, or the items of a tuple such as an index key)."""
    if type(value) is np.ndarray:
        yield value
    elif type(value) is tuple:
        for item in value:
            yield from arrays_in(item)


def rebuild(value, old):
    """A function of the new argument array giving `value` with `old` replaced by it."""
    if value is old:
        return lambda new: new
    if type(value) is not tuple:
        return lambda new: value
    parts = [rebuild(v, old) for v in value]
    return lambda new: tuple([part(new) for part in parts])


def kind(data) -> tuple:
    """A leaf's kind: a plan is remade when it changes. The strides are part of it: the memory plan
    follows each weight's layout (column-major gradients and scratch for a column-major weight, see
    kernels.plan_memory), so a weight replaced by one of another layout needs a plan of its own."""
    return ("float",) if type(data) is float else (type(data), data.shape, data.dtype, getattr(data, "strides", None))
