"""The engine on literal, hand-computed cases: broadcasting, reused nodes, micrograd's
known values, deep chains, grad of grad, no_grad/detach/hooks, topological order and
detect_anomaly."""
from __future__ import annotations

import math
import threading
import weakref

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from autograd import (AnomalyError, Value, backprop, detect_anomaly, enable_grad, grad, is_grad_enabled,
                      no_grad, topological_order)


# ---- broadcasting -------------------------------------------------------------------

def test_matrix_times_row_vector_gives_column_sums():
    a = Value(np.arange(12.0).reshape(3, 4))
    b = Value(np.array([1.0, 2.0, 3.0, 4.0]))
    (a * b).sum().backward()
    np.testing.assert_array_equal(b.grad, [12.0, 15.0, 18.0, 21.0])  # column sums of a
    np.testing.assert_array_equal(a.grad, np.tile([1.0, 2.0, 3.0, 4.0], (3, 1)))


def test_scalar_times_tensor():
    s = Value(2.0)
    t = Value([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    out = s * t
    assert out.shape == (2, 3)
    out.sum().backward()
    assert type(s.grad) is float and s.grad == 21.0
    np.testing.assert_array_equal(t.grad, np.full((2, 3), 2.0))


def test_column_plus_row_sums_back_each_input():
    a, b = Value(np.zeros((3, 1))), Value(np.zeros(4))
    w = np.arange(12.0).reshape(3, 4)
    ((a + b) * w).sum().backward()
    np.testing.assert_array_equal(a.grad, [[6.0], [22.0], [38.0]])
    np.testing.assert_array_equal(b.grad, [12.0, 15.0, 18.0, 21.0])
    assert a.grad.shape == (3, 1) and b.grad.shape == (4,)


def test_zero_dim_plus_matrix():
    s, m = Value(np.array(0.5)), Value(np.ones((2, 3)))
    assert s.shape == ()
    ((s + m) * m).sum().backward()
    assert s.grad == 6.0 and np.shape(s.grad) == ()


# ---- reused nodes -------------------------------------------------------------------

def test_x_times_x_and_a_plus_a():
    x, a = Value(3.0), Value(np.array([1.0, -2.0]))
    (x * x).backward()
    (a + a).sum().backward()
    assert x.grad == 6.0
    np.testing.assert_array_equal(a.grad, [2.0, 2.0])


def test_diamond():
    a = Value(3.0)
    b, c = a * 2, a ** 2  # a -> b, a -> c
    d = b * c  # b, c -> d: d = 2a^3
    d.backward()
    assert a.grad == 54.0  # 6a^2
    assert b.grad == 9.0 and c.grad == 6.0


def test_node_used_by_two_outputs():
    a = Value(2.0)
    y1, y2 = a * 3, a * 5
    y1.backward()
    y2.backward()
    assert a.grad == 8.0
    (g,) = grad([y1, y2], [a])
    assert g.data == 8.0


# ---- micrograd's own tests, with the values they assert --------------------------------

def micrograd_sanity(x):
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    return h + q + q * x


def micrograd_more_ops(a, b):
    c = a + b
    d = a * b + b ** 3
    c = c + c + 1  # micrograd writes c += c + 1: the same for Values, and safe for torch tensors
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e ** 2
    g = f / 2.0
    return g + 10.0 / f


def test_micrograd_sanity_check():
    x = Value(-4.0)
    y = micrograd_sanity(x)
    y.backward()
    assert y.data == -20.0 and x.grad == 46.0


def test_micrograd_more_ops():
    a, b = Value(-4.0), Value(2.0)
    g = micrograd_more_ops(a, b)
    g.backward()
    assert g.data == pytest.approx(24.70408163265306, abs=1e-12)
    assert a.grad == pytest.approx(138.83381924198252, abs=1e-10)
    assert b.grad == pytest.approx(645.5772594752186, abs=1e-10)


@given(st.floats(-3, 3), st.floats(-3, 3))
def test_micrograd_expressions_match_the_micrograd_package(x0, y0):
    mg = pytest.importorskip("micrograd.engine")
    assume(math.isfinite(micrograd_more_ops(Value(x0), Value(y0)).data))  # its 10 / f: f == 0 for e.g. (3, 0)
    ours, theirs = [Value(x0), Value(y0)], [mg.Value(x0), mg.Value(y0)]
    for fn in (lambda a, b: micrograd_sanity(a), micrograd_more_ops):
        out_ours, out_theirs = fn(*ours), fn(*theirs)
        out_ours.backward()
        out_theirs.backward()
        assert out_ours.data == pytest.approx(out_theirs.data, rel=1e-12, abs=1e-12)
        for v, m in zip(ours, theirs):
            assert v.grad == pytest.approx(m.grad, rel=1e-9, abs=1e-9)


# ---- .grad bookkeeping ----------------------------------------------------------------

def test_gradients_accumulate_across_backward_calls():
    x = Value(np.array([1.0, 2.0]))
    y = (x * x).sum()
    y.backward()
    y.backward()
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])  # 2 * 2x
    x.zero_grad()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])


def test_intermediate_grads_are_filled():
    a, b = Value(2.0), Value(-3.0)
    c = a * b
    d = c + a
    e = d.tanh()
    e.backward()
    t = math.tanh(-4.0)
    assert e.grad == 1.0
    assert d.grad == pytest.approx(1 - t * t)
    assert c.grad == pytest.approx(1 - t * t)
    assert a.grad == pytest.approx((1 - t * t) * (b.data + 1))
    assert b.grad == pytest.approx((1 - t * t) * a.data)


def test_backprop_is_pure():
    x = Value(3.0)
    y = x * x + x
    grads = backprop([y], [2.0])
    assert grads[x] == 14.0  # 2 * (2x + 1)
    assert x.grad == 0.0 and y.grad == 0.0


# ---- deep graphs --------------------------------------------------------------------

def test_value_supports_weakref():
    v = Value(1.0)
    ref = weakref.ref(v)
    del v
    assert ref() is None


def test_million_node_chain():
    """No RecursionError forward or backward, exact gradient, and the chain is freed."""
    x0 = Value(1.0)
    x = x0
    for _ in range(1_000_000):
        x = x + 0.5
    x.backward()
    assert x.data == 500_001.0 and x0.grad == 1.0
    head, middle = weakref.ref(x), weakref.ref(x.parents[0].parents[0])
    del x
    assert head() is None and middle() is None


def test_long_product_chain():
    x0 = Value(1.0)
    x = x0
    for _ in range(100_000):
        x = x * 1.0000001
    x.backward()
    assert x0.grad == pytest.approx(1.0000001 ** 100_000, rel=1e-9)
    assert len(topological_order(x, requires_grad_only=True)) == 100_001


# ---- grad of grad -------------------------------------------------------------------

POINTS = [-2.0, -0.5, 0.0, 0.7, 3.0]


@pytest.mark.parametrize("p", POINTS)
def test_tanh_second_and_third_derivative(p):
    x = Value(p)
    (d1,) = grad(x.tanh(), x, create_graph=True)
    (d2,) = grad(d1, x, create_graph=True)
    (d3,) = grad(d2, x)
    t = math.tanh(p)
    assert d1.data == pytest.approx(1 - t * t, abs=1e-12)
    assert d2.data == pytest.approx(-2 * t * (1 - t * t), abs=1e-12)
    assert d3.data == pytest.approx(-2 * (1 - t * t) * (1 - 3 * t * t), abs=1e-12)


def test_tanh_second_derivative_elementwise_on_a_tensor():
    x, t = Value(np.array(POINTS)), np.tanh(POINTS)
    (d1,) = grad(x.tanh().sum(), x, create_graph=True)
    np.testing.assert_allclose(grad(d1.sum(), x)[0].data, -2 * t * (1 - t * t), atol=1e-12)


def mlp_loss(w1, w2, x, y):
    return (((x @ w1).tanh() @ w2 - y) ** 2).mean()


def test_hessian_vector_product_of_a_two_layer_mlp(rng):
    w1, w2 = rng.normal(size=(3, 4)), rng.normal(size=(4, 1))
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 1))
    v1, v2 = rng.normal(size=(3, 4)), rng.normal(size=(4, 1))
    W1, W2 = Value(w1, label="W1"), Value(w2, label="W2")
    W1.grad = np.full((3, 4), 7.0)  # grad() must leave these alone
    g1, g2 = grad(mlp_loss(W1, W2, x, y), [W1, W2], create_graph=True)
    hv1, hv2 = grad((g1 * v1).sum() + (g2 * v2).sum(), [W1, W2])

    eps = 1e-5  # central differences of the gradient along v
    plus, minus = mlp_gradient(w1 + eps * v1, w2 + eps * v2, x, y), mlp_gradient(w1 - eps * v1, w2 - eps * v2, x, y)
    for hv, p, m in zip((hv1, hv2), plus, minus):
        np.testing.assert_allclose(hv.data, (p - m) / (2 * eps), rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(W1.grad, np.full((3, 4), 7.0))
    np.testing.assert_array_equal(W2.grad, np.zeros((4, 1)))


def mlp_gradient(w1, w2, x, y):
    W1, W2 = Value(w1), Value(w2)
    return [g.data for g in grad(mlp_loss(W1, W2, x, y), [W1, W2])]


# ---- recording switches, detach, hooks ----------------------------------------------

def test_no_grad_results_are_leaves():
    x = Value(2.0)
    with no_grad():
        assert not is_grad_enabled()
        y = x * 3 + 1
        with enable_grad():
            z = x * 3
    assert is_grad_enabled()
    assert y.data == 7.0 and y.is_leaf and not y.requires_grad and y.parents == ()
    assert z.op == "mul" and z.requires_grad


def test_no_grad_is_thread_local():
    x = Value(2.0)
    seen = {}
    with no_grad():
        worker = threading.Thread(target=lambda: seen.update(y=x * 3))
        worker.start()
        worker.join()
        here = x * 3
    assert seen["y"].op == "mul" and seen["y"].requires_grad
    assert not here.requires_grad
    entered, release = threading.Event(), threading.Event()

    def quiet_worker():
        with no_grad():
            entered.set()
            release.wait(5)

    worker = threading.Thread(target=quiet_worker)
    worker.start()
    entered.wait(5)
    recorded = x * 3  # while the other thread sits inside no_grad()
    release.set()
    worker.join()
    assert recorded.requires_grad and recorded.parents[0] is x


def test_detach_shares_data_and_stops_gradients():
    x = Value(np.array([1.0, 2.0]), label="x")
    d = x.detach()
    assert d.data is x.data and d.is_leaf and not d.requires_grad and d.label == "x"
    (d * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 2.0])  # x, not 2x


def test_hook_sees_the_complete_gradient_once():
    x = Value(2.0)
    y = x * 3
    seen = []
    hook = seen.append
    assert y.register_hook(hook) is hook  # usable as a decorator
    (y * y).backward()
    assert seen == [12.0]  # dz/dy = 2y, both uses summed before the hook runs
    assert x.grad == 36.0


def test_hook_return_value_replaces_the_gradient():
    x = Value(np.array([1.0, 2.0]))
    y = x * 3
    y.register_hook(lambda g: g * 10)
    x.register_hook(lambda g: g + 1)
    (y * y).sum().backward()
    np.testing.assert_array_equal(y.grad, [60.0, 120.0])  # 10 * 2y
    np.testing.assert_array_equal(x.grad, [181.0, 361.0])  # 3 * replaced, then + 1


# ---- topological order ----------------------------------------------------------------

@st.composite
def random_graph(draw):
    nodes = [Value(draw(st.floats(-2, 2)), requires_grad=draw(st.booleans())) for _ in range(draw(st.integers(1, 4)))]
    for _ in range(draw(st.integers(0, 25))):
        a, b = (nodes[draw(st.integers(0, len(nodes) - 1))] for _ in range(2))
        nodes.append(draw(st.sampled_from([a + b, a * b, a.tanh(), a - 1.0])))
    roots = draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=3))
    return nodes, roots


@given(random_graph())
def test_topological_order_properties(graph):
    nodes, roots = graph
    order = topological_order(roots)
    position = {n: i for i, n in enumerate(order)}
    assert len(position) == len(order)  # each node once
    reachable, todo = set(), list(roots)
    while todo:
        n = todo.pop()
        if n not in reachable:
            reachable.add(n)
            todo.extend(n.parents)
    assert set(order) == reachable
    for n in order:
        assert all(position[p] < position[n] for p in n.parents)  # parents first
    pruned = topological_order(roots, requires_grad_only=True)  # what backward walks
    assert set(pruned) == {n for n in order if n.requires_grad} | set(roots)
    assert [n for n in pruned if n.requires_grad] == [n for n in order if n.requires_grad]
    at = {n: i for i, n in enumerate(pruned)}
    assert all(at[p] < at[n] for n in pruned for p in n.parents if p.requires_grad)


# ---- detect_anomaly -------------------------------------------------------------------

def take_log(x):
    return x.log()


LOG_LINE = take_log.__code__.co_firstlineno + 1


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
@pytest.mark.parametrize("data", [-1.0, np.array([1.0, -1.0])])
def test_anomaly_in_forward_names_op_and_line(data):
    x = Value(data, label="x")
    with detect_anomaly(), pytest.raises(AnomalyError) as err:
        take_log(x)
    message = str(err.value)
    assert "NaN" in message and "log" in message and f"test_engine.py:{LOG_LINE}" in message


def test_division_by_zero_is_quiet_unless_detecting_anomalies():
    assert (Value(1.0) / Value(0.0)).data == math.inf and math.isnan(Value(-1.0).log().data)
    with detect_anomaly(), pytest.raises(AnomalyError, match=r"inf .*div"):
        Value(1.0) / Value(0.0, label="zero")


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
@pytest.mark.parametrize("data", [0.0, np.array([0.0, 4.0])])
def test_anomaly_in_backward_names_op_and_node(data):
    with detect_anomaly():
        x = Value(data, label="x")
        s = x.sqrt()
        s.label = "root"
        with pytest.raises(AnomalyError) as err:
            s.sum().backward()
    message = str(err.value)
    assert "inf" in message and "backward of sqrt" in message and "'root'" in message and "(x)" in message


def test_scalar_backward_through_zero_gives_inf_like_tensors():
    """sqrt'(0) and log'(0) are inf on arrays; Python floats must not raise ZeroDivisionError."""
    for fn in (lambda v: v.sqrt(), lambda v: v.log()):
        s, t = Value(0.0), Value(np.array([0.0]))
        with np.errstate(divide="ignore"):
            fn(s).backward()
            fn(t).sum().backward()
        assert t.grad[0] == math.inf and s.grad == math.inf
