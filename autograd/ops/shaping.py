"""Shape and indexing: broadcast, reshape, transpose, getitem/scatter, concat, stack."""
from __future__ import annotations

import functools

import numpy as np

from ..arguments import ShapeError
from . import call, data, defop, reshape, shape


@functools.lru_cache(maxsize=256)  # the permutation undoing `axes`: the same ones every step
def _inverse(axes):
    return tuple(int(i) for i in np.argsort(axes))


def _scatter(g, key, shape):
    # a Python float g means float64 (np.result_type(0.5, float32) would say float32)
    out = np.zeros(shape, dtype=np.result_type(np.asarray(g).dtype, np.float32))
    if _basic(key):  # slices and ints never repeat an element: plain assignment, ~10× faster than add.at
        out[key] = g
    else:
        np.add.at(out, key, g)
    return out


def _basic(key):
    parts = key if type(key) is tuple else (key,)
    return all(k is Ellipsis or type(k) is slice or type(k) is int for k in parts)


def _split_grad(g, out, *xs, axis=0, stacked=False):
    grads, start = [], 0
    for x in xs:
        stop = start + (1 if stacked else shape(x)[axis])
        pick = start if stacked else slice(start, stop)
        grads.append(g[(slice(None),) * axis + (pick,)])
        start = stop
    return tuple(grads)


def _shape_arg(shape_):
    """reshape(2, 3) or reshape((2, 3))"""
    return tuple(shape_[0]) if len(shape_) == 1 and isinstance(shape_[0], (tuple, list)) else shape_


def _reshape_args(x, *shape_):
    return (x,), {"shape": tuple(int(s) for s in _shape_arg(shape_))}


def _broadcast_args(x, shape_):
    return (x,), {"shape": tuple(shape_)}


def _transpose_args(x, *axes):
    axes = _shape_arg(axes) or tuple(reversed(range(x.ndim)))
    if sorted(a % max(x.ndim, 1) for a in axes) != list(range(x.ndim)):
        raise ShapeError(f"transpose: axes {axes} are not a permutation for shape {x.shape}")
    return (x,), {"axes": tuple(a % x.ndim for a in axes)}


# fmt: off
defop("broadcast_to", lambda a, shape: np.broadcast_to(a, shape), lambda g, out, a, shape: (g,),
      "broadcast", ("sum(g) over the broadcast axes",), elementwise=False, doc="a repeated to shape",
      method=True, args=_broadcast_args)
defop("reshape", lambda a, shape: np.reshape(a, shape), lambda g, out, a, shape: (reshape(g, np.shape(data(a))),),
      "reshape", ("reshape(g, a.shape)",), elementwise=False, doc="a with a new shape",
      method=True, args=_reshape_args)
defop("transpose", lambda a, axes: np.transpose(a, axes),
      lambda g, out, a, axes: (call("transpose", g, axes=_inverse(axes)),),
      "transpose", ("transpose(g) back",), elementwise=False, doc="a with its axes permuted",
      method=True, args=_transpose_args)
defop("getitem", lambda a, key: a[key], lambda g, out, a, key: (call("scatter", g, key=key, shape=shape(a)),),
      "[]", ("g scattered into zeros",), elementwise=False, doc="a[key]")
defop("scatter", _scatter, lambda g, out, a, key, shape: (g[key],),
      "scatter", ("g[key]",), elementwise=False, doc="zeros(shape) with a added at key")
defop("concat", lambda *xs, axis=0: np.concatenate(xs, axis=axis),
      lambda g, out, *xs, axis=0: _split_grad(g, out, *xs, axis=axis),
      "concat", ("g sliced back",), elementwise=False, doc="inputs joined along axis")
defop("stack", lambda *xs, axis=0: np.stack(xs, axis=axis),
      lambda g, out, *xs, axis=0: _split_grad(g, out, *xs, axis=axis, stacked=True),
      "stack", ("g[i] along axis",), elementwise=False, doc="inputs stacked on a new axis")
# fmt: on
