"""autograd.jit: a replayed plan gives exactly the numbers of a normal run, and refuses
(with a message) what it cannot replay."""
import numpy as np
import pytest

import nn
from autograd import JitError, Value, detect_anomaly, grad, jit, no_grad, replayable


def _at(nodes, node):
    """node's position in nodes, by identity (== between Values is elementwise, so list.index is not)."""
    return next(i for i, n in enumerate(nodes) if n is node)


def digits_like(rng, n=32):
    return rng.normal(size=(n, 8)), rng.integers(0, 3, n)


def replaying_loss(rng):
    """A small MLP, its cross-entropy jitted, and a batch it has been called with three times
    (captured, checked, replayed)."""
    model = nn.MLP(8, [4, 3], seed=0)
    loss_fn = jit(lambda x, y: nn.cross_entropy(model(x), y))
    x, y = digits_like(rng)
    for _ in range(3):
        loss_fn(x, y)
    return model, loss_fn, x, y


def sgd_step(loss_fn, opt):
    """The usual training step around loss_fn(x, y), not yet jitted."""
    def step(x, y):
        loss = loss_fn(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss
    return step


def twin_models(make_opt):
    """Two identical MLPs with their optimizers: one to run normally, one to jit."""
    pair = [nn.MLP(8, [16, 3], activation="tanh", seed=0) for _ in range(2)]
    return [(m, make_opt(m)) for m in pair]


OPTIMIZERS = {
    "sgd": lambda m: nn.SGD(m, lr=0.1),
    "momentum+decay": lambda m: nn.SGD(m, lr=0.1, momentum=0.9, weight_decay=1e-3),
    "adam": lambda m: nn.Adam(m, lr=0.01),
}


@pytest.mark.parametrize("make_opt", OPTIMIZERS.values(), ids=OPTIMIZERS.keys())
def test_a_jitted_training_step_follows_the_same_trajectory(make_opt, rng):
    (m1, o1), (m2, o2) = twin_models(make_opt)
    schedule1, schedule2 = nn.StepLR(o1, 3, 0.5), nn.StepLR(o2, 3, 0.5)

    @jit
    def train_step(x, y):
        loss = nn.cross_entropy(m2(x), y)
        o2.zero_grad()
        loss.backward()
        o2.step()
        schedule2.step()
        return loss

    for k in range(8):
        x, y = digits_like(rng)
        loss1 = nn.cross_entropy(m1(x), y)
        o1.zero_grad()
        loss1.backward()
        o1.step()
        schedule1.step()
        loss2 = train_step(x, y)
        assert loss2.item() == loss1.item()
        assert (loss2.op == "") == (k >= 2)  # replays (from the third call) return the number as a leaf
        for p, q in zip(m1.parameters(), m2.parameters()):
            np.testing.assert_array_equal(p.data, q.data)
            np.testing.assert_array_equal(p.grad, q.grad)
    assert o2.lr == o1.lr and len(train_step.plans) == 1


def test_a_jitted_loss_is_one_node_whose_backward_gives_the_same_gradients(rng):
    model = nn.MLP(8, [16, 3], seed=0)
    loss_fn = jit(lambda x, y: nn.cross_entropy(model(x), y))
    for _ in range(3):
        x, y = digits_like(rng)
        loss = loss_fn(x, y) + nn.l2_penalty(model, 1e-3)  # a replayed node mixes with normal ops
        model.zero_grad()
        loss.backward()
        replayed = [p.grad.copy() for p in model.parameters()]
        model.zero_grad()
        (nn.cross_entropy(model(x), y) + nn.l2_penalty(model, 1e-3)).backward()
        for p, g in zip(model.parameters(), replayed):
            np.testing.assert_allclose(g, p.grad, rtol=1e-12, atol=1e-15)
    jitted = loss_fn(x, y)
    assert jitted.op == "jit" and set(jitted.parents) == set(model.parameters())
    (gw,) = grad(jitted, [model.layers[0].weight])
    assert gw.shape == (16, 8)


def test_each_signature_gets_its_own_plan_and_a_last_short_batch_works(rng):
    model = nn.MLP(8, [4, 3], seed=0)
    loss_fn = jit(lambda x, y: nn.cross_entropy(model(x), y))
    X, Y = digits_like(rng, 70)
    for _ in range(3):
        for xb, yb in nn.batches(X, Y, 32, seed=0):  # 32, 32, 6
            loss = loss_fn(xb, yb)
            np.testing.assert_allclose(loss.item(), nn.cross_entropy(model(xb), yb).item(), rtol=1e-12)
    assert len(loss_fn.plans) == 2
    with no_grad():  # nothing to record: the function runs as it is
        assert loss_fn(X[:32], Y[:32]).op == ""


def test_an_rnn_sliced_over_time_inside_the_function_replays(rng):
    rnn, head = nn.RNN(3, 5, seed=0), nn.Linear(5, 1, seed=1)

    def loss_fn(xs, ys):
        _, h = rnn(xs)  # xs[t] for every t: views of the argument, re-made from each new one
        return nn.mse(head(h).reshape(-1), ys)

    jitted = jit(loss_fn)
    for _ in range(4):
        xs, ys = rng.normal(size=(6, 4, 3)), rng.normal(size=4)
        rnn.zero_grad()
        loss_fn(xs, ys).backward()
        expected = [p.grad.copy() for p in rnn.parameters()]
        rnn.zero_grad()
        jitted(xs, ys).backward()
        for p, g in zip(rnn.parameters(), expected):
            np.testing.assert_allclose(p.grad, g, rtol=1e-12, atol=1e-15)


def test_scalar_values_as_arguments(rng):
    f = jit(lambda a, b: (a * b + a.exp()).tanh())
    for _ in range(4):
        a, b = Value(float(rng.normal())), Value(float(rng.normal()))
        out = f(a, b)
        out.backward()
        ea, eb = Value(a.data), Value(b.data)
        (ea * eb + ea.exp()).tanh().backward()
        assert out.data == pytest.approx((ea * eb + ea.exp()).tanh().data, rel=1e-14)
        assert a.grad == pytest.approx(ea.grad, rel=1e-12) and b.grad == pytest.approx(eb.grad, rel=1e-12)


def test_a_new_parameter_dtype_means_a_new_capture(rng):
    model, loss_fn, x, y = replaying_loss(rng)
    model.to(np.float32)
    x32 = x.astype(np.float32)
    for _ in range(3):
        loss = loss_fn(x32, y)
        model.zero_grad()
        loss.backward()
        assert all(p.grad.dtype == np.float32 for p in model.parameters())


def test_an_argument_converted_inside_the_function_is_caught_on_the_second_call(rng):
    model = nn.MLP(8, [4, 3], seed=0)
    loss_fn = jit(lambda x, y: nn.cross_entropy(model(x * 2), y))  # computed from x outside the graph: frozen
    loss_fn(*digits_like(rng))
    with pytest.raises(JitError, match=r"depends on something its graph does not show.*converted or copied"):
        loss_fn(*digits_like(rng))


def test_a_view_of_an_argument_used_as_an_index_is_refused(rng):
    model = nn.MLP(8, [4, 3], seed=0)
    x, y = digits_like(rng)
    with pytest.raises(JitError, match=r"a part or a view of an argument as its 'key'"):
        jit(lambda x, y: nn.cross_entropy(model(x[:8]), y[:8]))(x, y)


def test_refusals_say_what_to_do(rng):
    model = nn.MLP(8, [4, 3], seed=0)
    with pytest.raises(TypeError, match=r"argument #1 is a list; pass arrays, Values or hashable settings"):
        jit(lambda x, ys: model(x))(np.ones((2, 8)), [1, 2])
    with pytest.raises(JitError, match="must return a Value computed from its inputs"):
        jit(lambda x: 3.0)(np.ones(2))
    with pytest.raises(JitError, match="returns one of its arguments"):
        jit(lambda v: v)(Value(np.ones(2)) * 2)
    w = Value(np.ones(3))
    w.register_hook(lambda g: g * 2)
    with pytest.raises(JitError, match="hooks"):
        jit(lambda x: (x * w).sum())(np.ones(3))
    f = jit(lambda x: (x * x).sum())
    x = Value(np.ones(3))
    for _ in range(3):
        out = f(x)
    with pytest.raises(JitError, match="first derivatives only"):
        grad(out, [x], create_graph=True)


def test_anomaly_mode_runs_the_function_normally(rng):
    model, loss_fn, x, y = replaying_loss(rng)
    with detect_anomaly():
        assert loss_fn(x, y).op == "cross_entropy"


def test_without_the_check_the_second_call_replays(rng):
    model = nn.MLP(8, [4, 3], seed=0)
    loss_fn = jit(check=False)(lambda x, y: nn.cross_entropy(model(x), y))
    x, y = digits_like(rng)
    assert loss_fn(x, y).op == "cross_entropy" and loss_fn(x, y).op == "jit"
    assert "1 plans" in repr(loss_fn)


# ---- found in review: each of these once gave numbers different from a normal run ---------

def eager_and_jitted(step_fn, calls, rng):
    """Run step_fn eagerly and jitted on twin copies of the same model; return both loss lists."""
    losses = {}
    for mode in ("eager", "jit"):
        model = nn.MLP(8, [16, 3], seed=0)
        opt = nn.SGD(model, lr=0.1, momentum=0.5)
        fn = step_fn(model, opt)
        fn = jit(fn) if mode == "jit" else fn
        data = np.random.default_rng(1)
        losses[mode] = [float(np.asarray(fn(*digits_like(data)).data)) for _ in range(calls)]
    return losses["eager"], losses["jit"]


def test_module_and_value_zero_grad_are_replayed(rng):
    def make(model, opt):
        def step(x, y):
            model.zero_grad()
            loss = nn.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss
        return step
    eager, jitted = eager_and_jitted(make, 6, rng)
    assert eager == jitted


def test_changing_values_by_hand_inside_a_jitted_step_is_caught():
    model = nn.MLP(8, [4, 3], seed=0)

    @jit
    def step(x, y):
        loss = nn.cross_entropy(model(x), y)
        model.zero_grad()
        loss.backward()
        for p in model.parameters():  # not an optimizer: nothing notes it for replay
            p.data -= 0.1 * p.grad
        return loss

    data = np.random.default_rng(1)
    step(*digits_like(data))
    before = [p.data.copy() for p in model.parameters()]
    with pytest.raises(JitError, match=r"data after the call.*p\.data -= \.\.\..*@replayable"):
        step(*digits_like(data))
    assert not all(np.array_equal(a, p.data) for a, p in zip(before, model.parameters()))  # the real run's state


def test_the_same_array_for_two_arguments_is_its_own_signature():
    w = Value(np.linspace(-1, 1, 5))
    f = jit(lambda a, b: ((w * a - b) ** 2).sum())
    x = np.ones(5)
    for _ in range(3):
        f(x, x)
    assert f(np.ones(5), np.zeros(5)).item() == pytest.approx(((w.data * 1 - 0) ** 2).sum())
    assert len(f.plans) == 2


def test_freezing_a_parameter_means_a_new_capture(rng):
    model = nn.MLP(8, [4, 3], seed=0)
    step = jit(sgd_step(lambda x, y: nn.cross_entropy(model(x), y), nn.SGD(model, lr=0.1)))
    for _ in range(3):
        step(*digits_like(rng))
    frozen = model.layers[0].weight
    frozen.requires_grad = False
    before = frozen.data.copy()
    for _ in range(3):
        step(*digits_like(rng))
    np.testing.assert_array_equal(frozen.data, before)


def test_a_seed_array_handed_on_as_a_gradient_is_fresh_every_call():
    W, b = Value(np.full((3, 4), 0.1)), Value(np.zeros(4))

    @jit
    def step(x):
        out = x @ W + b
        out.backward(np.ones(4))  # add hands the seed to b unchanged
        return out

    from autograd import JitWarning
    with pytest.warns(JitWarning, match="backward\\(\\) with an array of shape \\(4,\\) that is not an argument"):
        step(np.ones(3))
    b.zero_grad()
    for _ in range(5):
        step(np.ones(3))
        np.testing.assert_array_equal(b.grad, np.ones(4))
        b.grad *= 0.5  # users may change a gradient in place (clipping, scaling)
        b.zero_grad()


def test_a_0d_array_argument_is_a_setting():
    w = Value(np.arange(3.0))
    f = jit(lambda x, t: (w * x * t).sum())
    assert [f(np.ones(3), np.array(t)).item() for t in (2.0, 2.0, 2.0, 5.0)] == [6.0, 6.0, 6.0, 15.0]


def test_a_jitted_function_inside_another_runs_normally_while_captured(rng):
    model, loss_fn, x, y = replaying_loss(rng)
    step = jit(sgd_step(loss_fn, nn.SGD(model, lr=0.1)))  # loss_fn runs normally while step is captured
    for _ in range(4):
        step(*digits_like(rng))
    replayed = loss_fn(x, y)
    with pytest.raises(JitError, match="another jitted function"):
        jit(lambda: replayed * 2)()


def test_slicing_a_non_contiguous_argument_says_to_pass_a_contiguous_one(rng):
    rnn = nn.RNN(3, 4, seed=0)
    xs = rng.normal(size=(4, 6, 3)).transpose(1, 0, 2)  # (seq, batch, in) but strided
    with pytest.raises(JitError, match=r"not C-contiguous.*np\.ascontiguousarray"):
        jit(lambda xs: rnn(xs)[1].sum())(xs)


def test_an_array_computed_inside_and_given_as_an_attribute_is_warned_about(rng):
    from autograd import JitWarning, where
    w = Value(np.ones(4))
    masked = jit(lambda x, y: where(y >= 0, (x @ w - y) ** 2, 0.0).sum())
    with pytest.warns(JitWarning, match=r"where an array of shape \(5,\) as its 'cond'.*compute them outside"):
        masked(rng.normal(size=(5, 4)), rng.normal(size=5))


def test_methods_and_many_signatures(rng):
    class Trainer:
        def __init__(self):
            self.model = nn.MLP(8, [4, 3], seed=0)

        @jit
        def loss(self, x, y):
            return nn.cross_entropy(self.model(x), y)

    trainer = Trainer()
    x, y = digits_like(rng)
    assert [trainer.loss(x, y).op for _ in range(3)] == ["cross_entropy", "cross_entropy", "jit"]
    scaled = jit(lambda x, s: (Value(np.ones(2)) * x * s).sum())
    with pytest.warns(UserWarning, match="captured for 17 signatures"):
        for s in range(17):
            scaled(np.ones(2), float(s))


# ---- found in the second review ------------------------------------------------------------

def twin_runs(make, batches):
    """make() -> (step function, its parameters); run it plainly and jitted on the same batches
    and return, per call, whether losses and every parameter's data and grad are identical."""
    (plain, p1), (jitted, p2) = make(), make()
    jitted = jit(jitted)
    same = []
    for batch in batches:
        a, b = plain(*batch), jitted(*batch)
        same.append(float(np.asarray(a.data)) == float(np.asarray(b.data)) and all(
            np.array_equal(x.data, y.data) and np.array_equal(x.grad, y.grad) for x, y in zip(p1, p2)))
    return same


def test_int_targets_and_values_made_inside_follow_the_arguments(rng):
    """mse's int labels and Value(x) are float copies of the arguments: made again every call."""
    def make():
        model = nn.MLP(3, [4, 1], seed=0)
        opt = nn.SGD(model, lr=0.1)

        def step(x, y):
            loss = nn.mse(model(Value(x, requires_grad=False)).reshape(-1), y)  # y: int labels
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss
        return step, model.parameters()
    batches = [(rng.normal(size=(1, 3)), np.array([1]))] * 2 + [
        (rng.normal(size=(1, 3)), rng.integers(0, 2, 1)) for _ in range(6)]
    assert all(twin_runs(make, batches))


def test_a_gradient_given_to_backward_as_an_argument_follows_it(rng):
    def make():
        W = Value(np.ones(3))
        opt = nn.SGD([W], lr=0.1)

        def step(x, g):
            out = W * x
            opt.zero_grad()
            out.backward(g)
            opt.step()
            return out.sum()
        return step, [W]
    batches = [(rng.normal(size=3), np.ones(3))] * 2 + [(rng.normal(size=3), rng.normal(size=3)) for _ in range(4)]
    assert all(twin_runs(make, batches))


def test_value_zero_grad_and_a_parameter_outside_the_graph(rng):
    """The check on the second call saves and restores every Value an optimizer holds, not only the
    graph's leaves: B, stepped with a gradient from outside, is stepped once, as without jit."""
    def make():
        A, B = Value(np.ones(3)), Value(np.ones(3))
        opt = nn.SGD([A, B], lr=0.1, momentum=0.9)

        def step(x):
            A.zero_grad()
            loss = (A * x).sum()
            loss.backward()
            opt.step()
            return loss
        B.grad = np.full(3, 0.5)  # from elsewhere, kept across steps
        return step, [A, B]
    assert all(twin_runs(make, [(rng.normal(size=3),) for _ in range(5)]))


def test_refused_overlapping_windows_and_outside_graphs(rng):
    cell = nn.RNNCell(2, 2, seed=0)
    S = rng.normal(size=(10, 2))
    windows = jit(lambda x, y: sum((cell(x[t]) - y[t]).abs().sum() for t in range(3)))
    with pytest.raises(JitError, match=r"arguments #0 and #1, which share memory.*pass copies"):
        windows(S[0:3], S[1:4])
    W = Value(np.ones(3))
    opt = nn.SGD([W], lr=0.1)
    step = jit(sgd_step(lambda x, y: ((x - y) ** 2).sum(), opt))
    with pytest.raises(JitError, match=r"argument #0 .* computed outside .*\.detach\(\)"):
        step(W * 2, np.ones(3))


def test_a_function_with_nothing_to_differentiate_is_checked_and_replayed(rng):
    model = nn.MLP(8, [4, 3], seed=0)
    for p in model.parameters():
        p.requires_grad = False
    evaluate = jit(lambda x, y: nn.cross_entropy(model(x), y))
    x, y = digits_like(rng)
    values = [evaluate(x, y).item() for _ in range(4)]
    assert values == [nn.cross_entropy(model(x), y).item()] * 4


def test_a_replayed_loss_can_be_drawn_and_stepped_through(rng):
    from autograd.viz import draw
    from autograd.viz.player.steps import record
    model, loss_fn, x, y = replaying_loss(rng)
    loss = loss_fn(x, y)
    assert "jit &lt;lambda&gt;" in draw(loss).source or "jit <lambda>" in draw(loss).source
    rec = record(loss)
    assert rec.steps and "the replayed graph's own backward" in rec.steps[0].text
    np.testing.assert_allclose(rec.final_grads[_at(rec.nodes, model.layers[0].weight)],
                               jit_free_grad(model, x, y), rtol=1e-12)


def jit_free_grad(model, x, y):
    model.zero_grad()
    nn.cross_entropy(model(x), y).backward()
    return model.layers[0].weight.grad


def test_a_jitted_run_is_recorded_by_a_training_recorder_without_optimizer():
    from autograd.viz.training import TrainingRecorder
    X, y = nn.make_moons(60, noise=0.1, seed=0)
    runs = []
    for jitted in (False, True):
        model = nn.MLP(2, [8, 2], seed=0)
        opt = nn.SGD(model, lr=0.3)
        step = sgd_step(lambda x, t: nn.cross_entropy(model(x), t), opt)
        step = jit(step) if jitted else step
        rec = TrainingRecorder(model, every=5)
        for _ in range(12):
            rec.step(step(X, y))
        runs.append((rec.loss, rec.grad_norms(), rec.update_ratios(), rec.snapshot(10)))
    (loss1, norms1, ratios1, snap1), (loss2, norms2, ratios2, snap2) = runs
    np.testing.assert_array_equal(loss1, loss2)
    for d1, d2 in ((norms1, norms2), (ratios1, ratios2), (snap1, snap2)):
        assert d1.keys() == d2.keys()
        for name in d1:
            np.testing.assert_array_equal(d1[name], d2[name])


# ---- found in the third review -------------------------------------------------------------

def test_a_mask_argument_picking_a_different_number_is_another_signature(rng):
    w = Value(np.arange(1.0, 5.0))
    f = jit(lambda x, mask: ((w * x)[mask] ** 2).sum())
    for mask in ([True, False, False, False], [True, False, False, False], [True, True, True, False]):
        w.zero_grad()
        f(np.ones(4), np.array(mask)).backward()
        expected = np.where(mask, 2 * np.arange(1.0, 5.0), 0.0)
        np.testing.assert_array_equal(w.grad, expected)


def test_detached_results_and_constants_made_inside_follow_each_call(rng):
    C = np.array([1.0, 2.0, 3.0])  # a closure constant the caller changes in place
    w = Value(np.ones(3))

    @jit
    def f(x):
        loss = (w * x * Value(C, requires_grad=False)).sum()
        w.zero_grad()
        loss.backward()
        return loss.detach()

    h = jit(lambda x: ((w * x + Value(np.zeros(3))) ** 2).sum())  # a leaf made inside, requiring grad
    for k in range(5):
        if k == 3:
            C *= 10
        x = rng.normal(size=3)
        assert f(x).item() == pytest.approx((w.data * x * C).sum(), rel=1e-12)
        np.testing.assert_allclose(w.grad, x * C, rtol=1e-12)
        assert h(x).item() == pytest.approx(((w.data * x) ** 2).sum(), rel=1e-12)


def test_a_value_argument_wrapped_again_inside_gets_no_gradient(rng):
    W = Value(np.ones(3))
    f = jit(lambda xv: (W * Value(xv)).sum())  # Value(xv): a new leaf, as without jit
    for _ in range(4):
        xv = Value(rng.normal(size=3), requires_grad=True)
        W.zero_grad()
        f(xv).backward()
        assert xv._grad is None
        np.testing.assert_array_equal(W.grad, xv.data)


def test_the_check_puts_back_the_very_arrays_other_objects_hold(rng):
    class Averager:
        """Keeps a running mean of its Values' data in arrays of its own, and the data arrays themselves."""
        def __init__(self, params):
            self.params, self.ws, self.mean = params, [p.data for p in params], [p.data.copy() for p in params]

        @replayable
        def update(self):
            for m, w in zip(self.mean, self.ws):
                m *= 0.5
                m += 0.5 * w

    model = nn.MLP(8, [4, 3], seed=0)
    opt, avg = nn.SGD(model, lr=0.1), Averager(model.parameters())

    @jit
    def step(x, y):
        loss = nn.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        avg.update()
        return loss

    for _ in range(4):
        step(*digits_like(rng))
    assert all(w is p.data for w, p in zip(avg.ws, model.parameters()))


def test_methods_get_a_jitted_function_per_instance():
    import gc
    import weakref

    class Scaled:
        def __init__(self, s):
            self.w = Value(np.full(3, float(s)))

        @jit
        def f(self, x):
            return (self.w * x).sum()

    a, b = Scaled(1), Scaled(10)
    assert [a.f(np.ones(3)).item() for _ in range(3)] == [3.0] * 3
    assert [b.f(np.ones(3)).item() for _ in range(3)] == [30.0] * 3
    gone = weakref.ref(a)
    del a
    gc.collect()
    assert gone() is None
