"""Review of session 6's engine changes (gradients stored at each node's turn, fresh=True rules,
apply3): .grad aliasing over many kinds of graphs, leaves whose .data is a numpy scalar, mixed
dtypes (failure paths, grad(), jit, the recorder and cross_entropy: test_review_s6_paths.py).

Each test asserts numbers or memory facts; the PyTorch comparisons are marked `oracle`."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import autograd.functional as AF
import nn
from autograd import Value
from autograd.engine import topological_order


def _torch():
    return pytest.importorskip("torch", exc_type=ImportError)


# ---- helpers -----------------------------------------------------------------------------------

def _arrays(nodes):
    """(kind, node, array) for every .grad, .data and saved array of the graph."""
    out = []
    for n in nodes:
        if isinstance(n._grad, np.ndarray):
            out.append(("grad", n, n._grad))
        if isinstance(n.data, np.ndarray):
            out.append(("data", n, n.data))
        saved = (n._details.extra or {}).get("saved")
        for a in saved if isinstance(saved, tuple) else (saved,):
            if isinstance(a, np.ndarray):
                out.append(("saved", n, a))
    return out


def _assert_no_grad_aliasing(loss):
    """No .grad shares memory with another .grad, a .data or a saved array; changing one .grad in
    place (as an optimizer or clip_grad_norm_ does) changes no other array of the graph."""
    nodes = topological_order([loss])
    arrays = _arrays(nodes)
    grads = [a for a in arrays if a[0] == "grad"]
    assert grads
    for _, n, g in grads:
        assert g.flags.writeable, n.op or n.label
        for kind, m, a in arrays:
            if a is g:
                continue
            assert not np.shares_memory(g, a), f".grad of {n.op or n.label} shares memory with {kind} of {m.op or m.label}"
    snapshot = [(a, a.copy()) for _, _, a in arrays]
    for _, n, g in grads:
        g += 7.0
        for a, before in snapshot:
            if a is not g:
                assert np.array_equal(a, before, equal_nan=True), f"changing .grad of {n.op or n.label} changed another array"
        g -= 7.0
        for a, before in snapshot:
            np.copyto(a, before)


def _mlp(rng, dtype=np.float64, act="tanh"):
    m = nn.MLP(5, [7, 6, 3], activation=act, seed=1).to(dtype)
    x, y = rng.normal(size=(4, 5)).astype(dtype), rng.integers(0, 3, 4)
    return nn.cross_entropy(m(x), y), list(m.parameters())


def _fresh_outputs_into_views(rng):
    W, b, x = Value(rng.normal(size=(6, 5))), Value(rng.normal(size=6)), Value(rng.normal(size=(4, 5)))
    z = AF.linear(x, W, b)
    t = z.tanh()
    s = t.sigmoid()
    u = z + t  # add passes g on as it is
    r = z.reshape(6, 4).T  # reshape and transpose pass views
    gi = z[1:3]  # getitem: a buffer of its own
    bc = s.sum(axis=0).reshape(1, 6) + z  # broadcast
    loss = nn.cross_entropy(u + r.reshape(4, 6) + bc, np.arange(4)) + (gi * gi).sum() + (x * x).sum()
    return loss, [W, b, x]


def _same_value_twice(rng):
    W, b, x = Value(rng.normal(size=(5, 5))), Value(rng.normal(size=5)), Value(rng.normal(size=(5, 5)))
    z2 = AF.linear(AF.linear(x, W, b), W, b)  # W and b in two layers
    t = AF.linear(z2, z2, b).tanh()  # one Value as input and weight of one linear node
    return (t + t).sum() + nn.cross_entropy(t, np.arange(5)), [W, b, x]


def _shared_layers(rng):
    l1, l2 = nn.Linear(4, 4, seed=2), nn.Linear(4, 4, seed=3)
    l2.weight = l1.weight
    h = l1(l2(l1(rng.normal(size=(3, 4))).tanh()).sigmoid())
    return nn.cross_entropy(h, np.array([0, 1, 3])), [l1.weight, l1.bias, l2.bias]


def _recurrent(cls):
    def build(rng):
        m = cls(3, 5, num_layers=2, batch_first=True)
        x = Value(rng.normal(size=(2, 4, 3)))
        out = m(x)[0]
        head = nn.Linear(5, 3, seed=5)
        loss = nn.cross_entropy(head(out[:, -1]), np.array([0, 2])) + (out * out).mean()
        return loss, list(m.parameters()) + list(head.parameters()) + [x]
    return build


def _attention(rng):
    m = nn.MultiheadAttention(8, 2)
    x = Value(rng.normal(size=(3, 2, 8)))
    y, _ = m(x, x, x)
    head = nn.Linear(8, 4, seed=1)
    loss = nn.cross_entropy(head(y.reshape(6, 8)).tanh(), np.array([0, 1, 2, 3, 0, 1]))
    return loss, list(m.parameters()) + list(head.parameters()) + [x]


def _conv(rng):
    c, lin = nn.Conv2d(2, 3, 3, padding=1), nn.Linear(12, 4, seed=1)
    x = Value(rng.normal(size=(2, 2, 4, 4)))
    z = lin(nn.Flatten()(nn.MaxPool2d(2)(c(x).tanh())))
    return nn.cross_entropy(z, np.array([1, 3])), list(c.parameters()) + list(lin.parameters()) + [x]


GRAPHS = {
    "mlp-f64": _mlp,
    "mlp-f32": lambda rng: _mlp(rng, np.float32),
    "mlp-sigmoid": lambda rng: _mlp(rng, act="sigmoid"),
    "fresh-into-views": _fresh_outputs_into_views,
    "same-value-twice": _same_value_twice,
    "shared-layers": _shared_layers,
    "lstm": _recurrent(nn.LSTM),
    "gru": _recurrent(nn.GRU),
    "attention": _attention,
    "conv": _conv,
}


# ---- .grad aliasing ------------------------------------------------------------------------------

@pytest.mark.parametrize("backwards", [1, 2])
@pytest.mark.parametrize("build", GRAPHS.values(), ids=GRAPHS.keys())
def test_no_grad_shares_memory_and_changing_one_changes_nothing_else(build, backwards, rng):
    loss, params = build(rng)
    for _ in range(backwards):
        loss.backward()
    _assert_no_grad_aliasing(loss)
    # a later backward adds exactly one more gradient (nothing it reads was changed above)
    before = [np.array(p._grad, copy=True) for p in params]
    loss.backward()
    for p, g in zip(params, before):
        np.testing.assert_allclose(p._grad, g * (backwards + 1) / backwards, rtol=1e-5, atol=1e-6)


def test_cross_entropys_saved_softmax_survives_changes_to_the_logits_grad(rng):
    z = Value(rng.normal(size=(4, 3)))
    loss = nn.cross_entropy(z, np.array([0, 1, 2, 0]))
    saved = loss._details.extra["saved"].copy()
    loss.backward()
    first = z.grad.copy()
    z.grad *= 1000.0  # in place, as an optimizer's clipping does
    np.testing.assert_array_equal(loss._details.extra["saved"], saved)
    z.zero_grad()
    loss.backward()
    np.testing.assert_array_equal(z.grad, first)


@pytest.mark.parametrize("set_to_none", [True, False])
def test_steps_with_and_without_zero_grad_match_summed_gradients(set_to_none, rng):
    m = nn.MLP(5, [7, 3], activation="tanh", seed=1)
    opt = nn.SGD(m, lr=0.1)  # never stepped: the parameters stay, the gradients can be compared
    x, y = rng.normal(size=(4, 5)), rng.integers(0, 3, 4)
    nn.cross_entropy(m(x), y).backward()
    one = [p.grad.copy() for p in m.parameters()]
    nn.cross_entropy(m(x), y).backward()  # retained: a second step without zero_grad adds
    for p, g in zip(m.parameters(), one):
        np.testing.assert_array_equal(p.grad, g + g)
    opt.zero_grad(set_to_none=set_to_none)
    loss = nn.cross_entropy(m(x), y)
    loss.backward()
    for p, g in zip(m.parameters(), one):
        np.testing.assert_array_equal(p.grad, g)
    _assert_no_grad_aliasing(loss)


# ---- leaves whose data is not normalized (found in review: their float gradient was not stored) ----

@pytest.mark.parametrize("data", [np.float64(1.5), np.array(1.5), 2], ids=["np.float64", "0-d array", "int"])
def test_a_leaf_with_unnormalized_scalar_data_gets_its_gradient(data):
    x = Value(1.5)
    x.data = data
    y = x.tanh()
    y.backward()
    assert x._grad is not None
    assert float(x.grad) == pytest.approx(1 - math.tanh(float(data)) ** 2)


# ---- mixed dtypes ----------------------------------------------------------------------------------

@pytest.mark.oracle
@pytest.mark.parametrize("xshape", [(4, 5), (5,), (2, 3, 5), (300, 200)])
@pytest.mark.parametrize("dtypes", list(itertools.product([np.float32, np.float64], repeat=3)),
                         ids=lambda d: "-".join(np.dtype(t).name for t in d))
@pytest.mark.parametrize("act", ["none", "tanh", "sigmoid"])
def test_linear_with_mixed_dtypes_gives_each_leaf_its_dtype_and_pytorchs_numbers(xshape, dtypes, act, rng):
    torch = _torch()
    if xshape == (300, 200) and act == "sigmoid":
        pytest.skip("one activation is enough for the recycled-array path")
    dx, dw, db = dtypes
    n_out = 250 if xshape == (300, 200) else 7
    x0, w0, b0 = rng.normal(size=xshape).astype(dx), rng.normal(size=(n_out, xshape[-1])).astype(dw), \
        rng.normal(size=n_out).astype(db)
    x, W, b = Value(x0), Value(w0), Value(b0)
    z = AF.linear(x, W, b)
    h = z if act == "none" else getattr(z, act)()
    up = rng.normal(size=h.shape)
    h.backward(up)
    X, WT, B = (torch.tensor(a.astype(np.float64), requires_grad=True) for a in (x0, w0, b0))
    Z = torch.nn.functional.linear(X, WT, B)
    H = Z if act == "none" else getattr(torch, act)(Z)
    H.backward(torch.tensor(up))
    tol = 2e-3 if np.float32 in dtypes else 1e-10
    for v, t, d in ((x, X, dx), (W, WT, dw), (b, B, db)):
        assert v.grad.dtype == d and v.grad.shape == v.shape
        np.testing.assert_allclose(v.grad, t.grad.numpy(), rtol=tol, atol=10 * tol)
    for node in topological_order([h]):
        if node._grad is not None:
            assert np.asarray(node._grad).dtype == node.dtype, node.op


@pytest.mark.oracle
@pytest.mark.parametrize("model_dtype, input_dtype", [(np.float32, np.float64), (np.float64, np.float32)])
def test_a_model_fed_the_other_float_dtype(model_dtype, input_dtype, rng):
    torch = _torch()
    m = nn.MLP(5, [7, 3], activation="tanh", seed=1).to(model_dtype)
    x0, y = rng.normal(size=(4, 5)).astype(input_dtype), np.array([0, 1, 2, 0])
    x = Value(x0)
    nn.cross_entropy(m(x), y).backward()
    assert x.grad.dtype == input_dtype
    params = list(m.parameters())
    assert all(p.grad.dtype == model_dtype for p in params)
    tp = [torch.tensor(p.data.astype(np.float64), requires_grad=True) for p in params]
    X = torch.tensor(x0.astype(np.float64), requires_grad=True)
    h = torch.tanh(torch.nn.functional.linear(X, tp[0], tp[1]))
    torch.nn.functional.cross_entropy(torch.nn.functional.linear(h, tp[2], tp[3]), torch.tensor(y)).backward()
    for p, t in zip(params + [x], tp + [X]):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("op", ["tanh", "sigmoid"])
def test_fresh_activations_of_0d_arrays_give_0d_arrays_of_their_dtype(op, dtype):
    a = Value(np.array(0.3, dtype))
    y = getattr(a, op)() * 2.0
    y.backward()
    assert type(a._grad) is np.ndarray and a._grad.shape == () and a._grad.dtype == dtype
    expected = 2 * (1 - math.tanh(0.3) ** 2) if op == "tanh" else 2 * (s := 1 / (1 + math.exp(-0.3))) * (1 - s)
    assert float(a.grad) == pytest.approx(expected, rel=3e-3)
