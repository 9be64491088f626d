"""Sequence models: embedding lookup and scaled-dot-product attention.

Attention comes two ways, on purpose:
  * `scaled_dot_product_attention` (autograd.scaled_dot_product_attention, F.scaled_dot_product_attention)
    is ONE node, "softmax(QKᵀ·s + mask)·V": its forward keeps the attention weights for its
    backward, which is five matrix products and one softmax derivative. This is the fast path:
    training steps record one node per attention instead of six.
  * `attention_steps` records the same numbers as the nodes a learner wants to see: the scores
    Q·Kᵀ·s, the mask, the softmax, the weighted sum of V. MultiheadAttention uses it when the
    weights are asked for (need_weights=True, as PyTorch switches to its explicit path then), so
    the drawing and the backprop player show scores → softmax → weighted sum, and the weights come
    back as a differentiable Value.
Measured (float32, one BLAS thread, CPU time) on the demo's attention, q, k, v of shape (32, 4, 32, 16)
with a causal mask, forward + backward: fused 1.37 ms, as steps 1.63 ms (1.2×: the scale, the mask and
the softmax each walk the scores once more and each node adds its bookkeeping); a whole training step
of the demo's transformer (2 blocks, batch 32, context 32): 25.5 ms fused, 29.7 ms as steps (1.17×).
"""
from __future__ import annotations

import math

import numpy as np

from ..arguments import ShapeError
from . import call, data, defmethod, defop, reshape, shape, swap_last

# ---- embedding: rows of a table picked by integer indices ---------------------------------


def _embedding_grad(g, out, weight, indices, padding_idx=None):
    if padding_idx is not None:  # the padding row is never trained, as PyTorch's
        g = g * (indices != padding_idx)[..., None]
    if type(g) is np.ndarray and weight.ndim == 2:  # first order: the picks sorted by row, each row's summed
        # by one reduceat (np.add.at adds one pick at a time: 1024 picks of 64 float32 from 95 rows, 471 -> 108 µs)
        flat, rows = indices.reshape(-1), g.reshape(-1, weight.shape[1])
        gw = np.zeros(weight.shape, np.result_type(g.dtype, np.float32))
        if flat.size:
            order = np.argsort(flat, kind="stable")
            picked = flat[order]
            starts = np.flatnonzero(np.r_[True, picked[1:] != picked[:-1]])
            gw[picked[starts]] = np.add.reduceat(rows[order], starts, axis=0)
        return (gw,)
    return (call("scatter", g, key=indices, shape=shape(weight)),)  # repeated indices add up


def as_indices(indices, size: int, who: str = "embedding") -> np.ndarray:
    """Integer indices (any shape) as an int64 array, each checked against `size` rows. A Value
    holds floats (the generated autograd.embedding wraps its first argument): whole numbers pass."""
    idx = np.asarray(data(indices))
    if idx.dtype.kind == "f" and hasattr(indices, "op"):
        if not np.all(idx == np.round(idx)):
            raise TypeError(f"{who}: indices must be integers, got non-integer values such as {idx[idx != np.round(idx)][0]}")
    elif idx.dtype.kind not in "iu":
        raise TypeError(f"{who}: indices must be integers (e.g. np.int64), got dtype {idx.dtype}; "
                        f"convert them with .astype(np.int64)")
    idx = idx.astype(np.int64, copy=False)
    bad = (idx < 0) | (idx >= size)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise IndexError(f"{who}: index {int(idx[where])} (at position {where} of the indices of shape "
                         f"{idx.shape}) is out of range for a table of {size} rows; valid indices are 0 to "
                         f"{size - 1}: make num_embeddings larger or fix the index")
    return idx


def embedding(indices, weight, padding_idx=None):
    """weight[indices]: one row of `weight` (num_embeddings, dim) per integer index, any shape of
    indices; the backward adds g into the picked rows (repeated indices accumulate), except into
    row `padding_idx` (as torch.nn.functional.embedding)."""
    from ..value import apply, const
    weight = const(weight)
    if weight.ndim != 2:
        raise ShapeError(f"embedding: weight must be (num_embeddings, embedding_dim), got shape {weight.shape}")
    attrs = {"indices": as_indices(indices, weight.shape[0])}
    if padding_idx is not None:
        n = weight.shape[0]
        if not -n <= int(padding_idx) < n:
            raise IndexError(f"embedding: padding_idx {padding_idx} is out of range for a table of {n} rows")
        attrs["padding_idx"] = int(padding_idx) % n
    return apply("embedding", (weight,), attrs)


# ---- scaled-dot-product attention --------------------------------------------------------


def attention_mask(attn_mask, is_causal, L, S, dtype):
    """PyTorch's F.scaled_dot_product_attention masks as one additive float array (None: none).
    A boolean mask's True means *may attend* (False → -inf); a float mask is added; is_causal
    allows j <= i, aligned top-left when L != S, as PyTorch."""
    if is_causal:
        if attn_mask is not None:
            raise ValueError("scaled_dot_product_attention: pass either attn_mask or is_causal=True, not both "
                             "(PyTorch refuses both too); fold the causal mask into attn_mask instead")
        attn_mask = np.tril(np.ones((L, S), dtype=bool))
    if attn_mask is None:
        return None
    m = np.asarray(data(attn_mask))
    try:
        np.broadcast_shapes(m.shape[-2:] if m.ndim >= 2 else m.shape, (L, S))
    except ValueError:
        raise ShapeError(f"scaled_dot_product_attention: attn_mask of shape {m.shape} does not fit the scores of "
                         f"shape (..., {L}, {S}) (L queries by S keys); give a mask of shape ({L}, {S}) or one "
                         f"that broadcasts to (..., {L}, {S})") from None
    if m.dtype == np.bool_:
        return np.where(m, 0.0, -np.inf).astype(dtype)
    return m.astype(dtype, copy=False)


_ONES = {}  # (n, dtype) -> np.ones(n, dtype), for _last_sum


def _last_sum(x):
    """Σ over the last axis (keepdims) of a C-ordered float array as ONE matrix-vector product: numpy's
    reduce over a short last axis runs a loop per row ((32, 4, 32, 32) float32: 86 µs, this 10 µs)."""
    n = x.shape[-1]
    ones = _ONES.get((n, x.dtype))
    if ones is None:
        ones = _ONES[n, x.dtype] = np.ones(n, x.dtype)
    return (x.reshape(-1, n) @ ones).reshape(x.shape[:-1] + (1,))


def _softmax_last(s):
    """softmax over the last axis of the scores s. The shift that keeps exp from overflowing is the
    largest score of the whole array (a vectorised reduce: 7 µs at (32, 4, 32, 32) float32, where
    numpy's max over each row of 32 takes 380 µs); the same softmax as a per-row shift up to
    rounding, as long as every row's own largest term exp(max_row - max) stays a normal number
    well above the dtype's tiny (checked on the row sums; else, or for a row of -inf, per row)."""
    top = np.maximum.reduce(s, axis=None)
    if np.isfinite(top):
        p = np.subtract(s, top, dtype=s.dtype)
        np.exp(p, out=p)
        total = _last_sum(p)
        info = np.finfo(s.dtype)
        if np.minimum.reduce(total, axis=None) > info.tiny / info.eps:
            p /= total
            return p
    m = np.maximum.reduce(s, axis=-1, keepdims=True)
    p = np.exp(s - m)
    p /= np.add.reduce(p, axis=-1, keepdims=True)
    return p


def _split_heads(x, heads):
    """(N, L, heads·d) -> (N, heads, L, d), a view (arrays) or two recorded nodes (Values)."""
    n, length, e = shape(x)
    return call("transpose", reshape(x, (n, length, heads, e // heads)), axes=(0, 2, 1, 3))


def _join_heads(x):
    """(N, heads, L, d) -> (N, L, heads·d): the heads' outputs side by side (a copy for arrays)."""
    n, heads, length, d = shape(x)
    return reshape(call("transpose", x, axes=(0, 2, 1, 3)), (n, length, heads * d))


def _attention(q, k, v, mask=None, scale=1.0, heads=None):
    if heads:  # q, k, v of shape (N, L, E): MultiheadAttention's heads split and joined inside the node
        out, p = _attention(*(_split_heads(x, heads) for x in (q, k, v)), mask, scale)
        return _join_heads(out), p
    s = q @ swap_last(k)
    s *= scale
    if mask is not None:
        s = s + mask
    if s.dtype.kind == "f" and s.ndim >= 2:
        p = _softmax_last(s)  # the softmax, kept for the backward
    else:
        m = np.maximum.reduce(s, axis=-1, keepdims=True)
        p = np.exp(s - m)
        p /= np.add.reduce(p, axis=-1, keepdims=True)
    return p @ v, p


def _attention_grad(g, out, q, k, v, mask=None, scale=1.0, heads=None, saved=None):
    if heads:
        grads = _attention_grad(_split_heads(g, heads), None, *(_split_heads(x, heads) for x in (q, k, v)),
                                mask, scale, saved=saved)
        return tuple(_join_heads(x) for x in grads)
    if saved is None:  # recompute, recorded (create_graph=True): the same rule on Values
        s = call("matmul", q, swap_last(k)) * scale
        p = call("softmax", s if mask is None else s + mask, axis=-1)
    else:
        p = saved
    gp = g @ swap_last(v)  # dL/dP
    if type(gp) is np.ndarray and type(p) is np.ndarray and gp.dtype.kind == "f":  # first order, in place
        gs = gp * p
        gp -= _last_sum(gs)
        np.multiply(p, gp, out=gs)  # through the softmax
        gs *= scale
    else:
        gs = p * (gp - call("sum", gp * p, axis=-1, keepdims=True))  # through the softmax
        gs = gs * scale
    return gs @ k, swap_last(gs) @ q, swap_last(p) @ g


defop("scaled_dot_product_attention", _attention, _attention_grad,
      "softmax(Q·Kᵀ·s + mask)·V",
      ("(P·(g·Vᵀ - Σ P·g·Vᵀ))·K·s", "(P·(g·Vᵀ - Σ P·g·Vᵀ))ᵀ·Q·s", "Pᵀ·g"), elementwise=False, saves=True,
      doc="attention: softmax(q @ kᵀ · scale + mask) @ v over the last axis, P = the weights (one node)")


def _check_qkv(q, k, v):
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise ShapeError(f"scaled_dot_product_attention: q, k, v need shape (..., L, E), (..., S, E), (..., S, Ev); "
                         f"got {q.shape}, {k.shape}, {v.shape}")
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ShapeError(f"scaled_dot_product_attention: q {q.shape}, k {k.shape}, v {v.shape} do not fit: q and k "
                         f"need the same last axis E, k and v the same number of keys S (second-to-last axis)")
    try:
        np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        raise ShapeError(f"scaled_dot_product_attention: the batch axes of q {q.shape}, k {k.shape} and v {v.shape} "
                         f"do not broadcast together; give them equal leading axes") from None


def scaled_dot_product_attention(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    """softmax(q @ kᵀ · scale + mask) @ v as ONE node, like torch.nn.functional.scaled_dot_product_attention.

    q (..., L, E), k (..., S, E), v (..., S, Ev); scale defaults to 1/√E. A boolean attn_mask's
    True means *may attend*; a float attn_mask is added to the scores; is_causal lets query i see
    keys j <= i (top-left aligned). The mask is a constant (no gradient flows into it).
    """
    from ..value import apply, const
    if enable_gqa:
        raise NotImplementedError("scaled_dot_product_attention: enable_gqa (grouped-query attention) is not "
                                  "supported; repeat k and v to q's number of heads instead")
    if dropout_p:
        raise NotImplementedError("scaled_dot_product_attention: dropout_p is not supported; apply dropout to the "
                                  "attention weights yourself (attention_steps) or pass dropout_p=0.0")
    q, k, v = const(q), const(k), const(v)
    _check_qkv(q, k, v)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    mask = attention_mask(attn_mask, is_causal, q.shape[-2], k.shape[-2], q.dtype)
    return apply("scaled_dot_product_attention", (q, k, v), {"mask": mask, "scale": scale})


def attention_steps(q, k, v, mask=None, scale=None):
    """The same attention as separate, labelled nodes: (output, weights). `mask` is additive (see
    attention_mask). The drawing reads scores → (+ mask) → softmax → weights @ V."""
    from ..value import Value, const
    q, k, v = const(q), const(k), const(v)
    _check_qkv(q, k, v)
    named = "scale" if scale is not None else f"1/√{q.shape[-1]}"
    scale = const(1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale))
    scale.label = named  # the drawing names the constants it shows (a new leaf each call)
    kt = k.mT
    kt.label = "Kᵀ"
    product = q @ kt
    product.label = "Q·Kᵀ"
    scores = product * scale
    scores.label = "scores"
    if mask is not None:
        if not isinstance(mask, Value):  # an array: its node is named; a user's Value keeps its own name
            mask = const(mask)
            mask.label = "mask"
        scores = scores + mask
        scores.label = "masked scores"
    weights = scores.softmax(-1)
    weights.label = "attention weights"
    out = weights @ v
    out.label = "attention output"
    return out, weights


defop("embedding", lambda weight, indices, padding_idx=None: weight[indices], _embedding_grad,
      "embedding", ("g added into the rows picked (repeats add up)",), elementwise=False,
      doc="weight[indices]: one row of the table per integer index")
defmethod("embedding", embedding, method=False)
defmethod("scaled_dot_product_attention", scaled_dot_product_attention, method=False)


# ---- the LSTM cell: four gates and the memory update as one node --------------------------
# The gates as separate nodes (a σ, four slices, a tanh, three products and a sum per step) made
# nn.LSTM's training step 3.4× PyTorch's, most of it per-node bookkeeping; as one node per step
# the step records 6 nodes instead of 13 (benchmarks/sequence.py). `lstm_step` (below) also takes
# in the recurrent product h·W_hhᵀ, as nn.LSTM projects every step's input in one product first.
# The RNN keeps its steps visible.


_GATE_SCALES = {}  # (H, dtype) -> (s, b): the gates are s·tanh(s·z) + b


def _gate_scales(H, dtype):
    key = (H, dtype)
    if key not in _GATE_SCALES:
        _GATE_SCALES[key] = (np.repeat(np.array([0.5, 0.5, 1.0, 0.5], dtype), H),
                             np.repeat(np.array([0.5, 0.5, 0.0, 0.5], dtype), H))
    return _GATE_SCALES[key]


def _lstm_cell(z, c=None, own=False):
    H = z.shape[-1] // 4
    # one tanh for all four gates: σ(x) = (1 + tanh(x/2)) / 2 (stable; 7× faster than a where-based σ),
    # i.e. gates = s·tanh(s·z) + b with s = ½ (1 for g) and b = ½ (0 for g), computed in place
    s, b = _gate_scales(H, z.dtype if z.dtype.kind == "f" else np.dtype(np.float64))
    t = np.multiply(z, s, out=z) if own else z * s  # own: z is this op's scratch (lstm_step's z)
    np.tanh(t, out=t)
    t *= s
    t += b
    i, f, g, o = t[..., :H], t[..., H:2 * H], t[..., 2 * H:3 * H], t[..., 3 * H:]
    out = np.empty((2,) + i.shape, np.result_type(z, np.float32) if c is None else np.result_type(z, c))
    h_new, c_new = out[0], out[1]  # written in place: no np.stack (~10 µs of Python per step)
    np.multiply(i, g, out=c_new)
    if c is not None:
        c_new += np.multiply(f, c, out=h_new)  # (h_new as scratch: no temporary)
    tc = np.tanh(c_new)
    np.multiply(o, tc, out=h_new)
    return out, (i, f, g, o, tc)


def _lstm_cell_grad(G, out, z, c=None, saved=None):
    H = shape(z)[-1] // 4
    if saved is None:  # recompute, recorded (create_graph=True)
        s = call("sigmoid", z)
        i, f, o = s[..., :H], s[..., H:2 * H], s[..., 3 * H:]
        g = call("tanh", z[..., 2 * H:3 * H])
        tc = call("tanh", i * g if c is None else f * c + i * g)
    elif type(G) is np.ndarray:
        return _lstm_cell_grad_arrays(G, c, H, *saved)
    else:
        i, f, g, o, tc = saved
    gh, gc = G[0], G[1]
    gc = gc + gh * o * (1 - tc * tc)  # the memory's gradient: from c_t directly and through h_t
    parts = (gc * g * i * (1 - i), (gc * c * f * (1 - f)) if c is not None else 0 * f,
             gc * i * (1 - g * g), gh * tc * o * (1 - o))
    axis = len(shape(z)) - 1
    if type(G) is np.ndarray:
        gz = np.concatenate(parts, axis=axis)
    else:
        gz = call("concat", *parts, axis=axis)
    return (gz,) if c is None else (gz, gc * f)


def _lstm_cell_grad_arrays(G, c, H, i, f, g, o, tc):
    """The rule above on arrays, written into one gz in place: fewer passes over small arrays and no
    concatenate (36 -> 31 µs a step at batch 32, hidden 128, float32, one thread)."""
    gh, gc = G[0], G[1]
    ghat = tc * tc
    np.subtract(1, ghat, out=ghat)
    ghat *= o
    ghat *= gh
    ghat += gc  # the memory's gradient: from c_t directly and through h_t
    gz = np.empty(i.shape[:-1] + (4 * H,), np.result_type(ghat, i))
    gi, gf, gg, go = gz[..., :H], gz[..., H:2 * H], gz[..., 2 * H:3 * H], gz[..., 3 * H:]
    np.multiply(ghat, g, out=gi)
    if c is not None:
        np.multiply(ghat, c, out=gf)
    else:
        gf[...] = 0
    np.multiply(ghat, i, out=gg)
    np.multiply(gh, tc, out=go)
    gates = i.base if i.base is not None and i.base.shape == gz.shape else np.concatenate((i, f, g, o), axis=-1)
    d = 1 - gates
    d *= gates  # σ' = σ(1 - σ) for i, f, o ...
    dg = d[..., 2 * H:3 * H]
    np.multiply(g, g, out=dg)
    np.subtract(1, dg, out=dg)  # ... and tanh' = 1 - g² for g
    gz *= d
    return (gz,) if c is None else (gz, ghat * f)


defop("lstm_cell", _lstm_cell, _lstm_cell_grad,
      "LSTM cell",
      ("[ĝ·c̃·i(1-i), ĝ·c·f(1-f), ĝ·i·(1-c̃²), g_h·tanh(c')·o(1-o)], ĝ = g_c + g_h·o·(1-tanh²c'), c̃ = tanh(z_g)", "ĝ·f"),
      elementwise=False, saves=True,
      doc="LSTM step from gate pre-activations z = (i, f, g, o): stack(h', c') with c' = σf·c + σi·tanh g, "
          "h' = σo·tanh c'")


def lstm_cell(z, c=None):
    """(h', c') from the gate pre-activations z (..., 4H) in PyTorch's order i, f, g, o and the
    cell state c (..., H) (None: zeros), as one node; returns the stacked (2, ..., H) Value."""
    from ..value import apply, const
    z = const(z)
    if z.ndim < 1 or z.shape[-1] % 4:
        raise ShapeError(f"lstm_cell: z of shape {z.shape} must end with 4·hidden gate pre-activations (i, f, g, o)")
    if c is None:
        return apply("lstm_cell", (z,))
    c = const(c)
    if c.shape != z.shape[:-1] + (z.shape[-1] // 4,):
        raise ShapeError(f"lstm_cell: cell state of shape {c.shape} does not fit gates of shape {z.shape}; it must be "
                         f"{z.shape[:-1] + (z.shape[-1] // 4,)}")
    return apply("lstm_cell", (z, c))


# ---- one LSTM step after the input projection: h·W_hhᵀ, the gates and the memory update ----------
# nn.LSTM computes x_t·W_ihᵀ + b_ih + b_hh for all steps in one `linear` node (as PyTorch does), so
# a step is a slice of it (whose gradient backprop adds in place: autograd.slices), this node and
# the two slices h_t, c_t: 4 nodes instead of 6, one small product instead of two. The demo's LSTM,
# one training step on the same loaded machine (benchmarks/sequence.py): 18.8 -> 14.2-15.6 ms CPU,
# 2.7x -> 2.05-2.3x PyTorch's. It stays one node per step, not one per layer (PyTorch's fused kernel),
# so that the player shows the recurrence step by step and h1, h2, c1, ... remain nodes
# (grad(loss, h3) works; the transformer demo measures the gradient through time that way).


def _lstm_step(p, h, c, w_hh):
    return _lstm_cell(_recurrent_product(p, h, w_hh), c, own=True)  # own: the fresh z becomes the gates in place


_GEMM = []  # {dtype: BLAS gemm} from scipy.linalg.blas, {} without scipy; looked up on first use (~30 ms)


def _recurrent_product(p, h, w_hh):
    """p + h·W_hhᵀ as a fresh C-ordered array. numpy's h @ w_hh.T hands BLAS the transposed view, a
    slower kernel at these shapes (batch 32, hidden 128, float32: 62-99 µs a step, 43 µs for W @ hᵀ);
    gemm computes that fast product, as zᵀ = W·hᵀ + pᵀ, straight into a copy of p (54 µs with the
    copy and the add, 70 µs for numpy's p + h @ w_hh.T), read as z: 32 steps a layer, ~0.6 ms."""
    if not _GEMM:
        try:
            from scipy.linalg import blas
            _GEMM.append({np.dtype(np.float32): blas.sgemm, np.dtype(np.float64): blas.dgemm})
        except ImportError:
            _GEMM.append({})
    gemm = _GEMM[0].get(p.dtype) if h.ndim == 2 and p.dtype == h.dtype == w_hh.dtype else None
    if gemm is None:
        return p + h @ w_hh.T
    z = np.array(p, order="C")
    return gemm(1.0, w_hh.T, h.T, 1.0, z.T, trans_a=1, overwrite_c=1).T  # (z itself when no copy was needed)


def _lstm_step_grad(G, out, p, h, c, w_hh, saved=None):
    z = p + call("matmul", h, swap_last(w_hh)) if saved is None else p  # recomputed only for create_graph
    gz, gc = _lstm_cell_grad(G, out, z, c, saved=saved)
    if len(shape(h)) == 1:  # one sequence, no batch: the weight's gradient is an outer product
        gw = reshape(gz, (-1, 1)) * reshape(h, (1, -1))
    else:
        gw = swap_last(gz) @ h
    return gz, gz @ w_hh, gc, gw


defop("lstm_step", _lstm_step, _lstm_step_grad,
      "LSTM step",
      ("ĝz", "ĝz·W_hh", "ĝ·f", "ĝzᵀ·h"),
      elementwise=False, saves=True,
      doc="LSTM step from the projected input p = x·W_ihᵀ + b: lstm_cell(p + h·W_hhᵀ, c), the stacked (h', c')")


def lstm_step(p, h, c, w_hh):
    """(h', c') stacked, shape (2, ..., H), from the projected input p (..., 4H) (x·W_ihᵀ + b_ih + b_hh,
    gates i, f, g, o), the previous h and c (..., H) and W_hh (4H, H): lstm_cell(p + h·W_hhᵀ, c), one node."""
    from ..value import apply, const
    p, h, c, w_hh = const(p), const(h), const(c), const(w_hh)
    H = h.shape[-1] if h.ndim else 0
    if (p.ndim not in (1, 2) or w_hh.shape != (4 * H, H) or p.shape != h.shape[:-1] + (4 * H,)
            or c.shape != h.shape):
        raise ShapeError(f"lstm_step: shapes p {p.shape}, h {h.shape}, c {c.shape}, w_hh {w_hh.shape} do not fit; "
                         f"they must be (batch, 4H) or (4H,), h and c (batch, H) or (H,), w_hh (4H, H)")
    return apply("lstm_step", (p, h, c, w_hh))
