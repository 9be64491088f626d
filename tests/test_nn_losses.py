"""Losses: values against numpy references, gradients by finite differences, bad input."""
import numpy as np
import pytest

import nn
from autograd import ShapeError, Value, gradcheck


@pytest.fixture
def data(rng):
    return {
        "pred": rng.normal(size=(6, 3)),
        "target": rng.normal(size=(6, 3)),
        "logits": rng.normal(size=(6, 4)) * 3,
        "classes": rng.integers(0, 4, size=6),
        "bits": rng.integers(0, 2, size=(6, 3)).astype(float),
        "signs": rng.choice([-1.0, 1.0], size=6),
    }


def np_log_softmax(z):
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


def test_mse_matches_numpy_and_gradcheck(data):
    p, t = data["pred"], data["target"]
    assert nn.mse(Value(p), t).item() == pytest.approx(np.mean((p - t) ** 2))
    assert nn.mse(Value(p), t, reduction="sum").item() == pytest.approx(np.sum((p - t) ** 2))
    np.testing.assert_allclose(nn.mse(Value(p), t, reduction="none").data, (p - t) ** 2)
    gradcheck(lambda x: nn.mse(x, t), [Value(p)])


def test_bce_matches_the_textbook_formula_and_gradcheck(data):
    z, y = data["pred"], data["bits"]
    s = 1 / (1 + np.exp(-z))
    expected = -np.mean(y * np.log(s) + (1 - y) * np.log(1 - s))
    assert nn.binary_cross_entropy_with_logits(Value(z), y).item() == pytest.approx(expected, rel=1e-12)
    gradcheck(lambda x: nn.binary_cross_entropy_with_logits(x, y), [Value(z)])
    z_soft = np.array([0.3, -1.2])
    gradcheck(lambda x: nn.binary_cross_entropy_with_logits(x, [0.25, 0.9]), [Value(z_soft)])  # soft targets


def test_bce_gradient_is_sigmoid_minus_target_even_at_zero():
    z = Value(np.array([0.0, 0.0, 2.0, -3.0]))
    y = np.array([1.0, 0.0, 1.0, 0.0])
    nn.binary_cross_entropy_with_logits(z, y, reduction="sum").backward()
    np.testing.assert_allclose(z.grad, 1 / (1 + np.exp(-z.data)) - y, atol=1e-15)


def test_bce_is_stable_for_huge_logits():
    z = Value(np.array([1000.0, -1000.0, 1000.0, -1000.0]))
    y = np.array([1.0, 0.0, 0.0, 1.0])
    loss = nn.binary_cross_entropy_with_logits(z, y, reduction="none")
    np.testing.assert_allclose(loss.data, [0.0, 0.0, 1000.0, 1000.0])
    loss.sum().backward()
    np.testing.assert_allclose(z.grad, [0.0, 0.0, 1.0, -1.0])


def test_cross_entropy_matches_numpy_and_gradcheck(data):
    z, c = data["logits"], data["classes"]
    expected = -np_log_softmax(z)[np.arange(6), c]
    assert nn.cross_entropy(Value(z), c).item() == pytest.approx(expected.mean(), rel=1e-12)
    np.testing.assert_allclose(nn.cross_entropy(Value(z), c, reduction="none").data, expected)
    gradcheck(lambda x: nn.cross_entropy(x, c), [Value(z)])
    x = Value(z)
    nn.cross_entropy(x, c).backward()
    softmax = np.exp(np_log_softmax(z))
    np.testing.assert_allclose(x.grad, (softmax - np.eye(4)[c]) / 6, atol=1e-15)


def test_cross_entropy_is_stable_and_takes_one_example():
    z = Value(np.array([[1000.0, 0.0, -1000.0]]))
    loss = nn.cross_entropy(z, np.array([1]))
    assert loss.item() == pytest.approx(1000.0)
    loss.backward()
    np.testing.assert_allclose(z.grad, [[1.0, -1.0, 0.0]], atol=1e-12)
    one = nn.cross_entropy(Value(np.array([0.0, 0.0])), 1)
    assert one.item() == pytest.approx(np.log(2))
    logits = [Value(0.5), Value(-0.5), Value(2.0)]          # an example-mode network's outputs
    assert nn.cross_entropy(logits, 2).item() == pytest.approx(-np_log_softmax(np.array([0.5, -0.5, 2.0]))[2])


def test_hinge_matches_micrograds_formula_and_gradcheck(data):
    s, y = data["pred"][:, 0], data["signs"]
    assert nn.hinge(Value(s), y).item() == pytest.approx(np.mean(np.maximum(0, 1 - y * s)))
    gradcheck(lambda x: nn.hinge(x, y), [Value(s)])
    scores = [Value(v) for v in s]                          # example-mode scalar outputs
    assert nn.hinge(scores, y).item() == pytest.approx(np.mean(np.maximum(0, 1 - y * s)))


def test_l2_penalty_sums_squares_of_every_parameter():
    model = nn.MLP(2, [3, 1], seed=0)
    expected = 1e-3 * sum(np.sum(v ** 2) for v in model.state_dict().values())
    assert nn.l2_penalty(model, 1e-3).item() == pytest.approx(expected)
    assert nn.l2_penalty(model.parameters(), 1e-3).item() == pytest.approx(expected)
    neuron = nn.Neuron(2, seed=0)
    neuron.bias.data = 2.0
    assert nn.l2_penalty(neuron, 0.5).item() == pytest.approx(0.5 * (np.sum(neuron.weight.data ** 2) + 4.0))
    params = [Value(np.array([1.0, -2.0])), Value(0.5)]
    gradcheck(lambda a, b: nn.l2_penalty([a, b], 0.1), params)
    with pytest.raises(ValueError, match="no parameters"):
        nn.l2_penalty([])


@pytest.mark.parametrize("loss", [nn.mse, nn.binary_cross_entropy_with_logits, nn.hinge])
def test_shape_mismatch_names_the_loss_and_both_shapes(loss):
    with pytest.raises(ShapeError, match=rf"{loss.__name__}: predictions of shape \(4, 1\) and targets of "
                                         r"shape \(4,\) must have the same shape; reshape"):
        loss(Value(np.zeros((4, 1))), np.ones(4))
    with pytest.raises(ShapeError, match=r"\(4,\) and targets of shape \(5,\)"):
        loss(Value(np.zeros(4)), np.ones(5))


def test_cross_entropy_refuses_bad_targets():
    z = Value(np.zeros((4, 3)))
    with pytest.raises(TypeError, match=r"cross_entropy: targets must be integer class indices, got dtype "
                                        r"float64; use targets.astype\(int\)"):
        nn.cross_entropy(z, np.zeros(4))
    with pytest.raises(ShapeError, match=r"logits of shape \(4, 3\) need targets of shape \(4,\).*got "
                                         r"targets of shape \(5,\)"):
        nn.cross_entropy(z, np.zeros(5, int))
    with pytest.raises(ShapeError, match=r"got targets of shape \(4, 3\)"):
        nn.cross_entropy(z, np.zeros((4, 3), int))
    with pytest.raises(ValueError, match=r"class indices must lie in \[0, 3\).*from 0 to 3"):
        nn.cross_entropy(z, np.array([0, 1, 2, 3]))


def test_other_bad_targets_are_explained():
    with pytest.raises(ValueError, match=r"hinge: targets must be -1 or \+1; for 0/1 labels use 2 \* y - 1"):
        nn.hinge(Value(np.zeros(3)), np.array([0, 1, 1]))
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: targets must lie in \[0, 1\]"):
        nn.binary_cross_entropy_with_logits(Value(np.zeros(2)), np.array([-1.0, 1.0]))
    with pytest.raises(TypeError, match="mse: targets must be numbers"):
        nn.mse(Value(np.zeros(2)), np.array(["a", "b"]))
    with pytest.raises(ValueError, match=r"mse: unknown reduction 'avg'"):
        nn.mse(Value(np.zeros(2)), np.zeros(2), reduction="avg")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kwargs", [{}, {"label_smoothing": 0.1}, {"weight": np.ones(4)}, {"ignore_index": 0}])
def test_cross_entropy_of_an_empty_batch_is_nan_with_an_empty_gradient_as_in_pytorch(dtype, kwargs):
    """PyTorch: the mean over no rows is nan, silently, and backward gives a (0, C) gradient."""
    import warnings
    z = Value(np.zeros((0, 4), dtype))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 0/0 or division warning on the way
        loss = nn.cross_entropy(z, np.zeros(0, dtype=int), **kwargs)
        loss.backward()
    assert np.isnan(loss.item())
    assert z.grad.shape == (0, 4) and z.grad.dtype == dtype
    total = nn.cross_entropy(Value(np.zeros((0, 4), dtype)), np.zeros(0, dtype=int), reduction="sum", **kwargs)
    assert total.item() == 0.0
