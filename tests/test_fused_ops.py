"""The fused ops a network's batch mode runs on (`linear`, `cross_entropy`) and the
engine's shortcuts for them: second derivatives, skipped gradients (`needs`), the saved
softmax (`saves`), and leaf gradients that are arrays of their own."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import nn
from autograd import OPS, Value, gradcheck, grad, linear, topological_order
from autograd.value import apply


def grad_of_grad(fn, arrays):
    """Finite differences of Σ (df/dx)² over the inputs: checks the create_graph rules."""
    def squared_gradient(*xs):
        return sum((g * g).sum() for g in grad(fn(*xs), xs, create_graph=True))
    return gradcheck(squared_gradient, arrays, atol=1e-4)


@pytest.mark.parametrize("x_shape", [(4, 3), (3,), (2, 2, 3)], ids=str)
def test_linear_second_derivatives(x_shape, rng):
    x, w, b = rng.normal(size=x_shape), rng.normal(size=(2, 3)), rng.normal(size=2)
    weights = rng.normal(size=x_shape[:-1] + (2,))
    assert grad_of_grad(lambda x_, w_, b_: (linear(x_, w_, b_).tanh() * weights).sum(), [x, w, b])
    assert grad_of_grad(lambda x_, w_: (linear(x_, w_) ** 2).sum(), [x, w])
    assert grad_of_grad(lambda w_, b_: (linear(x, w_, b_).tanh() * weights).sum(), [w, b])  # constant x


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_second_derivatives(reduction, rng):
    logits, labels = rng.normal(size=(4, 3)), np.array([0, 2, 2, 1])
    assert grad_of_grad(lambda z: (nn.cross_entropy(z, labels, reduction=reduction) * 1.5).sum(), [logits])
    assert grad_of_grad(lambda z: nn.cross_entropy(z, 1, reduction=reduction), [logits[0]])


def test_the_engine_tells_linear_which_inputs_need_a_gradient(rng, monkeypatch):
    seen = []
    op = OPS["linear"]

    def spy(*args, needs, **attrs):
        seen.append(needs)
        return op.backward(*args, needs=needs, **attrs)

    monkeypatch.setitem(OPS, "linear", dataclasses.replace(op, backward=spy))
    w, b = Value(rng.normal(size=(2, 3))), Value(np.zeros(2))
    h = linear(rng.normal(size=(5, 3)), w, b)          # an input batch: no gradient needed
    linear(h, Value(rng.normal(size=(1, 2)), requires_grad=False), Value(np.zeros(1))).sum().backward()
    assert seen == [(True, False, True), (False, True, True)]
    assert op.backward(np.ones((5, 2)), None, np.ones((5, 3)), w.data, b.data, needs=(False, True, True))[0] is None


def test_cross_entropy_backward_uses_the_saved_softmax_and_matches_recomputing_it(rng):
    z, labels = Value(rng.normal(size=(6, 4))), rng.integers(0, 4, size=6)
    loss = nn.cross_entropy(z, labels)
    softmax = np.exp(z.data) / np.exp(z.data).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(loss._details.extra["saved"], softmax, rtol=1e-12)
    rule, key = OPS["cross_entropy"].backward, loss.attrs["key"]
    (saved,) = rule(1.0, loss.data, z.data, key, saved=loss._details.extra["saved"])
    (recomputed,) = rule(1.0, loss.data, z.data, key)
    np.testing.assert_allclose(saved, recomputed, rtol=1e-12)
    loss.backward()
    loss.backward()  # a second pass over the same graph: the saved softmax is not consumed
    np.testing.assert_allclose(z.grad, 2 * recomputed, rtol=1e-12)
    np.testing.assert_allclose(loss._details.extra["saved"], softmax, rtol=1e-12)


def test_masked_logits_of_minus_infinity_give_a_finite_loss_and_zero_gradient_there():
    z = Value(np.array([[0.0, -np.inf, 1.0], [2.0, 0.0, -np.inf]]))
    loss = nn.cross_entropy(z, np.array([2, 0]))
    expected = np.mean([np.log(1 + np.e) - 1.0, np.log(np.exp(2.0) + 1) - 2.0])
    assert loss.item() == pytest.approx(expected)
    loss.backward()
    assert np.all(np.isfinite(z.grad)) and z.grad[0, 1] == 0.0 and z.grad[1, 2] == 0.0


@pytest.mark.parametrize("row", [[np.inf, 0.0, 1.0], [-np.inf, -np.inf, -np.inf], [np.nan, 0.0, 1.0],
                                 [1e308, -1e308, 0.0]], ids=["plus-inf", "all-minus-inf", "nan", "huge"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_non_finite_row_gives_the_mean_of_the_per_row_losses_and_the_same_softmax(row, dtype):
    # mean and sum test the loss's finiteness after the fact (and then shift such rows by 0, as
    # reduction="none" does up front): the same numbers either way
    a = np.array([[0.5, -1.0, 2.0], row, [3.0, 1.0, -2.0]], dtype=dtype)
    y = np.array([2, 1, 0])
    with np.errstate(all="ignore"):
        per_row = nn.cross_entropy(Value(a), y, reduction="none")
        mean, total = nn.cross_entropy(Value(a), y), nn.cross_entropy(Value(a), y, reduction="sum")
        expected = np.add.reduce(per_row.data, axis=None)
    np.testing.assert_array_equal(total.data, expected)
    np.testing.assert_array_equal(mean.data, expected / 3)
    np.testing.assert_array_equal(mean._details.extra["saved"], per_row._details.extra["saved"])


def test_batch_mode_draws_one_node_per_layer_and_one_for_the_loss(rng):
    model = nn.MLP(4, [5, 5, 3], activation="tanh", seed=0)
    loss = nn.cross_entropy(model(rng.normal(size=(8, 4))), rng.integers(0, 3, size=8))
    ops = [n.op for n in topological_order(loss) if n.op]
    assert ops == ["linear", "tanh", "linear", "tanh", "linear", "cross_entropy"]
    assert [n.label for n in topological_order(loss) if n.op == "linear"] == ["L0.z", "L1.z", "L2.z"]


def test_the_step_recorder_explains_a_batch_step(rng):
    from autograd.viz.player.steps import record
    model = nn.MLP(3, [4, 2], activation="tanh", seed=0)
    rec = record(nn.cross_entropy(model(rng.normal(size=(5, 3))), rng.integers(0, 2, size=5)), forward=True)
    text = "\n".join(step.text for step in rec.steps)
    assert "cross_entropy(L1.z, reduction=mean)" in text and "softmax(L1.z) - onehot" in text


def test_leaf_gradients_are_arrays_of_their_own():
    a, b, c = Value(np.ones(3)), Value(np.ones(3)), Value(np.ones((2, 3)))
    ((a + b).sum() + c.reshape(6).sum() + (a * 2).sum()).backward()
    a.grad[0] = 100.0  # an optimizer updating in place must not touch the others
    assert b.grad.tolist() == [1.0, 1.0, 1.0] and c.grad.tolist() == [[1.0] * 3] * 2
    assert c.grad.base is None and a.grad is not b.grad

    mine = np.full(3, 7.0)
    d = Value(np.ones(3))
    d.register_hook(lambda g: mine)
    (d * 1.0).sum().backward()
    mine[0] = 0.0  # the hook's array stays the caller's
    assert d.grad.tolist() == [7.0, 7.0, 7.0]


def test_sum_and_mean_of_a_whole_array_keep_float32(rng):
    x = Value(rng.normal(size=(3, 2)).astype(np.float32))
    (x.sum() + x.mean()).backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad, np.full((3, 2), 1 + 1 / 6), rtol=1e-6)


def test_cross_entropy_forward_with_recording_off_keeps_nothing(rng):
    from autograd import no_grad
    with no_grad():
        loss = apply("cross_entropy", (Value(rng.normal(size=(2, 3))),), {"key": (np.arange(2), np.array([0, 1]))})
    assert loss.op == "" and loss._details.extra is None
