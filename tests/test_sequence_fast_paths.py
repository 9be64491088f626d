"""The sequence models' fast paths give the same numbers as the plain ones: float32 Φ for GELU, the
attention softmax's one shift (and its per-row fallback), MultiheadAttention's fused heads and packed
in-projection, layer_norm's sums as products, embedding's backward by reduceat."""
from __future__ import annotations

import numpy as np
import pytest

import nn
from autograd import Value, grad
from autograd.ops import normal_cdf, sequence


def per_row_softmax(s):
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_normal_cdf32_is_as_accurate_as_float32_allows():
    special = pytest.importorskip("scipy.special")
    a = np.concatenate([np.linspace(-9, 9, 200_001), np.random.default_rng(0).normal(0, 2, 10_000)]).astype(np.float32)
    got = normal_cdf.normal_cdf32(a)
    exact = special.ndtr(a.astype(np.float64))
    assert got.dtype == np.float32 and got.shape == a.shape
    rel = np.abs(got - exact) / exact
    assert rel[a > -4].max() < 3e-6          # float32 carries ~6e-8: a few units in the last place
    assert rel.max() < 5e-5                  # the left tail keeps its relative accuracy (no 1 - x cancellation)
    assert np.all(got[a < -8] > 0) and got[0] < got[100_000] == np.float32(0.5) < got[200_000] <= 1


def test_gelu_float32_matches_float64():
    a = np.random.default_rng(1).normal(0, 3, (64, 33))
    x32, x64 = Value(a.astype(np.float32)), Value(a)
    y32, y64 = x32.gelu(), x64.gelu()
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32.data, y64.data, rtol=2e-6, atol=1e-7)
    w = np.random.default_rng(2).normal(size=a.shape)
    (y32 * w.astype(np.float32)).sum().backward()
    (y64 * w).sum().backward()
    assert x32.grad.dtype == np.float32
    np.testing.assert_allclose(x32.grad, x64.grad, rtol=1e-5, atol=1e-6)
    x = Value(a)  # create_graph: the rule recomputes Φ as recorded nodes; GELU'' = φ(a)·(2 - a²)
    (gx,) = grad((x.gelu() * w).sum(), [x], create_graph=True)
    (second,) = grad(gx.sum(), [x])
    np.testing.assert_allclose(second.data, w * np.exp(-a * a / 2) / np.sqrt(2 * np.pi) * (2 - a * a), rtol=1e-9,
                               atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_with_one_shift_is_the_per_row_softmax(dtype):
    rng = np.random.default_rng(3)
    s = rng.normal(0, 3, (2, 3, 5, 7)).astype(dtype)
    np.testing.assert_allclose(sequence._softmax_last(s.copy()), per_row_softmax(s), rtol=1e-6 if dtype == np.float32
                               else 1e-13, atol=1e-7 if dtype == np.float32 else 1e-15)
    far = s.copy()
    far[0, 0] -= 5000.0  # rows far below the largest score: their terms would underflow under one shift
    far[1, 2, 3] = -np.inf  # a row that sees nothing: NaN, as the per-row formula (and PyTorch)
    with np.errstate(invalid="ignore"):
        got, want = sequence._softmax_last(far.copy()), per_row_softmax(far)
    np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == np.float32 else 1e-13)
    assert np.isnan(got[1, 2, 3]).all()


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("heads", [1, 2])
def test_fused_self_attention_matches_the_steps(batch_first, heads):
    """need_weights=False (one node, heads inside, packed Q/K/V projection) against need_weights=True
    (the labelled steps): same output, same parameter and input gradients, second order too."""
    rng = np.random.default_rng(4)
    mha = nn.MultiheadAttention(4, heads, batch_first=batch_first, seed=0)
    mha.in_proj_bias.data = rng.normal(size=12)
    a = rng.normal(size=(5, 5, 4))  # (N, L, E) or (L, N, E)
    mask = np.triu(np.ones((5, 5), bool), 1)
    w = rng.normal(size=(5, 5, 4))
    results = []
    for need_weights in (True, False):
        x = Value(a)
        out, _ = mha(x, x, x, attn_mask=mask, need_weights=need_weights)
        gx, gw, gb = grad((out * w).sum(), [x, mha.in_proj_weight, mha.in_proj_bias], create_graph=True)
        (second,) = grad((gx * gx).sum() + (gw * gw).sum(), [x])
        results.append([out.data, gx.data, gw.data, gb.data, second.data])
    for fused, steps in zip(results[1], results[0]):
        np.testing.assert_allclose(fused, steps, rtol=1e-10, atol=1e-12)


def test_fused_cross_attention_and_the_graph():
    rng = np.random.default_rng(5)
    mha = nn.MultiheadAttention(6, 3, batch_first=True, seed=1)
    q, k, v = (Value(rng.normal(size=(2, n, 6))) for n in (4, 5, 5))
    pad = np.array([[False] * 3 + [True] * 2, [False] * 5])
    outs = [mha(q, k, v, key_padding_mask=pad, need_weights=nw)[0] for nw in (True, False)]
    np.testing.assert_allclose(outs[1].data, outs[0].data, rtol=1e-12)
    x = Value(rng.normal(size=(2, 4, 6)))
    out, _ = mha(x, x, x, need_weights=False)
    from autograd.engine import topological_order
    ops = [n.op for n in topological_order(out) if n.op]
    assert ops.count("linear") == 2 and ops.count("scaled_dot_product_attention") == 1
    assert "transpose" not in ops and "reshape" not in ops and "softmax" not in ops
    labels = {n.label for n in topological_order(out)}
    assert {"Q", "K", "V", "Q, K, V", "heads joined"} <= labels


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,k", [((4, 3, 8), 1), ((2, 3, 4), 2), ((5, 6), 1)])
def test_layer_norm_sums_as_products(dtype, shape, k):
    """The array path (row sums as matrix-vector products) against the formula written out."""
    rng = np.random.default_rng(6)
    x = rng.normal(2, 3, shape)
    wb = [rng.normal(size=shape[-k:]) for _ in range(2)]
    g = rng.normal(size=shape)
    X, W, B = (Value(a.astype(dtype)) for a in [x] + wb)
    out = nn.functional.layer_norm(X, shape[-k:], W, B)
    (out * g.astype(dtype)).sum().backward()
    axes = tuple(range(len(shape) - k, len(shape)))
    xc = x - x.mean(axis=axes, keepdims=True)
    rstd = 1 / np.sqrt((xc * xc).mean(axis=axes, keepdims=True) + 1e-5)
    xhat = xc * rstd
    gh = g * wb[0]
    gx = rstd * (gh - gh.mean(axis=axes, keepdims=True) - xhat * (gh * xhat).mean(axis=axes, keepdims=True))
    lead = tuple(range(len(shape) - k))
    tol = {"rtol": 1e-4, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-10, "atol": 1e-12}
    np.testing.assert_allclose(out.data, xhat * wb[0] + wb[1], **tol)
    np.testing.assert_allclose(X.grad, gx, **tol)
    np.testing.assert_allclose(W.grad, (g * xhat).sum(axis=lead), **tol)
    np.testing.assert_allclose(B.grad, g.sum(axis=lead), **tol)
    assert X.grad.dtype == W.grad.dtype == B.grad.dtype == dtype


@pytest.mark.parametrize("shape", [(32, 32), (7,), (0,), (3, 0)])
def test_embedding_gradient_sums_repeated_rows_as_add_at(shape):
    """The picks sorted by row and summed by reduceat: np.add.at's sums (up to float32 rounding)."""
    rng = np.random.default_rng(8)
    idx = rng.integers(0, 5, shape)
    w = Value(rng.normal(size=(6, 4)).astype(np.float32))
    g = rng.normal(size=shape + (4,)).astype(np.float32)
    (nn.functional.embedding(idx, w) * g).sum().backward()
    want = np.zeros((6, 4), np.float32)
    np.add.at(want, idx.reshape(-1), g.reshape(-1, 4))
    assert w.grad.dtype == np.float32
    np.testing.assert_allclose(w.grad, want, rtol=1e-5, atol=1e-5)
    w2 = Value(w.data.copy())
    (nn.functional.embedding(idx, w2, padding_idx=2) * g).sum().backward()
    want[2] = 0
    np.testing.assert_allclose(w2.grad, want, rtol=1e-5, atol=1e-5)
    assert np.all(w2.grad[2] == 0) and np.all(w.grad[5] == 0)  # the padding row, a row never picked
