"""backward() stores each array gradient inside backprop (at the node's turn, an array leaf's at
the end), keeping a fresh=True rule's results without copies and summing into them in place: the
same numbers as backprop's own result, every .grad an array of its own, and a failing backward
still changes no .grad."""
import numpy as np
import pytest

import nn
from autograd import Value, detect_anomaly
from autograd.engine import backprop, topological_order
from autograd.ops import OPS


def _all_grads_own_memory(nodes):
    arrays = [n._grad for n in nodes if isinstance(n._grad, np.ndarray)]
    for i, a in enumerate(arrays):
        assert a.flags.writeable
        for b in arrays[i + 1:]:
            assert not np.shares_memory(a, b)


def _mlp_graph(dtype=np.float64):
    rng = np.random.default_rng(0)
    model = nn.MLP(5, [7, 6, 3], activation="tanh", seed=1).to(dtype)
    x, y = rng.normal(size=(4, 5)).astype(dtype), rng.integers(0, 3, 4)
    return model, nn.cross_entropy(model(x), y)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_node_gets_backprops_gradient_bit_for_bit(dtype):
    model, loss = _mlp_graph(dtype)
    expected = {n: np.array(g, copy=True) for n, g in backprop([loss], [np.array(1, dtype)]).items()}
    loss.backward()
    nodes = topological_order([loss], requires_grad_only=True)
    assert set(nodes) == set(expected)
    for n in nodes:
        assert np.array_equal(n.grad, expected[n]) and np.asarray(n.grad).dtype == dtype, n.op or n.label
    _all_grads_own_memory(nodes)


def test_the_ops_of_a_training_step_are_fresh_and_a_view_passing_op_is_not():
    assert all(OPS[name].fresh for name in ("linear", "tanh", "sigmoid", "cross_entropy"))
    assert not any(OPS[name].fresh for name in ("add", "reshape", "sum", "getitem", "transpose"))


def test_gradients_passed_on_as_they_are_or_as_views_are_copied_into_grad():
    a = Value(np.arange(6.0).reshape(2, 3))
    b = Value(np.ones((2, 3)))
    s = a + b  # add passes g to both inputs as it is
    r = s.reshape(3, 2)  # reshape passes a view
    t = r.tanh()
    out = (t + t.reshape(2, 3).T).sum()
    out.backward()
    nodes = topological_order([out])
    _all_grads_own_memory(nodes)
    a.grad[0, 0] = 123.0  # an optimizer may change .grad in place: no other .grad may move
    assert b.grad[0, 0] != 123.0 and s.grad[0, 0] != 123.0


def test_a_weight_shared_by_two_layers_sums_in_place_into_its_first_fresh_gradient():
    rng = np.random.default_rng(3)
    layer = nn.Linear(4, 4, seed=0)
    x = rng.normal(size=(5, 4))
    out = layer(layer(x).tanh()).tanh().sum()
    (gW,) = __import__("autograd").grad(out, [layer.weight])
    eps, num = 1e-6, np.zeros((4, 4))
    W, b = layer.weight.data, layer.bias.data
    for i in range(4):
        for j in range(4):
            def f(d):
                Wd = W.copy()
                Wd[i, j] += d
                return np.tanh(np.tanh(x @ Wd.T + b) @ Wd.T + b).sum()
            num[i, j] = (f(eps) - f(-eps)) / (2 * eps)
    np.testing.assert_allclose(gW.data, num, rtol=1e-6, atol=1e-8)
    out.backward()
    np.testing.assert_allclose(layer.weight.grad, num, rtol=1e-6, atol=1e-8)
    _all_grads_own_memory(topological_order([out]))


def test_a_second_backward_adds_into_the_arrays_stored_by_the_first():
    model, loss = _mlp_graph()
    loss.backward()
    first = {id(p): p.grad.copy() for p in model.parameters()}
    z = loss.parents[0]
    z_first = z.grad.copy()
    loss.backward()
    for p in model.parameters():
        np.testing.assert_array_equal(p.grad, 2 * first[id(p)])
    np.testing.assert_array_equal(z.grad, 2 * z_first)


def test_a_backward_failing_after_storing_arrays_changes_no_grad():
    x = Value(np.array([0.0, 1.0, 4.0]))
    w = Value(np.array([1.0, 2.0, 3.0]))
    w.grad = np.array([0.5, 0.5, 0.5])
    with detect_anomaly():
        out = ((x.sqrt() * w).tanh() * 2.0).sum()  # d sqrt(x)/dx at 0 is inf: raised deep in the walk
        with pytest.raises(FloatingPointError):
            out.backward()
    assert np.array_equal(w.grad, [0.5, 0.5, 0.5])
    assert all(n._grad is None for n in topological_order([out]) if n is not w)


def test_a_hook_still_sees_every_grad_unchanged_and_gets_arrays_stored_after():
    model, loss = _mlp_graph()
    seen = []
    first = model.layers[0].weight  # a leaf with a hook: its turn comes after every node above it
    nodes = topological_order([loss])
    first.register_hook(lambda g: seen.append([n._grad for n in nodes]))
    loss.backward()
    assert seen == [[None] * len(nodes)]
    assert all(n.grad is not None and np.asarray(n.grad).any() for n in nodes if n.requires_grad)
    _all_grads_own_memory(nodes)


@pytest.mark.parametrize("penalty_first", [True, False])
def test_a_leaf_stored_at_its_first_fresh_gradient_takes_later_ones_of_other_ops_too(penalty_first):
    # backprop puts an array leaf's first fresh=True gradient straight into its .grad; a later one
    # from a rule that is not fresh (mul's, of a penalty) must reach that .grad as well
    rng = np.random.default_rng(3)
    layer = nn.Linear(4, 3, seed=0)
    x, y = rng.normal(size=(5, 4)), rng.integers(0, 3, 5)
    w = layer.weight
    data_loss = lambda: nn.cross_entropy(layer(x), y)  # noqa: E731
    penalty = lambda: (w * w).sum() * 0.1  # noqa: E731
    loss = penalty() + data_loss() if penalty_first else data_loss() + penalty()
    expected = {n: np.array(g, copy=True) for n, g in backprop([loss], [1.0]).items()}
    loss.backward()
    assert np.array_equal(w.grad, expected[w]) and np.array_equal(layer.bias.grad, expected[layer.bias])
    manual = 0.2 * w.data  # the penalty's part, plus the data loss's alone
    layer.zero_grad()
    data_loss().backward()
    assert np.allclose(expected[w], manual + w.grad)
    _all_grads_own_memory(topological_order([loss]))


def test_an_accumulated_leaf_grad_is_added_into_not_replaced():
    model, loss = _mlp_graph()
    loss.backward()  # no zero_grad before the second: its gradients add into these
    first = {p: p.grad.copy() for p in model.parameters()}
    again = nn.cross_entropy(model(np.random.default_rng(1).normal(size=(4, 5))), np.array([0, 2, 1, 1]))
    grads = backprop([again], [1.0])
    again.backward()
    for p in model.parameters():
        assert np.array_equal(p.grad, first[p] + grads[p])
        assert not np.shares_memory(p.grad, grads[p])
