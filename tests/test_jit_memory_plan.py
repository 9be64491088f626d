"""autograd.jit's memory plan (autograd/jit/kernels.py): replays that write into reused buffers
give the bits of a normal run, and nothing a caller holds changes under it at the next replay."""
import numpy as np
import pytest

import nn
from autograd import jit


def pair(activation, dtype):
    models = [nn.MLP(8, [16, 16, 3], activation=activation, seed=0).to(dtype) for _ in range(2)]
    return [(m, nn.SGD(m, lr=0.1)) for m in models]


def step_of(model, opt, **loss_kwargs):
    """The plain training step (cross_entropy with loss_kwargs; reduction="none" summed for backward)."""
    def step(x, y):
        loss = nn.cross_entropy(model(x), y, **loss_kwargs)
        opt.zero_grad()
        (loss.sum() if loss.ndim else loss).backward()
        opt.step()
        return loss
    return step


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_replays_with_planned_buffers_give_the_bits_of_a_normal_run(activation, dtype):
    rng = np.random.default_rng(0)
    (m1, o1), (m2, o2) = pair(activation, dtype)
    eager, jitted = step_of(m1, o1), jit(step_of(m2, o2))
    for _ in range(6):
        x, y = rng.normal(size=(32, 8)).astype(dtype), rng.integers(0, 3, 32)
        assert jitted(x, y).item() == eager(x, y).item()
        for p, q in zip(m1.parameters(), m2.parameters()):
            np.testing.assert_array_equal(p.data, q.data)
            np.testing.assert_array_equal(p.grad, q.grad)
            assert q.grad.dtype == dtype
    plan = next(iter(jitted.plans.values()))
    kernels = [s.op.name for s in plan.steps if s.kernel is not None]
    rules = [s.op.name for s in plan.steps if s.rule is not None]
    assert kernels == ["linear", activation] * 2 + ["linear", "cross_entropy"]  # every op
    assert rules.count(activation) == 2 and rules.count("linear") == 3


def test_gradients_and_results_kept_from_one_replay_do_not_change_at_the_next():
    rng = np.random.default_rng(1)
    (model, opt), _ = pair("tanh", np.float64)
    step = jit(step_of(model, opt))
    batches = [(rng.normal(size=(32, 8)), rng.integers(0, 3, 32)) for _ in range(5)]
    for x, y in batches[:3]:
        step(x, y)
    kept = [(p.grad, p.grad.copy()) for p in model.parameters()]
    loss = step(*batches[3])
    before = loss.item()
    step(*batches[4])
    assert loss.item() == before
    for g, copy in kept:
        np.testing.assert_array_equal(g, copy)
