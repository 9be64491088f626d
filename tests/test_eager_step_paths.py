"""The plain training loop's speed paths give the numbers of the general ones: the written-out
three-input apply, linear's rule call, tanh's and sigmoid's in-place rules,
sigmoid's one-array forward (within 2 ulp of the exact value, tails included), and a layer that
records its linear node without going through autograd.linear."""
import math

import numpy as np
import pytest

import nn
from autograd import Value, backprop, detect_anomaly, linear, no_grad
from autograd.ops import OPS
from autograd.ops.activations import _sigmoid


def exact_sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_on_arrays_is_within_two_ulp_tails_and_specials_included(dtype):
    x = np.concatenate([np.linspace(-745, 40, 4001), np.linspace(-20, 20, 4001), [0.0, -0.0, 1e-300, -80.0]]).astype(dtype)
    got = _sigmoid(x)
    assert got.dtype == dtype and got.shape == x.shape
    want = np.array([exact_sigmoid(float(v)) for v in x]).astype(dtype)
    normal = want >= np.finfo(dtype).tiny  # below it (e^-x overflowing), 0 as PyTorch's 1 / (1 + e^-x)
    assert np.all(np.abs(got - want)[normal] <= 2 * np.spacing(want[normal])), "more than 2 ulp off"
    assert np.all((got[~normal] == 0) | (np.abs(got - want)[~normal] <= 2 * np.spacing(want[~normal])))
    tail = x == dtype(-80)  # far down the tail the error stays relative (no 1 - (1 - tiny) cancellation)
    assert abs(got[tail][0] / exact_sigmoid(-80.0) - 1) < 4 * np.finfo(dtype).eps
    special = _sigmoid(np.array([np.inf, -np.inf, np.nan, -1e6, 1e6], dtype))
    assert special[0] == 1 and special[1] == 0 and np.isnan(special[2]) and special[3] == 0 and special[4] == 1
    with np.errstate(over="raise"):  # e^-x overflowing below -709 is expected, never reported
        _sigmoid(np.array([-1000.0, 0.0], dtype))


@pytest.mark.parametrize("op, formula", [
    ("tanh", lambda g, out: g * (1 - out * out)),
    ("sigmoid", lambda g, out: g * out * (1 - out)),
])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_in_place_activation_rules_give_the_formulas_bits(op, formula, dtype):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 7)).astype(dtype)
    out = OPS[op].forward(x)
    g = rng.normal(size=(5, 7)).astype(dtype)
    g_before, out_before = g.copy(), out.copy()
    (got,) = OPS[op].backward(g, out, x)
    want = formula(g, out)
    assert got.dtype == want.dtype and np.array_equal(got, want)
    assert np.array_equal(g, g_before) and np.array_equal(out, out_before)  # in place on a fresh array only
    # a gradient of another dtype or a broadcast shape takes the formula itself
    (mixed,) = OPS[op].backward(g.astype(np.float64), out, x)
    assert mixed.dtype == np.float64 and np.array_equal(mixed, formula(g.astype(np.float64), out))


def test_in_place_rule_leaves_the_upstream_gradient_alone():
    x = Value(np.linspace(-2, 2, 6).reshape(2, 3))
    h = x.tanh()
    y = h * 1.0  # mul passes its g on: the tanh rule gets an array another node holds as its .grad
    y.backward(np.ones((2, 3)))
    assert np.array_equal(h.grad, np.ones((2, 3))) and np.array_equal(y.grad, np.ones((2, 3)))
    np.testing.assert_allclose(x.grad, 1 - np.tanh(x.data) ** 2, rtol=0, atol=1e-15)


def test_layer_records_the_same_linear_node_as_autograd_linear():
    layer = nn.Layer(4, 3, activation="tanh", seed=0)
    x = np.random.default_rng(1).normal(size=(5, 4))
    out = layer(x)
    z = out.parents[0]
    assert (z.op, z.label, out.label) == ("linear", "L.z", "L.out")
    assert [p is q for p, q in zip(z.parents[1:], (layer.weight, layer.bias))] == [True, True]
    ref = linear(x, Value(layer.weight.data.copy()), Value(layer.bias.data.copy())).tanh()
    np.testing.assert_array_equal(out.data, ref.data)
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_array_equal(layer.weight.grad, ref.parents[0].parents[1].grad)
    np.testing.assert_array_equal(layer.bias.grad, ref.parents[0].parents[2].grad)
    with pytest.raises(Exception, match=r"\(\.\.\., 4\)"):
        layer(np.ones((5, 3)))


def test_three_input_apply_under_no_grad_anomaly_and_constants():
    w, b = Value(np.eye(2)), Value(np.ones(2))
    with no_grad():
        z = linear(np.ones((3, 2)), w, b)
    assert not z.requires_grad and z.op == "" and np.array_equal(z.data, np.full((3, 2), 2.0))
    with detect_anomaly():
        z = linear(np.ones((3, 2)), w, b)
        z.sum().backward()
    assert z.op == "linear" and np.array_equal(b.grad, [3.0, 3.0])
    z = linear(np.ones((3, 2)), w, np.zeros(2))  # a raw bias: a constant leaf, no gradient wanted
    grads = backprop([z.sum()], [1.0])
    assert z.parents[2] not in grads and z._depth == 1
    with pytest.raises(Exception, match="linear"):
        linear(np.ones((3, 2)), Value(np.ones((2, 5))), Value(np.ones(5)))



def test_recycled_arrays_come_back_only_when_nothing_holds_them():
    from autograd import recycle

    recycle.clear()
    shape, dtype = (256, 160), np.dtype(np.float64)  # 320 KiB: pooled
    a = recycle.empty(shape, dtype)
    b = recycle.empty(shape, dtype)
    assert b is not a  # a is held here
    a_id, view = id(a), a[3:]
    del a
    c = recycle.empty(shape, dtype)
    assert id(c) != a_id and c is not b  # a view holds its base; b is held
    del view
    d = recycle.empty(shape, dtype)
    assert id(d) == a_id and d.shape == shape and d.dtype == dtype  # nothing held it: handed out again
    tiny = recycle.matmul(np.ones((2, 3)), np.ones((3, 4)))  # small results: plain arrays, never pooled
    assert all(tiny is not x for pool in recycle._POOLS.values() for x in pool)


def test_a_recycled_training_step_gives_the_bits_of_fresh_arrays_and_spares_old_graphs():
    from autograd import recycle

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(300, 64)), rng.integers(0, 10, 300)  # (300, 128) float64 activations: pooled

    def train(steps, keep_graphs):
        model = nn.MLP(64, [128, 128, 10], activation="tanh", seed=3)
        opt = nn.SGD(model.parameters(), lr=0.1)
        losses, graphs = [], []
        for _ in range(steps):
            loss = nn.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if keep_graphs:
                graphs.append(loss)
        return losses, [p.data.copy() for p in model.parameters()], graphs

    recycle.clear()
    reused = train(5, keep_graphs=False)  # each step's arrays come back to the next step
    fresh = train(5, keep_graphs=True)  # every graph alive: nothing can be reused
    assert reused[0] == fresh[0] and all(np.array_equal(p, q) for p, q in zip(reused[1], fresh[1]))
    h1 = fresh[2][0].parents[0].parents[0]  # step 1's second tanh output, kept alive by its graph
    assert h1.op == "tanh" and h1.data.nbytes >= recycle.MIN_BYTES
    before, grad_before = h1.data.copy(), h1.grad.copy()
    train(3, keep_graphs=False)
    assert np.array_equal(h1.data, before) and np.array_equal(h1.grad, grad_before)  # not overwritten
    assert recycle._KEPT[0] <= recycle.MAX_BYTES
    assert all(len(pool) <= recycle.MAX_PER_SHAPE for pool in recycle._POOLS.values())  # 5 graphs kept: capped
