"""Ops marked fresh=True keep their promise (see autograd.ops): given arrays, the first-order rule
returns for each input None or a new array of exactly that input's shape and dtype, sharing memory
with nothing it was given. The engine skips its fit check for them, so a broken promise would give
wrong shapes or dtypes silently: every fresh op is tried here on the shapes and dtypes users give."""
import itertools

import numpy as np
import pytest

import nn
from autograd import Value
from autograd.engine import backprop
from autograd.ops import OPS

F32, F64 = np.float32, np.float64
rng = np.random.default_rng(0)


def _arr(shape, dtype):
    return rng.normal(size=shape).astype(dtype)


def _check(op, g, out, inputs, contributions, **attrs):
    assert len(contributions) == len(inputs), op
    given = [g, out, *inputs] + [v for v in attrs.values() if isinstance(v, np.ndarray)]
    for c, x in zip(contributions, inputs):
        if c is None:
            continue
        assert type(c) is np.ndarray and c.shape == x.shape and c.dtype == x.dtype, (op, c, x.shape, x.dtype)
        assert c.flags.writeable and not any(np.shares_memory(c, a) for a in given if isinstance(a, np.ndarray))
    for c, d in itertools.combinations([c for c in contributions if c is not None], 2):
        assert not np.shares_memory(c, d)


def test_every_fresh_op_is_tried_here():
    assert {name for name, op in OPS.items() if op.fresh} <= {"linear", "tanh", "sigmoid", "cross_entropy"}


LINEAR_CASES = [  # (x shape, x dtype, W dtype, bias dtype or None)
    ((5, 3), F64, F64, F64), ((5, 3), F32, F32, F32), ((3,), F64, F64, F64), ((2, 4, 3), F32, F32, F32),
    ((5, 3), F64, F32, F32), ((5, 3), F32, F64, F64), ((5, 3), F32, F32, F64), ((5, 3), F32, F32, None),
    ((600, 3), F64, F64, F64), ((300, 200), F64, F64, F64), ((300, 200), F32, F64, F32),
]


@pytest.mark.parametrize("shape,xt,wt,bt", LINEAR_CASES)
@pytest.mark.parametrize("needs", [(True, True, True), (False, True, True), (True, False, False)])
def test_linear(shape, xt, wt, bt, needs):
    op = OPS["linear"]
    n_out = 7 if shape[-1] < 100 else 160  # large cases take the recycled-array path
    x, w = _arr(shape, xt), _arr((n_out, shape[-1]), wt)
    b = None if bt is None else _arr((n_out,), bt)
    out = op.forward(x, w) if b is None else op.forward(x, w, b)
    g = _arr(out.shape, out.dtype)
    inputs = (x, w) if b is None else (x, w, b)
    _check("linear", g, out, inputs, op.backward(g, out, *inputs, needs=needs[:len(inputs)]))


@pytest.mark.parametrize("name", ["tanh", "sigmoid"])
@pytest.mark.parametrize("shape", [(), (1,), (4, 5), (300, 128)])
@pytest.mark.parametrize("dtype", [F32, F64])
def test_elementwise(name, shape, dtype):
    op = OPS[name]
    a = np.asarray(_arr(shape, dtype))
    out = np.asarray(op.forward(a))
    g = np.asarray(_arr(shape, dtype))
    _check(name, g, out, (a,), op.backward(g, out, a))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("rows", [None, 1, 6])
@pytest.mark.parametrize("saved", [True, False])
def test_cross_entropy(reduction, dtype, rows, saved):
    op = OPS["cross_entropy"]
    a = _arr((4,) if rows is None else (rows, 4), dtype)
    y = rng.integers(0, 4, size=() if rows is None else rows)
    key = (int(y),) if rows is None else (np.arange(rows), y)
    loss, softmax = op.forward(a, key=key, reduction=reduction)
    g = np.asarray(_arr(np.shape(loss), dtype)) if reduction == "none" else (1.0 if dtype == F64 else np.array(1, dtype))
    (c,) = op.backward(g, loss, a, key=key, reduction=reduction, saved=softmax if saved else None)
    _check("cross_entropy", np.asarray(g), np.asarray(loss), (a,), (c,), saved=softmax)


def test_a_float64_batch_into_a_float32_model_gives_float32_gradients_like_the_general_path():
    model = nn.MLP(3, [5, 2], activation="sigmoid", seed=0).to(np.float32)
    x = rng.normal(size=(6, 3))  # float64, as users often pass
    x_value = Value(x)  # an input that requires grad: its float64 gradient comes through linear too
    loss = nn.cross_entropy(model(x_value), rng.integers(0, 2, 6))
    loss.backward()
    expected = backprop([loss], [1.0], create_graph=True)  # the general path: every contribution fitted
    for p in [*model.parameters(), x_value]:
        assert p.grad.dtype == p.data.dtype
        np.testing.assert_allclose(p.grad, expected[p].data, rtol=1e-5)
