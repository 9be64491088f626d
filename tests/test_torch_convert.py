"""to_torch for real use: converted modules pickle and load in a fresh process; custom forwards
convert through a recorded graph or are refused by name; DDP state dicts load back."""
from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest

import nn
from autograd.value import Value

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.oracle
REPO = __import__("pathlib").Path(__file__).resolve().parent.parent


def t(a):
    return torch.tensor(np.asarray(a), dtype=torch.float64)


class Net(nn.Module):
    """A custom module: two Linear layers, a skip sum, a constant and a softmax."""

    def __init__(self):
        super().__init__()
        self.l1, self.l2 = nn.Linear(3, 5, seed=0), nn.Linear(5, 2, seed=1)

    def forward(self, x):
        h = self.l1(x).tanh()
        return (self.l2(h) * 2.0 + h.sum(axis=1, keepdims=True)).softmax(axis=-1)


class FromNumpy(nn.Module):
    def __init__(self):
        super().__init__()
        self.l = nn.Linear(3, 2, seed=0)

    def forward(self, x):
        return self.l(x) * Value(np.tanh(x.data[:, :2]))   # leaves the graph


class Masked(nn.Module):
    def __init__(self):
        super().__init__()
        self.l = nn.Linear(3, 2, seed=0)

    def forward(self, x):
        y = self.l(x)
        from autograd.functional import where
        return where(y.data > 0, y, -y)                     # the mask is numpy, taken from the input




@pytest.mark.parametrize("make", [lambda: nn.MLP(3, [4, 2], seed=0), lambda: nn.Neuron(3, seed=0),
                                  lambda: nn.Sequential(nn.Linear(3, 4, seed=0), nn.ReLU(), nn.Layer(4, 2, seed=1)),
                                  lambda: Net()])
def test_converted_modules_pickle_and_load_in_a_fresh_process(make, tmp_path, rng):
    model = make()
    x = rng.normal(size=(5, 3))
    tmodel = nn.to_torch(model, example=x)
    again = pickle.loads(pickle.dumps(tmodel))
    np.testing.assert_allclose(again(t(x)).detach().numpy(), model(x).data, rtol=1e-12, atol=1e-14)
    torch.save(tmodel, tmp_path / "model.pt")
    np.save(tmp_path / "x.npy", x)
    code = ("import sys, torch, numpy as np; m = torch.load(sys.argv[1], weights_only=False); "
            "np.save(sys.argv[2], m(torch.from_numpy(np.load(sys.argv[3]))).detach().numpy())")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "model.pt"), str(tmp_path / "y.npy"),
                           str(tmp_path / "x.npy")], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr[-2000:]
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), model(x).data, rtol=1e-12, atol=1e-14)


def test_custom_forward_converts_to_a_graph_module_with_the_same_keys_outputs_and_gradients(rng):
    net = Net()
    x = rng.normal(size=(4, 3))
    tnet = nn.to_torch(net, example=x)
    assert isinstance(tnet, torch.fx.GraphModule)
    assert list(tnet.state_dict()) == list(net.state_dict())
    other = rng.normal(size=(7, 3))   # another batch size: nothing in Net's forward fixes it
    np.testing.assert_allclose(tnet(t(other)).detach().numpy(), net(other).data, rtol=1e-12, atol=1e-14)
    g = rng.normal(size=(7, 2))
    net.zero_grad()
    (net(other) * Value(g)).sum().backward()
    (tnet(t(other)) * t(g)).sum().backward()
    grads = dict(tnet.named_parameters())
    for key, p in net.named_parameters():
        np.testing.assert_allclose(grads[key].grad.numpy(), p.grad, rtol=1e-10, atol=1e-14, err_msg=key)
    net.load_state_dict(tnet.state_dict())   # and back


def test_a_subclass_of_a_known_layer_with_its_own_forward_is_recorded_not_converted_as_the_parent(rng):
    class Doubled(nn.MLP):
        def forward(self, x):
            return super().forward(x) * 2.0

    model = Doubled(3, [4, 2], seed=0)
    x = rng.normal(size=(3, 3))
    np.testing.assert_allclose(nn.to_torch(model, example=x)(t(x)).detach().numpy(), model(x).data, rtol=1e-12)


@pytest.mark.parametrize("cls, words", [(FromNumpy, ["FromNumpy", "outside the graph", "'mul'"]),
                                        (Masked, ["Masked", "'where'", "cond"])])
def test_custom_forward_that_leaves_the_graph_is_refused_by_class_and_obstacle(cls, words, rng):
    with pytest.raises(nn.ConversionError) as info:
        nn.to_torch(cls(), example=rng.normal(size=(4, 3)))
    for word in words:
        assert word in str(info.value)


def test_custom_forward_without_example_is_recorded_on_a_batch_as_wide_as_its_first_layer(rng):
    net = Net()
    x = rng.normal(size=(5, 3))
    np.testing.assert_allclose(nn.to_torch(net)(t(x)).detach().numpy(), net(x).data, rtol=1e-12, atol=1e-14)
    with pytest.raises(nn.ConversionError, match=r"FromNumpy.*outside the graph"):
        nn.to_torch(FromNumpy())


def test_custom_forward_without_example_or_layer_says_to_pass_one():
    class Scale(nn.Module):
        def forward(self, x):
            return x * 2.0

    class Narrow(nn.Module):                     # its forward wants 2 columns more than its layer
        def __init__(self):
            super().__init__()
            self.l = nn.Linear(3, 1, seed=0)

        def forward(self, x):
            return self.l(x[:, 2:])

    with pytest.raises(nn.ConversionError, match=r"Scale has its own forward\(\).*pass example="):
        nn.to_torch(Scale())
    with pytest.raises(nn.ConversionError, match=r"Narrow has its own forward\(\).*\(3, 3\) did not fit.*example="):
        nn.to_torch(Narrow())
    x = np.random.default_rng(0).normal(size=(4, 5))
    np.testing.assert_allclose(nn.to_torch(Narrow(), example=x)(t(x)).detach().numpy(), Narrow()(x).data,
                               rtol=1e-12)


def test_ddp_state_dict_loads_back_directly_and_through_strip_ddp_prefix():
    model = nn.MLP(3, [4, 2], seed=0)
    state = {f"module.{k}": v + 1.0 for k, v in nn.to_torch(model).state_dict().items()}
    assert list(nn.strip_ddp_prefix(state)) == list(model.state_dict())
    for given in (state, nn.strip_ddp_prefix(state)):
        fresh = nn.MLP(3, [4, 2], seed=0)
        fresh.load_state_dict(given)
        for key, p in fresh.named_parameters():
            np.testing.assert_allclose(p.data, np.asarray(model.state_dict()[key]) + 1.0)


def test_converters_registered_with_converts_still_win():
    class Twice(nn.Module):
        def forward(self, x):
            return x * 2.0

    @nn.converts(Twice)
    def _(m, torch):
        return torch.nn.Identity()

    try:
        assert isinstance(nn.to_torch(Twice()), torch.nn.Identity)
    finally:
        from nn.torch_bridge import CONVERTERS
        CONVERTERS.pop(Twice)
