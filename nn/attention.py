"""MultiheadAttention with PyTorch's parameters, masks and return values.

    Q, K, V = query·W_qᵀ + b_q, key·W_kᵀ + b_k, value·W_vᵀ + b_v    (W_q, W_k, W_v: rows of in_proj_weight)
    each of num_heads heads: softmax(Q_h·K_hᵀ/√d + mask)·V_h          (d = embed_dim / num_heads)
    output = concat(heads)·out_proj.weightᵀ + out_proj.bias

With need_weights=True (the default, as PyTorch) the attention is recorded as its steps (scores,
softmax, weighted sum: autograd.ops.sequence.attention_steps) and the weights, averaged over the
heads, come back as a Value; with need_weights=False it is one fused node (the fast path).
"""
from __future__ import annotations

import math

import numpy as np

from autograd.arguments import ShapeError
from autograd.functional import linear
from autograd.ops.sequence import attention_steps
from autograd.value import Value, apply, const

from .init import rng_from
from .layers import Linear
from .module import Module


def _additive(mask, name, want, fix, dtype):
    """A boolean mask (True = NOT allowed, MultiheadAttention's convention) or a float one, as an
    additive float array; checked against the shapes `want` (a list of allowed shapes)."""
    m = np.asarray(mask.data if isinstance(mask, Value) else mask)
    if m.shape not in want:
        raise ShapeError(f"MultiheadAttention: {name} of shape {m.shape} does not fit; expected "
                         f"{' or '.join(str(w) for w in want)} ({fix})")
    if m.dtype == np.bool_:
        return np.where(m, -np.inf, 0.0).astype(dtype)
    return m.astype(dtype)


class MultiheadAttention(Module):
    """torch.nn.MultiheadAttention: in_proj_weight (3·E, E), in_proj_bias (3·E,), out_proj (E -> E).

    forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False) -> (output, weights or None). Inputs are
    (L, N, E) — (N, L, E) with batch_first=True — or (L, E) unbatched. A boolean attn_mask or
    key_padding_mask marks with True what may NOT be attended to; a float one is added to the scores.

    >>> mha = MultiheadAttention(8, 2, batch_first=True, seed=0); x = np.zeros((3, 5, 8))
    >>> out, w = mha(x, x, x); out.shape, w.shape
    ((3, 5, 8), (3, 5, 5))
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim=None, vdim=None,
                 batch_first: bool = False, seed=None):
        super().__init__()
        E, H = int(embed_dim), int(num_heads)
        if E < 1 or H < 1 or E % H:
            raise ValueError(f"MultiheadAttention: embed_dim={embed_dim} must be divisible by num_heads={num_heads} "
                             f"(each head gets embed_dim / num_heads features); pick e.g. num_heads="
                             f"{max(h for h in range(1, max(E, 1) + 1) if E % h == 0 and h <= max(H, 1))}")
        if dropout or add_bias_kv or add_zero_attn or kdim not in (None, E) or vdim not in (None, E):
            raise NotImplementedError("MultiheadAttention: dropout, add_bias_kv, add_zero_attn and kdim/vdim other "
                                      "than embed_dim are not supported")
        self.embed_dim, self.num_heads, self.head_dim = E, H, E // H
        self.batch_first, self.dropout = bool(batch_first), 0.0
        rng = rng_from(seed)
        bound = math.sqrt(6.0 / (E + 3 * E))  # PyTorch: xavier_uniform_ on in_proj_weight, zero biases
        self.in_proj_weight = Value(rng.uniform(-bound, bound, (3 * E, E)), label="in_proj_weight")
        self.in_proj_bias = Value(np.zeros(3 * E), label="in_proj_bias") if bias else None
        self.out_proj = Linear(E, E, bias=bias, name="out_proj")
        # (into the layer's own array: it keeps the layout and cache-line start nn.Layer gave it)
        np.copyto(self.out_proj.weight.data, rng.uniform(-1 / math.sqrt(E), 1 / math.sqrt(E), (E, E)))

    def _who(self):
        return f"MultiheadAttention({self.embed_dim}, {self.num_heads}" + \
            (", batch_first=True)" if self.batch_first else ")")

    def _inputs(self, query, key, value):
        qkv = [x if isinstance(x, Value) else const(np.asarray(x)) for x in (query, key, value)]
        q, k, v = qkv
        layout = "(N, L, E)" if self.batch_first else "(L, N, E)"
        if q.ndim not in (2, 3) or any(x.ndim != q.ndim for x in qkv) or any(x.shape[-1] != self.embed_dim for x in qkv):
            raise ShapeError(f"{self._who()}: query, key, value must be {layout} (batch_first={self.batch_first}) or "
                             f"(L, E) unbatched, with E = embed_dim = {self.embed_dim}; got {q.shape}, {k.shape}, "
                             f"{v.shape}")
        batched = q.ndim == 3
        if batched and self.batch_first is False:
            qkv = [x.transpose(1, 0, 2) if x.requires_grad else const(x.data.transpose(1, 0, 2)) for x in qkv]
        elif not batched:
            qkv = [x.reshape((1,) + x.shape) for x in qkv]
        q, k, v = qkv
        if k.shape[:2] != v.shape[:2] or k.shape[0] != q.shape[0]:
            raise ShapeError(f"{self._who()}: key {key.shape} and value {value.shape} need the same batch and "
                             f"length, and the batch of query {query.shape}")
        return q, k, v, batched

    def _mask(self, attn_mask, key_padding_mask, is_causal, N, L, S, batched, dtype):
        H, total = self.num_heads, None
        if is_causal and attn_mask is None:
            attn_mask = ~np.tril(np.ones((L, S), dtype=bool))
        if attn_mask is not None:
            want = [(L, S), (N * H, L, S)] if batched else [(L, S), (H, L, S)]
            m = _additive(attn_mask, "attn_mask", want, f"L={L} queries by S={S} keys, or one mask per batch "
                          "element and head as PyTorch lays them out", dtype)
            total = m.reshape(N, H, L, S) if m.ndim == 3 else m
        if key_padding_mask is not None:
            want = [(N, S)] if batched else [(S,)]
            m = _additive(key_padding_mask, "key_padding_mask", want, f"one entry per key: batch N={N} by S={S} keys",
                          dtype).reshape(N, 1, 1, S)
            total = m if total is None else total + m
        return total

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        q, k, v, batched = self._inputs(query, key, value)
        (N, L, E), S = q.shape, k.shape[1]
        mask = self._mask(attn_mask, key_padding_mask, is_causal, N, L, S, batched, q.dtype)
        if need_weights:
            out, weights = attention_steps(*self._heads(q, k, v), mask=mask)
            out = out.transpose(0, 2, 1, 3).reshape(N, L, E)
            out.label = "heads joined"
        else:
            out, weights = self._fused(q, k, v, query is key is value, mask), None
        out = self.out_proj(out)
        if not batched:
            out = out.reshape(L, E)
        elif not self.batch_first:
            out = out.transpose(1, 0, 2)
        if weights is not None:
            weights = weights.mean(axis=1) if average_attn_weights else weights
            weights = weights if batched else weights.reshape(weights.shape[1:])
        return out, weights

    def _heads(self, q, k, v):
        """Q, K, V by head, (N, num_heads, len, head_dim) each, as labelled nodes: the in-projections
        with W_q, W_k, W_v (rows of in_proj_weight), split into heads, heads first."""
        (N, _, E), H, d = q.shape, self.num_heads, self.head_dim
        w, b = self.in_proj_weight, self.in_proj_bias
        heads = []
        for i, x in enumerate((q, k, v)):
            name = "QKV"[i]
            w_i = w[i * E:(i + 1) * E]
            w_i.label = f"W_{name.lower()}"  # the labels say what a drawing or the player shows
            b_i = None if b is None else b[i * E:(i + 1) * E]
            if b_i is not None:
                b_i.label = f"b_{name.lower()}"
            part = linear(x, w_i, b_i)
            part.label = name
            split = part.reshape(N, x.shape[1], H, d)
            split.label = f"{name} split into {H} heads"
            heads.append(split.transpose(0, 2, 1, 3))  # (N, H, len, d)
            heads[-1].label = f"{name} by head"
        return heads

    def _fused(self, q, k, v, self_attention, mask):
        """The fast path (need_weights=False): the heads' attention as ONE scaled_dot_product_attention
        node that splits and joins the heads itself, on Q, K, V of shape (N, len, E); for
        self-attention (query is key is value) Q, K and V come from ONE in-projection with the whole
        in_proj_weight, sliced: 18 nodes an attention -> 5 (no reshape/transpose nodes, whose view
        gradients the engine copies; one in-projection product instead of three). The demo's
        transformer, one training step (batch 32, context 32, float32, alternating rounds): 29.2 -> 27.0 ms."""
        E, w, b = self.embed_dim, self.in_proj_weight, self.in_proj_bias
        if self_attention:
            qkv = linear(q, w, b)
            qkv.label = "Q, K, V"
            parts = [qkv[..., i * E:(i + 1) * E] for i in range(3)]
        else:
            parts = [linear(x, w[i * E:(i + 1) * E], None if b is None else b[i * E:(i + 1) * E])
                     for i, x in enumerate((q, k, v))]
        for part, name in zip(parts, "QKV"):
            part.label = name
        out = apply("scaled_dot_product_attention", tuple(parts),
                    {"mask": mask, "scale": 1.0 / math.sqrt(self.head_dim), "heads": self.num_heads})
        out.label = "heads joined"
        return out

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, batch_first={self.batch_first}"
