"""Gradcheck cases for the sequence ops: embedding, scaled_dot_product_attention, layer_norm, lstm_cell, lstm_step."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from test_ops_gradcheck import Case, arr

import autograd


def embedding_case(draw):
    """Indices of any shape (repeats likely: few rows) into a (rows, dim) table."""
    rows, dim = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3))
    idx = draw(hnp.arrays(np.int64, shape, elements=st.integers(0, rows - 1)))
    # (padding_idx is left out: its row's gradient is zero by design, not the derivative; see the oracle test)
    return (lambda w: autograd.embedding(idx, w)), [arr(draw, (rows, dim))]


def attention_case(draw):
    """q, k, v with batch axes (broadcasting sometimes), and no mask, a boolean, a float or a causal one."""
    L, S, E, Ev = (draw(st.integers(1, 3)) for _ in range(4))
    batch = draw(st.sampled_from([(), (2,), (2, 2)]))
    kbatch = draw(st.sampled_from([batch, batch[:-1] + (1,) if batch else ()]))
    kind = draw(st.sampled_from(["none", "bool", "float", "causal"]))
    kw = {}
    if kind == "bool":
        mask = draw(hnp.arrays(np.bool_, (L, S)))
        mask[:, 0] = True  # each query sees a key
        kw["attn_mask"] = mask
    elif kind == "float":
        kw["attn_mask"] = arr(draw, (L, S))
    elif kind == "causal":
        kw["is_causal"] = True
    scale = draw(st.sampled_from([None, 0.7]))
    return ((lambda q, k, v: autograd.scaled_dot_product_attention(q, k, v, scale=scale, **kw)),
            [arr(draw, batch + (L, E)), arr(draw, kbatch + (S, E)), arr(draw, kbatch + (S, Ev))])


def layer_norm_case(draw):
    """Distinct values (no near-zero variance); normalised over the last 1 or 2 axes, affine or not.
    Each group's values near its own mean (+0.25): float32's rounding of x - mean grows with |x| / std,
    and rstd multiplies it ([-2.1, -2.2] as drawn: 1e-4 off float64's gradient, the float32 test's
    tolerance)."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=3))
    k = draw(st.integers(1, min(2, len(shape))))
    ns = shape[-k:]
    affine = draw(st.sampled_from(["", "w", "wb"]))
    x = arr(draw, shape, "distinct")
    x = x - x.mean(axis=tuple(range(-k, 0)), keepdims=True) + 0.25
    params = [arr(draw, ns) for _ in affine]

    def fn(x_, *p):
        return autograd.layer_norm(x_, ns, *p)
    return fn, [x] + params


def lstm_cell_case(draw):
    """Gate pre-activations (..., 4H) and a cell state (..., H), or no state (zeros)."""
    from autograd.ops.sequence import lstm_cell
    lead, H = draw(st.sampled_from([(), (2,), (2, 3)])), draw(st.integers(1, 3))
    z = arr(draw, lead + (4 * H,))
    if draw(st.booleans()):
        return (lambda z_: lstm_cell(z_)), [z]
    return (lambda z_, c_: lstm_cell(z_, c_)), [z, arr(draw, lead + (H,))]


def lstm_step_case(draw):
    """A projected input (batch, 4H) or (4H,), h and c (batch, H) or (H,), and W_hh (4H, H)."""
    from autograd.ops.sequence import lstm_step
    lead, H = draw(st.sampled_from([(), (1,), (3,)])), draw(st.integers(1, 3))
    return ((lambda p, h, c, w: lstm_step(p, h, c, w)),
            [arr(draw, lead + (4 * H,)), arr(draw, lead + (H,)), arr(draw, lead + (H,)), arr(draw, (4 * H, H))])


CASES = [
    Case("embedding", "embedding", embedding_case),
    Case("scaled_dot_product_attention", "scaled_dot_product_attention", attention_case),
    Case("layer_norm", "layer_norm", layer_norm_case),
    Case("lstm_cell", "lstm_cell", lstm_cell_case),
    Case("lstm_step", "lstm_step", lstm_step_case),
]
