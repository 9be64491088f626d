"""autograd.jit follows an argument that the function stacks into a new array of its own: nn.LSTM
given a plain numpy sequence projects np.stack of its steps (ops' _projected), a copy of the argument
(or of its steps' axis moved first, batch_first=True) that no op or Value() conversion records."""
import numpy as np
import pytest

import nn
from autograd import Value, jit


def lstm_step(batch_first, wrap=False, dtype=np.float64):
    """Two identical LSTM + Linear models, the training step of each (the second to be jitted)."""
    steps = []
    for _ in range(2):
        lstm = nn.LSTM(4, 8, batch_first=batch_first, seed=0).to(dtype)
        head = nn.Linear(8, 3, seed=1).to(dtype)
        opt = nn.SGD(lstm.parameters() + head.parameters(), lr=0.1)

        def step(x, y, lstm=lstm, head=head, opt=opt):
            out, _ = lstm(Value(x) if wrap else x)
            loss = nn.cross_entropy(head(out[:, -1] if batch_first else out[-1]), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss
        steps.append((step, lstm.parameters() + head.parameters()))
    return steps


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_plain_numpy_sequence_given_to_an_lstm_is_followed_call_after_call(batch_first, dtype):
    rng = np.random.default_rng(0)
    (eager, p1), (step, p2) = lstm_step(batch_first, dtype=dtype)
    jitted = jit(step)
    for _ in range(5):  # capture, the check on the second call (raised JitError before), replays
        x = rng.normal(size=(2, 5, 4) if batch_first else (5, 2, 4)).astype(dtype)
        y = rng.integers(0, 3, 2)
        assert jitted(x, y).item() == eager(x, y).item()
        for p, q in zip(p1, p2):
            np.testing.assert_array_equal(p.data, q.data)
    plan = next(iter(jitted.plans.values()))
    assert all(node.requires_grad for node in plan.leaves)  # the stacked copy is made from x, not kept


def test_a_wrapped_sequence_still_works_and_a_constant_equal_to_no_argument_stays_a_leaf():
    rng = np.random.default_rng(1)
    (eager, p1), (step, p2) = lstm_step(True, wrap=True)
    jitted = jit(step)
    for _ in range(4):
        x, y = rng.normal(size=(2, 5, 4)), rng.integers(0, 3, 2)
        assert jitted(x, y).item() == eager(x, y).item()
    table = np.arange(6.0).reshape(2, 3)  # a constant of the argument's shape, other numbers: not followed

    @jit
    def scaled(x):
        return (Value(x, requires_grad=True) * np.array(table)).sum()
    for _ in range(3):
        x = rng.normal(size=(2, 3))
        assert scaled(x).item() == pytest.approx((x * table).sum())


def test_a_plain_copy_of_an_argument_is_followed_too():
    """np.array(x) is x stacked along its first axis: the same numbers, so followed (frozen before)."""
    rng = np.random.default_rng(2)
    model = nn.MLP(8, [4, 3], seed=0)
    loss_fn = jit(lambda x, y: nn.cross_entropy(model(np.array(x)), y))
    for _ in range(4):
        x, y = rng.normal(size=(16, 8)), rng.integers(0, 3, 16)
        assert loss_fn(x, y).item() == nn.cross_entropy(model(x), y).item()


def test_a_zero_state_made_inside_is_not_taken_for_a_zero_argument():
    """A constant equal to an argument whose numbers are all the same (zeros) stays a constant: the
    argument may change later while the constant does not."""
    model = nn.Linear(3, 2, seed=0)

    @jit
    def f(x, h):
        return (model(x) + np.zeros((4, 2))).sum() + (Value(h, requires_grad=True) * 0).sum()
    x = np.ones((4, 3))
    for h in (np.zeros((4, 2)), np.zeros((4, 2)), np.ones((4, 2)), np.full((4, 2), 7.0)):
        assert f(x, h).item() == pytest.approx(model(x).data.sum())
    plan = next(iter(f.plans.values()))
    assert any(not node.requires_grad and np.shape(node.data) == (4, 2) for node in plan.leaves)
