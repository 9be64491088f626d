"""Optimizers against hand-computed updates; learning-rate schedules; bad arguments."""
import math

import numpy as np
import pytest

import nn
from autograd import Value, is_grad_enabled


def with_grad(p, g):
    p.grad = np.array(g, dtype=float) if p.ndim else float(g)
    return p


def test_sgd_plain_step():
    w = Value(np.array([1.0, -2.0]))
    opt = nn.SGD([w], lr=0.1)
    with_grad(w, [0.5, 1.0])
    opt.step()
    np.testing.assert_allclose(w.data, [1.0 - 0.05, -2.0 - 0.1])


def test_sgd_momentum_and_weight_decay_by_hand():
    w = Value(np.array([1.0]))
    opt = nn.SGD([w], lr=0.1, momentum=0.9, weight_decay=0.01)
    # step 1: g = 2 + 0.01·1 = 2.01, v = g, w = 1 - 0.201 = 0.799
    with_grad(w, [2.0])
    opt.step()
    np.testing.assert_allclose(w.data, [0.799])
    # step 2: g = 2 + 0.01·0.799 = 2.00799, v = 0.9·2.01 + 2.00799 = 3.81699, w = 0.799 - 0.381699
    with_grad(w, [2.0])
    opt.step()
    np.testing.assert_allclose(w.data, [0.799 - 0.381699])


def test_sgd_momentum_buffer_does_not_alias_the_gradient():
    w = Value(np.array([0.0]))
    opt = nn.SGD([w], lr=1.0, momentum=0.5)
    with_grad(w, [1.0])
    opt.step()
    w.grad[:] = 100.0  # mutating the old gradient must not change the buffer
    with_grad(w, [1.0])
    opt.step()
    np.testing.assert_allclose(w.data, [-1.0 - 1.5])


def test_adam_first_two_steps_by_hand():
    w = Value(np.array([1.0, -1.0]))
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    opt = nn.Adam([w], lr=lr, betas=(b1, b2), eps=eps)
    g1, g2 = np.array([0.5, -2.0]), np.array([0.1, 1.0])
    with_grad(w, g1)
    opt.step()
    # step 1: m̂ = g, v̂ = g², update = lr·g/(|g| + eps) ≈ lr·sign(g)
    expected = np.array([1.0, -1.0]) - lr * g1 / (np.abs(g1) + eps)
    np.testing.assert_allclose(w.data, expected)
    with_grad(w, g2)
    opt.step()
    m = b1 * (1 - b1) * g1 + (1 - b1) * g2
    v = b2 * (1 - b2) * g1 ** 2 + (1 - b2) * g2 ** 2
    expected -= lr * (m / (1 - b1 ** 2)) / (np.sqrt(v / (1 - b2 ** 2)) + eps)
    np.testing.assert_allclose(w.data, expected, rtol=1e-12)


def test_adam_weight_decay_adds_to_the_gradient():
    a, b = Value(np.array([2.0])), Value(np.array([2.0]))
    opt_a = nn.Adam([a], lr=0.1, weight_decay=0.5)
    opt_b = nn.Adam([b], lr=0.1)
    with_grad(a, [1.0])
    with_grad(b, [1.0 + 0.5 * 2.0])
    opt_a.step()
    opt_b.step()
    np.testing.assert_allclose(a.data, b.data)


@pytest.mark.parametrize("make", [lambda ps: nn.SGD(ps, lr=0.1, momentum=0.9), lambda ps: nn.Adam(ps, lr=0.1)])
def test_scalar_parameters_are_updated_and_stay_python_floats(make):
    neuron = nn.Neuron(2, seed=0)
    opt = make(neuron.parameters())
    loss = (neuron([1.0, 2.0]) - 3.0) ** 2
    opt.zero_grad()
    loss.backward()
    before = neuron.bias.data
    opt.step()
    assert type(neuron.bias.data) is float and neuron.bias.data != before


def test_updates_keep_the_parameter_arrays_and_record_nothing():
    model = nn.MLP(2, [3, 1], seed=0)
    arrays = [p.data for p in model.parameters()]
    opt = nn.SGD(model.parameters(), lr=0.1)
    model(np.ones((2, 2))).sum().backward()
    opt.step()
    assert all(p.data is a for p, a in zip(model.parameters(), arrays))
    assert all(p.is_leaf and p.op == "" for p in model.parameters())
    assert is_grad_enabled()


def test_zero_grad_and_float32_parameters():
    model = nn.Linear(2, 2, seed=0).to(np.float32)
    opt = nn.Adam(model, lr=0.1)     # a Module is accepted for its parameters
    model(np.ones((1, 2), np.float32)).sum().backward()
    opt.step()
    assert all(p.dtype == np.float32 for p in model.parameters())
    opt.zero_grad()
    assert all(np.all(p.grad == 0) for p in model.parameters())


def test_optimizer_lists_each_parameter_once_and_refuses_bad_input():
    w = Value(np.zeros(2))
    assert len(nn.SGD([w, w], lr=0.1).params) == 1
    with pytest.raises(ValueError, match="empty parameter list"):
        nn.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="learning rate must be positive"):
        nn.SGD([w], lr=0.0)
    with pytest.raises(TypeError, match=r"parameter #0 is a ndarray, not a Value"):
        nn.Adam([np.zeros(2)])
    with pytest.raises(ValueError, match=r"parameter #0 \(frozen\) has requires_grad=False"):
        nn.SGD([Value(1.0, label="frozen", requires_grad=False)], lr=0.1)
    with pytest.raises(ValueError, match="betas"):
        nn.Adam([w], betas=(1.0, 0.999))
    with pytest.raises(ValueError, match="momentum and weight_decay must be >= 0"):
        nn.SGD([w], lr=0.1, momentum=-0.1)


def make_opt(lr=1.0):
    return nn.SGD([Value(np.zeros(1))], lr=lr)


def lrs(schedule, n):
    """The first group's rate at creation and after each of n steps (get_last_lr() is a list per group)."""
    out = [schedule.get_last_lr()[0]]
    for _ in range(n):
        assert schedule.step() == schedule.get_last_lr()[0]  # (PyTorch's step() returns None)
        out.append(schedule.get_last_lr()[0])
    return out


def test_step_lr():
    np.testing.assert_allclose(lrs(nn.StepLR(make_opt(0.5), step_size=2, gamma=0.1), 5),
                               [0.5, 0.5, 0.05, 0.05, 0.005, 0.005])


def test_cosine_lr_goes_from_base_to_min_and_stays():
    opt = make_opt(1.0)
    values = lrs(nn.CosineLR(opt, total_steps=4, min_lr=0.1), 6)
    expected = [0.1 + 0.9 * (1 + math.cos(math.pi * min(k, 4) / 4)) / 2 for k in range(7)]
    np.testing.assert_allclose(values, expected)
    assert values[4] == pytest.approx(0.1) and values[-1] == pytest.approx(0.1)
    assert opt.lr == values[-1]


def test_lambda_lr_reproduces_micrograds_schedule():
    opt = make_opt(1.0)
    schedule = nn.LambdaLR(opt, lambda k: 1.0 - 0.9 * k / 100)
    values = lrs(schedule, 99)
    np.testing.assert_allclose(values, [1.0 - 0.9 * k / 100 for k in range(100)])
    scaled = nn.LambdaLR(make_opt(0.1), lambda k: 0.5 ** k)
    np.testing.assert_allclose(lrs(scaled, 2), [0.1, 0.05, 0.025])


def test_schedules_refuse_bad_arguments():
    with pytest.raises(ValueError, match="step_size"):
        nn.StepLR(make_opt(), step_size=0)
    with pytest.raises(ValueError, match="total_steps"):
        nn.CosineLR(make_opt(), total_steps=0)
    with pytest.raises(TypeError, match="lr_lambda must be callable"):
        nn.LambdaLR(make_opt(), 0.5)


@pytest.mark.parametrize("make", [lambda ps: nn.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1),
                                  lambda ps: nn.Adam(ps, lr=0.1, weight_decay=0.1)])
def test_a_parameter_the_loss_did_not_reach_is_left_alone(make):
    """As in PyTorch: no gradient, no update (no weight decay, no momentum or Adam state either)."""
    used, unused = Value(np.array([1.0, 2.0])), Value(np.array([3.0, 4.0]))
    opt = make([used, unused])
    (used * used).sum().backward()
    opt.step()
    assert not np.allclose(used.data, [1.0, 2.0])
    np.testing.assert_array_equal(unused.data, [3.0, 4.0])
    assert unused not in opt.state  # state is keyed by parameter, as PyTorch's


# ---- parameter groups, zero_grad, closures, the jit ------------------------------------------------


def test_param_groups_take_per_group_options_and_defaults():
    a, b = Value(np.ones(2)), Value(np.ones(3))
    opt = nn.SGD([{"params": [a]}, {"params": b, "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert [g["momentum"] for g in opt.param_groups] == [0, 0.9]
    assert opt.params == [a, b] and opt.param_groups[1]["params"] == [b]
    c = Value(np.ones(1))
    opt.add_param_group({"params": [c], "nesterov": True, "momentum": 0.5})
    assert opt.param_groups[2]["lr"] == 0.1 and opt.param_groups[2]["dampening"] == 0
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(TypeError, match="ordered collection"):
        nn.Adam({a, b})
    with pytest.raises(ValueError, match="nesterov=True needs a momentum"):
        nn.SGD([a], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="PyTorch-only"):
        nn.Adam([a], fused=True)


def test_named_parameters_are_accepted_and_their_names_kept():
    model = nn.Linear(2, 3, seed=0)
    opt = nn.AdamW(model.named_parameters(), lr=0.1)
    assert opt.param_groups[0]["param_names"] == [n for n, _ in model.named_parameters()]
    assert opt.state_dict()["param_groups"][0]["param_names"] == opt.param_groups[0]["param_names"]


def test_zero_grad_set_to_none_false_leaves_zeros_of_the_parameters_shape():
    w, s = Value(np.ones((2, 2)), label="w"), Value(2.0)
    opt = nn.RMSprop([w, s])
    (w * s).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert w._grad.shape == (2, 2) and not w._grad.any() and s._grad == 0.0
    opt.zero_grad()
    assert w._grad is None and s._grad is None


def test_step_with_a_closure_returns_its_loss():
    w = Value(np.array([3.0]))
    opt = nn.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 9.0 and w.data[0] == 3.0 - 0.25 * 6.0


def test_the_old_spellings_still_work():
    w = Value(np.zeros(1))
    opt = nn.SGD([w], lr=0.5)
    opt.lr = 0.2            # sets every group's lr
    assert opt.param_groups[0]["lr"] == 0.2
    assert nn.LRSchedule is nn.LRScheduler and isinstance(nn.CosineLR(opt, 10), nn.LRSchedule)
    assert nn.optim.lr_scheduler.StepLR is nn.StepLR


@pytest.mark.parametrize("make", [
    lambda m: (nn.AdamW(m, lr=0.01, amsgrad=True), lambda o: nn.CosineAnnealingLR(o, T_max=4)),
    lambda m: (nn.RMSprop(m, lr=0.01, momentum=0.5, centered=True), lambda o: nn.OneCycleLR(o, 0.05, total_steps=20)),
    lambda m: (nn.SGD([{"params": m.parameters()[:2]}, {"params": m.parameters()[2:], "lr": 0.05}], lr=0.1,
                      momentum=0.9, nesterov=True), lambda o: nn.LinearLR(o, total_iters=4)),
], ids=["adamw+cosine", "rmsprop+onecycle", "sgd-groups+linear"])
def test_a_jitted_step_with_clipping_and_a_schedule_follows_the_same_trajectory(make):
    from autograd import jit

    rng = np.random.default_rng(0)
    runs = []
    for jitted in (False, True):
        model = nn.MLP(8, [16, 3], activation="tanh", seed=0)
        opt, schedule = make(model)
        schedule = schedule(opt)

        def step(x, y):
            loss = nn.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            nn.clip_grad_norm_(model.parameters(), 0.5)
            opt.step()
            schedule.step()
            return loss

        step = jit(step) if jitted else step
        batches = np.random.default_rng(1)
        losses = [step(batches.normal(size=(32, 8)), batches.integers(0, 3, 32)).item() for _ in range(8)]
        runs.append((losses, [p.data.copy() for p in model.parameters()], opt.lr))
    (l1, w1, lr1), (l2, w2, lr2) = runs
    np.testing.assert_allclose(l2, l1, rtol=1e-12)
    for a, b in zip(w1, w2):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-14)
    assert lr1 == lr2 and rng is not None
