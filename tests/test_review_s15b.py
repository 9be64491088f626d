"""Review of 6ea8d35: three or more inputs (and none) as one tuple in _p1 with _p0 None, no longer in
Details.inputs; a layer's linear nodes share one Details per layer name.

The first test was a reader that misread the layout (fixed); the rest guard the checklist
(linear with and without bias, second derivatives, concat/stack, deepcopy/pickle, old pickles,
anomaly mode, hooks, grad(), jit nodes with 0/1/many parents, the backprop player)."""
import copy
import pickle

import numpy as np
import pytest

import autograd as ag
from autograd import Value, detect_anomaly, functional as F, grad, jit

# ---- found by the review (fixed) ----------------------------------------------------------


def test_neuron_row_without_inputs_backprops():
    # (older than the _p1 layout: the code before it crashed with "cannot unpack None"). A row neuron
    # made by functional.neuron with no inputs has two inputs, in _p0/_p1; scalar_rules.neuron_row read
    # node._p1 as the (W, b, *xs) tuple whatever _p0 held (fixed: both layouts read).
    # functional.neurons(w, b, []) records the same nodes with (w, b) in _p1.
    w, b = Value(np.zeros((3, 0))), Value(np.array([0.1, 0.2, 0.3]))
    outs = [F.neuron(w, b, [], row=j) for j in range(3)]
    (outs[0] + outs[1] * 2).backward()
    np.testing.assert_array_equal(b.grad, [1.0, 2.0, 0.0])
    np.testing.assert_array_equal(w.grad, np.zeros((3, 0)))


# ---- guards (passing) ---------------------------------------------------------------------------


def _arrays(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(4, 3)), rng.normal(size=(2, 3)), rng.normal(size=2)


@pytest.mark.parametrize("bias", [True, False])
def test_linear_first_and_second_derivatives_match_pytorch(bias):
    torch = pytest.importorskip("torch")
    arrays = _arrays()[: 3 if bias else 2]
    vs = [Value(a.copy()) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    y = (F.linear(*vs).tanh() ** 2).sum()
    ty = (torch.nn.functional.linear(*ts).tanh() ** 2).sum()
    gs = grad(y, vs, create_graph=True)
    tgs = torch.autograd.grad(ty, ts, create_graph=True)
    for g, t in zip(gs, tgs):
        np.testing.assert_allclose(g.data, t.detach().numpy(), rtol=1e-10)
    hs = grad(sum(((g * g).sum() for g in gs[1:]), (gs[0] * gs[0]).sum()), vs)
    ths = torch.autograd.grad(sum((g * g).sum() for g in tgs), ts)
    for h, t in zip(hs, ths):
        np.testing.assert_allclose(h.data, t.numpy(), rtol=1e-8)
    y.backward()
    for v, g in zip(vs, gs):
        np.testing.assert_allclose(v.grad, g.data)


def test_concat_and_stack_of_many_inputs():
    rng = np.random.default_rng(1)
    a, b, c = (Value(rng.normal(size=(n, 2))) for n in (2, 1, 3))
    z = F.concat([a, b, c])
    assert z.parents == (a, b, c) and z._p0 is None
    (z * z).sum().backward()
    for v in (a, b, c):
        np.testing.assert_allclose(v.grad, 2 * v.data)
    gs = grad((F.concat([a, b, c]) ** 3).sum(), [a, b, c], create_graph=True)
    for v, h in zip((a, b, c), grad(gs[0].sum() + gs[1].sum() + gs[2].sum(), [a, b, c])):
        np.testing.assert_allclose(h.data, 6 * v.data)
    vs = [Value(rng.normal(size=3)) for _ in range(4)]
    (F.stack(vs, axis=1) ** 2).sum().backward()
    for v in vs:
        np.testing.assert_allclose(v.grad, 2 * v.data)


def test_deepcopy_and_pickle_of_layer_graphs_backprop_like_the_original():
    import nn
    X = _arrays()[0]
    m = nn.MLP(3, [4, 2], seed=0)
    y = (m(Value(X, requires_grad=False)) ** 2).mean()
    copies = [copy.deepcopy(y), pickle.loads(pickle.dumps(y))]
    for t in [y] + copies:
        t.backward()
    z = [n for n in ag.topological_order(copies[0]) if n.op == "linear"][0]
    assert z._p0 is None and len(z._p1) == 3 and z.label.endswith(".z")

    def leaf_grads(t):
        return [n.grad for n in ag.topological_order(t) if not n.op and n.requires_grad]
    for c in copies:
        for g, h in zip(leaf_grads(y), leaf_grads(c)):
            np.testing.assert_array_equal(g, h)


def test_example_mode_neurons_match_pytorch_and_survive_copies():
    torch = pytest.importorskip("torch")
    W = np.array([[0.5, -1.0, 2.0], [1.0, 1.0, 1.0]])
    B = np.array([0.1, 0.2])
    w, b, xs = Value(W.copy()), Value(B.copy()), [Value(1.0), Value(2.0), Value(-1.0)]
    outs = F.neurons(w, b, xs)
    assert outs[0]._p1 is outs[1]._p1 and outs[0]._p0 is None
    loss = outs[0].tanh() + outs[1].tanh()
    twin = copy.deepcopy(loss)
    loss.backward()
    twin.backward()
    tw, tb = torch.tensor(W, requires_grad=True), torch.tensor(B, requires_grad=True)
    tx = torch.tensor([1.0, 2.0, -1.0], dtype=torch.float64, requires_grad=True)
    (tw @ tx + tb).tanh().sum().backward()
    np.testing.assert_allclose(w.grad, tw.grad.numpy())
    np.testing.assert_allclose(b.grad, tb.grad.numpy())
    np.testing.assert_allclose([x.grad for x in xs], tx.grad.numpy())
    leaves = [n for n in ag.topological_order(twin) if not n.op]
    np.testing.assert_allclose(leaves[0].grad, w.grad)


def test_value_pickled_before_the_details_record_with_three_inputs():
    X, W, B = _arrays()
    x, w, b = Value(X), Value(W), Value(B)
    v = Value.__new__(Value)
    v.__setstate__({"data": X @ W.T + B, "_grad": None, "label": "z", "op": "linear", "_p0": None, "_p1": None,
                    "_pn": (x, w, b), "_depth": 1, "attrs": {}, "requires_grad": True, "_extra": None})
    assert v.parents == (x, w, b)
    v.sum().backward()
    np.testing.assert_allclose(b.grad, [4.0, 4.0])


def test_anomaly_mode_on_three_input_nodes():
    X, W, B = _arrays()
    with detect_anomaly():
        x, w, b = Value(X), Value(W), Value(B)
        F.linear(x, w, b).sum().backward()
        np.testing.assert_allclose(b.grad, [4.0, 4.0])
        with pytest.raises(ag.AnomalyError, match="forward of linear"):
            F.linear(x, w, Value(np.array([np.nan, 0.0])))


def test_a_hook_on_one_layer_node_stays_off_the_others_sharing_its_record():
    import nn
    X = _arrays()[0]
    layer = nn.Layer(3, 2, seed=0)
    first, second = layer(Value(X, requires_grad=False)), layer(Value(X, requires_grad=False))
    z1, z2 = first.parents[0], second.parents[0]
    assert z1._details is z2._details  # (shared per layer name since this commit)
    calls = []
    z1.register_hook(lambda g: (calls.append(1), g * 0)[1])
    second.sum().backward()
    assert calls == [] and np.any(layer.weight.grad != 0)
    layer.weight.grad = None
    first.sum().backward()
    assert calls == [1] and not np.any(layer.weight.grad)


@pytest.mark.parametrize("needs", [0, 1, "many"])
def test_jit_nodes_with_zero_one_or_many_parents(needs):
    import nn
    X = _arrays()[0]
    m = nn.MLP(3, [4, 2], seed=0)
    if needs != "many":
        for p in m.parameters()[needs:]:
            p.requires_grad = False

    @jit
    def f(x):
        return (m(x) ** 2).sum()
    for _ in range(3):
        out = f(X)
    expected = sum(p.requires_grad for p in m.parameters())
    assert out.op == "jit" and len(out.parents) == expected and out._p0 is None
    assert ag.topological_order(out)[-1] is out
    twin = copy.deepcopy(out)
    assert len(twin.parents) == expected
    if expected:
        out.backward()
        got = [p.grad.copy() for p in m.parameters() if p.requires_grad]
        for p in m.parameters():
            p.grad = None
        (m(X) ** 2).sum().backward()
        for g, p in zip(got, [p for p in m.parameters() if p.requires_grad]):
            np.testing.assert_allclose(g, p.grad)


def test_backprop_player_and_drawing_of_a_linear_graph():
    from autograd.viz import draw, record
    X, W, B = _arrays()
    x, w, b = Value(X[:1], label="x"), Value(W, label="W"), Value(B, label="b")
    loss = F.linear(x, w, b).tanh().sum()
    draw(loss)
    rec = record(loss, forward=True)
    loss.backward()
    linear_step = [s for s in rec.steps if s.kind == "backward" and rec.nodes[s.node].op == "linear"][0]
    assert len(linear_step.parents) == 3
    for i, n in enumerate(rec.nodes):
        if not n.op:
            np.testing.assert_allclose(rec.final_grads[i], n.grad)
