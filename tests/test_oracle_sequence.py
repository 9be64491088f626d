"""Sequence layers against PyTorch (float64, 1e-6): forward, and backward from a random upstream
gradient, for the ops (embedding, layer_norm, scaled_dot_product_attention) and the modules
(Embedding, LayerNorm, MultiheadAttention, RNN, LSTM, GRU), with weights moved both ways."""
from __future__ import annotations

import numpy as np
import pytest

import nn
import nn.functional as F
from autograd import Value

torch = pytest.importorskip("torch", exc_type=ImportError)
pytestmark = pytest.mark.oracle
TOL = {"rtol": 1e-6, "atol": 1e-9}


def t(a, grad=False):
    return torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=grad)


def upstream(shape, seed=1):
    r = np.random.default_rng(seed)
    return r.uniform(0.5, 1.5, size=shape) * r.choice([-1.0, 1.0], size=shape)


def backprop_both(out, ref, seed=1):
    """Same random upstream gradient into both outputs (tuples: one per output)."""
    outs, refs = (out, ref) if isinstance(out, tuple) else ((out,), (ref,))
    total, ttotal = 0.0, 0.0
    for k, (o, r) in enumerate(zip(outs, refs)):
        assert o.shape == tuple(r.shape)
        np.testing.assert_allclose(o.data, r.detach().numpy(), **TOL)
        w = upstream(o.shape, seed + k)
        total = total + (o * w).sum()
        ttotal = ttotal + (r * torch.tensor(w)).sum()
    total.backward()
    ttotal.backward()


def same_grads(module, tmodule):
    tgrads = {k: p.grad for k, p in tmodule.named_parameters()}
    for k, p in module.named_parameters():
        assert tgrads[k] is not None, k
        np.testing.assert_allclose(p.grad, tgrads[k].numpy(), **TOL, err_msg=k)


# ---- the ops -------------------------------------------------------------------------------
def test_embedding_with_repeated_indices(rng):
    idx = np.array([[1, 2, 1, 1], [0, 4, 2, 1]])
    w = rng.normal(size=(5, 3))
    W, tw = Value(w), t(w, True)
    backprop_both(F.embedding(idx, W), torch.nn.functional.embedding(torch.tensor(idx), tw))
    np.testing.assert_allclose(W.grad, tw.grad.numpy(), **TOL)
    assert np.all(W.grad[3] == 0)  # never picked


@pytest.mark.parametrize("shape", [(4,), (2, 3, 4), (3, 2, 4)])
@pytest.mark.parametrize("normalized", [1, 2])
@pytest.mark.parametrize("affine", ["", "w", "wb"])
def test_layer_norm(shape, normalized, affine, rng):
    if normalized > len(shape):
        return
    ns = shape[-normalized:]
    arrays = [rng.normal(size=shape)] + [rng.normal(size=ns) for _ in affine]
    ours = [Value(a) for a in arrays]
    theirs = [t(a, True) for a in arrays]
    kw = dict(zip(("weight", "bias"), ours[1:]))
    tkw = dict(zip(("weight", "bias"), theirs[1:]))
    backprop_both(F.layer_norm(ours[0], ns, eps=1e-5, **kw), torch.nn.functional.layer_norm(theirs[0], ns, eps=1e-5, **tkw))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), **TOL)


MASKS = ["none", "bool", "float", "causal", "bool_batched"]


@pytest.mark.parametrize("mask", MASKS)
@pytest.mark.parametrize("L,S", [(4, 4), (3, 5), (5, 3)])
def test_scaled_dot_product_attention(mask, L, S, rng):
    q, k, v = rng.normal(size=(2, 3, L, 4)), rng.normal(size=(2, 3, S, 4)), rng.normal(size=(2, 3, S, 6))
    kw = {"none": {}, "causal": {"is_causal": True}, "bool": {"attn_mask": rng.random((L, S)) > 0.3},
          "float": {"attn_mask": rng.normal(size=(L, S))},
          "bool_batched": {"attn_mask": rng.random((2, 1, L, S)) > 0.3}}[mask]
    if "attn_mask" in kw and kw["attn_mask"].dtype == bool:
        kw["attn_mask"][..., 0] = True  # every query may see at least one key
    ours = [Value(a) for a in (q, k, v)]
    theirs = [t(a, True) for a in (q, k, v)]
    tkw = {key: torch.tensor(val) if isinstance(val, np.ndarray) else val for key, val in kw.items()}
    for scale in (None, 0.3):
        for x in ours + theirs:
            x.grad = None
        backprop_both(F.scaled_dot_product_attention(*ours, scale=scale, **kw),
                      torch.nn.functional.scaled_dot_product_attention(*theirs, scale=scale, **tkw))
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a.grad, b.grad.numpy(), **TOL)


# ---- the modules ---------------------------------------------------------------------------
def test_embedding_padding_idx_gets_no_gradient(rng):
    emb = nn.Embedding(6, 3, padding_idx=2, seed=0)
    temb = nn.to_torch(emb)
    assert temb.padding_idx == 2 and np.all(emb.weight.data[2] == 0)
    idx = np.array([[2, 1, 2], [5, 2, 1]])
    backprop_both(emb(idx), temb(torch.tensor(idx)))
    same_grads(emb, temb)
    assert np.all(emb.weight.grad[2] == 0)


def test_embedding_and_layer_norm_modules_move_both_ways(rng):
    emb = nn.Embedding(7, 4, seed=0)
    temb = nn.to_torch(emb)
    idx = np.array([[0, 6, 6], [3, 3, 1]])
    backprop_both(emb(idx), temb(torch.tensor(idx)))
    same_grads(emb, temb)
    ln = nn.LayerNorm((3, 4))
    tln = torch.nn.LayerNorm((3, 4), dtype=torch.float64)
    with torch.no_grad():
        tln.weight.normal_()
        tln.bias.normal_()
    ln.load_state_dict(tln.state_dict())
    x = rng.normal(size=(2, 3, 4))
    X, tx = Value(x), t(x, True)
    backprop_both(ln(X), tln(tx))
    same_grads(ln, tln)
    np.testing.assert_allclose(X.grad, tx.grad.numpy(), **TOL)


def mha_inputs(rng, batch_first, batched, L=4, S=5, N=2, E=6, self_attention=False):
    lead = ((N, L) if batch_first else (L, N)) if batched else (L,)
    klead = ((N, S) if batch_first else (S, N)) if batched else (S,)
    q = rng.normal(size=lead + (E,))
    if self_attention:
        return q, q, q
    return q, rng.normal(size=klead + (E,)), rng.normal(size=klead + (E,))


@pytest.mark.parametrize("heads", [1, 3])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("mask", ["none", "bool", "float", "padding", "per_head", "causal"])
@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention(heads, batch_first, mask, need_weights, rng):
    mha = nn.MultiheadAttention(6, heads, batch_first=batch_first, seed=0)
    tmha = torch.nn.MultiheadAttention(6, heads, batch_first=batch_first, dtype=torch.float64)
    with torch.no_grad():
        for p in tmha.parameters():
            p.normal_(0, 0.5)
    mha.load_state_dict(tmha.state_dict())
    L = S = 4 if mask == "causal" else None
    q, k, v = mha_inputs(rng, batch_first, True, L=L or 4, S=S or 5)
    L, S = 4, (4 if mask == "causal" else 5)
    kw = {}
    if mask == "bool":
        kw["attn_mask"] = rng.random((L, S)) > 0.6
        kw["attn_mask"][:, 0] = False
    elif mask == "float":
        kw["attn_mask"] = rng.normal(size=(L, S))
    elif mask == "padding":
        kw["key_padding_mask"] = np.array([[False] * (S - 2) + [True] * 2, [False] * S])
    elif mask == "per_head":
        kw["attn_mask"] = rng.normal(size=(2 * heads, L, S))
    elif mask == "causal":
        kw["attn_mask"] = ~np.tril(np.ones((L, S), dtype=bool))
        kw["is_causal"] = True
    tkw = {key: torch.tensor(val) if isinstance(val, np.ndarray) else val for key, val in kw.items()}
    ours = [Value(a) for a in (q, k, v)]
    theirs = [t(a, True) for a in (q, k, v)]
    out, w = mha(*ours, need_weights=need_weights, **kw)
    tout, tw = tmha(*theirs, need_weights=need_weights, **tkw)
    assert (w is None) == (tw is None) == (not need_weights)
    backprop_both((out, w) if need_weights else out, (tout, tw) if need_weights else tout)
    same_grads(mha, tmha)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), **TOL)


def test_multihead_attention_unbatched_self_attention_and_to_torch(rng):
    mha = nn.MultiheadAttention(6, 2, seed=3)
    tmha = nn.to_torch(mha)
    x = rng.normal(size=(5, 6))
    X, tx = Value(x), t(x, True)
    out, w = mha(X, X, X, average_attn_weights=False)
    tout, tw = tmha(tx, tx, tx, average_attn_weights=False)
    assert w.shape == (2, 5, 5)
    backprop_both((out, w), (tout, tw))
    same_grads(mha, tmha)
    np.testing.assert_allclose(X.grad, tx.grad.numpy(), **TOL)


RECURRENT = ["RNN", "LSTM", "GRU"]


def initial_state(kind, layers, batch, hidden, rng):
    shape = (layers, batch, hidden) if batch else (layers, hidden)
    if kind == "LSTM":
        return rng.normal(size=shape), rng.normal(size=shape)
    return rng.normal(size=shape)


@pytest.mark.parametrize("kind", RECURRENT)
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_recurrent_layers(kind, layers, with_state, batch_first, rng):
    ours = getattr(nn, kind)(3, 4, num_layers=layers, batch_first=batch_first, seed=0)
    theirs = getattr(torch.nn, kind)(3, 4, num_layers=layers, batch_first=batch_first, dtype=torch.float64)
    ours.load_state_dict(theirs.state_dict())
    x = rng.normal(size=(2, 5, 3) if batch_first else (5, 2, 3))
    X, tx = Value(x), t(x, True)
    args, targs, states = [X], [tx], []
    if with_state:
        s = initial_state(kind, layers, 2, 4, rng)
        states = [Value(a) for a in (s if kind == "LSTM" else (s,))]
        tstates = [t(a, True) for a in (s if kind == "LSTM" else (s,))]
        args.append(tuple(states) if kind == "LSTM" else states[0])
        targs.append(tuple(tstates) if kind == "LSTM" else tstates[0])
    out, h = ours(*args)
    tout, th = theirs(*targs)
    flat = (out,) + (h if kind == "LSTM" else (h,))
    tflat = (tout,) + (th if kind == "LSTM" else (th,))
    backprop_both(flat, tflat)
    same_grads(ours, theirs)
    np.testing.assert_allclose(X.grad, tx.grad.numpy(), **TOL)
    if with_state:
        for a, b in zip(states, tstates):
            np.testing.assert_allclose(a.grad, b.grad.numpy(), **TOL)


@pytest.mark.parametrize("kind", RECURRENT)
def test_recurrent_unbatched_no_bias_and_to_torch_and_back(kind, rng):
    ours = getattr(nn, kind)(3, 4, num_layers=2, bias=False, seed=1)
    theirs = nn.to_torch(ours)
    assert list(theirs.state_dict()) == list(ours.state_dict())
    x = rng.normal(size=(6, 3))
    X, tx = Value(x), t(x, True)
    out, h = ours(X)
    tout, th = theirs(tx)
    backprop_both((out,) + (h if kind == "LSTM" else (h,)), (tout,) + (th if kind == "LSTM" else (th,)))
    same_grads(ours, theirs)
    back = getattr(nn, kind)(3, 4, num_layers=2, bias=False, seed=9).load_state_dict(theirs.state_dict())
    for (k, p), (k2, q) in zip(ours.named_parameters(), back.named_parameters()):
        assert k == k2
        np.testing.assert_array_equal(p.data, q.data)


def test_pytorch_initialisation_range_and_seeding():
    a, b = nn.LSTM(3, 16, seed=5), nn.LSTM(3, 16, seed=5)
    for (k, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data)
        assert np.abs(p.data).max() <= 1 / 4 and np.abs(p.data).max() > 0.2, k
    assert [k for k, _ in nn.GRU(2, 3, num_layers=2).named_parameters()] == [
        f"{w}_l{i}" for i in range(2) for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]


def test_second_derivatives_of_attention_and_layer_norm_match_torch(rng):
    """create_graph=True: the rules run on Values, so grad of a grad agrees with torch's double backward."""
    from autograd import grad
    q, k, v = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4)), rng.normal(size=(2, 5, 3))
    mask = rng.normal(size=(3, 5))
    x, w, b = rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=4)
    cases = [
        (lambda a, c, d: F.scaled_dot_product_attention(a, c, d, attn_mask=mask),
         lambda a, c, d: torch.nn.functional.scaled_dot_product_attention(a, c, d, attn_mask=torch.tensor(mask)),
         (q, k, v)),
        (lambda a, c, d: F.layer_norm(a, (4,), c, d), lambda a, c, d: torch.nn.functional.layer_norm(a, (4,), c, d),
         (x, w, b)),
    ]
    for ours, theirs, arrays in cases:
        xs, ts = [Value(a) for a in arrays], [t(a, True) for a in arrays]
        wout = upstream(ours(*xs).shape)
        gs = grad((ours(*xs) * wout).sum(), xs, create_graph=True)
        tgs = torch.autograd.grad((theirs(*ts) * torch.tensor(wout)).sum(), ts, create_graph=True)
        probe = [upstream(a.shape, 7 + i) for i, a in enumerate(arrays)]
        second = grad(sum((g * p).sum() for g, p in zip(gs, probe)), xs, allow_unused=True)
        tsecond = torch.autograd.grad(sum((g * torch.tensor(p)).sum() for g, p in zip(tgs, probe)), ts,
                                      allow_unused=True)  # layer norm's bias: its gradient is g, a constant
        for a, b_ in zip(second, tsecond):
            assert (a is None) == (b_ is None)
            if a is not None:
                np.testing.assert_allclose(a.data, b_.numpy(), **TOL)


def test_relu_rnn_and_legacy_two_dimensional_h0(rng):
    ours = nn.RNN(3, 4, 2, "relu", seed=2)            # PyTorch's positional order: num_layers, nonlinearity
    theirs = nn.to_torch(ours)
    assert theirs.nonlinearity == "relu" and theirs.num_layers == 2
    x, h0 = rng.normal(size=(5, 2, 3)), rng.normal(size=(2, 2, 4))
    X, H0, tx, th0 = Value(x), Value(h0), t(x, True), t(h0, True)
    backprop_both(ours(X, H0), theirs(tx, th0))
    same_grads(ours, theirs)
    np.testing.assert_allclose(H0.grad, th0.grad.numpy(), **TOL)
    one = nn.RNN(3, 4, seed=0)
    out, h = one(x, h0[0])                              # the one-layer RNN's older (batch, hidden) h0
    ref, _ = one(x, h0[:1])
    np.testing.assert_allclose(out.data, ref.data)
