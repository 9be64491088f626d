"""Module machinery: state dicts, zero_grad, train/eval, dtype conversion, repr."""
import numpy as np
import pytest

import nn
from autograd import Value


def snapshot(model):
    return {k: v.copy() for k, v in model.state_dict().items()}


def assert_same_state(a, b):
    assert list(a) == list(b)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_state_dict_round_trip_into_a_fresh_model():
    src = nn.MLP(3, [5, 2], seed=0)
    dst = nn.MLP(3, [5, 2], seed=1)
    state = src.state_dict()
    assert list(state) == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
    assert dst.load_state_dict(state) is dst
    assert_same_state(dst.state_dict(), state)
    X = np.random.default_rng(0).normal(size=(4, 3))
    np.testing.assert_array_equal(dst(X).data, src(X).data)


def test_state_dict_is_a_copy():
    model = nn.Linear(2, 2, seed=0)
    state = model.state_dict()
    state["weight"][:] = 99.0
    assert not np.any(model.weight.data == 99.0)


def test_load_state_dict_copies_in_place_and_keeps_parameter_identity():
    model = nn.Linear(2, 2, seed=0)
    w = model.weight
    array_before = w.data
    model.load_state_dict({"weight": np.ones((2, 2)), "bias": [1.0, 2.0]})
    assert model.weight is w and w.data is array_before
    np.testing.assert_array_equal(w.data, np.ones((2, 2)))
    np.testing.assert_array_equal(model.bias.data, [1.0, 2.0])


def test_scalar_parameters_round_trip():
    neuron = nn.Neuron(2, seed=0)
    neuron.bias.data = 0.75
    state = neuron.state_dict()
    assert state["bias"].shape == ()
    other = nn.Neuron(2, seed=1).load_state_dict(state)
    assert type(other.bias.data) is float and other.bias.data == 0.75


def test_a_failed_load_reports_every_problem_and_changes_nothing():
    model = nn.MLP(2, [3, 1], seed=0)
    before = snapshot(model)
    bad = model.state_dict()
    bad["layers.0.weight"] = np.zeros((3, 2))            # fine on its own, must not be applied
    bad["layers.1.weight"] = np.zeros((1, 4))            # wrong shape
    del bad["layers.1.bias"]                             # missing
    bad["layers.2.weight"] = np.zeros((1, 1))            # unexpected
    with pytest.raises(nn.StateDictError) as e:
        model.load_state_dict(bad)
    msg = str(e.value)
    assert "missing keys ['layers.1.bias']" in msg
    assert "unexpected keys ['layers.2.weight']" in msg
    assert "layers.1.weight: expected shape (1, 3), got (1, 4)" in msg
    assert "nothing was loaded" in msg
    assert_same_state(model.state_dict(), before)


def test_non_strict_load_skips_missing_and_unexpected_but_not_bad_shapes():
    model = nn.MLP(2, [3, 1], seed=0)
    model.load_state_dict({"layers.0.bias": np.ones(3), "extra": np.zeros(1)}, strict=False)
    np.testing.assert_array_equal(model.layers[0].bias.data, np.ones(3))
    with pytest.raises(nn.StateDictError, match="shape mismatches"):
        model.load_state_dict({"layers.0.bias": np.ones(4)}, strict=False)


def test_load_state_dict_refuses_non_numeric_entries():
    model = nn.Linear(2, 1, seed=0)
    with pytest.raises(nn.StateDictError, match="entry 'bias' has dtype"):
        model.load_state_dict({"weight": np.zeros((1, 2)), "bias": np.array(["x"])})


def test_zero_grad_forgets_gradients():
    model = nn.MLP(2, [3, 1], seed=0)
    model(np.ones((4, 2))).sum().backward()
    assert any(np.any(p.grad != 0) for p in model.parameters())
    model.zero_grad()
    assert all(np.all(p.grad == 0) for p in model.parameters())
    model(np.ones((4, 2))).sum().backward()
    first = [p.grad.copy() for p in model.parameters()]
    model.zero_grad()
    model(np.ones((4, 2))).sum().backward()
    for a, p in zip(first, model.parameters()):
        np.testing.assert_array_equal(a, p.grad)  # no accumulation across zero_grad


def test_train_and_eval_set_the_flag_everywhere():
    model = nn.Sequential(nn.Linear(2, 2), nn.Tanh())
    assert model.training and model[0].training
    assert model.eval() is model
    assert not model.training and not model[0].training and not model[1].training
    model.train()
    assert model[1].training


def test_to_float32_converts_parameters_and_computes_in_float32():
    model = nn.MLP(3, [4, 2], seed=0).to(np.float32)
    assert all(p.dtype == np.float32 for p in model.parameters())
    out = model(np.ones((2, 3), dtype=np.float32))
    assert out.dtype == np.float32
    neuron = nn.Neuron(2, seed=0).to(np.float32)
    assert neuron.bias.dtype == np.float32
    assert type(neuron.to(np.float64).bias.data) is float
    with pytest.raises(TypeError, match="floating point"):
        model.to(np.int32)


def test_repr_is_nested_with_parameter_counts():
    text = repr(nn.MLP(2, [16, 1], activation="relu"))
    assert text.splitlines() == [
        "MLP(",
        "  (layers): ModuleList(",
        "    (0): Layer(in_features=2, out_features=16, activation='relu')  # 48 params",
        "    (1): Layer(in_features=16, out_features=1, activation='linear')  # 17 params",
        "  )",
        ")  # 65 params",
    ]
    assert repr(nn.Tanh()) == "Tanh()"
    assert repr(nn.Linear(3, 2)) == "Linear(in_features=3, out_features=2, bias=True)  # 8 params"
    assert repr(nn.RNN(1, 4)) == "RNN(1, 4)  # 28 params"


def test_custom_module_registers_values_and_submodules_in_order():
    class Affine(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = Value(2.0)
            self.inner = nn.Linear(1, 1, seed=0)
            self.shift = Value(np.zeros(1))
            self.constant = Value(3.0, requires_grad=False)   # not a parameter

        def forward(self, x):
            return self.inner(x) * self.scale + self.shift

    m = Affine()
    assert [n for n, _ in m.named_parameters()] == ["scale", "shift", "inner.weight", "inner.bias"]
    m.shift = None   # reassigning removes the parameter
    assert [n for n, _ in m.named_parameters()] == ["scale", "inner.weight", "inner.bias"]
    assert m.children() == [m.inner]


def test_a_plain_list_of_modules_is_refused_with_the_fix():
    class Stack(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = [nn.Linear(2, 2), nn.Linear(2, 2)]

    with pytest.raises(TypeError, match=r"Stack.layers: a plain list hides .* use ModuleList"):
        Stack()


def test_forgetting_super_init_is_explained():
    class Broken(nn.Module):
        def __init__(self):
            self.w = Value(1.0)

    with pytest.raises(RuntimeError, match=r"must call super\(\).__init__\(\)"):
        Broken()


def test_module_without_forward_and_modulelist_call_are_explained():
    with pytest.raises(NotImplementedError, match="Module must define forward"):
        nn.Module()(1.0)
    with pytest.raises(TypeError, match="container"):
        nn.ModuleList([nn.Tanh()])(1.0)
