"""Review of session 8 (7acfbc9, 8a34598): backprop's lean loop for fresh=True rules, an array leaf's
.grad set at its first fresh contribution, the fresh test read from the entry; and the layer's labels and
MLP.forward (session 8 cached the labels and called layer.forward directly; both were taken out again,
and these tests keep the behaviour either way).

The reference gradients come from backprop under detect_anomaly(): that mode takes the general
contribution loop (fit checks, no `owned` set, no lean loop, nothing stored early)."""
from __future__ import annotations

import copy
import dataclasses
import itertools
import pickle

import numpy as np
import pytest

import autograd as ag
import autograd.functional as AF
import nn
from autograd import Value, detect_anomaly
from autograd.engine import backprop, topological_order
from autograd.ops import OPS


def _reference(loss, seed=1.0):
    with detect_anomaly():  # the general loop: no lean loop, no `owned`, nothing stored early
        grads = backprop([loss], [seed])
    return {n: np.array(g, copy=True) for n, g in grads.items()}


def _held_arrays(nodes):
    """Arrays the graph still holds: every node's data and what a saves=True forward kept."""
    held = []
    for n in nodes:
        if isinstance(n.data, np.ndarray):
            held.append(n.data)
        saved = (n._details.extra or {}).get("saved")
        for s in saved if isinstance(saved, tuple) else (saved,):
            if isinstance(s, np.ndarray):
                held.append(s)
    return held


def _backward_and_check(loss, seed=None):
    """loss.backward(seed): every .grad equals (before + the reference), keeps its node's dtype,
    and is memory of its own (no other .grad, no node's data, no saved forward result)."""
    ref = _reference(loss, 1.0 if seed is None else seed)
    nodes = topological_order([loss])
    before = {n: None if n._grad is None else np.array(n._grad, copy=True) for n in nodes}
    loss.backward() if seed is None else loss.backward(seed)
    for n in nodes:
        if n not in ref:
            continue
        want = ref[n] if before[n] is None else before[n] + ref[n]
        assert n._grad is not None, n.op or n.label
        np.testing.assert_allclose(n._grad, want, rtol=1e-6, atol=1e-9, err_msg=n.op or n.label)
        if isinstance(n.data, np.ndarray):
            assert type(n._grad) is np.ndarray and n._grad.dtype == n.data.dtype, n.op or n.label
    grads = [(n, n._grad) for n in nodes if isinstance(n._grad, np.ndarray)]
    for (a, ga), (b, gb) in itertools.combinations(grads, 2):
        assert not np.shares_memory(ga, gb), f"{a.op or a.label} ~ {b.op or b.label}"
    held = _held_arrays(nodes)
    for n, g in grads:
        assert g.flags.writeable
        assert not any(np.shares_memory(g, h) for h in held), n.op or n.label
    return nodes


# ---- bugs ------------------------------------------------------------------------------------------

def _batch_and_example_loss(batch_deeper):
    """One Layer used in batch mode (linear node) and example mode (neuron nodes, neuron_row) in one loss."""
    rng = np.random.default_rng(0)
    layer = nn.Layer(3, 2, activation="tanh", seed=0)
    X = Value(rng.normal(size=(4, 3)), requires_grad=False)
    xs = [Value(0.5), Value(-1.0), Value(2.0)]
    if batch_deeper:  # the linear node's turn first: W and b get their first (fresh) gradient from it
        X = X * 1.0
    else:
        xs = [v * 1.0 * 1.0 for v in xs]
    ex = layer(xs)
    return layer, layer(X).sum() + ex[0] + ex[1]


@pytest.mark.parametrize("batch_deeper", [True, False])
def test_neuron_rows_after_a_linear_reach_the_leaf_grad_stored_at_its_first_fresh_gradient(batch_deeper):
    # (found in review, batch_deeper=True: the lean loop sets W.grad = linear's gW at once; neuron_row
    # replaced grads[W] with a copy and added the neurons' rows there, so W.grad kept the batch part
    # only; neuron_row now adds into backprop's own array)
    layer, loss = _batch_and_example_loss(batch_deeper)
    _backward_and_check(loss)
    parts = []
    for mode in ("batch", "example"):
        fresh, _ = _batch_and_example_loss(batch_deeper)
        out = fresh(np.random.default_rng(0).normal(size=(4, 3))).sum() if mode == "batch" else \
            sum(fresh([0.5, -1.0, 2.0]), Value(0.0))
        out.backward()
        parts.append((fresh.weight.grad, fresh.bias.grad))
    np.testing.assert_allclose(layer.weight.grad, parts[0][0] + parts[1][0], rtol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, parts[0][1] + parts[1][1], rtol=1e-12)


def test_an_op_entry_replaced_with_fresh_false_is_not_taken_for_fresh():
    # (found in review: a set of fresh op names kept by defop missed an OPS entry swapped for one with
    # fresh=False, whose rule passing g on then put one array into two .grads; backprop reads entry.fresh)
    original = OPS["sigmoid"]
    OPS["sigmoid"] = dataclasses.replace(original, backward=lambda g, out, a: (g,), fresh=False)
    try:
        a = Value(np.ones((2, 3)))
        s = a.sigmoid()
        s.tanh().sum().backward()
        assert not np.shares_memory(a.grad, s.grad)
    finally:
        OPS["sigmoid"] = original


# ---- aliasing and values on the changed paths (pass on HEAD) ---------------------------------------

def _linear_ce(dtype=np.float64, i=4, o=3, seed=0):
    return nn.Linear(i, o, seed=seed).to(dtype)


PENALTIES = {
    "mul": lambda W: (W * W).sum() * 0.1,
    "sum": lambda W: W.sum(),  # sum's rule: a broadcast view
    "getitem": lambda W: W[0:2].sum() + W[1].sum(),  # slice_into's buffer, in place
    "reshape": lambda W: W.reshape(12).sum(),
    "getitem_tanh": lambda W: W[0:2].tanh().sum(),
}


@pytest.mark.parametrize("penalty", sorted(PENALTIES))
@pytest.mark.parametrize("order", ["data_first", "penalty_first", "penalty_deeper", "data_deeper"])
def test_a_leaf_with_fresh_and_other_contributions_in_either_order(penalty, order):
    rng = np.random.default_rng(1)
    layer = _linear_ce()
    x, y = Value(rng.normal(size=(5, 4)), requires_grad=False), rng.integers(0, 3, 5)
    W = layer.weight
    if order == "data_deeper":
        x = x * 1.0 * 1.0 * 1.0
    pen = PENALTIES[penalty](W * 1.0 * 1.0 * 1.0 * 1.0 if order == "penalty_deeper" else W)
    data = nn.cross_entropy(layer(x), y)
    _backward_and_check(pen + data if order == "penalty_first" else data + pen)


def test_a_weight_tied_across_two_layers_and_an_embedding():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(5, 4)), rng.integers(0, 4, 5)
    l1, l2 = nn.Layer(4, 4, seed=1), nn.Layer(4, 4, activation="sigmoid", seed=2)
    l2.weight = l1.weight
    _backward_and_check(nn.cross_entropy(l2(l1(x)), y))
    emb, out = nn.Embedding(6, 4, seed=0), nn.Linear(4, 6, seed=1)
    out.weight = emb.weight
    _backward_and_check(nn.cross_entropy(out(emb(rng.integers(0, 6, 5)).tanh()), rng.integers(0, 6, 5)))
    W, b = Value(rng.normal(size=(4, 4))), Value(np.zeros(4))  # W as linear's input and its weight
    _backward_and_check(nn.cross_entropy(AF.linear(W.tanh(), W, b), np.arange(4)) + AF.linear(W, W, b).sum())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_zero_d_leaves_and_leaves_used_by_fresh_ops_directly(dtype):
    a = Value(np.array(0.3, dtype))
    _backward_and_check(a.tanh() * a.sigmoid() + a.tanh())
    W = Value(np.random.default_rng(3).normal(size=(3, 4)).astype(dtype))
    _backward_and_check((W.tanh() * W.sigmoid()).sum() + nn.cross_entropy(W, np.array([0, 1, 2])))


@pytest.mark.parametrize("rows", [5, 512])  # 512 x 128: over recycle's threshold
@pytest.mark.parametrize("dtypes", [("f8", "f4", "f4"), ("f4", "f8", "f8"), ("f4", "f4", "f8"), ("f4", "f4", "f4")])
def test_mixed_dtypes_small_and_recycled(rows, dtypes):
    rng = np.random.default_rng(4)
    x, W, b = (Value(rng.normal(size=s).astype(d)) for s, d in zip(((rows, 128), (128, 128), (128,)), dtypes))
    y = rng.integers(0, 128, rows)
    loss = nn.cross_entropy(AF.linear(x, W, b).tanh(), y) + AF.linear(x, W, b).sigmoid().sum() + W[0:3].sum()
    _backward_and_check(loss)


def test_recycled_grads_of_a_step_are_not_reused_while_held():
    rng = np.random.default_rng(5)
    model = nn.MLP(128, [128, 128, 10], seed=0)
    X = Value(rng.normal(size=(512, 128)))
    held = []
    for _ in range(3):
        model.zero_grad()
        X._grad = None
        _backward_and_check(nn.cross_entropy(model(X), rng.integers(0, 10, 512)))
        held.append([(p.grad, p.grad.copy()) for p in model.parameters() + [X]])
    for step in held:  # a later step's arrays (recycled or not) never went into one a user still holds
        for g, numbers in step:
            np.testing.assert_array_equal(g, numbers)


@pytest.mark.parametrize("shape", [(4,), (2, 5, 4)])
def test_one_example_and_a_sequence_batch(shape):
    layer = _linear_ce()
    _backward_and_check(layer(Value(np.random.default_rng(6).normal(size=shape))).tanh().sum())


# ---- failure paths, hooks, modes (pass on HEAD) ----------------------------------------------------

@pytest.fixture
def broken_mul():
    original = OPS["mul"]

    def boom(*args, **kwargs):
        raise RuntimeError("boom")
    OPS["mul"] = dataclasses.replace(original, backward=boom)
    yield
    OPS["mul"] = original


@pytest.mark.parametrize("accumulate", [False, True])
def test_a_rule_raising_after_leaves_got_their_grad_changes_no_grad(accumulate, broken_mul):
    rng = np.random.default_rng(7)
    layer = _linear_ce()
    if accumulate:
        layer.weight.grad = rng.normal(size=(3, 4))
    x = Value(rng.normal(size=(5, 4)), requires_grad=False) * 1.0  # the linear node's turn before mul's
    loss = nn.cross_entropy(layer(x).tanh(), rng.integers(0, 3, 5)) + (layer.weight * layer.weight).sum()
    nodes = topological_order([loss])
    before = {n: (n._grad, None if n._grad is None else n._grad.copy()) for n in nodes}
    with pytest.raises(RuntimeError, match="boom"):
        loss.backward()
    for n in nodes:
        assert n._grad is before[n][0], n.op or n.label
        if before[n][1] is not None:
            np.testing.assert_array_equal(n._grad, before[n][1])


def test_a_hook_later_in_the_walk_sees_no_grad_set_yet_and_the_result_is_complete():
    rng = np.random.default_rng(8)
    layer = _linear_ce()
    x = Value(rng.normal(size=(5, 4)), requires_grad=False)
    W = layer.weight
    z = layer(x * 1.0 * 1.0)  # W's fresh gradient arrives before the hooked node's turn
    u = W * 2.0
    seen = []
    u.register_hook(lambda g: seen.append((W._grad, layer.bias._grad)))
    _backward_and_check(nn.cross_entropy(z, rng.integers(0, 3, 5)) + u.sum())
    assert seen[-1] == (None, None)  # (the first call: _reference's backprop, which runs hooks too)


def test_grad_create_graph_anomaly_and_a_graph_differentiated_three_times():
    rng = np.random.default_rng(9)
    layer = _linear_ce()
    x, y = rng.normal(size=(5, 4)), rng.integers(0, 3, 5)
    loss = nn.cross_entropy(layer(x).tanh(), y)
    gW, gb = ag.grad(loss, [layer.weight, layer.bias])
    assert all(n._grad is None for n in topological_order([loss]))
    ref = _reference(loss)
    np.testing.assert_allclose(gW.data, ref[layer.weight], rtol=1e-12)
    (gW2,) = ag.grad(loss, [layer.weight], create_graph=True)
    np.testing.assert_allclose(gW2.data, ref[layer.weight], rtol=1e-12)
    for seed in (None, None, 2.0):  # backward on one graph again (accumulates), then with a seed
        _backward_and_check(loss, seed)
    with detect_anomaly():
        _backward_and_check(nn.cross_entropy(layer(x).sigmoid(), y))


@pytest.mark.oracle
def test_tied_weights_penalty_and_slice_against_torch_over_two_steps():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(10)
    x, y = rng.normal(size=(6, 4)), rng.integers(0, 4, 6)
    l1, l2 = nn.Layer(4, 4, activation="tanh", seed=1), nn.Layer(4, 4, activation="sigmoid", seed=2)
    l2.weight = l1.weight
    Wt, b1, b2 = (torch.tensor(a, requires_grad=True) for a in (l1.weight.data, l1.bias.data, l2.bias.data))
    X, xt = Value(x), torch.tensor(x, requires_grad=True)
    for _ in range(2):  # no zero_grad: the second adds
        W = l1.weight
        (nn.cross_entropy(l2(l1(X)), y) + (W * W).sum() * 0.01 + W[1:3].sum()).backward()
        h = torch.sigmoid(torch.tanh(xt @ Wt.T + b1) @ Wt.T + b2)
        (torch.nn.functional.cross_entropy(h, torch.tensor(y)) + (Wt * Wt).sum() * 0.01 + Wt[1:3].sum()).backward()
        for ours, theirs in ((W, Wt), (l1.bias, b1), (l2.bias, b2), (X, xt)):
            np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


# ---- Layer's label cache and MLP.forward (pass on HEAD) --------------------------------------------

def _labels(out):
    return [n.label for n in topological_order([out]) if n.op]


def test_layer_labels_follow_renames_copies_and_pickles():
    X = np.ones((4, 3))
    layer = nn.Layer(3, 2, seed=0)
    assert _labels(layer(X)) == ["L.z", "L.out"]
    layer.name = "X"
    assert _labels(layer(X)) == ["X.z", "X.out"]
    twin = copy.deepcopy(layer)
    twin.name = "Y"
    assert _labels(twin(X)) == ["Y.z", "Y.out"] and _labels(layer(X)) == ["X.z", "X.out"]
    back = pickle.loads(pickle.dumps(layer))
    assert _labels(back(X)) == ["X.z", "X.out"]
    back.name = "Z"
    assert _labels(back(X)) == ["Z.z", "Z.out"] and _labels(layer(X)) == ["X.z", "X.out"]
    assert _labels(nn.Linear(3, 2, name="lin")(X)) == ["lin.z"]


def test_mlp_labels_state_dict_and_layer_forward_match_calling_the_layers():
    model = nn.MLP(3, [4, 2], seed=0)
    X = np.random.default_rng(11).normal(size=(5, 3))
    out = model(X)
    assert _labels(out) == ["L0.z", "L0.out", "L1.z"]
    chained = model.layers[1](model.layers[0](X))
    np.testing.assert_array_equal(out.data, chained.data)
    model.layers[0].name = "first"
    assert _labels(model(X)) == ["first.z", "first.out", "L1.z"]
    example = model([1.0, 2.0, 3.0])
    assert "first.n0.out" in _labels(example[0]) and "L1.n0" in _labels(example[0])
    other = nn.MLP(3, [4, 2], seed=5)
    other.load_state_dict(model.state_dict())
    np.testing.assert_array_equal(other(X).data, model(X).data)
    assert _labels(other(X)) == ["L0.z", "L0.out", "L1.z"]
