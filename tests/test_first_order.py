"""The first-order forms of fresh rules (autograd.ops: `first_order`, what backprop's fresh path calls)
give exactly the arrays of the rules themselves, and nn.Layer's one-call nodes (value_layer.apply_layer)
are the nodes apply3 and apply1 make: same numbers, labels, depths, flags and parents."""
import dataclasses
import itertools

import numpy as np
import pytest

import nn
from autograd import Value, detect_anomaly, jit, no_grad
from autograd.arguments import ShapeError
from autograd.engine import _rule
from autograd.ops import OPS, defop
from autograd.value import apply1, apply3, const
from autograd.value_layer import apply_layer

F32, F64 = np.float32, np.float64
rng = np.random.default_rng(7)


def _same(a, b):
    """Equal bit for bit (None for None), each a new array of its own."""
    if a is None or b is None:
        return a is None and b is None
    return type(a) is type(b) is np.ndarray and a.dtype == b.dtype and a.shape == b.shape and \
        np.array_equal(a, b, equal_nan=True) and not np.shares_memory(a, b)


def _both(node, g):
    """(first_order's contributions, the table rule's through engine._rule) for node at g."""
    entry = OPS[node.op]
    first = entry.first_order(np.array(g), node.data, node)  # (a copy each: neither may keep g)
    return first, _rule(entry, np.array(g), node, node.parents, False)


def test_the_fresh_ops_of_a_layer_network_have_one():
    assert {name for name, op in OPS.items() if op.first_order} == {"linear", "tanh", "sigmoid", "cross_entropy"}
    assert all(op.fresh for op in OPS.values() if op.first_order)


@pytest.mark.parametrize("rows,features,out", [(5, 3, 7), (32, 64, 128), (32, 128, 128), (2, 200, 160), (1, 4, 2),
                                               (600, 3, 7), (300, 200, 160)])
@pytest.mark.parametrize("dtypes", [(F64, F64, F64), (F32, F32, F32), (F64, F32, F32), (F32, F32, F64)])
@pytest.mark.parametrize("flags", list(itertools.product([True, False], repeat=3)))
@pytest.mark.parametrize("order", ["C", "F"])
def test_linear(rows, features, out, dtypes, flags, order):
    xt, wt, bt = dtypes
    x = Value(rng.normal(size=(rows, features)).astype(xt), requires_grad=flags[0])
    w = Value(np.asarray(rng.normal(size=(out, features)).astype(wt), order=order), requires_grad=flags[1])
    b = Value(rng.normal(size=out).astype(bt), requires_grad=flags[2])
    z = apply3("linear", x, w, b)
    first, general = _both(z, rng.normal(size=z.shape).astype(z.dtype))
    assert len(first) == 3
    for p, f, e in zip((x, w, b), first, general):
        # the rules skip what needs none; the general one may also give it (the engine drops those)
        assert _same(f, e) or (f is None and not p.requires_grad), (p.shape, f, e)


@pytest.mark.parametrize("shape", [(4, 3), (2, 5, 3), (3,)])
def test_linear_beyond_a_2d_batch_and_without_bias(shape):
    x = Value(rng.normal(size=shape))
    w = Value(rng.normal(size=(6, 3)))
    for z in (apply3("linear", x, w, Value(rng.normal(size=6))), nn.functional.linear(x, w)):
        first, general = _both(z, rng.normal(size=z.shape))
        assert len(first) == len(z.parents)
        assert all(_same(f, e) for f, e in zip(first, general))


@pytest.mark.parametrize("name", ["tanh", "sigmoid"])
@pytest.mark.parametrize("shape", [(), (1,), (4, 5), (300, 128)])
@pytest.mark.parametrize("dtype", [F32, F64])
def test_elementwise(name, shape, dtype):
    a = Value(np.asarray(rng.normal(size=shape) * 3, dtype=dtype))
    out = apply1(name, a)
    if type(out.data) is float:  # a 0-d float64 result is a Python float: no array path
        return
    first, general = _both(out, np.asarray(rng.normal(size=shape), dtype=dtype))
    assert len(first) == 1 and _same(first[0], general[0])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("rows", [None, 1, 6, 40])
@pytest.mark.parametrize("classes", [4, 33])
def test_cross_entropy(reduction, rows, classes):
    z = Value(rng.normal(size=(classes,) if rows is None else (rows, classes)).astype(F32))
    y = rng.integers(0, classes, size=() if rows is None else rows)
    loss = nn.cross_entropy(z, y, reduction=reduction)
    assert loss.op == "cross_entropy"
    g = np.asarray(rng.normal(size=loss.shape), dtype=F32)
    first, general = _both(loss, g)
    assert len(first) == 1 and _same(first[0], general[0])


def test_cross_entropy_without_its_saved_softmax():
    z = Value(rng.normal(size=(5, 3)).astype(F32))
    loss = nn.cross_entropy(z, rng.integers(0, 3, 5))
    loss._details = loss._details.replace(extra=None)  # (as a node whose forward kept nothing: the rule recomputes the softmax)
    first, general = _both(loss, np.array(2.5, F32))
    assert _same(first[0], general[0])


def test_a_replaced_backward_drops_it_and_is_the_one_called():
    calls, original = [], OPS["tanh"]

    def spy(g, out, a):
        calls.append(1)
        return original.backward(g, out, a)
    swapped = dataclasses.replace(original, backward=spy)
    assert swapped.fresh and swapped.first_order is None
    OPS["tanh"] = swapped
    try:
        x = Value(rng.normal(size=(3, 4)).astype(F32))
        x.tanh().sum().backward()
    finally:
        OPS["tanh"] = original
    assert calls == [1]
    assert OPS["tanh"].first_order is not None


def test_only_a_fresh_op_may_have_one():
    with pytest.raises(ValueError, match="first_order= is for fresh=True ops"):
        defop("_not_fresh", lambda a: a, lambda g, out, a: (g,), "id", ("1",), first_order=lambda g, out, node: (g,))
    assert "_not_fresh" not in OPS


def test_a_training_step_through_it_equals_the_general_path():
    """The digits-shaped step: its gradients through the fresh path equal the general path's, bit for bit."""
    for dtype in (F32, F64):
        model = nn.MLP(8, [16, 16, 4], activation="tanh", seed=1).to(dtype)
        x, y = rng.normal(size=(32, 8)).astype(dtype), rng.integers(0, 4, 32)
        nn.cross_entropy(model(x), y).backward()
        fast = [p.grad.copy() for p in model.parameters()]
        model.zero_grad()
        with detect_anomaly():  # (anomaly mode: every node through _rule and the table rules)
            nn.cross_entropy(model(x), y).backward()
        for f, p in zip(fast, model.parameters()):
            assert f.dtype == p.grad.dtype and np.array_equal(f, p.grad)


# ---- value_layer.apply_layer: nn.Layer's two nodes in one call ------------------------------------

def _fields(v):
    return (v.op, v.label, v._depth, v.requires_grad, v.attrs, v._details.extra, v._grad)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", None])
@pytest.mark.parametrize("x_kind", ["array", "const", "value"])
@pytest.mark.parametrize("dtype", [F32, F64])
def test_apply_layer_makes_apply3s_and_apply1s_nodes(activation, x_kind, dtype):
    data = rng.normal(size=(4, 3)).astype(dtype)
    x = {"array": data, "const": const(data), "value": Value(data)}[x_kind]
    w, b = Value(rng.normal(size=(5, 3)).astype(dtype)), Value(rng.normal(size=5).astype(dtype))
    got = apply_layer(x, w, b, activation, "L7")
    z = apply3("linear", x, w, b)
    z.label = "L7.z"
    expected = z if activation is None else apply1(activation, z)
    if activation is not None:
        expected.label = "L7.out"
    for a, e in ((got, expected),) + (((got.parents[0], z),) if activation else ()):
        assert _fields(a) == _fields(e)
        assert type(a.data) is type(e.data) and np.array_equal(a.data, e.data) and a.data.dtype == e.data.dtype
        assert [type(p) for p in a.parents] == [Value] * len(e.parents)
    linear = got.parents[0] if activation else got
    assert linear.parents[1] is w and linear.parents[2] is b
    assert (linear.parents[0] is x) if x_kind != "array" else linear.parents[0].data is data


def test_apply_layer_under_no_grad_and_a_jit_capture():
    x = rng.normal(size=(4, 3))
    w, b = Value(rng.normal(size=(5, 3))), Value(rng.normal(size=5))
    with no_grad():
        out = apply_layer(x, w, b, "tanh", "L")
    assert not out.requires_grad and not out.op and out.parents == ()
    np.testing.assert_array_equal(out.data, np.tanh(x @ w.data.T + b.data))

    layer = nn.Linear(3, 5, seed=0)
    step = jit(lambda x: layer(x).tanh().sum())
    for _ in range(3):
        xb = rng.normal(size=(4, 3))
        assert step(xb).item() == pytest.approx(np.tanh(xb @ layer.weight.data.T + layer.bias.data).sum(), rel=1e-12)


def test_apply_layer_names_both_shapes_on_a_mismatch():
    w, b = Value(rng.normal(size=(5, 3))), Value(rng.normal(size=5))
    with pytest.raises(ShapeError, match=r"linear.*\(4, 2\).*\(5, 3\)"):
        apply_layer(rng.normal(size=(4, 2)), w, b, "tanh", "L")
