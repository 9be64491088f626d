"""Shape and indexing: broadcast, reshape, transpose, getitem/scatter, concat, stack; permute,
swapaxes, squeeze/unsqueeze, flatten, expand, repeat/tile, repeat_interleave, flip, roll, pad,
tril/triu, diag/diagonal (split and chunk, slices along an axis, are in indexing)."""
from __future__ import annotations

import functools
import math

import numpy as np

from .. import value as _value
from ..arguments import UNSET, ShapeError, synonym
from . import call, data, defmethod, defop, expose, reshape, shape, sum_


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


def _transpose_args(x, *axes, dim0=UNSET, dim1=UNSET):
    """x.transpose(0, 1) swaps two axes (PyTorch, whatever x.ndim); x.transpose((2, 0, 1)) or as
    many ints as x has axes (other than two) permute them all (numpy); x.transpose() reverses."""
    if dim0 is not UNSET or dim1 is not UNSET:
        axes = axes + tuple(d for d in (dim0, dim1) if d is not UNSET)
    if len(axes) == 2 and all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in axes):
        return _swapaxes_args(x, *axes)
    axes = _shape_arg(axes) or tuple(reversed(range(x.ndim)))
    if sorted(a % max(x.ndim, 1) for a in axes) != list(range(x.ndim)):
        raise ShapeError(f"transpose: axes {tuple(axes)} are not a permutation for shape {x.shape}; give two axes "
                         f"to swap (x.transpose(0, 1)) or every axis once (x.transpose({tuple(range(x.ndim))[::-1]}))")
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
      "transpose", ("transpose(g) back",), elementwise=False,
      doc="a with its axes permuted: transpose(0, 1) swaps two axes (PyTorch); transpose((2, 0, 1)) or one int "
          "per axis (other than two) permutes them all (numpy); transpose() reverses them",
      method=True, args=_transpose_args)
defop("getitem", lambda a, key: (np.asarray(a) if type(a) is float else a)[key],  # 0-d: Value(2.0)[None]
      lambda g, out, a, key: (call("scatter", g, key=key, shape=shape(a)),),
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


# ---- the shape ops a PyTorch user reaches for ---------------------------------------------
# squeeze, unsqueeze, flatten record a `reshape` node; permute and swapaxes a `transpose`;
# expand a `broadcast` (the drawing shows what the data went through, under one name each).


def _axis(x, axis, op, extra=0):
    """One axis of x (negative counts from the end) as a non-negative int; `extra` = 1 for
    positions between the axes (unsqueeze: ndim + 1 places)."""
    n = x.ndim + extra
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: dim must be an int, got {axis!r}")
    if not -max(n, 1) <= axis < max(n, 1):
        raise ShapeError(f"{op}: dim {axis} is out of range for shape {x.shape} (valid: {-max(n, 1)} to "
                         f"{max(n, 1) - 1})")
    return int(axis) % n if n else 0


def _axes(x, axes, op):
    """None (every axis), one axis or a sequence of distinct axes, as a sorted tuple."""
    if axes is None:
        return tuple(range(x.ndim))
    axes = tuple(axes) if isinstance(axes, (tuple, list)) else (axes,)
    out = tuple(sorted({_axis(x, a, op) for a in axes})) if x.ndim else ()
    if x.ndim and len(out) != len(axes):
        raise ShapeError(f"{op}: dims {axes} repeat an axis of shape {x.shape}; name each axis once")
    return out


def _dim(op, axis, dim, default=None):
    return synonym(op, "axis", axis, "dim", dim, default)


def _permute_args(x, *dims):
    return _transpose_args(x, tuple(_shape_arg(dims)))


def _swapaxes_args(x, axis1, axis2):
    a, b = _axis(x, axis1, "swapaxes"), _axis(x, axis2, "swapaxes")
    perm = list(range(x.ndim))
    perm[a], perm[b] = perm[b], perm[a]
    return (x,), {"axes": tuple(perm)}


def _squeeze_args(x, axis=None, *, dim=UNSET):
    axes = _axes(x, _dim("squeeze", axis, dim), "squeeze")
    # as PyTorch: a named axis whose size is not 1 is left alone (numpy would raise)
    return (x,), {"shape": tuple(n for i, n in enumerate(x.shape) if not (i in axes and n == 1))}


def _unsqueeze_args(x, axis=UNSET, *, dim=UNSET):
    axis = _dim("unsqueeze", None if axis is UNSET else axis, dim)
    if axis is None:
        raise TypeError("unsqueeze: missing the position of the new axis: x.unsqueeze(0) or x.unsqueeze(dim=-1)")
    a = _axis(x, axis, "unsqueeze", extra=1)
    return (x,), {"shape": x.shape[:a] + (1,) + x.shape[a:]}


def _flatten_args(x, start_dim=0, end_dim=-1):
    if x.ndim == 0:
        return (x,), {"shape": (1,)}  # as PyTorch: a scalar flattens to one element
    s, e = _axis(x, start_dim, "flatten"), _axis(x, end_dim, "flatten")
    if s > e:
        raise ShapeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape {x.shape}")
    return (x,), {"shape": x.shape[:s] + (math.prod(x.shape[s:e + 1]),) + x.shape[e + 1:]}


def _expand_args(x, *sizes):
    sizes = tuple(_shape_arg(sizes))
    if len(sizes) < x.ndim:
        raise ShapeError(f"expand: {len(sizes)} sizes {sizes} for shape {x.shape}; give at least one size per "
                         "axis (-1 keeps an axis)")
    lead = len(sizes) - x.ndim
    out = []
    for i, n in enumerate(sizes):
        old = x.shape[i - lead] if i >= lead else None
        if n == -1 and old is None:
            raise ShapeError(f"expand: -1 at new leading axis {i} of {sizes} (shape {x.shape}); new axes need a size")
        n = old if n == -1 else int(n)
        if old not in (None, 1, n):
            raise ShapeError(f"expand: axis {i} of shape {x.shape} has size {old}, cannot expand to {n}; only "
                             "axes of size 1 expand (use repeat to copy data)")
        out.append(n)
    return (x,), {"shape": tuple(out)}


def _reps(x, reps, op, torch_rule):
    reps = tuple(int(r) for r in _shape_arg(reps))
    if any(r < 0 for r in reps):
        raise ShapeError(f"{op}: repetitions {reps} must not be negative")
    if torch_rule and len(reps) < x.ndim:
        raise ShapeError(f"{op}: {len(reps)} repetitions {reps} for shape {x.shape}; PyTorch's repeat needs one "
                         "per axis at least (numpy's tile pads with 1s: use x.tile)")
    return (x,), {"reps": (1,) * (x.ndim - len(reps)) + reps}


def _tile_grad(g, out, a, reps):
    full = (1,) * (len(reps) - len(shape(a))) + shape(a)
    pairs = tuple(n for r, s in zip(reps, full) for n in (r, s))  # (r0, s0, r1, s1, ...)
    summed = sum_(reshape(g, pairs), axis=tuple(range(0, len(pairs), 2)))
    return (reshape(summed, shape(a)),)


def _move_last(x, axis):
    """x with `axis` moved to the end (a transpose node for Values)."""
    perm = tuple(i for i in range(len(shape(x))) if i != axis) + (axis,)
    return call("transpose", x, axes=perm)


def _interleave_args(x, repeats, axis=None, *, dim=UNSET):
    axis = _dim("repeat_interleave", axis, dim)
    if axis is None:  # as both libraries: the flattened input
        x, axis = call("reshape", x, shape=(-1,)) if x.ndim != 1 else x, 0
    axis = _axis(x, axis, "repeat_interleave")
    r = np.asarray(data(repeats))
    if r.dtype.kind not in "iu" or r.ndim > 1 or (r.ndim and len(r) not in (1, x.shape[axis])) or (r < 0).any():
        raise ShapeError(f"repeat_interleave: repeats {data(repeats)!r} must be a non-negative int or one int per "
                         f"element along axis {axis} of shape {x.shape}")
    return (x,), {"repeats": int(r.reshape(-1)[0]) if r.size == 1 else tuple(int(v) for v in r), "axis": axis}


def _interleave_grad(g, out, a, repeats, axis):
    s, n = shape(g), shape(a)[axis]
    if isinstance(repeats, int):  # each input element fills `repeats` neighbours: sum them
        return (sum_(reshape(g, s[:axis] + (n, repeats) + s[axis + 1:]), axis=axis + 1),)
    owner = np.repeat(np.arange(n), repeats)  # output position -> the input element it copies
    onto = (owner[:, None] == np.arange(n)).astype(data(g).dtype)  # (outputs, inputs), 0/1
    moved = _move_last(g, axis) @ onto
    perm = tuple(range(axis)) + (len(s) - 1,) + tuple(range(axis, len(s) - 1))
    return (call("transpose", moved, axes=perm),)


def _flip_args(x, *dims, axis=UNSET, **keywords):
    """x.flip(0, 1), x.flip((0, 1)), x.flip(dims=0) (PyTorch) or x.flip(axis=None) (numpy: all)."""
    if "dims" in keywords:
        dims = (keywords.pop("dims"),)
    if keywords:
        raise TypeError(f"flip: unexpected keyword {next(iter(keywords))}=; use dims= (or axis=)")
    dims = None if not dims else dims[0] if len(dims) == 1 else dims
    return (x,), {"axis": _axes(x, synonym("flip", "dims", dims, "axis", axis, None), "flip")}


def _roll_args(x, shifts, dims=None, *, axis=UNSET):
    dims = synonym("roll", "dims", dims, "axis", axis, None)
    single = not isinstance(shifts, (tuple, list))
    if dims is None:
        if not single:
            raise ShapeError(f"roll: shifts {shifts} without dims; give one dim per shift")
        return (x,), {"shift": int(shifts), "axis": None}
    dims = (dims,) if not isinstance(dims, (tuple, list)) else tuple(dims)
    shifts = (shifts,) * len(dims) if single else tuple(shifts)
    if len(shifts) != len(dims):
        raise ShapeError(f"roll: {len(shifts)} shifts {shifts} for {len(dims)} dims {dims}; give one shift per dim")
    return (x,), {"shift": tuple(int(s) for s in shifts), "axis": tuple(_axis(x, d, "roll") for d in dims)}


def _negate(shift):
    return tuple(-s for s in shift) if isinstance(shift, tuple) else -shift


def _pad_args(x, pad, mode="constant", value=0.0):
    """PyTorch's flat (left, right, top, bottom, ...) from the last axis backwards, or numpy's
    ((before, after), ...) per axis (an int or one pair: every axis)."""
    if mode != "constant":
        raise ValueError(f"pad: mode {mode!r} is not supported; only mode='constant' (a constant value)")
    nd = x.ndim
    if nd == 0:
        raise ShapeError("pad: a scalar has no axes to pad; reshape it first (x.reshape(1))")
    if isinstance(pad, (int, np.integer)):
        widths = ((int(pad), int(pad)),) * nd
    elif all(isinstance(p, (tuple, list)) for p in pad):  # numpy: pairs per axis
        widths = tuple(tuple(int(w) for w in p) for p in pad)
        widths = widths * nd if len(widths) == 1 else widths
    elif len(pad) % 2 or len(pad) // 2 > nd:
        raise ShapeError(f"pad: {len(pad)} widths {tuple(pad)} for shape {x.shape}; PyTorch's pad takes pairs "
                         f"(before, after) from the last axis backwards, at most {nd} pairs")
    else:  # PyTorch: the last axis first
        pairs = [(int(pad[i]), int(pad[i + 1])) for i in range(0, len(pad), 2)]
        widths = ((0, 0),) * (nd - len(pairs)) + tuple(reversed(pairs))
    if len(widths) != nd or any(len(w) != 2 or min(w) < 0 for w in widths):
        raise ShapeError(f"pad: widths {widths} do not fit shape {x.shape}; give (before, after) >= 0 per axis")
    return (x,), {"widths": widths, "value": 0.0 if value is None else float(value)}


def _triangle_args(op):
    def args(x, diagonal=0, *, k=UNSET):
        if x.ndim < 2:
            raise ShapeError(f"{op}: needs a matrix (at least 2 dimensions), got shape {x.shape}")
        return (x,), {"k": int(synonym(op, "diagonal", diagonal, "k", k, 0))}
    return args


def _diagonal_args(x, offset=0, dim1=0, dim2=1, *, axis1=UNSET, axis2=UNSET):
    dim1, dim2 = synonym("diagonal", "dim1", dim1, "axis1", axis1, 0), synonym("diagonal", "dim2", dim2, "axis2", axis2, 1)
    if x.ndim < 2:
        raise ShapeError(f"diagonal: needs at least 2 dimensions, got shape {x.shape} (diag builds a matrix from a "
                         "vector)")
    a, b = _axis(x, dim1, "diagonal"), _axis(x, dim2, "diagonal")
    if a == b:
        raise ShapeError(f"diagonal: dim1 and dim2 are both axis {a} of shape {x.shape}; name two different axes")
    return (x,), {"offset": int(offset), "axis1": a, "axis2": b}


def _diagonal_grad(g, out, a, offset, axis1, axis2):
    s = shape(a)
    perm = tuple(i for i in range(len(s)) if i not in (axis1, axis2)) + (axis1, axis2)
    d = shape(g)[-1]
    rows, cols = np.arange(d) + max(-offset, 0), np.arange(d) + max(offset, 0)
    full = call("scatter", g, key=(Ellipsis, rows, cols), shape=tuple(s[i] for i in perm))
    return (call("transpose", full, axes=_inverse(perm)),)


def diag(x, diagonal=0):
    """A vector -> the matrix with it on diagonal `diagonal`; a matrix -> that diagonal (torch.diag)."""
    x = _value.const(x)
    if x.ndim == 1:
        return _value.apply("diag", (x,), {"k": int(diagonal)})
    if x.ndim == 2:
        return _value.apply("diagonal", (x,), {"offset": int(diagonal), "axis1": 0, "axis2": 1})
    raise ShapeError(f"diag: needs a vector or a matrix, got shape {x.shape}; for batches use diagonal(dim1=, dim2=)")


# fmt: off
expose("transpose", method="permute", function="permute", args=_permute_args,
       doc="a with its axes in the order dims: permute(2, 0, 1) (torch.permute)")
expose("transpose", method="swapaxes", function="swapaxes", args=_swapaxes_args,
       doc="a with two axes swapped (numpy.swapaxes, torch.swapaxes)")
expose("reshape", method="squeeze", function="squeeze", args=_squeeze_args,
       doc="a without its size-1 axes (or the named ones; a named axis of another size stays, as PyTorch)")
expose("reshape", method="unsqueeze", function="unsqueeze", args=_unsqueeze_args,
       doc="a with a new size-1 axis at position dim (torch.unsqueeze)")
expose("reshape", method="flatten", function="flatten", args=_flatten_args,
       doc="a with axes start_dim..end_dim merged into one (torch.flatten)")
expose("broadcast_to", method="expand", args=_expand_args,
       doc="a repeated along size-1 and new leading axes to sizes; -1 keeps an axis (torch.Tensor.expand)")
defop("tile", np.tile, _tile_grad, "tile {reps}", ("Σ g over the copies",), elementwise=False,
      doc="a repeated reps[i] times along axis i (numpy.tile; Tensor.repeat)",
      method=True, function=True, args=lambda x, *reps: _reps(x, reps, "tile", False))
expose("tile", method="repeat", args=lambda x, *reps: _reps(x, reps, "repeat", True),
       doc="a repeated reps[i] times along axis i, one count per axis at least (torch.Tensor.repeat)")
defop("repeat_interleave", lambda a, repeats, axis: np.repeat(a, repeats, axis), _interleave_grad,
      "repeat_interleave", ("Σ g over each element's copies",), elementwise=False,
      doc="each element of a repeated in place along axis (numpy.repeat)",
      method=True, function=True, args=_interleave_args)
defop("flip", lambda a, axis: np.flip(a, axis).copy(), lambda g, out, a, axis: (call("flip", g, axis=axis),),
      "flip", ("flip(g)",), elementwise=False, doc="a reversed along axes", method=True, function=True,
      args=_flip_args)
defop("roll", lambda a, shift, axis: np.roll(a, shift, axis),
      lambda g, out, a, shift, axis: (call("roll", g, shift=_negate(shift), axis=axis),),
      "roll", ("roll(g) back",), elementwise=False, doc="a shifted cyclically along axes", method=True,
      function=True, args=_roll_args)
defop("pad", lambda a, widths, value: np.pad(a, widths, constant_values=value),
      lambda g, out, a, widths, value: (g[tuple(slice(b, n - e) for (b, e), n in zip(widths, shape(g)))],),
      "pad", ("g without the padding",), elementwise=False,
      doc="a in a constant border: pad=(before, after, ...) from the last axis (PyTorch) or ((before, after), ...) "
          "per axis (numpy)",
      function=True, args=_pad_args)
defop("tril", lambda a, k: np.tril(a, k), lambda g, out, a, k: (call("tril", g, k=k),),
      "tril", ("tril(g)",), elementwise=False, doc="a below diagonal k, zeros above", method=True, function=True,
      args=_triangle_args("tril"))
defop("triu", lambda a, k: np.triu(a, k), lambda g, out, a, k: (call("triu", g, k=k),),
      "triu", ("triu(g)",), elementwise=False, doc="a above diagonal k, zeros below", method=True, function=True,
      args=_triangle_args("triu"))
defop("diagonal", lambda a, offset, axis1, axis2: np.diagonal(a, offset, axis1, axis2).copy(), _diagonal_grad,
      "diagonal", ("g on the diagonal, zeros elsewhere",), elementwise=False,
      doc="the diagonal of a over axis1, axis2 (as the last axis)", method=True, function=True, args=_diagonal_args)
defop("diag", lambda a, k: np.diag(a, k),
      lambda g, out, a, k: (call("diagonal", g, offset=k, axis1=0, axis2=1),),
      "diag", ("diagonal(g)",), elementwise=False, doc="the matrix with vector a on diagonal k")
defmethod("diag", diag)
# fmt: on
