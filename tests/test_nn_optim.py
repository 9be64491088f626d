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
    out = [schedule.get_last_lr()]
    for _ in range(n):
        out.append(schedule.step())
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
    with pytest.raises(TypeError, match="fn must be callable"):
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
    assert opt.state[1] == {}
