"""Gathering and scattering: gather/take_along_axis, scatter_add, masked_fill, masked_select,
one_hot, nonzero; einsum; split/chunk (slices along an axis)."""
from __future__ import annotations

import numpy as np

from .. import value as _value
from ..arguments import UNSET, ShapeError, synonym
from . import call, data, defmethod, defop, expose, reshape, shape
from .shaping import _axis


def pick_key(index, axis, ndim, sizes=None):
    """The index arrays that pick x[i, ..., index[i, ...], ...] along `axis`: an open grid of
    aranges for the other axes (their sizes: `sizes`, else the index's own)."""
    key = []
    for d in range(ndim):
        if d == axis:
            key.append(index)
        else:
            n = index.shape[d] if sizes is None else sizes[d]
            key.append(np.arange(n).reshape([-1 if e == d else 1 for e in range(ndim)]))
    return tuple(key)


def pick(a, key):
    """a[key] for arrays and Python floats (a 0-d input: key ())."""
    return np.asarray(a)[key]


def pick_grad(g, out, a, key):
    """The gradient of a[key]: g added into zeros at key (repeats add up)."""
    return (call("scatter", g, key=key, shape=shape(a)),)


def _index_array(op, x, index, axis):
    """`index` as an int64 array with x's number of axes, checked against x along axis."""
    idx = np.asarray(data(index))
    if idx.dtype.kind not in "iu" and not (idx.dtype.kind == "f" and idx.size and np.all(idx == np.round(idx))):
        raise TypeError(f"{op}: index must hold integers, got dtype {idx.dtype}")
    idx = idx.astype(np.int64)
    n = x.shape[axis] if x.ndim else 1
    if idx.ndim != max(x.ndim, 1):
        raise ShapeError(f"{op}: index of shape {idx.shape} needs as many dimensions as the input of shape {x.shape}")
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"{op}: index values from {idx.min()} to {idx.max()} are out of range for axis {axis} of "
                         f"shape {x.shape} (size {n})")
    return idx % max(n, 1)


def _axis_of(op, x, axis):
    nd = max(x.ndim, 1)
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not -nd <= axis < nd:
        raise ShapeError(f"{op}: dim {axis!r} is out of range for shape {x.shape} (valid: {-nd} to {nd - 1})")
    return int(axis) % nd


def _gather_args(x, dim=UNSET, index=None, *, axis=UNSET):
    axis = _axis_of("gather", x, synonym("gather", "dim", None if dim is UNSET else dim, "axis", axis, None))
    idx = _index_array("gather", x, index, axis)
    if any(i > s for d, (i, s) in enumerate(zip(idx.shape, x.shape)) if d != axis):
        raise ShapeError(f"gather: index of shape {idx.shape} is larger than the input of shape {x.shape} outside "
                         f"dim {axis}; PyTorch needs index.size(d) <= input.size(d) for d != dim")
    return (x,), {"key": pick_key(idx, axis, idx.ndim)}


def _take_along_args(x, indices, axis=-1, *, dim=UNSET):
    axis = synonym("take_along_axis", "axis", axis, "dim", dim, -1)
    if axis is None:  # numpy: the flattened input
        x, axis = reshape(x, (-1,)), 0
    axis = _axis_of("take_along_axis", x, axis)
    idx = _index_array("take_along_axis", x, indices, axis)
    try:
        np.broadcast_shapes(idx.shape[:axis] + idx.shape[axis + 1:], x.shape[:axis] + x.shape[axis + 1:])
    except ValueError:
        raise ShapeError(f"take_along_axis: indices of shape {idx.shape} do not broadcast against the input of "
                         f"shape {x.shape} outside axis {axis}") from None
    sizes = [max(i, s) for i, s in zip(idx.shape, x.shape)]
    return (x,), {"key": pick_key(idx, axis, idx.ndim, sizes)}


def _scatter_add(a, src, key, crop):
    out = np.array(a, dtype=np.result_type(a, src), copy=True)
    np.add.at(out, key, np.asarray(src)[crop])
    return out


def _scatter_add_grad(g, out, a, src, key, crop):
    gsrc = g[key]
    if shape(gsrc) != shape(src):  # index smaller than src: the rest of src got no gradient
        gsrc = call("scatter", gsrc, key=crop, shape=shape(src))
    return g, gsrc


def scatter_add(x, dim, index, src):
    """x with src[i][j] added at x[index[i][j]][j] (dim 0), as torch.Tensor.scatter_add."""
    x, src = _value.const(x), _value.const(src)
    axis = _axis_of("scatter_add", x, dim)
    idx = _index_array("scatter_add", x, index, axis)
    if src.ndim != idx.ndim or any(i > s for i, s in zip(idx.shape, src.shape)) or \
            any(i > s for d, (i, s) in enumerate(zip(idx.shape, x.shape)) if d != axis):
        raise ShapeError(f"scatter_add: index of shape {idx.shape} must fit inside src of shape {src.shape} and, "
                         f"outside dim {axis}, inside the input of shape {x.shape}")
    crop = tuple(slice(0, n) for n in idx.shape)
    return _value.apply("scatter_add", (x, src), {"key": pick_key(idx, axis, idx.ndim), "crop": crop})


def _mask(op, x, mask):
    m = np.asarray(data(mask))
    if m.dtype != np.bool_:
        raise TypeError(f"{op}: mask must be boolean (x > 0, a comparison), got dtype {m.dtype}")
    try:
        if np.broadcast_shapes(m.shape, x.shape) != x.shape:
            raise ValueError
    except ValueError:
        raise ShapeError(f"{op}: mask of shape {m.shape} does not broadcast to the input of shape {x.shape}") from None
    return np.broadcast_to(m, x.shape)


def masked_fill(x, mask, value):
    """x with `value` where mask is True (torch.Tensor.masked_fill); no gradient flows there."""
    x = _value.const(x)
    m = _mask("masked_fill", x, mask)
    if isinstance(value, _value.Value) and value.requires_grad:
        from ..functional import where  # a differentiable fill value: the general where
        return where(m, value.broadcast_to(x.shape) if value.shape != x.shape else value, x)
    return _value.apply("masked_fill", (x,), {"mask": m, "value": float(data(value))})


def masked_select(x, mask):
    """The elements of x where mask is True, as a 1-d Value (torch.masked_select); a getitem node."""
    x = _value.const(x)
    m = np.asarray(data(mask))
    if m.dtype != np.bool_:
        raise TypeError(f"masked_select: mask must be boolean, got dtype {m.dtype}")
    try:
        full = np.broadcast_shapes(m.shape, x.shape)
    except ValueError:
        raise ShapeError(f"masked_select: mask of shape {m.shape} and input of shape {x.shape} do not "
                         "broadcast together") from None
    x = x if x.shape == full else x.broadcast_to(full)
    return x[np.broadcast_to(m, full)]


def nonzero(x, *, as_tuple=False):
    """Indices of the non-zero elements: an int64 array (n, ndim) as torch.nonzero, or numpy's
    tuple of arrays with as_tuple=True. Forward only (its size depends on the data)."""
    d = np.atleast_1d(data(x)) if not isinstance(x, np.ndarray) else x
    return np.nonzero(d) if as_tuple else np.argwhere(d).astype(np.int64)


def one_hot(tensor, num_classes=-1):
    """Class indices (...) -> int64 rows (..., num_classes) with a 1 at each index
    (torch.nn.functional.one_hot; -1: max index + 1)."""
    idx = np.asarray(data(tensor))
    if idx.dtype.kind not in "iu" and not (idx.dtype.kind == "f" and np.all(idx == np.round(idx))):
        raise TypeError(f"one_hot: needs integer class indices, got dtype {idx.dtype}; use .astype(int)")
    idx = idx.astype(np.int64)
    n = int(idx.max()) + 1 if num_classes == -1 and idx.size else int(num_classes)
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise ValueError(f"one_hot: class indices must lie in [0, {n}), got values from {idx.min()} to {idx.max()}")
    return (idx[..., None] == np.arange(n)).astype(np.int64)


# ---- einsum: the common subscripts, each gradient another einsum -------------------------

_EINSUM_HELP = ("supported: letters only, explicit or implicit output, e.g. 'ij,jk->ik' (matmul), "
                "'bij,bjk->bik' (batched), 'i,j->ij' (outer), 'ij->ji' (transpose), 'ij->i' (sums), "
                "'ii->' (trace), 'ii->i' (diagonal)")


def _parse(equation, n):
    s = equation.replace(" ", "")
    if "." in s:
        raise ValueError(f"einsum: {equation!r}: ellipsis (...) is not supported; name every axis. {_EINSUM_HELP}")
    if "->" in s:
        ins, out = s.split("->")
    else:  # numpy's implicit output: the letters used once, in alphabetical order
        ins = s
        letters = s.replace(",", "")
        out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    ins = ins.split(",")
    if len(ins) != n:
        raise ValueError(f"einsum: {equation!r} names {len(ins)} operands but got {n}")
    if not all(c.isalpha() for c in "".join(ins) + out) or len(set(out)) != len(out) or \
            not set(out) <= set("".join(ins)):
        raise ValueError(f"einsum: {equation!r} is not a valid equation. {_EINSUM_HELP}")
    for term in ins:
        if len(set(term)) != len(term) and not (n == 1 and len(term) == 2 and out in ("", term[0])):
            raise ValueError(f"einsum: {equation!r}: a letter repeated inside one operand is only supported as "
                             f"'ii->' (trace) or 'ii->i' (diagonal). {_EINSUM_HELP}")
    return ins, out


def _einsum_grad(g, out, *xs, subscripts):
    ins, res = subscripts.split("->")
    ins = ins.split(",")
    grads = []
    for k, term in enumerate(ins):
        if len(set(term)) != len(term):  # trace or diagonal of one matrix: g on the diagonal
            n = shape(xs[0])[0]
            grads.append(reshape(g, (n, 1) if res else ()) * np.eye(n, dtype=data(xs[0]).dtype))
            continue
        others = [x for i, x in enumerate(xs) if i != k]
        kept = set(res).union(*(ins[i] for i in range(len(ins)) if i != k))
        keep = "".join(c for c in term if c in kept)
        eq = ",".join([res] + [t for i, t in enumerate(ins) if i != k]) + "->" + keep
        gk = call("einsum", g, *others, subscripts=eq)
        if keep != term:  # letters summed in this operand alone: the gradient is the same along them
            sizes = dict(zip(term, shape(xs[k])))
            gk = call("broadcast_to", reshape(gk, tuple(sizes[c] if c in keep else 1 for c in term)),
                      shape=shape(xs[k]))
        grads.append(gk)
    return tuple(grads)


def einsum(equation, *operands):
    """Einstein summation over Values (torch.einsum / numpy.einsum) for the common subscripts:
    matmul, batched matmul, outer, transpose, sums, trace, diagonal. One node."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    xs = [_value.const(x) for x in operands]
    ins, out = _parse(equation, len(xs))
    for term, x in zip(ins, xs):
        if len(term) != x.ndim:
            raise ShapeError(f"einsum: {equation!r}: operand {term!r} names {len(term)} axes but has shape {x.shape}")
    return _value.apply("einsum", xs, {"subscripts": ",".join(ins) + "->" + out})


def split(x, split_size_or_sections, dim=0):
    """Pieces of x along dim (torch.split): an int = pieces of that size (the last may be
    smaller), a list = the sizes of the pieces. A tuple of Values (each a slice node)."""
    x = _value.const(x)
    a = _axis(x, dim, "split")
    n = x.shape[a]
    if isinstance(split_size_or_sections, (int, np.integer)):
        step = int(split_size_or_sections)
        if step <= 0:
            raise ShapeError(f"split: piece size {step} must be positive")
        sizes = [min(step, n - i) for i in range(0, n, step)] or [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n or min(sizes, default=0) < 0:
            raise ShapeError(f"split: sizes {sizes} add up to {sum(sizes)}, but axis {a} of shape {x.shape} has {n}")
    pieces, start = [], 0
    for size in sizes:
        pieces.append(x[(slice(None),) * a + (slice(start, start + size),)])
        start += size
    return tuple(pieces)


def chunk(x, chunks, dim=0):
    """x cut into `chunks` pieces along dim of size ceil(n / chunks) (torch.chunk: maybe fewer)."""
    x = _value.const(x)
    if int(chunks) <= 0:
        raise ShapeError(f"chunk: chunks must be positive, got {chunks}")
    n = x.shape[_axis(x, dim, "chunk")]
    return split(x, max(-(-n // int(chunks)), 1), dim)


# fmt: off
defop("gather", pick, pick_grad, "gather", ("g scattered back to the picked places",), elementwise=False,
      doc="a's elements picked along dim by an index (torch.gather)", method=True, function=True, args=_gather_args)
defop("take_along_axis", pick, pick_grad, "take_along_axis", ("g scattered back to the picked places",),
      elementwise=False, doc="a's elements picked along axis by indices (numpy.take_along_axis)",
      method=True, function=True, args=_take_along_args)
expose("take_along_axis", method="take_along_dim", function="take_along_dim",
       args=lambda x, indices, dim=None: _take_along_args(x, indices, dim),
       doc="a's elements picked along dim by indices (torch.take_along_dim; dim=None: the flattened input)")
defop("scatter_add", _scatter_add, _scatter_add_grad, "scatter_add", ("g", "g[index]"), elementwise=False,
      doc="a with b's elements added at an index along dim (torch.scatter_add)")
defop("masked_fill", lambda a, mask, value: np.where(mask, np.asarray(value, np.asarray(a).dtype), a),
      lambda g, out, a, mask, value: (g * ~mask,),
      "masked_fill", ("1 where not mask",), elementwise=False, doc="a with a constant where mask is True")
defop("einsum", lambda *xs, subscripts: np.einsum(subscripts, *xs), _einsum_grad,
      "einsum {subscripts}", ("einsum(g, b) onto a's letters", "einsum(g, a, ...) onto this operand's letters"),
      elementwise=False,
      doc="Einstein summation of the operands over the subscripts")
defmethod("scatter_add", scatter_add)
defmethod("masked_fill", masked_fill)
defmethod("masked_select", masked_select)
defmethod("nonzero", nonzero)
defmethod("einsum", einsum, method=False)
defmethod("one_hot", one_hot, method=False)
defmethod("split", split)
defmethod("chunk", chunk)
# fmt: on
