"""Review of session 6's engine changes, continued (see test_review_s6_grads.py): failure paths
leave every .grad as it was, grad() with ancestor outputs and caller-kept seeds, the jit and the
step recorder bit-equal to backward, cross_entropy on non-finite rows, SGD's in-place step.

Each test asserts numbers or memory facts; the PyTorch comparisons are marked `oracle`."""
from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

import autograd.functional as AF
import nn
from autograd import Value, detect_anomaly, grad, jit
from autograd.engine import topological_order
from autograd.ops import OPS
from autograd.viz.player.steps import record

from test_review_s6_grads import _assert_no_grad_aliasing, _torch

# ---- failure paths ---------------------------------------------------------------------------------

def _graph(rng):
    W, b, x = (Value(rng.normal(size=s), label=n) for s, n in (((6, 6), "W"), ((6,), "b"), ((4, 6), "x")))
    z = AF.linear(x, W, b)
    t = z.tanh()
    u = t + z
    s = AF.linear(u, W, b).sigmoid()
    return nn.cross_entropy(s + z, np.arange(4)), dict(W=W, b=b, x=x, z=z, t=t, u=u, s=s)


def _grads_now(nodes):
    return {n: (n._grad, None if n._grad is None else np.array(n._grad, copy=True)) for n in nodes}


def _graph_and_grads(rng, first_backward=True):
    """_graph's (loss, named), its nodes, and their .grad values now (after a first backward, if asked)."""
    loss, named = _graph(rng)
    if first_backward:
        loss.backward()
    nodes = topological_order([loss])
    return loss, named, nodes, _grads_now(nodes)


def _assert_grads_unchanged(nodes, before):
    for n in nodes:
        obj, numbers = before[n]
        assert n._grad is obj, n.op or n.label
        if numbers is not None:
            np.testing.assert_array_equal(n._grad, numbers)


@pytest.fixture
def swap_rule():
    """Replace an op's backward for one test (the entries are frozen: the table entry is swapped)."""
    originals = {}

    def swap(name, rule):
        originals.setdefault(name, OPS[name])
        OPS[name] = dataclasses.replace(originals[name], backward=rule)
        return originals[name].backward
    yield swap
    OPS.update(originals)


@pytest.mark.parametrize("first_backward", [False, True])
def test_an_inf_gradient_under_detect_anomaly_changes_no_grad(first_backward, swap_rule, rng):
    loss, _, nodes, before = _graph_and_grads(rng, first_backward)

    def inf_rule(g, out, a, **kw):
        (c,) = original(g, out, a, **kw)
        c = np.array(c)
        c.flat[0] = np.inf
        return (c,)
    original = swap_rule("sigmoid", inf_rule)
    with pytest.raises(Exception, match="sigmoid"):
        with detect_anomaly():
            loss.backward()
    _assert_grads_unchanged(nodes, before)


@pytest.mark.parametrize("first_backward", [False, True])
def test_a_rule_raising_after_fresh_gradients_were_stored_changes_no_grad(first_backward, swap_rule, rng):
    loss, _, nodes, before = _graph_and_grads(rng, first_backward)

    def boom(*args, **kw):
        raise RuntimeError("boom")
    swap_rule("tanh", boom)  # tanh's turn comes after cross_entropy's, sigmoid's and linear's
    with pytest.raises(RuntimeError, match="boom"):
        loss.backward()
    _assert_grads_unchanged(nodes, before)


@pytest.mark.parametrize("where", ["t", "u", "z", "W", "x"])
def test_a_hook_raising_changes_no_grad(where, rng):
    loss, named, nodes, before = _graph_and_grads(rng)

    def hook(g):
        raise ValueError("hook")
    named[where].register_hook(hook)
    with pytest.raises(ValueError, match="hook"):
        loss.backward()
    _assert_grads_unchanged(nodes, before)


def test_hooks_see_no_grad_change_and_their_results_are_copied(rng):
    loss, named = _graph(rng)
    loss.backward()
    W, z = named["W"], named["z"]
    W0, z0 = W.grad.copy(), z.grad.copy()
    seen = []
    returned = {}

    def on_t(g):
        seen.append(np.array_equal(W._grad, W0) and np.array_equal(z._grad, z0))
        return g * 2

    def on_w(g):
        returned["W"] = np.full_like(g, 0.5)
        return returned["W"]
    named["t"].register_hook(on_t)
    W.register_hook(on_w)
    z.register_hook(lambda g: seen.append(np.array_equal(W._grad, W0)))
    loss.backward()
    assert seen == [True, True]
    np.testing.assert_array_equal(W.grad, W0 + 0.5)
    returned["W"] += 100.0  # the hook's caller keeps and changes its array
    np.testing.assert_array_equal(W.grad, W0 + 0.5)
    _assert_no_grad_aliasing(loss)


# ---- grad() ----------------------------------------------------------------------------------------

@pytest.mark.oracle
@pytest.mark.parametrize("create_graph", [False, True])
def test_grad_with_outputs_that_are_ancestors_of_others_and_caller_kept_grad_outputs(create_graph, rng):
    torch = _torch()
    x0, w0, b0 = rng.normal(size=(4, 6)), rng.normal(size=(6, 6)), rng.normal(size=6)
    x, W, b = Value(x0), Value(w0), Value(b0)
    z = AF.linear(x, W, b)
    t = z.tanh()
    y = AF.linear(t, W, b).sigmoid()
    loss = nn.cross_entropy(y + t, np.arange(4))
    gz, gy, gt = rng.normal(size=z.shape), rng.normal(size=y.shape), rng.normal(size=t.shape)
    kept = [gz.copy(), gy.copy(), gt.copy()]
    outs = grad([y, z, t, loss], [x, W, b, z, t], grad_outputs=[gy, gz, gt, 1.0], create_graph=create_graph)
    for a, k in zip((gz, gy, gt), kept):  # the engine summed nothing in place into the caller's arrays
        np.testing.assert_array_equal(a, k)
    X, WT, B = (torch.tensor(a, requires_grad=True) for a in (x0, w0, b0))
    Z = torch.nn.functional.linear(X, WT, B)
    T = torch.tanh(Z)
    Y = torch.sigmoid(torch.nn.functional.linear(T, WT, B))
    L = torch.nn.functional.cross_entropy(Y + T, torch.arange(4))
    expected = torch.autograd.grad([Y, Z, T, L], [X, WT, B, Z, T],
                                   grad_outputs=[torch.tensor(gy), torch.tensor(gz), torch.tensor(gt),
                                                 torch.tensor(1.0, dtype=torch.float64)])
    for o, e in zip(outs, expected):
        np.testing.assert_allclose(o.data, e.numpy(), rtol=1e-10, atol=1e-12)
    results = [np.array(o.data, copy=True) for o in outs]
    gz += 5.0
    gy += 5.0
    gt += 5.0  # the caller changes its arrays afterwards: the results do not move
    for o, r in zip(outs, results):
        np.testing.assert_array_equal(o.data, r)
    for i, j in itertools.combinations(range(len(outs)), 2):
        assert not np.shares_memory(outs[i].data, outs[j].data)
    for n in (x, W, b, z, t, y):
        assert n._grad is None  # grad() touches no .grad


# ---- jit and the step recorder -----------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch", [4, 256])
def test_a_jitted_sgd_step_is_bit_equal_to_the_eager_one(dtype, batch):
    rng = np.random.default_rng(0)
    data = [(rng.normal(size=(batch, 8)).astype(dtype), rng.integers(0, 3, batch)) for _ in range(4)]
    runs = []
    for jitted in (False, True):
        m = nn.MLP(8, [16, 12, 3], activation="tanh", seed=0).to(dtype)
        opt = nn.SGD(m, lr=0.1)

        def step(x, y):
            loss = nn.cross_entropy(m(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss
        f = jit(step) if jitted else step
        losses = [np.asarray(f(x, y).data).tobytes() for x, y in data]
        runs.append((losses, [p.data.tobytes() for p in m.parameters()], [p.grad.tobytes() for p in m.parameters()]))
    assert runs[0] == runs[1]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_step_recorder_sums_the_numbers_backward_stores(dtype, rng):
    W, b, x = (Value(rng.normal(size=s).astype(dtype)) for s in ((5, 5), (5,), (3, 5)))
    z = AF.linear(x, W, b)
    t = z.tanh()
    u = AF.linear(t + z, W, b).sigmoid()
    loss = nn.cross_entropy(u + t[0:1], np.arange(3)) + (z * z).sum()
    final = record(loss).final_grads
    nodes = record(loss).nodes
    loss.backward()
    compared = 0
    for i, node in enumerate(nodes):
        if i in final and node.requires_grad:
            a, g = np.asarray(final[i]), np.asarray(node._grad)
            assert a.dtype == g.dtype and a.shape == g.shape and a.tobytes() == g.tobytes(), node.op or node.label
            compared += 1
    assert compared >= 8


# ---- cross_entropy on non-finite rows ------------------------------------------------------------------

def _old_cross_entropy(a, key, reduction):
    """The reference: log_softmax's shift by each row's maximum, as PyTorch's (a +inf maximum, an all -inf
    row or a nan gives that row nan). Until session 11 such maxima were replaced by 0 first
    (torch.logsumexp's convention), which PyTorch's cross_entropy does not do."""
    m = np.maximum.reduce(a, axis=-1, keepdims=True)
    e = np.subtract(a, m)
    np.exp(e, out=e)
    total = np.add.reduce(e, axis=-1, keepdims=True)
    per_row = (np.log(total) + m)[..., 0] - a[key]
    n = per_row.size if reduction == "mean" else 1
    loss = per_row if reduction == "none" else np.add.reduce(per_row, axis=None) / n
    e /= total
    return loss, e


INF, NAN = np.inf, np.nan
ROWS = {
    "finite": [[1, 2, 3], [0.5, -1, 2]],
    "+inf": [[INF, 1, 2], [0.5, -1, 2]],
    "+inf-target": [[1, INF, 2], [0.5, -1, 2]],
    "-inf": [[-INF, 1, 2], [0.5, -1, 2]],
    "-inf-target": [[1, -INF, 2], [0.5, -1, 2]],
    "all-inf": [[-INF, -INF, -INF], [0.5, -1, 2]],
    "nan": [[NAN, 1, 2], [0.5, -1, 2]],
    "two-+inf": [[INF, INF, 2], [0.5, -1, 2]],
    "overflowing-sum": [[1e300, -1e300, 0], [3e38, 0, -3e38]],
}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("rows", ROWS.values(), ids=ROWS.keys())
def test_cross_entropy_on_non_finite_rows_is_bit_equal_to_log_softmaxs_plain_shift(rows, reduction, dtype):
    with np.errstate(over="ignore"):
        a = np.array(rows, dtype)
    for z0, target, key in ((a, np.array([1, 1]), (np.arange(2), np.array([1, 1]))), (a[0], np.array(1), (1,))):
        z = Value(z0.copy())
        loss = nn.cross_entropy(z, target, reduction=reduction)
        (loss.sum() if reduction == "none" else loss).backward()
        with np.errstate(all="ignore"):
            old_loss, old_softmax = _old_cross_entropy(z0, key, reduction)
        assert np.asarray(loss.data).tobytes() == np.asarray(old_loss, dtype).tobytes()
        assert loss._details.extra["saved"].tobytes() == old_softmax.tobytes()
        g = old_softmax.copy()
        g[key] -= 1
        if reduction == "mean":
            g = g * (np.ones((), dtype) / (z0.size // z0.shape[-1]))
        assert z.grad.dtype == dtype and np.array_equal(z.grad, g.astype(dtype), equal_nan=True)


@pytest.mark.oracle
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("rows", ["finite", "-inf", "overflowing-sum"])
def test_cross_entropy_matches_pytorch_where_finite(rows, reduction, rng):
    torch = _torch()
    a = np.array(ROWS[rows] if rows != "overflowing-sum" else [[80.0, 0, 0], [0.5, -1, 2]])
    z = Value(a.copy())
    loss = nn.cross_entropy(z, np.array([1, 1]), reduction=reduction)
    up = rng.normal(size=np.shape(loss.data))
    loss.backward(up if reduction == "none" else float(up))
    Z = torch.tensor(a, requires_grad=True)
    L = torch.nn.functional.cross_entropy(Z, torch.tensor([1, 1]), reduction=reduction)
    L.backward(torch.tensor(up))
    np.testing.assert_allclose(loss.data, L.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(z.grad, Z.grad.numpy(), rtol=1e-12, atol=1e-15)


# ---- SGD's in-place plain step ----------------------------------------------------------------------

@pytest.mark.parametrize("data", [np.float64(1.0), np.float32(1.0), 1], ids=["np.float64", "np.float32", "int"])
def test_sgd_updates_a_parameter_whose_data_is_a_numpy_scalar(data):
    p = Value(1.0)
    p.data = data
    p.register_hook(lambda g: None)  # (a hook: backward stores .grad by store_grads, see the test above)
    (p * 2.0).backward()
    assert float(p.grad) == 2.0
    nn.SGD([p], lr=0.25).step()
    assert float(p.data) == 0.5


def test_sgd_plain_step_still_updates_arrays_in_place_and_floats():
    w = Value(np.ones((3, 4), np.float32))
    big = Value(np.ones((256, 256), np.float32))  # lr·g through the kept scratch array
    f = Value(1.0)
    data_w, data_big = w.data, big.data
    ((w * w).sum() + (big * 3.0).sum() + f * 4.0).backward()
    nn.SGD([w, big, f], lr=0.25).step()
    assert w.data is data_w and big.data is data_big  # in place
    np.testing.assert_array_equal(w.data, np.full((3, 4), 0.5, np.float32))
    np.testing.assert_array_equal(big.data, np.full((256, 256), 0.25, np.float32))
    assert f.data == 0.0 and type(f.data) is float


def test_a_caller_kept_seed_array_is_not_the_outputs_grad(rng):
    x = Value(rng.normal(size=(3, 4)))
    y = AF.linear(x, Value(rng.normal(size=(2, 4))), Value(rng.normal(size=2))).tanh()
    seed = rng.normal(size=(3, 2))
    y.backward(seed)
    assert not np.shares_memory(y.grad, seed)
    kept_grad, kept_x = y.grad.copy(), x.grad.copy()
    seed += 10.0
    np.testing.assert_array_equal(y.grad, kept_grad)
    np.testing.assert_array_equal(x.grad, kept_x)
