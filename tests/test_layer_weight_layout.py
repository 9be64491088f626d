"""nn.Layer (and nn.Linear, nn.MLP) keep their weight column-major: PyTorch's shape (out, in) over the
memory of an (in, out) kernel, so x @ Wᵀ is BLAS's untransposed product (see nn/layers.py and
benchmarks/layout.py). What a user must not notice: the values, shapes, gradients, saved files and
PyTorch interchange are those of a row-major weight; the weight's gradient shares its layout (an
update across layouts is ~10x slower), and every path keeps it."""
from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import nn
from autograd import Value, recycle
from autograd.ops.network import NARROW, SMALL_PRODUCT, _input_grad, _weight_grad, input_grad_copy


# (the layout nn.Layer picks on an Intel AVX-512 OpenBLAS; elsewhere it picks row-major, see autograd.blas)
pytestmark = pytest.mark.usefixtures("column_major_layers")


def column_major(a) -> bool:
    return a.flags.f_contiguous and not a.flags.c_contiguous


def row_major_twin(layer):
    twin = copy.deepcopy(layer)
    twin.weight.data = np.ascontiguousarray(twin.weight.data)
    return twin


def test_layers_linear_and_mlp_keep_pytorch_shapes_over_column_major_memory():
    layer, linear, mlp = nn.Layer(3, 5, seed=0), nn.Linear(3, 5, seed=0), nn.MLP(4, [6, 2], seed=0)
    for w in [layer.weight, linear.weight] + [lay.weight for lay in mlp.layers]:
        assert w.ndim == 2 and column_major(w.data)
    assert layer.weight.shape == (5, 3) and layer.bias.shape == (5,)
    np.testing.assert_array_equal(layer.weight.data, linear.weight.data)  # the same numbers as before: a layout only


@pytest.mark.parametrize("batch", [1, 4, 32])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gradients_equal_those_of_a_row_major_weight_and_share_its_layout(batch, dtype):
    rng = np.random.default_rng(batch)
    layer = nn.MLP(7, [9, 4], seed=1).to(dtype)
    twin = copy.deepcopy(layer)
    for lay in twin.layers:
        lay.weight.data = np.ascontiguousarray(lay.weight.data)
    x = Value(rng.standard_normal((batch, 7)).astype(dtype))  # an input that needs its gradient too
    x2 = Value(x.data.copy())
    upstream = rng.standard_normal((batch, 4)).astype(dtype)
    (layer(x) * upstream).sum().backward()
    (twin(x2) * upstream).sum().backward()
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(x.grad, x2.grad, rtol=tol, atol=tol)
    for a, b in zip(layer.layers, twin.layers):
        assert column_major(a.weight.grad) and a.weight.grad.dtype == dtype
        assert not column_major(b.weight.grad)
        np.testing.assert_allclose(a.weight.grad, b.weight.grad, rtol=tol, atol=tol)
        np.testing.assert_allclose(a.bias.grad, b.bias.grad, rtol=tol, atol=tol)


def test_large_and_batched_inputs_take_the_general_path_with_the_same_results():
    """A weight gradient of 128 KiB and more comes from autograd.recycle's pool (column-major there
    too); an input (..., in) with batch axes sums its weight gradient over all of them."""
    rng = np.random.default_rng(3)
    for shape, nin, nout in [((300, 256), 256, 128), ((5, 6, 16), 16, 8)]:
        layer = nn.Linear(nin, nout, seed=2)
        twin = row_major_twin(layer)
        x = rng.standard_normal(shape)
        upstream = rng.standard_normal(shape[:-1] + (nout,))
        for _ in range(2):  # twice: the second time a recycled array may be handed out
            for lay in (layer, twin):
                lay.zero_grad()
                (lay(x) * upstream).sum().backward()
        assert column_major(layer.weight.grad)
        np.testing.assert_allclose(layer.weight.grad, twin.weight.grad, rtol=1e-12, atol=1e-12)
        expected = upstream.reshape(-1, nout).T @ x.reshape(-1, nin)
        np.testing.assert_allclose(layer.weight.grad, expected, rtol=1e-12, atol=1e-12)


def test_a_float64_batch_into_a_float32_layer_gives_float32_column_major_gradients():
    layer = nn.Linear(6, 3, seed=0).to(np.float32)
    x = Value(np.random.default_rng(0).standard_normal((4, 6)))  # float64
    layer(x).sum().backward()
    assert layer.weight.grad.dtype == np.float32 and column_major(layer.weight.grad)
    assert x.grad.dtype == np.float64


@pytest.mark.parametrize("make", [lambda ps: nn.SGD(ps, lr=0.1), lambda ps: nn.SGD(ps, lr=0.1, momentum=0.9),
                                  lambda ps: nn.Adam(ps, lr=0.01)])
def test_optimizer_steps_update_in_place_and_keep_the_layout(make):
    rng = np.random.default_rng(5)
    model = nn.MLP(5, [8, 3], seed=0)
    opt = make(model.parameters())
    arrays = [lay.weight.data for lay in model.layers]
    for _ in range(3):
        loss = nn.cross_entropy(model(rng.standard_normal((6, 5))), rng.integers(0, 3, 6))
        opt.zero_grad()
        loss.backward()
        opt.step()
    for lay, a in zip(model.layers, arrays):
        assert lay.weight.data is a and column_major(a)


def test_to_deepcopy_pickle_and_load_state_dict_keep_the_layout_and_the_numbers():
    model = nn.MLP(4, [6, 2], seed=0)
    for other in (copy.deepcopy(model), pickle.loads(pickle.dumps(model)), nn.MLP(4, [6, 2], seed=9),
                  copy.deepcopy(model).to(np.float32)):
        other.load_state_dict(model.state_dict())
        for a, b in zip(other.layers, model.layers):
            assert column_major(a.weight.data)
            np.testing.assert_allclose(a.weight.data, b.weight.data, rtol=1e-7)


def test_state_dicts_and_saved_files_are_row_major(tmp_path):
    model = nn.MLP(4, [6, 2], seed=0)
    state = model.state_dict()
    assert all(a.flags.c_contiguous for a in state.values())
    np.testing.assert_array_equal(state["layers.0.weight"], model.layers[0].weight.data)
    path = nn.save(model, tmp_path / "m.npz")
    with np.load(path) as saved:
        assert all(saved[k].flags.c_contiguous for k in saved.files)
        np.testing.assert_array_equal(saved["layers.1.weight"], model.layers[1].weight.data)
    back = nn.load(nn.MLP(4, [6, 2], seed=3), path)
    for a, b in zip(back.layers, model.layers):
        assert column_major(a.weight.data)
        np.testing.assert_array_equal(a.weight.data, b.weight.data)


def test_a_row_major_weight_set_by_hand_still_trains():
    layer = nn.Linear(3, 2, seed=0)
    layer.weight.data = np.ascontiguousarray(layer.weight.data)
    layer(np.ones((4, 3))).sum().backward()
    assert layer.weight.grad.flags.c_contiguous
    np.testing.assert_allclose(layer.weight.grad, np.full((2, 3), 4.0))


@pytest.mark.parametrize("rows", [1, 8, 32, 33, 256])
def test_the_helpers_agree_with_the_plain_products_on_either_side_of_the_threshold(rows):
    rng = np.random.default_rng(rows)
    w = np.asfortranarray(rng.standard_normal((128, 128)))
    g, x = rng.standard_normal((rows, 128)), rng.standard_normal((rows, 128))
    assert (rows * w.size <= SMALL_PRODUCT) == (rows <= 32)
    np.testing.assert_allclose(_input_grad(g, w), g @ w, rtol=1e-12, atol=1e-12)
    gw = _weight_grad(g, x, w)
    own = gw.base is None or recycle.is_pooled(gw)  # (outside the assert: its rewriting would hold gw.base)
    assert column_major(gw) and own  # its own array: .grad keeps it without a copy
    np.testing.assert_allclose(gw, g.T @ x, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("out", [1, 10, NARROW - 1, NARROW])
@pytest.mark.parametrize("rows", [1, 32, 128, 256])
def test_g_at_a_narrow_column_major_weight_is_the_plain_product_in_either_dtype(out, rows):
    """g @ W on a narrow column-major weight equals the plain product, on whichever copy input_grad_copy
    names (on W's, its very bits); the rule's small path takes the very same product."""
    rng = np.random.default_rng(out * rows)
    for dtype in (np.float64, np.float32):
        w = np.asfortranarray(rng.standard_normal((out, 128)).astype(dtype))
        g = rng.standard_normal((rows, out)).astype(dtype)
        gx = _input_grad(g, w)
        assert gx.dtype == dtype and gx.shape == (rows, 128) and gx.flags.c_contiguous
        if input_grad_copy(rows, w) == "W":  # the very product the rule runs: its bits
            np.testing.assert_array_equal(gx, g @ np.ascontiguousarray(w))
        np.testing.assert_allclose(gx, g.astype(np.float64) @ w.astype(np.float64), rtol=1e-5,
                                   atol=1e-4 if dtype == np.float32 else 1e-12)  # (float32: sums of 1-16 terms)
        rule_gx, _, _ = nn_rule(g, w)
        np.testing.assert_array_equal(rule_gx, gx)  # the rule's small path takes the same product


@pytest.mark.parametrize("rows", [2, 15, 16, 64, 127, 128, 256, 4096])
def test_input_grad_copies_the_operand_input_grad_copy_names(rows):
    """_input_grad copies the operand input_grad_copy names (the jit's kernel asks it too).
    Told by identity: the operand copied is not the one given (shapes with a row or a column of one are
    left out: np.ascontiguousarray and np.asfortranarray return those as they are)."""
    for out in (2, 10, NARROW - 1, NARROW, 128):
        for nin in (2, 16, 128, 300):
            g, w = np.ones((rows, out)), np.asfortranarray(np.ones((out, nin)))
            seen = []
            _input_grad(g, w, lambda a, b: seen.append((a, b)))
            (a, b), = seen
            copied = "W" if b is not w else "g" if a is not g else None
            assert copied == input_grad_copy(rows, w), (rows, out, nin)


def test_which_operand_g_at_w_copies_for_the_digits_layers_and_the_edges():
    """The measured choice (benchmarks/layout.py part 3): in a small product the smaller copy, W's once
    the batch has as many rows as W has columns (the digits' 10-row layer at batch 256) and g's before
    (its 128-wide layers at batch 32); above it W's only for a narrow W, else neither."""
    assert NARROW == 16 and SMALL_PRODUCT == 1 << 19
    def F(out, nin):
        return np.asfortranarray(np.ones((out, nin)))
    assert [input_grad_copy(rows, F(10, 128)) for rows in (1, 32, 127, 128, 256)] == ["g", "g", "g", "W", "W"]
    assert [input_grad_copy(rows, F(128, 128)) for rows in (1, 32, 33, 256)] == ["g", "g", None, None]
    assert input_grad_copy(256, F(16, 128)) == "W"  # (256·16·128 = 2^19: small)
    assert input_grad_copy(257, F(16, 128)) is None  # (not small, not narrow)
    assert input_grad_copy(256, F(15, 256)) == "W"  # (not small, narrow)
    assert input_grad_copy(255, F(15, 256)) is None  # (narrow, but W the larger)
    assert input_grad_copy(64, F(64, 64)) == "W" and input_grad_copy(63, F(64, 64)) == "g"


def nn_rule(g, w):
    """The table's linear rule on (g, x, W, b) for that W (x and b made up): its (gx, gW, gb)."""
    from autograd.ops.network import _linear_grad
    x = np.ones((len(g), w.shape[1]), w.dtype)
    return _linear_grad(g, None, x, w, np.zeros(len(w), w.dtype))


@pytest.mark.oracle
def test_a_column_major_mlp_matches_pytorch_in_float64_with_a_random_upstream_gradient():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    model = nn.MLP(6, [10, 10, 4], seed=0)
    x = rng.standard_normal((7, 6))
    upstream = rng.standard_normal((7, 4))
    xv = Value(x)
    model(xv).backward(upstream)
    layers = [torch.tensor(np.ascontiguousarray(lay.weight.data), requires_grad=True) for lay in model.layers]
    biases = [torch.tensor(lay.bias.data, requires_grad=True) for lay in model.layers]
    xt = torch.tensor(x, requires_grad=True)
    h = xt
    for k, (w, b) in enumerate(zip(layers, biases)):
        h = torch.nn.functional.linear(h, w, b)
        if k < len(layers) - 1:
            h = torch.tanh(h)
    h.backward(torch.tensor(upstream))
    np.testing.assert_allclose(xv.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    for lay, w, b in zip(model.layers, layers, biases):
        np.testing.assert_allclose(lay.weight.grad, w.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(lay.bias.grad, b.grad.numpy(), rtol=1e-10, atol=1e-12)

