"""nn.cross_entropy's first branch (logits (N, C), integer targets, no options) keeps the checks
and the node of the general code below it: a bad target still gets the same error, in any order of
calls (the branch only knows target dtypes the general code has seen), and everything else still
goes the general way."""
import numpy as np
import pytest

import nn
from autograd import Value

rng = np.random.default_rng(3)


def _logits(n=5, c=4):
    return Value(rng.normal(size=(n, c)), requires_grad=True)


def _error(z, y, **kw):
    with pytest.raises(Exception) as info:
        nn.cross_entropy(z, y, **kw)
    return type(info.value), str(info.value)


@pytest.mark.parametrize("bad", [4, 9, -1, -2])  # (-100 is ignore_index: ignored)
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.int16])
def test_a_bad_target_gets_the_general_error_before_and_after_a_good_call(bad, dtype):
    if bad < 0 and np.dtype(dtype).kind == "u":
        pytest.skip("no negative unsigned target")
    z = _logits()
    y = np.array([0, 1, 2, 3, bad]).astype(dtype)
    first = _error(z, y)  # the dtype not seen yet: the general code
    nn.cross_entropy(z, np.array([0, 1, 2, 3, 0], dtype))  # now seen: the first branch
    assert _error(z, y) == first
    assert "4" in first[1] or "class" in first[1]


def test_the_node_is_the_same_either_way():
    z = _logits(6, 3)
    y = np.array([0, 2, 1, 1, 0, 2])
    nn.cross_entropy(z, y)  # makes the dtype known
    fast = nn.cross_entropy(z, y)
    general = nn.cross_entropy(z, list(y))  # a list target: the general code
    assert fast.op == general.op == "cross_entropy"
    assert fast.data == general.data
    assert np.array_equal(fast.attrs["key"][0], general.attrs["key"][0])
    assert np.array_equal(fast.attrs["key"][1], general.attrs["key"][1])
    fast.backward()
    g = z.grad.copy()
    z.grad = None
    general.backward()
    assert np.array_equal(g, z.grad)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_reductions_match_torch(reduction):
    torch = pytest.importorskip("torch")
    z, y = _logits(7, 5), rng.integers(0, 5, 7)
    nn.cross_entropy(z, y)
    out = nn.cross_entropy(z, y, reduction=reduction)
    up = rng.normal(size=np.shape(out.data))
    out.backward(up if np.ndim(out.data) else float(up))
    tz = torch.tensor(z.data, requires_grad=True)
    t = torch.nn.functional.cross_entropy(tz, torch.tensor(y), reduction=reduction)
    t.backward(torch.tensor(up))
    np.testing.assert_allclose(out.data, t.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(z.grad, tz.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_options_and_other_shapes_still_take_the_general_code():
    z, y = _logits(4, 3), np.array([0, 1, 2, 1])
    assert nn.cross_entropy(z, y, ignore_index=1).op != "cross_entropy"  # rows with 1 count for nothing
    assert nn.cross_entropy(z, y, label_smoothing=0.1).op != "cross_entropy"
    assert nn.cross_entropy(z, y, weight=np.ones(3)).op != "cross_entropy"
    with pytest.raises(ValueError, match="reduction"):
        nn.cross_entropy(z, y, reduction="avg")
    empty = nn.cross_entropy(Value(np.zeros((0, 3))), np.zeros(0, int))
    assert np.isnan(empty.data)
    with pytest.raises(TypeError, match="integer class indices"):
        nn.cross_entropy(z, y.astype(bool))


def test_the_default_ignore_index_in_a_target_is_ignored_as_before():
    z = _logits(3, 4)
    y = np.array([1, -100, 2])
    nn.cross_entropy(z, np.array([1, 0, 2]))  # the dtype known: -100 must still reach the general code
    out = nn.cross_entropy(z, y)
    expected = nn.cross_entropy(Value(z.data[[0, 2]]), np.array([1, 2]))
    assert out.data == pytest.approx(expected.data)
