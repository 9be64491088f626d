"""Gradcheck cases for the shape and indexing ops (autograd/ops/shaping.py, indexing.py):
collected by tests/test_ops_gradcheck.py."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from test_ops_gradcheck import SHAPES, TENSOR_SHAPES, Case, arr

import autograd
import nn

MATRICES = hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=3)


def tensor_case(op, fn, shapes=TENSOR_SHAPES, name=None):
    """fn(draw, x) -> the function of one Value to check."""
    def build(draw):
        x = arr(draw, draw(shapes))
        return fn(draw, x), [x]
    return Case(op, name or op, build)


def _with(arg, fn):
    """fn(a, arg) as a function of a alone (arg drawn once, when the case is built)."""
    return lambda a: fn(a, arg)


def _axis(draw, x):
    return draw(st.integers(-x.ndim, x.ndim - 1))


def _permute(draw, x):
    perm = tuple(draw(st.permutations(range(x.ndim))))
    return draw(st.sampled_from([lambda a: a.permute(*perm), lambda a: autograd.permute(a, perm)]))


def _swap(draw, x):
    i, j = _axis(draw, x), _axis(draw, x)
    return draw(st.sampled_from([lambda a: a.transpose(i, j), lambda a: a.swapaxes(i, j),
                                 lambda a: autograd.swapaxes(a, i, j)]))


def _squeeze(draw, x):
    ones = [i for i, n in enumerate(x.shape) if n == 1]
    dim = draw(st.sampled_from([None] + ones + list(range(x.ndim))))  # a size > 1 axis: left alone
    return lambda a: a.squeeze(dim)


def _flatten(draw, x):
    s = draw(st.integers(0, x.ndim - 1))
    e = draw(st.integers(s, x.ndim - 1)) - x.ndim * draw(st.booleans())
    return lambda a: a.flatten(s, e)


def _expand(draw, x):
    lead = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    sizes = lead + tuple(draw(st.integers(1, 3)) if n == 1 else draw(st.sampled_from([n, -1])) for n in x.shape)
    return lambda a: a.expand(*sizes)


def _tile(draw, x):
    reps = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=4)))
    if len(reps) >= x.ndim and draw(st.booleans()):
        return lambda a: a.repeat(*reps)
    return lambda a: a.tile(reps)


def _interleave(draw, x):
    axis = draw(st.sampled_from([None] + list(range(-x.ndim, x.ndim))))
    n = x.size if axis is None else x.shape[axis]
    repeats = draw(st.one_of(st.integers(0, 3), hnp.arrays(np.int64, (n,), elements=st.integers(0, 3))))
    return lambda a: a.repeat_interleave(repeats, dim=axis)


def _roll(draw, x):
    if draw(st.booleans()):
        shift = draw(st.integers(-4, 4))
        return lambda a: a.roll(shift)
    dims = tuple(draw(st.lists(st.integers(0, x.ndim - 1), min_size=1, max_size=x.ndim, unique=True)))
    shifts = tuple(draw(st.integers(-4, 4)) for _ in dims)
    return lambda a: a.roll(shifts, dims)


def _pad(draw, x):
    if draw(st.booleans()):  # PyTorch: flat pairs from the last axis
        flat = tuple(draw(st.lists(st.integers(0, 2), min_size=2, max_size=2 * x.ndim).filter(lambda p: len(p) % 2 == 0)))
        value = draw(st.sampled_from([0.0, 1.5]))
        return lambda a: nn.functional.pad(a, flat, value=value)
    pairs = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(x.ndim))
    return lambda a: autograd.pad(a, pairs)


def _diagonal(draw, x):
    i, j = draw(st.lists(st.integers(-x.ndim, x.ndim - 1), min_size=2, max_size=2,
                         unique_by=lambda a: a % x.ndim))
    offset = draw(st.integers(-2, 2))
    return lambda a: a.diagonal(offset, i, j)


def diag_case(draw):
    """A vector -> a matrix (op diag); a matrix -> its diagonal is the diagonal case."""
    x = arr(draw, (draw(st.integers(1, 4)),))
    k = draw(st.integers(-2, 2))
    return draw(st.sampled_from([lambda a: autograd.diag(a, k), lambda a: a.diag(k)])), [x]


def _split(draw, x):
    axis = _axis(draw, x)
    n = x.shape[axis]
    if draw(st.booleans()):
        chunks = draw(st.integers(1, 3))
        return lambda a: autograd.stack([p.sum() * (i + 1.0) for i, p in enumerate(a.chunk(chunks, axis))])
    size = draw(st.integers(1, n))
    return lambda a: autograd.concat([p * (i + 1.0) for i, p in enumerate(a.split(size, dim=axis))], axis=axis)


def _index(draw, x, axis, same=False):
    shape = tuple(n if same or d == axis else draw(st.integers(1, n)) for d, n in enumerate(x.shape))
    shape = shape[:axis] + (draw(st.integers(1, 4)),) + shape[axis + 1:]
    return draw(hnp.arrays(np.int64, shape, elements=st.integers(-x.shape[axis] * same, x.shape[axis] - 1)))


def _gather(draw, x):
    axis = _axis(draw, x)
    idx = _index(draw, x, axis % x.ndim)
    return lambda a: a.gather(axis, idx)


def _take_along(draw, x):
    axis = _axis(draw, x)
    idx = _index(draw, x, axis % x.ndim, same=True)
    return lambda a: autograd.take_along_axis(a, idx, axis=axis)


def scatter_add_case(draw):
    x = arr(draw, draw(TENSOR_SHAPES))
    axis = draw(st.integers(0, x.ndim - 1))
    idx_shape = tuple(draw(st.integers(1, n)) if d != axis else draw(st.integers(1, 4)) for d, n in enumerate(x.shape))
    idx = draw(hnp.arrays(np.int64, idx_shape, elements=st.integers(0, x.shape[axis] - 1)))
    src = arr(draw, tuple(n + draw(st.integers(0, 1)) for n in idx_shape))  # src may be larger than index
    return (lambda a, b: a.scatter_add(axis, idx, b)), [x, src]


def _masked_fill(draw, x):
    mask = draw(hnp.arrays(np.bool_, x.shape[draw(st.integers(0, x.ndim)):]))
    return lambda a: a.masked_fill(mask, -1.25)


def _masked_select(draw, x):
    mask = draw(hnp.arrays(np.bool_, x.shape))
    return lambda a: autograd.concat([a.masked_select(mask), a.sum().reshape(1)])


EINSUMS = [  # (subscripts, shapes)
    ("ij,jk->ik", [(2, 3), (3, 2)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 1)]), ("i,j->ij", [(3,), (2,)]),
    ("ij->ji", [(2, 3)]), ("ij->i", [(2, 3)]), ("ii->", [(3, 3)]), ("ii->i", [(3, 3)]), ("ij,ij->", [(2, 3), (2, 3)]),
    ("ij,j", [(2, 3), (3,)]), ("ijk->", [(2, 1, 3)]), ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]),
]


def einsum_case(draw):
    subscripts, shapes = draw(st.sampled_from(EINSUMS))
    return (lambda *xs: autograd.einsum(subscripts, *xs)), [arr(draw, s) for s in shapes]


CASES = [
    tensor_case("transpose", _permute, SHAPES, name="permute"),
    tensor_case("transpose", _swap, name="swapaxes"),
    tensor_case("reshape", _squeeze, name="squeeze"),
    tensor_case("reshape", lambda draw, x: _with(draw(st.integers(-x.ndim - 1, x.ndim)), lambda a, d: a.unsqueeze(d)),
                SHAPES, name="unsqueeze"),
    tensor_case("reshape", _flatten, name="flatten"),
    tensor_case("broadcast_to", _expand, SHAPES, name="expand"),
    tensor_case("tile", _tile, SHAPES),
    tensor_case("repeat_interleave", _interleave),
    tensor_case("flip", lambda draw, x: _with(draw(st.sampled_from([None, 0, -1] + [(0, -1)] * (x.ndim > 1))),
                                              lambda a, d: a.flip(d))),
    tensor_case("roll", _roll),
    tensor_case("pad", _pad),
    tensor_case("tril", lambda draw, x: _with(draw(st.integers(-2, 2)), lambda a, k: a.tril(k)), MATRICES),
    tensor_case("triu", lambda draw, x: _with(draw(st.integers(-2, 2)), lambda a, k: autograd.triu(a, diagonal=k)),
                MATRICES),
    tensor_case("diagonal", _diagonal, MATRICES),
    tensor_case("diagonal", lambda draw, x: _with(draw(st.integers(-2, 2)), lambda a, k: a.diag(k)),
                st.tuples(st.integers(1, 3), st.integers(1, 3)), name="diag_of_a_matrix"),
    Case("diag", "diag", diag_case),
    tensor_case("getitem", _split, name="split_chunk"),
    tensor_case("gather", _gather),
    tensor_case("take_along_axis", _take_along),
    Case("scatter_add", "scatter_add", scatter_add_case),
    tensor_case("masked_fill", _masked_fill),
    tensor_case("getitem", _masked_select, name="masked_select"),
    Case("einsum", "einsum", einsum_case),
]
