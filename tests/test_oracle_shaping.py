"""Shape and indexing ops against PyTorch (float64, 1e-6): forward and backward with a random
upstream gradient (tests/test_oracle_torch.compare), negative axes, several shapes."""
from __future__ import annotations

import numpy as np
import pytest

import autograd
import nn
from autograd import Value

torch = pytest.importorskip("torch", exc_type=ImportError)
pytestmark = pytest.mark.oracle
F = torch.nn.functional

from test_oracle_torch import compare  # noqa: E402

X3 = (2, 3, 4)
CASES = [  # (id, shape, ours, theirs)
    ("transpose_matrix", (2, 3), lambda a: a.transpose(0, 1), lambda t: t.transpose(0, 1)),
    ("transpose_swap_3d", X3, lambda a: a.transpose(-1, 0), lambda t: t.transpose(-1, 0)),
    ("transpose_dim_keywords", X3, lambda a: a.transpose(dim0=1, dim1=2), lambda t: t.transpose(dim0=1, dim1=2)),
    ("transpose_numpy_perm", X3, lambda a: a.transpose((2, 0, 1)), lambda t: t.permute(2, 0, 1)),
    ("transpose_numpy_ints", X3, lambda a: a.transpose(1, 2, 0), lambda t: t.permute(1, 2, 0)),
    ("permute", X3, lambda a: a.permute(2, 0, 1), lambda t: t.permute(2, 0, 1)),
    ("permute_negative", X3, lambda a: autograd.permute(a, (-1, 0, 1)), lambda t: t.permute(-1, 0, 1)),
    ("swapaxes", X3, lambda a: a.swapaxes(0, 2), lambda t: t.swapaxes(0, 2)),
    ("squeeze_all", (2, 1, 3, 1), lambda a: a.squeeze(), lambda t: t.squeeze()),
    ("squeeze_dim", (2, 1, 3, 1), lambda a: a.squeeze(-1), lambda t: t.squeeze(-1)),
    ("squeeze_not_one", (2, 1, 3), lambda a: a.squeeze(0), lambda t: t.squeeze(0)),
    ("squeeze_dims", (2, 1, 3, 1), lambda a: a.squeeze((1, 3)), lambda t: t.squeeze((1, 3))),
    ("unsqueeze", X3, lambda a: a.unsqueeze(1), lambda t: t.unsqueeze(1)),
    ("unsqueeze_end", X3, lambda a: a.unsqueeze(-1), lambda t: t.unsqueeze(-1)),
    ("flatten", X3, lambda a: a.flatten(), lambda t: t.flatten()),
    ("flatten_range", (2, 3, 4, 2), lambda a: a.flatten(1, -2), lambda t: t.flatten(1, -2)),
    ("expand", (3, 1), lambda a: a.expand(2, 3, 4), lambda t: t.expand(2, 3, 4)),
    ("expand_keep", (3, 1), lambda a: a.expand(-1, 5), lambda t: t.expand(-1, 5)),
    ("repeat", (2, 3), lambda a: a.repeat(2, 1, 3), lambda t: t.repeat(2, 1, 3)),
    ("tile", (2, 3), lambda a: a.tile((2,)), lambda t: t.tile((2,))),
    ("tile_more", (2, 3), lambda a: autograd.tile(a, (2, 2, 1)), lambda t: t.tile((2, 2, 1))),
    ("repeat_interleave", X3, lambda a: a.repeat_interleave(2, dim=1), lambda t: t.repeat_interleave(2, dim=1)),
    ("repeat_interleave_flat", (2, 3), lambda a: a.repeat_interleave(3), lambda t: t.repeat_interleave(3)),
    ("repeat_interleave_counts", (3, 2), lambda a: a.repeat_interleave(np.array([1, 0, 3]), dim=0),
     lambda t: t.repeat_interleave(torch.tensor([1, 0, 3]), dim=0)),
    ("flip", X3, lambda a: a.flip((0, -1)), lambda t: t.flip((0, -1))),
    ("flip_varargs", X3, lambda a: a.flip(0, 2), lambda t: t.flip(0, 2)),
    ("take_along_dim_flat", (3, 4), lambda a: autograd.take_along_dim(a, np.array([5, 0, 11, 5])),
     lambda t: torch.take_along_dim(t, torch.tensor([5, 0, 11, 5]))),
    ("take_along_dim", (3, 4), lambda a: a.take_along_dim(np.array([[1], [0], [3]]), 1),
     lambda t: t.take_along_dim(torch.tensor([[1], [0], [3]]), 1)),
    ("pad_value_none", (2, 3), lambda a: nn.functional.pad(a, (1, 1), value=None), lambda t: F.pad(t, (1, 1), value=None)),
    ("roll", X3, lambda a: a.roll(2, 1), lambda t: t.roll(2, 1)),
    ("roll_flat", X3, lambda a: a.roll(-5), lambda t: t.roll(-5)),
    ("roll_several", X3, lambda a: a.roll((1, -2), (0, 2)), lambda t: t.roll((1, -2), (0, 2))),
    ("pad_torch", X3, lambda a: nn.functional.pad(a, (1, 2, 0, 1), value=0.5), lambda t: F.pad(t, (1, 2, 0, 1), value=0.5)),
    ("pad_numpy_pairs", (2, 3), lambda a: autograd.pad(a, ((1, 0), (2, 1))), lambda t: F.pad(t, (2, 1, 1, 0))),
    ("tril", (3, 4), lambda a: a.tril(), lambda t: t.tril()),
    ("tril_batch", (2, 4, 3), lambda a: a.tril(-1), lambda t: t.tril(-1)),
    ("triu", (3, 4), lambda a: autograd.triu(a, 1), lambda t: t.triu(1)),
    ("diag_vector", (3,), lambda a: autograd.diag(a, 1), lambda t: torch.diag(t, 1)),
    ("diag_matrix", (3, 4), lambda a: a.diag(-1), lambda t: t.diag(-1)),
    ("diagonal", X3, lambda a: a.diagonal(1, 0, 2), lambda t: t.diagonal(1, 0, 2)),
    ("diagonal_negative_dims", X3, lambda a: a.diagonal(0, -1, -2), lambda t: t.diagonal(0, -1, -2)),
    ("split", (5, 3), lambda a: autograd.concat([p * (i + 1.0) for i, p in enumerate(a.split(2))]),
     lambda t: torch.cat([p * (i + 1.0) for i, p in enumerate(t.split(2))])),
    ("split_sizes", (2, 6), lambda a: autograd.concat([p * (i + 1.0) for i, p in enumerate(a.split([1, 3, 2], dim=1))], 1),
     lambda t: torch.cat([p * (i + 1.0) for i, p in enumerate(t.split([1, 3, 2], dim=1))], 1)),
    ("chunk", (7, 2), lambda a: autograd.concat([p * (i + 1.0) for i, p in enumerate(a.chunk(3))]),
     lambda t: torch.cat([p * (i + 1.0) for i, p in enumerate(t.chunk(3))])),
    ("gather", (3, 4), lambda a: a.gather(1, np.array([[0, 0], [3, 1], [2, 2]])),
     lambda t: t.gather(1, torch.tensor([[0, 0], [3, 1], [2, 2]]))),
    ("gather_smaller_index", X3, lambda a: autograd.gather(a, 0, np.array([[[1, 0, 1]], [[0, 0, 0]], [[1, 1, 1]]])),
     lambda t: t.gather(0, torch.tensor([[[1, 0, 1]], [[0, 0, 0]], [[1, 1, 1]]]))),
    ("take_along_axis", (3, 4), lambda a: a.take_along_axis(np.array([[0], [3], [2]]), axis=-1),
     lambda t: torch.take_along_dim(t, torch.tensor([[0], [3], [2]]), dim=-1)),
    ("masked_fill", (3, 4), lambda a: a.masked_fill(np.arange(4) % 2 == 0, -2.0),
     lambda t: t.masked_fill(torch.tensor(np.arange(4) % 2 == 0), -2.0)),
    ("masked_select", (3, 4), lambda a: a.masked_select(np.array([True, False, True, True])),
     lambda t: t.masked_select(torch.tensor([True, False, True, True]))),
]


@pytest.mark.parametrize("shape, ours, theirs", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_shape_op(shape, ours, theirs, rng):
    compare(ours, theirs, [rng.normal(size=shape)])


def test_scatter_add_to_both_inputs(rng):
    index = np.array([[0, 1, 2, 0], [2, 2, 1, 0]])
    compare(lambda a, s: a.scatter_add(0, index, s), lambda a, s: a.scatter_add(0, torch.tensor(index), s),
            [rng.normal(size=(3, 5)), rng.normal(size=(2, 4))])
    compare(lambda a, s: autograd.scatter_add(a, -1, index[:, :2], s),
            lambda a, s: a.scatter_add(-1, torch.tensor(index[:, :2]), s), [rng.normal(size=(2, 3)), rng.normal(size=(2, 2))])


EINSUMS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("bij,bjk->bik", [(2, 3, 4), (2, 4, 2)]), ("i,j->ij", [(3,), (4,)]),
    ("ij->ji", [(2, 3)]), ("ii->", [(3, 3)]), ("ii->i", [(3, 3)]), ("ij->j", [(2, 3)]), ("ij,ij->i", [(2, 3), (2, 3)]),
    ("ij,jk", [(2, 3), (3, 4)]), ("i,i", [(3,), (3,)]), ("bi,bj->bij", [(2, 3), (2, 4)]),
]


@pytest.mark.parametrize("equation, shapes", EINSUMS, ids=[e for e, _ in EINSUMS])
def test_einsum(equation, shapes, rng):
    compare(lambda *xs: autograd.einsum(equation, *xs), lambda *ts: torch.einsum(equation, *ts),
            [rng.normal(size=s) for s in shapes])


def test_forward_only_ops_match_torch(rng):
    x = rng.normal(size=(3, 4)) * (rng.random((3, 4)) > 0.5)
    np.testing.assert_array_equal(Value(x).nonzero(), torch.tensor(x).nonzero().numpy())
    for ours, theirs in zip(Value(x).nonzero(as_tuple=True), torch.tensor(x).nonzero(as_tuple=True)):
        np.testing.assert_array_equal(ours, theirs.numpy())
    labels = np.array([[0, 3], [2, 1]])
    for n in (-1, 6):
        ours = nn.functional.one_hot(labels, n)
        assert ours.dtype == np.int64
        np.testing.assert_array_equal(ours, F.one_hot(torch.tensor(labels), n).numpy())


def test_transpose_is_documented_both_ways():
    doc = Value.transpose.__doc__
    assert "transpose(0, 1)" in doc and "permute" in doc
