"""Saving and restoring what a training step touches, for jit's check on a signature's second
call (autograd.jit.replay): Values (data and grad) and the state of objects whose methods it
repeats (an optimizer's buffers and step count), put back in place, so that anything else
holding the same lists and arrays still sees them; and the comparison of the two runs (`same`).
"""
from __future__ import annotations

import numpy as np

from ..value import Value
from .inputs import JitError


def copy_tree(x):
    """x with its arrays copied, through lists, tuples and dicts (Values and other objects kept)."""
    if type(x) is np.ndarray:
        return x.copy()
    if type(x) in (list, tuple):
        return type(x)(copy_tree(v) for v in x)
    if type(x) is dict:
        return {k: copy_tree(v) for k, v in x.items()}
    return x


def _save(x):
    """(x, what to put back): x's arrays copied, its lists and dicts followed, other objects kept."""
    if type(x) is np.ndarray:
        return x, x.copy()
    if type(x) in (list, tuple):
        return x, [_save(v) for v in x]
    if type(x) is dict:
        return x, {k: _save(v) for k, v in x.items()}
    return x, None


def _load(saved):
    """Put back what _save saved, in place: the same lists, dicts and arrays (others may hold them)."""
    x, inside = saved
    if type(x) is np.ndarray:
        if x.flags.writeable:
            np.copyto(x, inside)
    elif type(x) is list:
        x[:] = [_load(v) for v in inside]
    elif type(x) is tuple:
        for v in inside:
            _load(v)
    elif type(x) is dict:
        restored = {k: _load(v) for k, v in inside.items()}
        x.clear()
        x.update(restored)
    return x


def snapshot(values, objects):
    """Where Values (data, .grad) and objects (their attributes) are now, to put back with restore()."""
    return ([(v, _save(v.data), copy_tree(v._grad)) for v in values],
            [(obj, _save(vars(obj))) for obj in objects])


def restore(saved):
    values, objects = saved
    for v, data, grad in values:
        v.data, v._grad = _load(data), grad
    for _, state in objects:
        _load(state)


def values_in(x, depth: int = 0, seen=None) -> list:
    """The Values inside x: through lists, tuples, dicts and the attributes of plain objects
    (an optimizer's parameters, a module's), a few levels deep."""
    seen = set() if seen is None else seen
    if isinstance(x, Value):
        return [x]
    if id(x) in seen or depth > 6:
        return []
    seen.add(id(x))
    if type(x) in (list, tuple):
        return [v for item in x for v in values_in(item, depth + 1, seen)]
    if type(x) is dict:
        return [v for item in x.values() for v in values_in(item, depth + 1, seen)]
    if hasattr(x, "__dict__") and not isinstance(x, type) and not callable(x):
        return values_in(vars(x), depth + 1, seen)
    return []


def has_replayable_methods(obj) -> bool:
    if isinstance(obj, (Value, type)) or not hasattr(obj, "__dict__"):
        return False
    return any(getattr(getattr(type(obj), name, None), "replayable", False) for name in dir(type(obj)))


def same(name, replayed, run, what):
    """The check on a signature's second call: the replay of `name` and the real run agree on `what`."""
    if replayed is None or run is None:
        if replayed is None and run is None:
            return
        a, b = ("none", "an array") if replayed is None else ("an array", "none")
        raise JitError(f"jit: replaying {name} gave {a} for {what} but running it gave {b}: " + _MISMATCH)
    a, b = np.asarray(replayed), np.asarray(run)
    tol = 1e-5 if np.float32 in (a.dtype, b.dtype) else 1e-9
    if a.shape != b.shape or not np.allclose(a, b, rtol=tol, atol=tol, equal_nan=True):
        raise JitError(f"jit: replaying {name} gave {what} {a.ravel()[:3]} but running it gave "
                       f"{b.ravel()[:3]}: " + _MISMATCH)


_MISMATCH = ("the function depends on something its graph does not show: Python code that changes Values "
             "(p.data -= ...) instead of a method marked @replayable (an optimizer's step), an optimizer or "
             "other object created inside the function (create it outside), an argument converted or copied "
             "in a way jit does not follow (x * 2, x.astype(...)), a branch on a value, a random draw, "
             "or an op after the optimizer's step. Do that outside and pass the result in, or drop @jit.")
