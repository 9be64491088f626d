"""The engine's speed paths give exactly the numbers of the general ones: backprop's inline
float rules against the op table's own rules (special values included), and the op path's
shortcut of the thread-local mode while no thread is inside no_grad()/detect_anomaly()."""
import math
import threading

import numpy as np
import pytest

from autograd import Value, detect_anomaly, no_grad
from autograd.engine import backprop
from autograd.mode import ALTERED
from autograd.ops import OPS

SPECIAL = [-2.5, -1.0, -0.0, 0.0, 0.5, 3.0]


def table_rule(node, g):
    """The op table's rule for node, called as the general path calls it."""
    return OPS[node.op].backward(g, node.data, *[p.data for p in node.parents], **node.attrs)


@pytest.mark.parametrize("make", [
    lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / b, lambda a, b: -a,
    lambda a, b: a ** 2, lambda a, b: a ** 0, lambda a, b: a ** -1, lambda a, b: a ** 0.5, lambda a, b: a ** 3.5,
    lambda a, b: a.relu(), lambda a, b: a.tanh(), lambda a, b: a.exp(), lambda a, b: a.sigmoid(),
], ids=["add", "sub", "mul", "div", "neg", "square", "pow0", "inverse", "sqrt", "pow3.5", "relu", "tanh", "exp",
        "sigmoid"])
def test_inline_float_rules_equal_the_table_rules(make):
    for x in SPECIAL:
        for y in SPECIAL:
            a, b = Value(x), Value(y)
            with np.errstate(all="ignore"):
                out = make(a, b)
                g = -1.75
                grads = backprop([out], [g])
                expected = table_rule(out, g)
            for p, e in zip(out.parents, expected):
                got = grads.get(p)
                assert type(got) is float and type(e) in (float, np.float64)
                assert got == e or (math.isnan(got) and math.isnan(e)), (out.op, x, y, got, e)
                assert math.copysign(1, got) == math.copysign(1, e) or math.isnan(e)


def test_a_constant_mixed_in_gets_no_gradient_and_a_reused_input_gets_all():
    x = Value(1.5)
    y = (x * 2.0 + x * x) / (x - 4.0)  # x in four places, numbers on both sides
    grads = backprop([y], [1.0])
    expected = ((2 + 2 * 1.5) * (1.5 - 4.0) - (2 * 1.5 + 1.5 ** 2)) / (1.5 - 4.0) ** 2
    assert grads[x] == pytest.approx(expected, rel=1e-15)
    assert all(not p.requires_grad for p in grads if p is not x and not p.op)


def test_modes_stay_per_thread_with_the_shortcut():
    assert ALTERED[0] == 0
    inside, other = threading.Event(), []

    def worker():
        inside.wait()
        other.append((Value(1.0) * Value(2.0)).op)   # this thread is not in no_grad()

    t = threading.Thread(target=worker)
    t.start()
    with no_grad():
        assert ALTERED[0] == 1
        assert (Value(1.0) * Value(2.0)).op == ""    # not recorded here
        inside.set()
        t.join()
    assert other == ["mul"] and ALTERED[0] == 0
    with detect_anomaly():
        with pytest.raises(FloatingPointError):
            Value(-1.0).log()
    assert ALTERED[0] == 0 and (Value(1.0) + 1.0).op == "add"


def general_path(loss):
    """backprop through the op table's rules only (detect_anomaly() turns the inline rules off)."""
    with detect_anomaly():
        return backprop([loss], [1.0])


def test_example_mode_neurons_give_the_general_paths_gradients_exactly():
    import nn
    model = nn.MLP(3, [5, 4, 1], activation="tanh", seed=0)
    rows = np.random.default_rng(0).normal(size=(6, 3))
    x0 = Value(0.3)  # an input that wants its gradient, used by every neuron of the first layer
    scores = [model([x0, *r[1:]]) for r in rows]
    loss = sum((s - 1.0) ** 2 for s in scores) + nn.l2_penalty(model, 1e-2)  # weights used twice
    fast, general = backprop([loss], [1.0]), general_path(loss)
    assert fast.keys() == general.keys()
    for node, g in general.items():
        np.testing.assert_array_equal(fast[node], g)
        assert type(fast[node]) is type(g)
    assert fast[model.parameters()[0]] is not general[model.parameters()[0]]


def test_a_random_scalar_expression_gives_the_general_paths_gradients_exactly():
    rng = np.random.default_rng(1)
    leaves = [Value(float(v)) for v in rng.uniform(-1, 1, 8)]
    slots = list(leaves)
    for k in range(400):
        i, j = rng.integers(0, len(slots), 2)
        a, b = slots[i], slots[j]
        op = k % 9
        slots[i] = [a + b, a - 0.5, 1.5 * a, a * b, a / (1.0 + b * b), -a, (a * 0.5) ** 2, a.relu(),
                    (a * 0.1).tanh()][op]
    loss = sum(slots)
    fast, general = backprop([loss], [1.0]), general_path(loss)
    assert all(fast[n] == g for n, g in general.items()) and fast.keys() == general.keys()


def test_leaves_reached_only_through_array_ops_get_their_gradients_float_and_array_alike():
    # (array leaves get no turn of their own in backprop; a float leaf must still have its .grad stored)
    w, b = Value(2.0), Value(np.array([0.5, -1.0, 2.0]))
    x = Value(np.arange(3.0), requires_grad=False)
    loss = (w * x + b).tanh().sum()
    loss.backward()
    t = np.tanh(2.0 * np.arange(3.0) + np.array([0.5, -1.0, 2.0]))
    assert w.grad == pytest.approx(float(np.sum((1 - t * t) * np.arange(3.0))))
    np.testing.assert_allclose(b.grad, 1 - t * t)
    loss.backward()  # a second backward adds into both
    assert w.grad == pytest.approx(2 * float(np.sum((1 - t * t) * np.arange(3.0))))
    np.testing.assert_allclose(b.grad, 2 * (1 - t * t))


def test_a_weight_used_at_many_steps_sums_its_contributions_in_place_without_touching_shared_arrays():
    W = Value(np.array([[0.5, -0.2], [0.1, 0.3]]))
    h = Value(np.array([1.0, -1.0]))
    states = [h]
    for _ in range(4):
        states.append((W @ states[-1]).tanh())
    loss = sum(s.sum() for s in states[1:])
    (gW, gh) = __import__("autograd").grad(loss, [W, h])
    eps, num = 1e-6, np.zeros((2, 2))
    for i in range(2):
        for j in range(2):
            def f(d):
                Wd = W.data.copy(); Wd[i, j] += d
                s, total = h.data, 0.0
                for _ in range(4):
                    s = np.tanh(Wd @ s); total += s.sum()
                return total
            num[i, j] = (f(eps) - f(-eps)) / (2 * eps)
    np.testing.assert_allclose(gW.data, num, rtol=1e-6, atol=1e-8)
    loss.backward()
    np.testing.assert_allclose(W.grad, num, rtol=1e-6, atol=1e-8)
    assert W.grad is not states[1].grad


def scalar_graph():
    x, w = Value(0.75), Value(-1.5)
    h = (x * w + 2.0).tanh() ** 2 / (w - 3.0)
    return x, w, h * x + (-h).relu() + x.exp()


def test_backward_stores_float_gradients_as_store_grads_did():
    # backprop adds a float node's gradient into .grad at its turn: the same bits as a pass after it
    x, w, out = scalar_graph()
    expected = backprop([out], [1.0])
    x.grad, w.grad = 0.25, -0.5  # accumulating onto gradients already there
    out.backward()
    assert x.grad == 0.25 + expected[x] and w.grad == -0.5 + expected[w]
    assert out.grad == 1.0 and all(node.grad == g for node, g in expected.items() if node not in (x, w))


def test_backward_with_arrays_and_floats_stores_both():
    a = Value(np.array([0.5, -1.0, 2.0]))
    s = Value(0.3)
    out = (a * 2.0).sum() * s + s * s
    expected = backprop([out], [1.0])
    out.backward()
    assert np.array_equal(a.grad, expected[a]) and a.grad.dtype == a.data.dtype
    assert s.grad == expected[s]


def test_a_failing_backward_changes_no_grad():
    x, w, out = scalar_graph()
    x.grad = 0.125

    def fail(g):
        raise RuntimeError("hook failed")

    w.register_hook(fail)  # w comes after nodes whose .grad backprop would already have set
    with pytest.raises(RuntimeError, match="hook failed"):
        out.backward()
    assert x.grad == 0.125 and all(n._grad is None for n in (w, out) + out.parents)


def test_a_hook_sees_no_grad_changed_before_backward_returns():
    x, w, out = scalar_graph()
    seen = []
    w.register_hook(lambda g: seen.append((out._grad, x._grad)))
    out.backward()
    assert seen == [(None, None)] and out.grad == 1.0 and x.grad != 0.0
