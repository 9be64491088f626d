"""Optimizers, schedules and gradient clipping against torch.optim, step for step (float64).

Each optimizer runs 15 steps on the same parameters (arrays of several shapes and a Python-float
scalar) with gradients that depend on the current weights, so any difference in a rule would
grow; one parameter skips some steps (no gradient), as a loss that does not reach it.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import nn
from autograd import Value

torch = pytest.importorskip("torch", exc_type=ImportError)  # absent or broken install: skip
pytestmark = pytest.mark.oracle

TOL = dict(rtol=1e-10, atol=1e-12)
SHAPES = [(3, 4), (4,), ()]


def start(seed=0):
    r = np.random.default_rng(seed)
    return [r.normal(size=s) for s in SHAPES] + [float(r.normal())]  # the last one stays a Python float


def gradient(k, i, w):
    """Step k's gradient for parameter i at weights w: depends on w (a trajectory, not a replay of
    fixed numbers); parameter 1 gets none on steps 3 and 7."""
    if i == 1 and k in (3, 7):
        return None
    r = np.random.default_rng(100 * k + i)
    return np.sin(w) + 0.3 * w + r.normal(size=np.shape(w))


def give_grads(k, ours, theirs):
    for i, (p, t) in enumerate(zip(ours, theirs)):
        g = gradient(k, i, p.data)
        p.grad = None if g is None else (float(g) if type(p.data) is float else g)
        gt = gradient(k, i, t.detach().numpy())
        t.grad = None if gt is None else torch.tensor(np.asarray(gt, dtype=np.float64))


def pair(seed=0):
    arrays = start(seed)
    ours = [Value(a) for a in arrays]
    theirs = [torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    return ours, theirs


def same(ours, theirs, what=""):
    for i, (p, t) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(p.data, t.detach().numpy(), err_msg=f"{what} parameter #{i}", **TOL)
    assert type(ours[-1].data) is float


def groups_of(params, split):
    """params as given (split=None) or as two groups with options of their own."""
    if split is None:
        return params
    return [{"params": params[:2], **split[0]}, {"params": params[2:], **split[1]}]


def trajectories(name, kwargs, split=None, steps=15):
    ours, theirs = pair()
    opt = getattr(nn, name)(groups_of(ours, split), **kwargs)
    ref = getattr(torch.optim, name)(groups_of(theirs, split), **kwargs)
    for k in range(steps):
        give_grads(k, ours, theirs)
        opt.step()
        ref.step()
        same(ours, theirs, f"{name}({kwargs}) step {k + 1}:")
    return opt, ref, ours, theirs


CASES = {
    "SGD": [dict(lr=0.1), dict(lr=0.05, momentum=0.9), dict(lr=0.05, momentum=0.9, dampening=0.3),
            dict(lr=0.05, momentum=0.9, nesterov=True), dict(lr=0.1, weight_decay=0.1),
            dict(lr=0.05, momentum=0.8, weight_decay=0.01, nesterov=True), dict(lr=0.05, momentum=0.5, maximize=True),
            dict(lr=0.1, maximize=True), dict()],
    "Adam": [dict(), dict(lr=0.05), dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6), dict(lr=0.05, weight_decay=0.1),
             dict(lr=0.05, amsgrad=True), dict(lr=0.05, weight_decay=0.1, amsgrad=True, maximize=True),
             dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)],
    "AdamW": [dict(), dict(lr=0.05), dict(lr=0.05, weight_decay=0.3), dict(lr=0.05, amsgrad=True),
              dict(lr=0.05, betas=(0.5, 0.9), weight_decay=0.0, maximize=True)],
    "RMSprop": [dict(), dict(lr=0.01, alpha=0.9), dict(lr=0.01, centered=True), dict(lr=0.01, momentum=0.9),
                dict(lr=0.01, weight_decay=0.1), dict(lr=0.005, alpha=0.95, eps=1e-6, weight_decay=0.05,
                                                      momentum=0.5, centered=True, maximize=True)],
}


@pytest.mark.parametrize("name,kwargs", [(n, kw) for n, cases in CASES.items() for kw in cases],
                         ids=[f"{n}-{i}" for n, cases in CASES.items() for i in range(len(cases))])
def test_parameter_trajectories_match_torch_over_15_steps(name, kwargs):
    opt, ref, ours, _ = trajectories(name, kwargs)
    assert set(opt.state_dict()["state"]) == set(ref.state_dict()["state"])  # the same parameters have buffers


@pytest.mark.parametrize("name,split", [
    ("SGD", ({"lr": 0.1, "momentum": 0.9}, {"nesterov": True, "momentum": 0.5})),
    ("Adam", ({"lr": 0.01, "amsgrad": True}, {"betas": (0.5, 0.9), "weight_decay": 0.1})),
    ("RMSprop", ({"centered": True}, {"momentum": 0.9, "lr": 0.002})),
])
def test_parameter_groups_with_their_own_options_match_torch(name, split):
    trajectories(name, {"lr": 0.03}, split)


def test_changing_a_groups_lr_takes_effect_as_in_torch():
    ours, theirs = pair()
    opt = nn.SGD(groups_of(ours, ({}, {"lr": 0.2})), lr=0.1, momentum=0.9)
    ref = torch.optim.SGD(groups_of(theirs, ({}, {"lr": 0.2})), lr=0.1, momentum=0.9)
    for k in range(10):
        if k == 4:
            opt.param_groups[1]["lr"] = ref.param_groups[1]["lr"] = 0.01
            opt.param_groups[0]["momentum"] = ref.param_groups[0]["momentum"] = 0.5
        give_grads(k, ours, theirs)
        opt.step()
        ref.step()
        same(ours, theirs, f"step {k + 1}:")


@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
                                         ("Adam", dict(lr=0.05, amsgrad=True)),
                                         ("AdamW", dict(lr=0.05)),
                                         ("RMSprop", dict(momentum=0.5, centered=True))])
def test_state_dict_round_trip_continues_as_if_uninterrupted(name, kwargs):
    ours, theirs = pair()
    opt = getattr(nn, name)(ours, **kwargs)
    ref = getattr(torch.optim, name)(theirs, **kwargs)
    for k in range(15):
        if k == 7:  # save; go on with copies of the weights and a fresh optimizer that loads the save
            saved = opt.state_dict()
            for p in ours:   # the old optimizer steps once more: the save is a copy, it must not move
                p.grad = 1.0 if type(p.data) is float else np.ones(p.shape)
            opt.step()
            for p, t in zip(ours, theirs):
                p.data = float(t.item()) if type(p.data) is float else t.detach().numpy().copy()
            opt = getattr(nn, name)(ours, **{**kwargs, "lr": 123.0})
            opt.load_state_dict(saved)
            assert opt.lr == kwargs.get("lr", opt.defaults["lr"] if name != "RMSprop" else 1e-2) != 123.0
        give_grads(k, ours, theirs)
        opt.step()
        ref.step()
        same(ours, theirs, f"{name} step {k + 1} (loaded at 7):")


def test_state_dict_has_torchs_layout_and_loads_torchs_own():
    ours, theirs = pair()
    opt = nn.Adam(groups_of(ours, ({"lr": 0.01}, {"amsgrad": True})), lr=0.02)
    ref = torch.optim.Adam(groups_of(theirs, ({"lr": 0.01}, {"amsgrad": True})), lr=0.02)
    for k in range(5):
        give_grads(k, ours, theirs)
        opt.step()
        ref.step()
    mine, torchs = opt.state_dict(), ref.state_dict()
    assert [g["params"] for g in mine["param_groups"]] == [g["params"] for g in torchs["param_groups"]] == [[0, 1],
                                                                                                          [2, 3]]
    for g, t in zip(mine["param_groups"], torchs["param_groups"]):
        assert set(g) == set(t) and all(g[k] == t[k] for k in g if k not in ("params",))
    assert mine["state"].keys() == torchs["state"].keys()
    for i, buffers in torchs["state"].items():
        assert set(mine["state"][i]) == set(buffers)
        assert mine["state"][i]["step"] == buffers["step"].item()
        np.testing.assert_allclose(mine["state"][i]["exp_avg_sq"], buffers["exp_avg_sq"].numpy(), **TOL)
    # torch's own state dict (tensors) loads into a fresh optimizer of ours, which then keeps pace with torch
    fresh = nn.Adam(groups_of(ours, ({}, {})), lr=0.5)
    fresh.load_state_dict(torchs)
    assert [g["lr"] for g in fresh.param_groups] == [0.01, 0.02]
    for k in range(5, 15):
        give_grads(k, ours, theirs)
        fresh.step()
        ref.step()
        same(ours, theirs, f"step {k + 1} after loading torch's state:")


def test_defaults_and_option_names_are_torchs():
    w = [Value(np.zeros(2))]
    t = [torch.zeros(2, requires_grad=True)]
    for name in ("SGD", "Adam", "AdamW", "RMSprop"):
        ours, theirs = getattr(nn, name)(w), getattr(torch.optim, name)(t)
        assert set(ours.defaults) == set(theirs.defaults), name
        assert {k: v for k, v in ours.defaults.items()} == {k: theirs.defaults[k] for k in ours.defaults}, name


# ---- schedules -----------------------------------------------------------------------------------

SCHEDULES = {
    "StepLR": dict(step_size=4, gamma=0.5),
    "MultiStepLR": dict(milestones=[3, 7, 7, 12], gamma=0.3),
    "ExponentialLR": dict(gamma=0.9),
    "CosineAnnealingLR": dict(T_max=10, eta_min=0.01),
    "LinearLR": dict(start_factor=0.2, end_factor=0.9, total_iters=8),
    "ConstantLR": dict(factor=0.5, total_iters=4),
    "PolynomialLR": dict(total_iters=12, power=2.0),
    "LambdaLR": dict(lr_lambda=lambda k: 1.0 / (1 + k)),
    "MultiplicativeLR": dict(lr_lambda=lambda k: 0.95),
    "OneCycleLR": dict(max_lr=0.5, total_steps=30),
    "OneCycleLR-3phase": dict(max_lr=[0.5, 0.2], total_steps=30, three_phase=True, anneal_strategy="linear"),
}


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
@pytest.mark.parametrize("name", SCHEDULES)
def test_schedule_lr_sequences_match_torch(name, optimizer):
    kwargs = {"momentum": 0.9} if optimizer == "SGD" else {}
    ours = getattr(nn, optimizer)([{"params": [Value(np.zeros(2))]}, {"params": [Value(1.0)], "lr": 0.3}],
                                  lr=0.1, **kwargs)
    theirs = getattr(torch.optim, optimizer)([{"params": [torch.zeros(2, requires_grad=True)]},
                                              {"params": [torch.ones((), requires_grad=True)], "lr": 0.3}],
                                             lr=0.1, **kwargs)
    cls = name.split("-")[0]
    s, t = getattr(nn, cls)(ours, **SCHEDULES[name]), getattr(torch.optim.lr_scheduler, cls)(theirs, **SCHEDULES[name])
    for k in range(30 if cls == "OneCycleLR" else 25):
        np.testing.assert_allclose(s.get_last_lr(), t.get_last_lr(), rtol=1e-12, err_msg=f"{name} epoch {k}")
        np.testing.assert_allclose([g["lr"] for g in ours.param_groups], t.get_last_lr(), rtol=1e-12)
        first = (lambda g: g["momentum"]) if optimizer == "SGD" else (lambda g: g["betas"][0])  # OneCycleLR's cycle
        assert [first(g) for g in ours.param_groups] == pytest.approx([first(g) for g in theirs.param_groups], rel=1e-12)
        theirs.step()
        ours.step()
        s.step()
        t.step()


def test_two_schedules_on_one_optimizer_compose_as_in_torch():
    ours = nn.SGD([Value(np.zeros(2))], lr=1.0)
    theirs = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=1.0)
    mine = [nn.LinearLR(ours, 0.1, total_iters=5), nn.ExponentialLR(ours, 0.9)]
    ref = [torch.optim.lr_scheduler.LinearLR(theirs, 0.1, total_iters=5),
           torch.optim.lr_scheduler.ExponentialLR(theirs, 0.9)]
    for _ in range(12):
        theirs.step()
        for a, b in zip(mine, ref):
            a.step()
            b.step()
        assert ours.lr == pytest.approx(theirs.param_groups[0]["lr"], rel=1e-12)


def test_schedule_state_dict_resumes():
    opt = nn.SGD([Value(np.zeros(1))], lr=1.0)
    s = nn.CosineAnnealingLR(opt, T_max=10)
    for _ in range(4):
        s.step()
    saved, lr = s.state_dict(), opt.lr
    assert "optimizer" not in saved and saved["last_epoch"] == 4
    opt2 = nn.SGD([Value(np.zeros(1))], lr=1.0)
    s2 = nn.CosineAnnealingLR(opt2, T_max=10)
    s2.load_state_dict(saved)
    opt2.lr = lr
    for _ in range(3):
        s.step()
        s2.step()
    assert s2.get_last_lr() == s.get_last_lr() == [pytest.approx(0.5 * (1 + math.cos(math.pi * 7 / 10)))]


# ---- gradient clipping --------------------------------------------------------------------------

@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ours, theirs = pair()
    give_grads(0, ours, theirs)
    ours[0].grad = None
    theirs[0].grad = None    # a parameter without a gradient is skipped
    total = nn.clip_grad_norm_(ours, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert total == pytest.approx(expected.item(), rel=1e-12)
    assert ours[0]._grad is None and theirs[0].grad is None
    for p, t in zip(ours[1:], theirs[1:]):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), **TOL)
    after = np.linalg.norm(np.concatenate([np.ravel(p.grad) for p in ours[1:]]), norm_type)
    assert after == pytest.approx(min(max_norm, total), rel=1e-5)  # clipped to max_norm, or left alone


def test_clip_grad_value_matches_torch():
    ours, theirs = pair()
    give_grads(1, ours, theirs)
    nn.clip_grad_value_(ours, 0.4)
    torch.nn.utils.clip_grad_value_(theirs, 0.4)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), **TOL)
    assert type(ours[-1].grad) is not np.ndarray or ours[-1].grad.ndim == 0


def test_clip_grad_norm_on_a_module_and_nonfinite_norms():
    model = nn.MLP(3, [4, 2], seed=0)
    model(np.ones((5, 3))).sum().backward()
    before = np.sqrt(sum(np.sum(p.grad ** 2) for p in model.parameters()))
    assert nn.clip_grad_norm_(model.parameters(), 0.1) == pytest.approx(before)
    after = np.sqrt(sum(np.sum(p.grad ** 2) for p in model.parameters()))
    assert after == pytest.approx(0.1, rel=1e-5)
    model.parameters()[0].grad[0, 0] = np.nan
    with pytest.raises(RuntimeError, match="not finite"):
        nn.clip_grad_norm_(model.parameters(), 1.0, error_if_nonfinite=True)
