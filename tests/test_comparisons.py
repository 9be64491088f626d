"""Comparisons are elementwise boolean masks (numpy's and PyTorch's meaning), never graph
nodes; Values still hash by identity, and everything that looks nodes up (engine, jit, viz,
nn) does so by identity, so graphs full of equal numbers work as before."""
from __future__ import annotations

import operator
import re

import numpy as np
import pytest

import autograd
import nn
from autograd import ShapeError, Value, detect_anomaly, jit, topological_order, where
from autograd.viz import TrainingRecorder, draw, record

OPERATORS = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le,
             "gt": operator.gt, "ge": operator.ge}
NUMPY = {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
         "gt": np.greater, "ge": np.greater_equal}


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_operators_give_numpys_masks_with_broadcasting(name):
    a = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, np.nan]])
    b = np.array([2.0, 2.0, 1.0])
    x, y = Value(a), Value(b)
    expected = NUMPY[name](a, b)
    for result in (OPERATORS[name](x, y), OPERATORS[name](x, b), OPERATORS[name](a, y),  # reflected: ndarray op Value
                   getattr(x, name)(y), getattr(autograd, name)(x, b)):
        assert type(result) is np.ndarray and result.dtype == np.bool_
        np.testing.assert_array_equal(result, expected)
    np.testing.assert_array_equal(OPERATORS[name](x, 2.0), NUMPY[name](a, 2.0))
    np.testing.assert_array_equal(OPERATORS[name](2, x), NUMPY[name](2, a))
    np.testing.assert_array_equal(OPERATORS[name](x, [1, 2, 3]), NUMPY[name](a, [1, 2, 3]))


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_scalars_give_plain_bools(name):
    for a, b in [(1.0, 2.0), (2.0, 2.0), (3.0, 2.0)]:
        result = OPERATORS[name](Value(a), Value(b))
        assert type(result) is bool and result == OPERATORS[name](a, b)
        assert type(OPERATORS[name](Value(a), b)) is bool and type(OPERATORS[name](a, Value(b))) is bool
    # a 0-d float32 Value (kept as a 0-d array) too
    assert type(Value(np.float32(1.5)) < 2.0) is bool


def test_if_on_a_comparison_and_equal_scalars():
    a, b = Value(1.0), Value(2.0)
    taken = "less" if a < b else "not less"
    assert taken == "less"
    assert Value(3.0) == Value(3.0)  # equal numbers: equal, though not the same node
    assert (Value(3.0) != Value(3.0)) is False


def test_masks_are_never_recorded_and_carry_no_gradient():
    x = Value(np.array([-1.0, 0.5, 2.0]), label="x")
    m = x > 0
    assert not isinstance(m, Value)
    y = where(m, x * 2, x * 0.1).sum()
    ops = [n.op for n in topological_order(y)]
    assert ops.count("where") == 1 and not {"gt", "lt", "eq"} & set(ops)
    y.backward()
    np.testing.assert_allclose(x.grad, [0.1, 2.0, 2.0])


def test_masks_index_and_fill():
    x = Value(np.array([[-1.0, 0.5], [2.0, -3.0]]))
    picked = x[x > 0]
    np.testing.assert_array_equal(picked.data, [0.5, 2.0])
    picked.sum().backward()
    np.testing.assert_array_equal(x.grad, [[0.0, 1.0], [1.0, 0.0]])
    if not hasattr(Value, "masked_fill"):
        pytest.skip("masked_fill is not in this build of the op table")
    filled = x.masked_fill(x < 0, 0.0)
    np.testing.assert_array_equal(filled.data, [[0.0, 0.5], [2.0, 0.0]])


def test_comparing_with_what_is_not_a_number():
    v = Value(np.array([1.0, 2.0]))
    assert (v == None) is False and (v != None) is True  # the operators themselves are under test
    assert (v == "a") is False
    with pytest.raises(TypeError):
        _ = v < "a"
    with pytest.raises(TypeError, match="cannot compare a Value with str"):
        v.lt("a")
    with pytest.raises(ShapeError, match=r"eq: cannot compare shapes \(2,\) and \(3,\)"):
        _ = v == np.ones(3)


def test_tests_and_logical_ops_follow_numpy():
    a = np.array([0.0, -np.inf, np.inf, np.nan, 1.5])
    x = Value(a)
    for name in ("isnan", "isinf", "isposinf", "isneginf", "isfinite", "logical_not"):
        expected = getattr(np, name)(a)
        np.testing.assert_array_equal(getattr(x, name)(), expected)
        np.testing.assert_array_equal(getattr(autograd, name)(a), expected)
    assert autograd.isnan(Value(float("nan"))) is True and Value(1.0).isfinite() is True
    b = np.array([1.0, 0.0, 2.0, 0.0, 0.0])
    for name in ("logical_and", "logical_or", "logical_xor"):
        np.testing.assert_array_equal(getattr(x, name)(b), getattr(np, name)(a, b))
    np.testing.assert_array_equal(x.logical_and(x > 0), np.logical_and(a, a > 0))  # masks combine


def test_isclose_allclose_equal():
    a, b = Value(np.array([1.0, 2.0, np.nan])), np.array([1.0 + 1e-9, 2.1, np.nan])
    np.testing.assert_array_equal(a.isclose(b), [True, False, False])
    np.testing.assert_array_equal(autograd.isclose(a, b, equal_nan=True), [True, False, True])
    np.testing.assert_array_equal(a.isclose(b, rtol=0.1), [True, True, False])
    assert autograd.allclose(Value(np.ones(3)), np.ones(3) + 1e-9) is True
    assert Value(np.ones(3)).equal(np.ones(3)) is True and Value(np.ones(3)).equal(np.ones(2)) is False


def test_against_torch():
    torch = pytest.importorskip("torch")
    a = np.array([[1.0, np.nan, -np.inf], [2.0, 2.0, 0.0]])
    b = np.array([2.0, np.nan, -np.inf])
    ta, tb = torch.tensor(a), torch.tensor(b)
    for name in OPERATORS:
        np.testing.assert_array_equal(getattr(Value(a), name)(b), getattr(torch, name)(ta, tb).numpy())
    for name in ("isnan", "isinf", "isfinite", "logical_not"):
        np.testing.assert_array_equal(getattr(Value(a), name)(), getattr(torch, name)(ta).numpy())
    for name in ("logical_and", "logical_or", "logical_xor"):
        np.testing.assert_array_equal(getattr(Value(a), name)(b), getattr(torch, name)(ta, tb).numpy())
    np.testing.assert_array_equal(Value(a).isclose(b, equal_nan=True), torch.isclose(ta, tb, equal_nan=True).numpy())


# ---- identity: what finds nodes still finds the right one among equal numbers ----------


def test_hashing_is_by_identity():
    a, b = Value(1.0), Value(1.0)
    assert a == b and hash(a) != hash(b)
    table = {a: "a", b: "b"}
    assert table[a] == "a" and table[b] == "b" and len({a, b, a}) == 2


def test_a_graph_of_equal_numbers_backpropagates_right():
    """Every leaf and intermediate holds 1.0: lookups by == would confuse them all."""
    x, y, z = Value(1.0, label="x"), Value(1.0, label="y"), Value(1.0, label="z")
    u = x * y              # 1.0, like x, y and z
    v = u * u + z * x      # u used twice, x used twice (a diamond through u)
    w = v * 0.5 + u        # 1.0 again
    w.backward()
    # dw/du = 0.5·2u + 1 = 2; dw/dx = 2·y + 0.5·z = 2.5; dw/dy = 2·x = 2; dw/dz = 0.5·x
    assert (x.grad, y.grad, z.grad) == (2.5, 2.0, 0.5)
    order = topological_order(w)
    assert len(order) == len({id(n) for n in order})  # each node once
    position = {id(n): i for i, n in enumerate(order)}
    assert all(position[id(p)] < position[id(n)] for n in order for p in n.parents)
    with detect_anomaly():  # its error path names the input by position (found by identity)
        (g,) = autograd.grad(x * x, x)
    assert g.data == 2.0


def test_the_step_recorder_and_the_drawing_with_equal_numbers():
    x, y = Value(1.0, label="x"), Value(1.0, label="y")
    u = x * y
    uu = u * u
    L = uu + x
    L.label = "L"
    rec = record(L)
    grads = rec.final_grads
    nodes = rec.nodes
    at = {id(n): i for i, n in enumerate(nodes)}
    assert grads[at[id(x)]] == 3.0 and grads[at[id(y)]] == 2.0
    assert any("x is used 2 times: contribution 2 of 2" in s.text for s in rec.steps)
    source = draw(L).source
    assert len(re.findall(r"\tv\d+_op \[label", source)) == 3  # three op nodes: *, *, +
    assert source.count(f"\tv{at[id(u)]} -> v{at[id(uu)]}_op ") == 2  # u drawn once, with two edges into u·u
    assert len(nodes) == 5


def test_jit_with_equal_parameters():
    w1, w2 = Value(np.ones(3), label="w1"), Value(np.ones(3), label="w2")

    @jit
    def loss(x):
        return ((x * w1).tanh() * w2).sum()

    x = np.ones(3)
    for _ in range(3):  # capture, verify, replay
        w1.zero_grad(), w2.zero_grad()
        out = loss(x)
        out.backward()
    expected_w1 = (1 - np.tanh(1.0) ** 2) * np.ones(3)
    np.testing.assert_allclose(w1.grad, expected_w1)
    np.testing.assert_allclose(w2.grad, np.tanh(1.0) * np.ones(3))


def test_training_recorder_and_optimizer_with_equal_weights():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    for p in model.parameters():
        p.data[...] = 0.5  # every weight and bias equal
    X, y = np.array([[1.0, 2.0], [0.0, -1.0]]), np.array([1.0, -1.0])
    opt = nn.SGD(model.parameters(), lr=0.1)
    rec = TrainingRecorder(model, opt, every=1)
    for _ in range(3):
        loss = nn.mse(model(X).reshape(-1), y)
        opt.zero_grad()
        loss.backward()
        rec.step(loss)
        opt.step()
    assert len(rec) == 3 and set(rec.grad_norms("parameter")) == {n for n, _ in model.named_parameters()}
    assert len(opt.params) == 4  # each parameter once, though all hold the same numbers
    assert all(np.all(w == 0.5) for w in rec.snapshot(0).values())  # the weights as the first loss saw them
    assert not np.allclose(rec.snapshot(2)["1.bias"], 0.5)  # ... and as the third saw them, after two updates
