"""Neurons, layers, MLPs: example mode vs batch mode, parameters, initialisation, errors."""
import numpy as np
import pytest

import nn
from autograd import ShapeError, Value, topological_order

ACTS = ["tanh", "sigmoid", "relu", "linear"]


def batch_grads(model, X):
    """Parameter gradients of Σ out² over the batch, computed in batch mode."""
    model.zero_grad()
    out = model(X)
    (out * out).sum().backward()
    return out.data, [np.array(p.grad) for p in model.parameters()]


def example_grads(model, X):
    """The same, one example at a time through the per-neuron graph."""
    model.zero_grad()
    outs, total = [], None
    for row in X:
        o = model(list(row))
        o = o if isinstance(o, list) else [o]
        outs.append([v.data for v in o])
        s = sum((v * v for v in o[1:]), o[0] * o[0])
        total = s if total is None else total + s
    total.backward()
    return np.array(outs), [np.array(p.grad) for p in model.parameters()]


@pytest.mark.parametrize("act", ACTS)
def test_example_and_batch_modes_give_same_outputs_and_gradients(act):
    # float64 all the way: a bias gradient off by ~1e-8 here means a float32 buffer
    # somewhere on the per-neuron path (the neuron op scatters g into the bias vector).
    X = np.random.default_rng(0).normal(size=(5, 3))
    model = nn.MLP(3, [4, 4, 2], activation=act, output_activation=act, seed=1)
    out_b, g_b = batch_grads(model, X)
    out_e, g_e = example_grads(model, X)
    np.testing.assert_allclose(out_e, out_b, rtol=1e-12, atol=1e-12)
    for ge, gb in zip(g_e, g_b):
        np.testing.assert_allclose(ge, gb, rtol=1e-10, atol=1e-12)


def test_single_output_network_returns_a_scalar_value_per_example():
    model = nn.MLP(2, [3, 1], seed=0)
    out = model([0.5, -1.0])
    assert isinstance(out, Value) and out.shape == ()
    batch = model(np.array([[0.5, -1.0]]))
    assert batch.shape == (1, 1)
    assert out.data == pytest.approx(batch.data[0, 0], abs=1e-12)


def test_one_example_as_a_1d_array_is_a_batch_of_one():
    model = nn.MLP(3, [4, 2], seed=0)
    x = np.array([0.1, 0.2, 0.3])
    assert model(x).shape == (2,)
    np.testing.assert_allclose(model(x).data, model(x[None]).data[0])


def test_example_mode_draws_one_node_per_neuron_with_article_labels():
    model = nn.MLP(3, [4, 2], activation="tanh", seed=0)
    xs = [Value(1.0, label="x0"), Value(2.0, label="x1"), Value(-1.0, label="x2")]
    outs = model(xs)
    nodes = topological_order(outs)
    neurons = [n for n in nodes if n.op == "neuron"]
    assert [n.label for n in neurons] == [f"L0.n{j}" for j in range(4)] + ["L1.n0", "L1.n1"]
    assert [o.label for o in outs] == ["L1.n0", "L1.n1"]  # linear output: the sum node is the output
    assert {n.op for n in nodes} == {"", "neuron", "tanh"}  # no add/mul nodes: one node per neuron
    tanhs = [n.label for n in nodes if n.op == "tanh"]
    assert tanhs == [f"L0.n{j}.out" for j in range(4)]
    leaves = {n.label for n in nodes if n.is_leaf}
    assert leaves == {"x0", "x1", "x2", "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"}


def test_neuron_matches_its_formula_in_both_modes():
    n = nn.Neuron(3, activation="sigmoid", seed=0)
    assert (n.weight.label, n.bias.label) == ("w", "b")
    assert n.weight.shape == (3,) and type(n.bias.data) is float
    n.bias.data = 0.25
    x = np.array([0.5, -1.0, 2.0])
    expected = 1 / (1 + np.exp(-(n.weight.data @ x + 0.25)))
    y = n(list(x))
    assert y.data == pytest.approx(expected) and y.label == "n.out" and y.parents[0].op == "neuron"
    np.testing.assert_allclose(n(x[None]).data, [expected])
    y.backward()
    gb = expected * (1 - expected)
    np.testing.assert_allclose(n.weight.grad, gb * x)
    assert n.bias.grad == pytest.approx(gb)


def test_layer_without_bias_and_linear_equals_torch_linear_formula():
    layer = nn.Linear(3, 2, bias=False, seed=0)
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    X = np.random.default_rng(1).normal(size=(4, 3))
    np.testing.assert_allclose(layer(X).data, X @ layer.weight.data.T)
    np.testing.assert_allclose([v.data for v in layer(list(X[0]))], X[0] @ layer.weight.data.T)
    lin = nn.Linear(3, 2, seed=0)
    lin.bias.data[:] = [1.0, -1.0]
    np.testing.assert_allclose(lin(X).data, X @ lin.weight.data.T + [1.0, -1.0])


def test_parameters_come_in_computation_order_each_once_with_torch_names():
    model = nn.MLP(2, [16, 16, 1], activation="relu", seed=0)
    names = [name for name, _ in model.named_parameters()]
    assert names == [f"layers.{i}.{k}" for i in range(3) for k in ("weight", "bias")]
    shapes = [p.shape for p in model.parameters()]
    assert shapes == [(16, 2), (16,), (16, 16), (16,), (1, 16), (1,)]
    assert [p.label for p in model.parameters()] == names
    assert model.num_parameters() == 2 * 16 + 16 + 16 * 16 + 16 + 16 + 1


def test_a_shared_layer_counts_once():
    shared = nn.Linear(3, 3, seed=0)
    net = nn.Sequential(shared, nn.Tanh(), shared)
    assert len(net.parameters()) == 2
    assert len({id(p) for p in net.parameters()}) == 2
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias"]


def test_nested_modules_label_parameters_with_their_full_names():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(2, 3, seed=0), nn.ReLU())
            self.head = nn.Linear(3, 1, seed=1)

        def forward(self, x):
            return self.head(self.body(x))

    net = Net()
    assert [p.label for p in net.parameters()] == ["body.0.weight", "body.0.bias", "head.weight", "head.bias"]
    assert net(np.ones((2, 2))).shape == (2, 1)


def test_initialisation_is_reproducible_and_suits_the_activation():
    a = nn.MLP(4, [8, 1], seed=3).state_dict()
    b = nn.MLP(4, [8, 1], seed=3).state_dict()
    c = nn.MLP(4, [8, 1], seed=4).state_dict()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["layers.0.weight"], c["layers.0.weight"])
    assert np.all(a["layers.0.bias"] == 0)
    he = nn.Layer(400, 300, activation="relu", seed=0).weight.data
    xavier = nn.Layer(400, 300, activation="tanh", seed=0).weight.data
    assert he.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    assert xavier.std() == pytest.approx(np.sqrt(2 / 700), rel=0.02)
    assert abs(he.mean()) < 0.01


def test_activation_functions_and_modules():
    x = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_allclose(nn.tanh(x).data, np.tanh(x))
    np.testing.assert_allclose(nn.sigmoid(x).data, 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(nn.relu(x).data, [0.0, 0.0, 3.0])
    assert nn.identity(x) is x
    vals = [Value(-1.0), Value(2.0)]
    assert [v.data for v in nn.ReLU()(vals)] == [0.0, 2.0]
    np.testing.assert_allclose(nn.Tanh()(Value(x)).data, np.tanh(x))
    np.testing.assert_allclose(nn.Sigmoid()(x).data, 1 / (1 + np.exp(-x)))
    assert nn.Identity()(vals) is vals


def test_unknown_activation_lists_the_known_ones():
    for make in (lambda: nn.Layer(2, 3, activation="softplus"), lambda: nn.MLP(2, [3, 1], activation="softplus"),
                 lambda: nn.Neuron(2, activation="softplus"), lambda: nn.get_activation("softplus")):
        with pytest.raises(ValueError) as e:
            make()
        msg = str(e.value)
        assert "'softplus'" in msg and all(repr(k) in msg for k in ("tanh", "sigmoid", "relu", "linear"))


def test_wrong_input_width_names_the_layer_and_shapes():
    model = nn.MLP(3, [4, 2], seed=0)
    with pytest.raises(ShapeError, match=r"Layer 'L0' \(3 -> 4\).*\(batch, 3\).*\(4, 3\).*\(5, 2\)"):
        model(np.zeros((5, 2)))
    with pytest.raises(ShapeError, match=r"Layer 'L0' \(3 -> 4\): expects 3 inputs for one example, got 2"):
        model([1.0, 2.0])
    with pytest.raises(ShapeError, match=r"Layer 'L1' \(4 -> 2\).*got shape \(5, 3\)"):
        model.layers[1](np.zeros((5, 3)))
    with pytest.raises(ShapeError, match=r"Neuron 'n': expects 3 inputs, got 1"):
        nn.Neuron(3)([1.0])
    with pytest.raises(ShapeError, match=r"\(\.\.\., 3\).*got shape \(2, 2, 2\)"):
        model(np.zeros((2, 2, 2)))
    with pytest.raises(ShapeError, match=r"got shape \(\)"):
        model(np.zeros(()))


def test_leading_batch_axes_work_like_torch():
    """(..., in) inputs, as torch.nn.Linear takes them: the same numbers and gradients as the rows one by one."""
    model = nn.MLP(3, [4, 2], seed=0)
    x = np.random.default_rng(0).normal(size=(2, 5, 3))
    out = model(x)
    assert out.shape == (2, 5, 2)
    np.testing.assert_allclose(out.data.reshape(10, 2), model(x.reshape(10, 3)).data, atol=1e-12)
    out.sum().backward()
    grads = [p.grad.copy() for p in model.parameters()]
    model.zero_grad()
    model(x.reshape(10, 3)).sum().backward()
    for g, p in zip(grads, model.parameters()):
        np.testing.assert_allclose(g, p.grad, atol=1e-12)


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="sizes must be positive"):
        nn.Layer(0, 3)
    with pytest.raises(ValueError, match="at least one layer size"):
        nn.MLP(2, [])


def test_sequential_chains_in_both_modes_and_indexes():
    net = nn.Sequential(nn.Linear(2, 3, seed=0), nn.Tanh(), nn.Linear(3, 1, seed=1))
    assert len(net) == 3 and isinstance(net[1], nn.Tanh) and net[-1] is net[2]
    x = np.array([[0.3, -0.7]])
    assert net([0.3, -0.7]).data == pytest.approx(net(x).data[0, 0])
    with pytest.raises(IndexError):
        net[3]
    with pytest.raises(TypeError, match="ModuleList holds Modules"):
        nn.ModuleList([nn.Tanh(), 3])


def test_example_mode_numbers_become_shared_input_leaves():
    model = nn.MLP(2, [3, 1], seed=0)
    out = model([0.5, -1.0])
    inputs = [n for n in topological_order(out) if n.is_leaf and not n.requires_grad]
    assert [(n.label, n.data) for n in inputs] == [("x0", 0.5), ("x1", -1.0)]
