"""Errors of the reductions, shape/indexing ops and losses: the op, the shapes, the fix."""
from __future__ import annotations

import numpy as np
import pytest

import autograd
import nn
from autograd import ShapeError, Value


def ones(*shape):
    return Value(np.ones(shape))


# (id, action, error type, strings the message must contain)
ERRORS = [
    ("min_axis", lambda: ones(2, 3).min(dim=2), ShapeError, ["min", "axis 2", "(2, 3)"]),
    ("prod_axis", lambda: ones(3).prod(axis=-2), ShapeError, ["prod", "axis -2", "(3,)"]),
    ("var_both", lambda: ones(3).var(unbiased=True, correction=0), TypeError, ["var", "unbiased=", "correction="]),
    ("argmax_axis", lambda: ones(2, 3).argmax(dim=3), ShapeError, ["argmax", "axis 3", "(2, 3)"]),
    ("sort_dim", lambda: ones(2, 3).sort(dim=2), ShapeError, ["sort", "axis 2", "(2, 3)"]),
    ("topk_k", lambda: ones(2, 3).topk(4), ValueError, ["topk", "k=4", "(2, 3)"]),
    ("cumsum_dim", lambda: ones(2, 3).cumsum(dim=-3), ShapeError, ["cumsum", "axis -3", "(2, 3)"]),
    ("cummax_needs_dim", lambda: ones(2, 3).cummax(), TypeError, ["cummax", "dim="]),
    ("normalize_vector", lambda: autograd.normalize(ones(3)), ValueError, ["normalize", "(3,)", "dim=0"]),
    ("transpose_perm", lambda: ones(2, 3, 4).transpose((0, 1)), ShapeError, ["transpose", "(0, 1)", "(2, 3, 4)",
                                                                           "x.transpose(0, 1)"]),
    ("swapaxes", lambda: ones(2, 3).swapaxes(0, 2), ShapeError, ["swapaxes", "dim 2", "(2, 3)"]),
    ("unsqueeze", lambda: ones(2, 3).unsqueeze(4), ShapeError, ["unsqueeze", "dim 4", "(2, 3)", "-3 to 2"]),
    ("unsqueeze_missing", lambda: ones(2).unsqueeze(), TypeError, ["unsqueeze", "x.unsqueeze(0)"]),
    ("flatten_order", lambda: ones(2, 3, 4).flatten(2, 1), ShapeError, ["flatten", "start_dim 2", "(2, 3, 4)"]),
    ("expand", lambda: ones(2, 3).expand(2, 4), ShapeError, ["expand", "(2, 3)", "size 3", "use repeat"]),
    ("expand_few", lambda: ones(2, 3).expand(3), ShapeError, ["expand", "(2, 3)", "-1 keeps"]),
    ("repeat_few", lambda: ones(2, 3).repeat(2), ShapeError, ["repeat", "(2, 3)", "x.tile"]),
    ("repeat_interleave", lambda: ones(2, 3).repeat_interleave(np.array([1, 2]), dim=1), ShapeError,
     ["repeat_interleave", "(2, 3)", "one int per element"]),
    ("flip_repeat", lambda: ones(2, 3).flip((0, -2)), ShapeError, ["flip", "(0, -2)", "(2, 3)"]),
    ("roll", lambda: ones(2, 3).roll((1, 2), 0), ShapeError, ["roll", "2 shifts", "one shift per dim"]),
    ("pad_odd", lambda: autograd.pad(ones(2, 3), (1, 2, 3)), ShapeError, ["pad", "(2, 3)", "pairs"]),
    ("pad_mode", lambda: autograd.pad(ones(2, 3), (1, 1), mode="reflect"), ValueError, ["pad", "'reflect'",
                                                                                       "constant"]),
    ("pad_scalar", lambda: autograd.pad(Value(1.0), (1, 1)), ShapeError, ["pad", "scalar", "reshape"]),
    ("tril_vector", lambda: ones(3).tril(), ShapeError, ["tril", "(3,)", "matrix"]),
    ("diagonal_same", lambda: ones(2, 3).diagonal(0, 1, -1), ShapeError, ["diagonal", "(2, 3)", "two different"]),
    ("diag_3d", lambda: autograd.diag(ones(2, 2, 2)), ShapeError, ["diag", "(2, 2, 2)", "diagonal("]),
    ("split_sizes", lambda: ones(5, 2).split([2, 2]), ShapeError, ["split", "[2, 2]", "(5, 2)"]),
    ("gather_bigger", lambda: ones(2, 3).gather(0, np.zeros((2, 4), int)), ShapeError,
     ["gather", "(2, 4)", "(2, 3)", "index.size(d) <= input.size(d)"]),
    ("gather_range", lambda: ones(2, 3).gather(1, np.array([[0, 3]] * 2)), IndexError, ["gather", "(2, 3)", "3"]),
    ("scatter_add", lambda: ones(2, 3).scatter_add(0, np.zeros((2, 3), int), ones(1, 3)), ShapeError,
     ["scatter_add", "(2, 3)", "(1, 3)"]),
    ("masked_fill_dtype", lambda: ones(2, 3).masked_fill(np.ones(3), 0.0), TypeError, ["masked_fill", "boolean"]),
    ("masked_fill_shape", lambda: ones(2, 3).masked_fill(np.ones((4, 3), bool), 0.0), ShapeError,
     ["masked_fill", "(4, 3)", "(2, 3)"]),
    ("einsum_ellipsis", lambda: autograd.einsum("...ij->...ji", ones(2, 3)), ValueError, ["einsum", "ellipsis",
                                                                                       "'ij,jk->ik'"]),
    ("einsum_repeat", lambda: autograd.einsum("iij->j", ones(2, 2, 3)), ValueError, ["einsum", "'ii->'"]),
    ("einsum_axes", lambda: autograd.einsum("ij,jk->ik", ones(2, 3), ones(3)), ShapeError,
     ["einsum", "'jk'", "(3,)"]),
    ("einsum_matmul", lambda: autograd.einsum("ij,jk->ik", ones(2, 3), ones(2, 3)), ShapeError,
     ["einsum", "(2, 3)"]),
    ("one_hot", lambda: autograd.one_hot(np.array([0, 3]), 3), ValueError, ["one_hot", "[0, 3)", "0 to 3"]),
    ("ce_weight", lambda: nn.cross_entropy(ones(2, 3), np.array([0, 1]), weight=np.ones(2)), ShapeError,
     ["cross_entropy", "(2,)", "(3,)"]),
    ("ce_nd_targets", lambda: nn.cross_entropy(ones(2, 3, 4), np.zeros((2, 3), int)), ShapeError,
     ["cross_entropy", "(2, 3, 4)", "(2, 4)", "(2, 3)"]),
    ("nll_float", lambda: nn.nll_loss(ones(2, 3), np.zeros(2)), TypeError, ["nll_loss", "integer", "astype(int)"]),
    ("bce_probabilities", lambda: nn.binary_cross_entropy(ones(2) * 2.0, np.ones(2)), ValueError,
     ["binary_cross_entropy", "[0, 1]", "binary_cross_entropy_with_logits"]),
    ("bce_pos_weight", lambda: nn.binary_cross_entropy_with_logits(ones(2, 3), np.ones((2, 3)), pos_weight=np.ones(2)),
     ShapeError, ["binary_cross_entropy_with_logits", "pos_weight", "(2,)", "(2, 3)"]),
]


@pytest.mark.parametrize("action, kind, needles", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors_name_the_op_the_shapes_and_the_fix(action, kind, needles):
    with pytest.raises(kind) as err:
        action()
    for needle in needles:
        assert needle.replace(" ", "") in str(err.value).replace(" ", ""), f"{needle!r} missing from: {err.value}"
