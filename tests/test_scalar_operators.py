"""The operators' direct path for two Python floats (autograd.value_arithmetic) records exactly the
node the op table's general path records: same numbers (special values included), op, attrs,
inputs, constants and gradients; arrays, zero divisors, refused powers and the no_grad()/
detect_anomaly() modes keep taking the general path."""
import math

import numpy as np
import pytest

from autograd import AnomalyError, Value, detect_anomaly, grad, no_grad, topological_order
from autograd.engine import backprop
from autograd.viz.player.steps import record
from autograd.value import apply1, apply2

SPECIAL = [-2.5, -1.0, -0.0, 0.0, 0.5, 3.0, math.inf, -math.inf, math.nan]
BINARY = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
          "div": lambda a, b: a / b}


def same_number(x, y):
    return type(x) is type(y) is float and (x == y and math.copysign(1, x) == math.copysign(1, y)
                                            or math.isnan(x) and math.isnan(y))


def same_node(fast, general):
    """Two recorded nodes alike in everything a user, the drawer or backprop reads."""
    assert fast.op == general.op and dict(fast.attrs) == dict(general.attrs)
    assert same_number(fast.data, general.data), (fast.op, fast.data, general.data)
    assert fast.requires_grad == general.requires_grad and fast._depth == general._depth
    assert len(fast.parents) == len(general.parents)
    for p, q in zip(fast.parents, general.parents):
        assert same_number(p.data, q.data) and p.requires_grad == q.requires_grad and p.op == q.op


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("kind", ["two Values", "number second", "number first", "int second", "int first"])
def test_binary_operators_record_the_general_paths_node(name, kind):
    for x in SPECIAL:
        for y in SPECIAL:
            a, b = Value(x), Value(y, requires_grad=False)
            if kind == "two Values":
                args = (a, b)
            elif kind.startswith("int"):
                y = int(y) if math.isfinite(y) else 2
                args = (a, y) if kind == "int second" else (y, a)
            else:
                args = (a, y) if kind == "number second" else (y, a)
            with np.errstate(all="ignore"):
                fast = BINARY[name](*args)
                general = apply2(name, *args)
            same_node(fast, general)
            with np.errstate(all="ignore"):
                g_fast, g_general = backprop([fast], [-1.75]), backprop([general], [-1.75])
            assert same_number(g_fast[a], g_general[a])


@pytest.mark.parametrize("exponent", [0, 1, 2, 3, -1, 0.5, 3.5, -2.5, 1 / 3])
def test_powers_and_negation_record_the_general_paths_node(exponent):
    for x in SPECIAL:
        a = Value(x)
        with np.errstate(all="ignore"):
            same_node(a ** exponent, apply1("pow", a, {"exponent": exponent}))
            same_node(-a, apply1("neg", a))


def test_a_refused_power_and_a_zero_divisor_give_the_tables_numbers():
    cube_root = Value(-8.0) ** (1 / 3)   # math.pow refuses a negative base: numpy's nan, as the table
    assert math.isnan(cube_root.data) and cube_root.op == "pow"
    assert (Value(1.0) / 0.0).data == math.inf and (Value(-1.0) / Value(0.0)).data == -math.inf
    assert math.isnan((Value(0.0) / 0).data) and (2.0 / Value(-0.0)).data == -math.inf


def test_numbers_mixed_in_become_float_constant_leaves():
    x = Value(1.5, label="x")
    y = 2 * x - 1 + x / 4.0
    constants = [p for n in (y, *y.parents, *y.parents[0].parents) for p in n.parents if not p.requires_grad]
    assert sorted(c.data for c in constants) == [1.0, 2.0, 4.0]
    assert all(type(c.data) is float and c.is_leaf and c.label == "" for c in constants)
    y.backward()
    assert x.grad == 2.25 and type(x.grad) is float


def test_no_grad_and_anomaly_mode_still_take_the_general_path():
    a, b = Value(1.0), Value(2.0)
    with no_grad():
        for out in (a + b, a * 3, 2.0 - a, -a, a ** 2, a / b):
            assert out.is_leaf and not out.requires_grad
    with detect_anomaly():
        inf = Value(math.inf)
        with pytest.raises(AnomalyError, match="sub"):
            inf - inf
        with pytest.raises(AnomalyError, match="mul"):
            Value(0.0) * math.inf
    assert (a + b).op == "add" and (a + b).requires_grad


def test_arrays_and_other_number_types_keep_the_table_path():
    t = Value(np.array([1.0, -2.0]))
    assert np.array_equal((t * 2 + 1.5).data, [3.5, -2.5]) and np.array_equal((1 - t).data, [0.0, 3.0])
    s = Value(1.5)
    assert (s * np.float64(2.0)).data == 3.0 and type((s * np.float64(2.0)).data) is float
    assert (s + True).data == 2.5 and type((True + s).data) is float
    assert (Value(np.float32(1.5)) * 2.0).dtype == np.float32


def _random_graph(seed, n=600):
    """A seeded random scalar expression in which most results are used more than once."""
    rng = np.random.default_rng(seed)
    leaves = [Value(float(v), label=f"x{i}") for i, v in enumerate(rng.uniform(-1, 1, 6))]
    slots = list(leaves)
    for k in range(n):
        i, j = rng.integers(0, len(slots), 2)
        a, b = slots[i], slots[j]
        slots[i] = [a + b, a * b, a - 0.5, -a, (a * 0.5).tanh(), a / (1.0 + b * b), (0.5 * a) ** 2][k % 7]
    return leaves, sum(slots[1:], slots[0])


def test_backprop_finishes_every_node_after_all_the_nodes_it_feeds():
    leaves, loss = _random_graph(3)
    finished = []
    nodes = topological_order(loss)
    for node in nodes:
        node.register_hook(lambda g, node=node: finished.append(node))
    loss.backward()
    position = {id(n): k for k, n in enumerate(finished)}
    assert len(position) == len(finished) == len([n for n in nodes if n.requires_grad])
    for node in nodes:   # a hook runs when the node's gradient is complete: after every consumer
        for p in node.parents:
            if p.requires_grad:
                assert position[id(node)] < position[id(p)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_step_recorder_sums_in_backprops_order(seed):
    leaves, loss = _random_graph(seed)
    recording = record(loss)
    loss.backward()
    final = recording.final_grads
    for k, node in enumerate(recording.nodes):
        if node.requires_grad:
            assert final[k] == node.grad and type(final[k]) is float   # bit-equal, not approximately


def test_several_outputs_and_an_output_that_feeds_another():
    x = Value(0.5)
    y = x * x
    z = (y * 3.0).tanh() + y
    dx, = grad([z, y], [x], grad_outputs=[1.0, 2.0])
    assert dx.data == pytest.approx((3 * (1 - math.tanh(0.75) ** 2) + 1 + 2) * 2 * 0.5, rel=1e-15)


def test_a_deep_chain_backpropagates_without_recursion():
    x, w = Value(0.5), Value(1.0)
    y = x
    for _ in range(20_000):
        y = (y + x) * w
    y.backward()
    assert x.grad == 20_001.0 and w.grad == pytest.approx(0.5 * 20_001 * 20_000 / 2 + 0.5 * 20_000, rel=1e-12)
