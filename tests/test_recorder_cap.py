"""TrainingRecorder keeps at most max_snapshots weight snapshots on long runs, thinned evenly."""
import numpy as np
import pytest

import nn
from autograd.viz.training import TrainingRecorder


def run(rec, model, opt, X, y, steps):
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.hinge(model(X).reshape(-1), 2.0 * y - 1)
        loss.backward()
        rec.step(loss)
        opt.step()


@pytest.fixture
def moons():
    return nn.make_moons(40, noise=0.1, seed=0)


def test_snapshots_thin_evenly_to_the_cap_and_still_reproduce_their_loss(moons):
    X, y = moons
    model = nn.MLP(2, [6, 1], seed=0)
    opt = nn.SGD(model.parameters(), lr=0.1)
    rec = TrainingRecorder(model, opt, every=1, max_snapshots=8)
    run(rec, model, opt, X, y, 50)
    assert len(rec) == 50 and len(rec.loss) == 50 and len(rec.grad_norms()["layers.0"]) == 50   # every step
    assert rec.snapshot_steps == [0, 8, 16, 24, 32, 40, 48]     # spacing doubled 1 -> 2 -> 4 -> 8
    assert rec.snapshot_every == 8 and len(rec._snapshots) <= 8
    for step in rec.snapshot_steps:
        twin = rec.model_at(step)
        assert nn.hinge(twin(X).reshape(-1), 2.0 * y - 1).item() == pytest.approx(rec.loss[step], rel=1e-12)
    assert "7 snapshots every 8 steps" in repr(rec)
    with pytest.raises(ValueError, match=r"thinned from every 1 steps to keep at most 8; record with a larger "
                                         r"max_snapshots="):
        rec.snapshot(4)


def test_the_default_cap_holds_on_a_long_run_and_none_keeps_all(moons):
    X, y = moons
    model = nn.MLP(2, [3, 1], seed=0)
    opt = nn.SGD(model.parameters(), lr=0.05)
    rec = TrainingRecorder(model, opt, every=1)
    assert rec.max_snapshots == 200
    run(rec, model, opt, X, y, 450)
    steps = rec.snapshot_steps
    assert 100 <= len(steps) <= 200 and steps[0] == 0 and steps[-1] >= 450 - rec.snapshot_every
    assert set(np.diff(steps)) == {rec.snapshot_every} == {4}
    model = nn.MLP(2, [3, 1], seed=0)
    opt = nn.SGD(model.parameters(), lr=0.05)
    every = TrainingRecorder(model, opt, every=1, max_snapshots=None)
    run(every, model, opt, X, y, 250)
    assert every.snapshot_steps == list(range(250))


@pytest.mark.parametrize("bad", [0, 1, 2.5, True, "10"])
def test_a_bad_cap_is_named(bad):
    with pytest.raises(ValueError, match=f"max_snapshots={bad!r}"):
        TrainingRecorder(nn.MLP(2, [3, 1], seed=0), max_snapshots=bad)
