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
with a causal mask, forward + backward (with a weighted sum after it): fused 1.49 ms, as steps 2.96 ms
(the scale, the mask and the softmax each walk the scores once more, numpy's softmax takes a max over
each row of 32, and each node adds its bookkeeping). nn.MultiheadAttention's fast path also splits
and joins the heads inside the node (heads=): 7% off the demo transformer's training step.
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


from .lstm import lstm_cell, lstm_step  # noqa: F401  (the LSTM's ops live in lstm.py; imported here, as before)
