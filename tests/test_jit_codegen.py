"""autograd.jit's generated replay (autograd/jit/codegen.py): used from a plan's third call, the
bits of a normal run, no arrays made per step for the planned ops, a new plan for a new shape."""
import tracemalloc

import numpy as np
import pytest

import nn
from autograd import jit, recycle
from test_jit_memory_plan import step_of  # the plain training step: forward, zero_grad, backward, step


def twins(sizes, make_opt=lambda m: nn.SGD(m, lr=0.1), activation="tanh", dtype=np.float64):
    models = [nn.MLP(sizes[0], sizes[1:], activation=activation, seed=0).to(dtype) for _ in range(2)]
    return [(m, make_opt(m)) for m in models]


def assert_same(m1, m2):
    for p, q in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
        np.testing.assert_array_equal(p.grad, q.grad)


def test_from_the_third_call_the_generated_function_replays_alone():
    rng = np.random.default_rng(0)
    (m1, o1), (m2, o2) = twins([8, 16, 16, 3])
    eager, jitted = step_of(m1, o1), jit(step_of(m2, o2))
    batches = [(rng.normal(size=(32, 8)), rng.integers(0, 3, 32)) for _ in range(6)]
    for x, y in batches[:2]:  # capture, then the check (an interpreted replay, then a normal run)
        assert jitted(x, y).item() == eager(x, y).item()
    plan = next(iter(jitted.plans.values()))
    assert plan.code is not None
    source = plan.code.source
    assert source.startswith("def replay(args):")
    assert "# linear, into its buffer" in source and "# cross_entropy, into its buffer" in source
    assert "tanh(v7, B" in source and "square(v8, B" in source  # kernels written out, not called
    assert "w -= lr·g in place" in source and "SGD.zero_grad, written out" in source

    def refuse(args):
        raise AssertionError("the interpreted replay ran")
    plan.interpret = refuse
    for x, y in batches[2:]:
        assert jitted(x, y).item() == eager(x, y).item()
        assert_same(m1, m2)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_generated_replays_keep_the_bits_of_a_normal_run_with_a_schedule(dtype):
    rng = np.random.default_rng(1)
    (m1, o1), (m2, o2) = twins([8, 16, 3], dtype=dtype)
    s1, s2 = nn.StepLR(o1, 2, 0.5), nn.StepLR(o2, 2, 0.5)
    eager, jitted = step_of(m1, o1), jit(step_of(m2, o2))
    for _ in range(7):
        x, y = rng.normal(size=(16, 8)).astype(dtype), rng.integers(0, 3, 16)
        assert jitted(x, y).item() == eager(x, y).item()
        s1.step()
        s2.step()
        assert_same(m1, m2)


def test_an_sgd_turned_to_momentum_after_capture_steps_as_it_now_is():
    rng = np.random.default_rng(2)
    (m1, o1), (m2, o2) = twins([8, 16, 3])
    eager, jitted = step_of(m1, o1), jit(step_of(m2, o2))
    for k in range(6):
        if k == 4:
            for opt in (o1, o2):
                opt.param_groups[0]["momentum"] = 0.9
        x, y = rng.normal(size=(16, 8)), rng.integers(0, 3, 16)
        assert jitted(x, y).item() == eager(x, y).item()
        assert_same(m1, m2)


def test_planned_ops_make_no_arrays_per_step():
    """A wide layer at a large batch: its activations (4 MiB each) dwarf the weights' gradients
    (64 KiB), so the peak a replay adds shows whether activations go to new arrays."""
    rng = np.random.default_rng(3)
    (model, opt), _ = twins([8, 1024, 4])
    step = jit(step_of(model, opt))
    x, y = rng.normal(size=(512, 8)), rng.integers(0, 4, 512)
    for _ in range(3):
        step(x, y)
    plan = next(iter(step.plans.values()))
    buffers = [s.kernel for s in plan.steps]
    activation = 512 * 1024 * 8
    tracemalloc.start()
    try:
        step(x, y)  # (the previous step's gradients are freed as the new ones come: measure the peak)
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        step(x, y)
        peak = tracemalloc.get_traced_memory()[1] - before
        tracemalloc.stop()
        tracemalloc.start()
        eager = step_of(*twins([8, 1024, 4])[0])
        eager(x, y)
        recycle.clear()  # the eager step's array pool would otherwise hand it last step's arrays
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        eager(x, y)
        eager_peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert [s.kernel for s in plan.steps] == buffers  # the same kernels (and buffers) replay after replay
    assert eager_peak > 3 * activation  # a normal step holds several activations at once
    assert peak < activation / 4, f"a replay allocated {peak} bytes at its peak"


def test_a_new_batch_size_gets_its_own_plan_and_generated_function():
    rng = np.random.default_rng(4)
    (m1, o1), (m2, o2) = twins([8, 16, 3])
    eager, jitted = step_of(m1, o1), jit(step_of(m2, o2))
    for n in (32, 32, 32, 16, 16, 16, 32):
        x, y = rng.normal(size=(n, 8)), rng.integers(0, 3, n)
        assert jitted(x, y).item() == eager(x, y).item()
        assert_same(m1, m2)
    plans = list(jitted.plans.values())
    assert len(plans) == 2 and all(p.code is not None for p in plans)
    assert plans[0].code is not plans[1].code
    shapes = {p.templates[p.n_in].data.shape for p in plans}  # the first layer's output slot
    assert shapes == {(32, 16), (16, 16)}


def test_targets_reshaped_inside_the_step_follow_each_call():
    """The transformer demo's loss: targets (N, L) reshaped to (N·L,) inside the step. Taken as
    windows[:, 1:] they are not contiguous, so the reshape copies them; jit used to warn and keep
    the first batch's targets (the replay mismatch the check reported). Now they are followed."""
    rng = np.random.default_rng(5)
    (m1, o1), (m2, o2) = twins([6, 16, 5])

    def step_of_sequence(model, opt):
        def step(x, y):
            n, length, _ = x.shape
            logits = model(x.reshape(n * length, -1))
            loss = nn.cross_entropy(logits, y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss
        return step

    eager, jitted = step_of_sequence(m1, o1), jit(step_of_sequence(m2, o2))
    for contiguous in (False, False, False, False, True, True, True):
        windows = rng.integers(0, 5, (4, 9))
        x, y = rng.normal(size=(4, 8, 6)), (windows[:, 1:] if not contiguous else windows[:, 1:].copy())
        assert jitted(x, y).item() == eager(x, y).item()
        assert_same(m1, m2)


def test_logits_that_overflow_give_the_loss_and_gradients_of_a_normal_run():
    """cross_entropy's kernel checks the loss, not the row maxima: an infinite maximum (or NaN) has
    the table's forward run again, so the numbers are still a normal run's."""
    rng = np.random.default_rng(6)
    layers = [nn.Linear(4, 3, seed=0) for _ in range(2)]
    opts = [nn.SGD(layer, lr=0.1) for layer in layers]
    eager, jitted = step_of(layers[0], opts[0]), jit(step_of(layers[1], opts[1]))
    for big in (1.0, 1.0, 1.0, 1.0, 1e307, -1e307, np.nan):
        x, y = rng.normal(size=(8, 4)), rng.integers(0, 3, 8)
        x[2] *= big
        with np.errstate(all="ignore"):
            np.testing.assert_array_equal(jitted(x, y).item(), eager(x, y).item())
        assert_same(layers[0], layers[1])


def test_a_frozen_layer_whose_gradient_nobody_reads_is_skipped():
    """Only the last layer trains: the rules below it (and the loss's input gradient into a frozen
    layer) give nothing anyone reads, so the generated code leaves them out."""
    rng = np.random.default_rng(7)
    (m1, _), (m2, _) = twins([8, 16, 3])
    for m in (m1, m2):
        for p in m.parameters()[:2]:
            p.requires_grad = False
    o1, o2 = nn.SGD(m1.parameters()[2:], lr=0.1), nn.SGD(m2.parameters()[2:], lr=0.1)
    eager, jitted = step_of(m1, o1), jit(step_of(m2, o2))
    for _ in range(5):
        x, y = rng.normal(size=(16, 8)), rng.integers(0, 3, 16)
        assert jitted(x, y).item() == eager(x, y).item()
        assert_same(m1, m2)
    source = next(iter(jitted.plans.values())).code.source
    assert "# tanh" not in source.split("# backward()")[1]  # the first layer's rules are gone


def test_two_backwards_of_one_loss_keep_the_softmax_for_the_second():
    """cross_entropy's rule works in its softmax's buffer only when one backward runs a replay; a step
    that calls backward() twice (gradients added up) needs the softmax intact for the second."""
    rng = np.random.default_rng(8)
    (m1, o1), (m2, o2) = twins([8, 16, 3], dtype=np.float32)

    def twice(model, opt):
        def step(x, y):
            loss = nn.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            loss.backward()
            opt.step()
            return loss
        return step
    eager, jitted = twice(m1, o1), jit(twice(m2, o2))
    for _ in range(5):
        x, y = rng.normal(size=(16, 8)).astype(np.float32), rng.integers(0, 3, 16)
        assert jitted(x, y).item() == eager(x, y).item()
        assert_same(m1, m2)
    plan = next(iter(jitted.plans.values()))
    assert plan.code is not None and not plan.steps[-1].rule.alone
    single = jit(step_of(*twins([8, 16, 3])[0]))
    for _ in range(3):
        single(rng.normal(size=(16, 8)), rng.integers(0, 3, 16))
    assert next(iter(single.plans.values())).steps[-1].rule.alone


@pytest.mark.parametrize("classes", [3, 32, 33])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_row_maxima_of_short_and_long_rows_give_the_bits_of_a_normal_run(classes, dtype):
    """cross_entropy's kernel takes the row maxima of up to 32 classes down a transposed copy, of more
    row by row: either way the loss, the gradients and the weights are a normal run's."""
    rng = np.random.default_rng(9)
    (m1, o1), (m2, o2) = twins([8, 16, classes], dtype=dtype)
    eager, jitted = step_of(m1, o1), jit(step_of(m2, o2))
    for _ in range(5):
        x, y = rng.normal(size=(16, 8)).astype(dtype) * 4, rng.integers(0, classes, 16)
        assert jitted(x, y).item() == eager(x, y).item()
        assert_same(m1, m2)
    source = next(iter(jitted.plans.values())).code.source
    assert ("maximum.reduce(B" in source and "axis=0" in source) == (classes <= 32)


def replayed_alike(widths, dtype, batch, steps, seed):
    """An MLP of these widths trained eagerly and jitted side by side, the loss and every parameter
    equal bit for bit after each step: (the jitted model, its plan's linear kernels in order)."""
    rng = np.random.default_rng(seed)
    (m1, o1), (m2, o2) = twins(widths, dtype=dtype)
    eager, jitted = step_of(m1, o1), jit(step_of(m2, o2))
    for _ in range(steps):
        x, y = rng.normal(size=(batch, widths[0])).astype(dtype), rng.integers(0, widths[-1], batch)
        assert jitted(x, y).item() == eager(x, y).item()
        assert_same(m1, m2)
    return m2, [s.kernel or s.rule for s in next(iter(jitted.plans.values())).steps if s.op.name == "linear"]


@pytest.mark.usefixtures("column_major_layers")
@pytest.mark.parametrize("widths", [[64, 48, 64], [64, 128, 16], [8, 24, 15, 10], [8, 24, 16, 10], [4, 1, 3]])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch", [1, 32, 256])
def test_g_at_w_takes_the_eager_rules_copy_and_its_bits_by_the_weights_width(widths, dtype, batch):
    """g @ W on a column-major weight runs on a row-major copy of a narrow W no larger than g, else on a
    column-major copy of g in a small product, else on neither (network.input_grad_copy); the replay
    takes the same copy and matches the eager step bit for bit (the same BLAS call on the same layouts).
    Batch 1 too: in OpenBLAS the three ways give the same bits at 32 rows, but not at one (a gemv), so
    there the equality tells a wrong choice. Widths on both sides of NARROW, and a weight of one column."""
    from autograd.ops.network import input_grad_copy
    m2, kernels = replayed_alike(widths, dtype, batch, steps=4, seed=12)
    for layer, kernel in list(zip(m2.layers, kernels))[1:]:  # (the first's input is the batch: no g @ W)
        copy = input_grad_copy(batch, layer.weight.data)
        assert (kernel.w_copy is not None) == (copy == "W") and (kernel.g_copy is not None) == (copy == "g")
        if copy == "W":
            assert kernel.w_copy.flags.c_contiguous


@pytest.mark.usefixtures("column_major_layers")
@pytest.mark.parametrize("layout", ["column-major", "row-major"])
def test_a_small_float32_layer_replays_its_eager_bits_in_either_weight_layout(layout):
    """nn.Layer keeps its weight column-major: x @ wᵀ is then BLAS's direct product, with no copy; gᵀ @ x
    comes out in the weight's layout and g @ W runs on a column-major copy of g, as in the eager rule
    (at 32 rows the 10-row last weight has more elements than g: no copy of W, see the test before).
    A row-major weight (assigned by hand) takes x @ (wᵀ copied contiguous) where BLAS gives that the
    same bits: copied every replay, so the optimizer's updates and a change made to the weight in
    place outside the step are seen."""
    rng = np.random.default_rng(10)
    (m1, o1), (m2, o2) = twins([64, 128, 10], dtype=np.float32)
    if layout == "row-major":
        for m in (m1, m2):
            for layer in m.layers:
                layer.weight.data = np.ascontiguousarray(layer.weight.data)
    eager, jitted = step_of(m1, o1), jit(step_of(m2, o2))
    for k in range(6):
        x, y = rng.normal(size=(32, 64)).astype(np.float32), rng.integers(0, 10, 32)
        assert jitted(x, y).item() == eager(x, y).item()
        assert_same(m1, m2)
        if k == 3:
            for m in (m1, m2):
                m.parameters()[0].data *= np.float32(0.5)
    column_major = layout == "column-major"
    for m in (m1, m2):  # each weight and its gradient in one layout: an update across layouts is ~10x slower
        for layer in m.layers:
            assert layer.weight.data.flags.f_contiguous == column_major
            assert layer.weight.grad.flags.f_contiguous == column_major
    first, second = next(iter(jitted.plans.values())).steps[:3:2]  # the two linear steps (a tanh between)
    assert first.kernel.column_major == column_major
    if column_major:
        assert first.kernel.transposed is None  # (wᵀ is contiguous already)
        assert second.kernel.w_copy is None and second.kernel.g_copy.flags.f_contiguous
        return
    if first.kernel.transposed is None:  # (a BLAS whose kernels differ there: the plain product, same bits)
        pytest.skip("x @ wᵀ and x @ copy(wᵀ) differ in this BLAS")
    assert first.kernel.transposed.shape == (64, 128)


@pytest.mark.usefixtures("column_major_layers")
@pytest.mark.parametrize("widths", [[64, 1, 64, 3], [8, 64, 1, 3], [8, 4, 1, 3]])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch", [1, 32, 256])
def test_a_weight_of_one_row_or_one_column_replays_its_eager_bits(widths, dtype, batch):
    """A (1, in) or (out, 1) weight is C- and F-contiguous at once. The eager rule takes such a weight's
    column-major products (its test is w.flags.f_contiguous: gW by _weight_grad, g @ W on a copy of g or
    of W); the jit took the row-major ones (gᵀ @ x, plain g @ W), other bits: it takes the eager rule's."""
    _, kernels = replayed_alike(widths, dtype, batch, steps=5, seed=batch)
    assert all(kernel.column_major for kernel in kernels)
