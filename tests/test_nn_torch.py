"""Against PyTorch (make oracle): to_torch both ways, losses, optimizers' first steps."""
import builtins

import numpy as np
import pytest

import nn
from autograd import Value

torch = pytest.importorskip("torch")
F = torch.nn.functional
pytestmark = pytest.mark.oracle


def t(a):
    return torch.tensor(np.asarray(a), dtype=torch.float64)


def grads_both_ways(model, tmodel, x, loss_np, loss_torch):
    """Parameter gradients of the same loss in tracegrad and torch, by parameter name."""
    model.zero_grad()
    loss_np(model(x)).backward()
    tmodel.zero_grad()
    loss_torch(tmodel(t(x))).backward()
    ours = {k: np.asarray(p.grad) for k, p in model.named_parameters()}
    theirs = {k: p.grad.numpy() for k, p in tmodel.named_parameters()}
    return ours, theirs


MODELS = {
    "mlp-relu": lambda: nn.MLP(3, [5, 4, 2], activation="relu", seed=0),
    "mlp-tanh-sigmoid-out": lambda: nn.MLP(3, [5, 2], activation="tanh", output_activation="sigmoid", seed=1),
    "sequential": lambda: nn.Sequential(nn.Linear(3, 4, seed=0), nn.Sigmoid(), nn.Linear(4, 2, bias=False, seed=1),
                                        nn.Tanh(), nn.Identity()),
    "layer": lambda: nn.Layer(3, 2, activation="relu", seed=0),
}


@pytest.mark.parametrize("name", MODELS)
def test_to_torch_gives_same_outputs_and_gradients(name, rng):
    model = MODELS[name]()
    tmodel = nn.to_torch(model)
    assert list(tmodel.state_dict()) == list(model.state_dict())
    x = rng.normal(size=(6, 3))
    np.testing.assert_allclose(tmodel(t(x)).detach().numpy(), model(x).data, rtol=1e-12, atol=1e-14)
    ours, theirs = grads_both_ways(model, tmodel, x, lambda o: (o * o).sum(), lambda o: (o * o).sum())
    for k in ours:
        np.testing.assert_allclose(ours[k], theirs[k], rtol=1e-10, atol=1e-14)


def test_neuron_converts(rng):
    neuron = nn.Neuron(3, activation="sigmoid", seed=0)
    neuron.bias.data = 0.3
    tn = nn.to_torch(neuron)
    x = rng.normal(size=(4, 3))
    np.testing.assert_allclose(tn(t(x)).detach().numpy(), neuron(x).data, rtol=1e-12)


def test_torch_state_dict_loads_back(rng):
    model = nn.MLP(3, [5, 2], seed=0)
    tmodel = nn.to_torch(model)
    with torch.no_grad():
        for p in tmodel.parameters():
            p.add_(1.0)
    model.load_state_dict(tmodel.state_dict())
    x = rng.normal(size=(2, 3))
    np.testing.assert_allclose(model(x).data, tmodel(t(x)).detach().numpy(), rtol=1e-12)
    hand_built = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    ours = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).load_state_dict(hand_built.state_dict())
    np.testing.assert_allclose(ours(x).data, hand_built.double()(t(x)).detach().numpy(), rtol=1e-6)
    with pytest.raises(nn.StateDictError, match=r"missing keys \['layers.0.weight'"):
        model.load_state_dict(hand_built.state_dict())


def test_rnn_cell_and_rnn_match_torch(rng):
    cell = nn.RNNCell(2, 3, seed=0)
    tcell = nn.to_torch(cell)
    x, h = rng.normal(size=(4, 2)), rng.normal(size=(4, 3))
    np.testing.assert_allclose(tcell(t(x), t(h)).detach().numpy(), cell(x, h).data, rtol=1e-12)
    for batch_first in (False, True):
        rnn = nn.RNN(2, 3, batch_first=batch_first, seed=1)
        trnn = nn.to_torch(rnn)
        xs = rng.normal(size=(5, 4, 2))
        out, h_last = rnn(xs)
        tout, th = trnn(t(xs))
        np.testing.assert_allclose(tout.detach().numpy(), out.data, rtol=1e-12)
        np.testing.assert_allclose(th.detach().numpy(), h_last.data, rtol=1e-12)
        rnn.zero_grad()
        (out * out).sum().backward()
        (tout * tout).sum().backward()
        for k, p in trnn.named_parameters():
            np.testing.assert_allclose(dict(rnn.named_parameters())[k].grad, p.grad.numpy(), rtol=1e-10)


def test_unsupported_modules_and_missing_torch_are_explained(monkeypatch):
    class Custom(nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(TypeError, match=r"to_torch: Custom has its own forward\(\).*example="):
        nn.to_torch(Custom())
    real_import = builtins.__import__

    def no_torch(name, *args, **kwargs):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("No module named 'torch'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    with pytest.raises(ImportError, match=r"pip install 'tracegrad\[torch\]'"):
        nn.to_torch(nn.Linear(2, 1))


def test_losses_match_torch_functional(rng):
    z, y = rng.normal(size=(6, 4)) * 3, rng.normal(size=(6, 4))
    bits, classes = rng.integers(0, 2, (6, 4)).astype(float), rng.integers(0, 4, 6)
    cases = [
        (nn.mse, F.mse_loss, y, t(y)),
        (nn.binary_cross_entropy_with_logits, F.binary_cross_entropy_with_logits, bits, t(bits)),
        (nn.cross_entropy, F.cross_entropy, classes, torch.tensor(classes)),
    ]
    for ours_fn, torch_fn, target, ttarget in cases:
        for reduction in ("mean", "sum"):
            x, tx = Value(z), t(z).requires_grad_()
            ours = ours_fn(x, target, reduction=reduction)
            theirs = torch_fn(tx, ttarget, reduction=reduction)
            ours.backward()
            theirs.backward()
            assert ours.item() == pytest.approx(theirs.item(), rel=1e-12)
            np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-10, atol=1e-15)
    s, signs = rng.normal(size=8), rng.choice([-1.0, 1.0], 8)
    expected = F.relu(1 - t(signs) * t(s)).mean().item()   # micrograd's hinge in torch terms
    assert nn.hinge(Value(s), signs).item() == pytest.approx(expected, rel=1e-12)


OPTIMIZERS = [
    (lambda ps: nn.SGD(ps, lr=0.1), lambda ps: torch.optim.SGD(ps, lr=0.1)),
    (lambda ps: nn.SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.01),
     lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.01)),
    (lambda ps: nn.Adam(ps, lr=0.01), lambda ps: torch.optim.Adam(ps, lr=0.01)),
    (lambda ps: nn.Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
     lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
]


@pytest.mark.parametrize("make_ours, make_theirs", OPTIMIZERS)
def test_optimizer_steps_match_torch(make_ours, make_theirs, rng):
    model = nn.MLP(3, [4, 2], activation="tanh", seed=0)
    tmodel = nn.to_torch(model)
    opt, topt = make_ours(model.parameters()), make_theirs(tmodel.parameters())
    schedule, tschedule = nn.StepLR(opt, 2, 0.5), torch.optim.lr_scheduler.StepLR(topt, 2, 0.5)
    for _ in range(5):
        x, target = rng.normal(size=(8, 3)), rng.integers(0, 2, 8)
        loss = nn.cross_entropy(model(x), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
        tloss = F.cross_entropy(tmodel(t(x)), torch.tensor(target))
        topt.zero_grad()
        tloss.backward()
        topt.step()
        tschedule.step()
        assert loss.item() == pytest.approx(tloss.item(), rel=1e-10)
        assert opt.lr == pytest.approx(tschedule.get_last_lr()[0])
    for k, v in tmodel.state_dict().items():
        np.testing.assert_allclose(model.state_dict()[k], v.numpy(), rtol=1e-9, atol=1e-12)


def test_cosine_schedule_matches_torch():
    opt = nn.SGD([Value(np.zeros(1))], lr=0.5)
    topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
    ours, theirs = nn.CosineLR(opt, 10, min_lr=0.01), torch.optim.lr_scheduler.CosineAnnealingLR(topt, 10, 0.01)
    for _ in range(10):
        topt.step()
        theirs.step()
        assert ours.step() == pytest.approx(theirs.get_last_lr()[0], rel=1e-9)
