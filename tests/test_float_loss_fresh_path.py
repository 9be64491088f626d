"""A float64 batch's loss is a Python float (0-d float64 results are floats, see value._normalize),
so its gradient is a float too. backprop sends such a node of a fresh op with a first_order rule
(cross_entropy) down the fresh path, as a float32 loss (a 0-d array) already went: these tests pin
that the path gives the same gradients as the general one (anomaly mode takes it), keeps .grad
semantics (the loss node's own 1.0, accumulation over two backwards, hooks), and leaves other float
nodes (scalar ops, example mode) where they were."""
import numpy as np
import pytest

import nn
from autograd import Value, detect_anomaly, grad

rng = np.random.default_rng(7)


def _batch(n=6, classes=4, dtype=np.float64):
    z = Value(rng.normal(size=(n, classes)).astype(dtype), requires_grad=True)
    y = rng.integers(0, classes, n)
    return z, y


def _expected(z, y, reduction="mean", upstream=1.0):
    a = z.data - z.data.max(axis=1, keepdims=True)
    p = np.exp(a) / np.exp(a).sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1
    return p * upstream / (len(y) if reduction == "mean" else 1)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_float64_loss_gradient_is_softmax_minus_onehot(reduction):
    z, y = _batch()
    loss = nn.cross_entropy(z, y, reduction=reduction)
    assert type(loss.data) is float
    loss.backward()
    np.testing.assert_allclose(z.grad, _expected(z, y, reduction), rtol=1e-12, atol=1e-15)
    assert loss.grad == 1.0 and type(loss.grad) is float
    assert z.grad.dtype == np.float64 and z.grad.shape == z.shape


def test_same_bits_as_the_general_path_anomaly_mode_takes():
    z, y = _batch(8, 5)
    nn.cross_entropy(z, y).backward()
    fast = z.grad.copy()
    z.grad = None
    with detect_anomaly():  # anomaly mode: every node through the general path
        nn.cross_entropy(z, y).backward()
    assert np.array_equal(fast, z.grad)


def test_float_upstream_gradient_scales_it():
    z, y = _batch()
    loss = nn.cross_entropy(z, y)
    loss.backward(2.5)
    np.testing.assert_allclose(z.grad, _expected(z, y, upstream=2.5), rtol=1e-12, atol=1e-15)


def test_two_backwards_accumulate_and_the_softmax_is_not_changed():
    z, y = _batch()
    loss = nn.cross_entropy(z, y)
    loss.backward()
    first = z.grad.copy()
    loss.backward()  # the saved softmax must be intact for the second rule call
    np.testing.assert_allclose(z.grad, 2 * first, rtol=1e-12)
    assert loss.grad == 2.0


def test_a_hook_on_the_loss_sees_a_float_and_its_return_replaces_it():
    z, y = _batch()
    loss = nn.cross_entropy(z, y)
    seen = []
    loss.register_hook(lambda g: seen.append(g) or 3.0)
    loss.backward()
    assert seen == [1.0]
    np.testing.assert_allclose(z.grad, _expected(z, y, upstream=3.0), rtol=1e-12, atol=1e-15)


def test_grad_api_and_a_loss_reused_in_a_sum():
    z, y = _batch()
    loss = nn.cross_entropy(z, y)
    (gz,) = grad(loss, z)
    np.testing.assert_allclose(gz.data, _expected(z, y), rtol=1e-12, atol=1e-15)
    total = loss * 2.0 + loss  # a float node used twice: both contributions reach the loss first
    total.backward()
    np.testing.assert_allclose(z.grad, _expected(z, y, upstream=3.0), rtol=1e-12, atol=1e-15)


def test_a_layer_network_float64_step_matches_float32_direction():
    # the whole step through nn: a float64 and a float32 copy of one MLP get the same gradients (to float32 precision)
    x, y = rng.normal(size=(16, 5)), rng.integers(0, 3, 16)
    grads = {}
    for dtype in (np.float64, np.float32):
        model = nn.MLP(5, [7, 3], seed=0).to(dtype)
        nn.cross_entropy(model(x.astype(dtype)), y).backward()
        grads[dtype] = [p.grad for p in model.parameters()]
    for g64, g32 in zip(grads[np.float64], grads[np.float32]):
        assert g64.dtype == np.float64 and g32.dtype == np.float32
        np.testing.assert_allclose(g64, g32, rtol=1e-4, atol=1e-6)


def test_scalar_float_nodes_keep_their_own_path():
    a, b = Value(0.3), Value(-1.2)
    out = (a * b).tanh() + a.exp()
    out.backward()
    t = np.tanh(0.3 * -1.2)
    assert a.grad == pytest.approx((1 - t * t) * -1.2 + np.exp(0.3))
    assert b.grad == pytest.approx((1 - t * t) * 0.3)


def test_against_torch_with_a_random_upstream():
    torch = pytest.importorskip("torch")
    z, y = _batch(10, 6)
    up = float(rng.normal())
    loss = nn.cross_entropy(z, y)
    loss.backward(up)
    tz = torch.tensor(z.data, requires_grad=True)
    torch.nn.functional.cross_entropy(tz, torch.tensor(y)).backward(torch.tensor(up, dtype=torch.float64))
    np.testing.assert_allclose(z.grad, tz.grad.numpy(), rtol=1e-12, atol=1e-15)
