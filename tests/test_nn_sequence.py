"""Sequence layers: what they record, and errors that name the shapes and the fix."""
from __future__ import annotations

import numpy as np
import pytest

import autograd
import nn
import nn.functional as F
from autograd import ShapeError, Value, topological_order


def test_embedding_errors_name_the_index_and_the_size():
    emb = nn.Embedding(5, 3, seed=0)
    with pytest.raises(IndexError, match=r"index 7 .* out of range for a table of 5 rows.*0 to 4"):
        emb(np.array([[1, 7], [0, 2]]))
    with pytest.raises(IndexError, match=r"index -1"):
        emb(np.array([-1]))
    with pytest.raises(TypeError, match="indices must be integers"):
        emb(np.array([0.5, 1.0]))
    assert emb(np.array([[1, 1], [1, 4]])).shape == (2, 2, 3)
    assert emb(3).shape == (3,)  # a single index: one row


def test_repeated_indices_accumulate_in_the_table_gradient():
    emb = nn.Embedding(4, 2, seed=0)
    emb(np.array([2, 2, 2, 0])).sum().backward()
    np.testing.assert_array_equal(emb.weight.grad, [[1, 1], [0, 0], [3, 3], [0, 0]])


def test_layer_norm_errors_and_one_node():
    ln = nn.LayerNorm(4)
    with pytest.raises(ShapeError, match=r"input of shape \(3, 5\) does not end with normalized_shape \(4,\)"):
        ln(np.zeros((3, 5)))
    y = ln(Value(np.arange(12.0).reshape(3, 4)))
    assert y.op == "layer_norm" and sum(1 for n in topological_order(y) if n.op) == 1
    np.testing.assert_allclose(y.data.mean(axis=-1), 0, atol=1e-12)
    with pytest.raises(ShapeError, match=r"weight of shape \(3,\) does not fit normalized_shape \(4,\)"):
        F.layer_norm(np.zeros((2, 4)), (4,), np.ones(3))


def test_attention_mask_errors_name_both_shapes():
    q = np.zeros((2, 3, 4))
    with pytest.raises(ShapeError, match=r"attn_mask of shape \(3, 4\) does not fit the scores of shape \(\.\.\., 3, 5\)"):
        F.scaled_dot_product_attention(q, np.zeros((2, 5, 4)), np.zeros((2, 5, 4)), attn_mask=np.ones((3, 4), bool))
    with pytest.raises(ValueError, match="either attn_mask or is_causal"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=np.ones((3, 3), bool), is_causal=True)
    with pytest.raises(ShapeError, match=r"q \(2, 3, 4\), k \(2, 5, 3\)"):
        F.scaled_dot_product_attention(q, np.zeros((2, 5, 3)), np.zeros((2, 5, 3)))


def test_causal_attention_never_looks_ahead(rng):
    mha = nn.MultiheadAttention(8, 2, batch_first=True, seed=0)
    x = rng.normal(size=(2, 5, 8))
    causal = np.triu(np.ones((5, 5), bool), 1)     # MultiheadAttention: True = NOT allowed
    out, w = mha(x, x, x, attn_mask=causal)
    assert w.shape == (2, 5, 5)
    np.testing.assert_allclose(w.data.sum(axis=-1), 1)
    assert np.all(w.data[:, causal] == 0)
    changed = x.copy()
    changed[:, 3:] += 1.0                          # the future changes ...
    out2, _ = mha(changed, changed, changed, attn_mask=causal)
    np.testing.assert_allclose(out2.data[:, :3], out.data[:, :3])   # ... the past's outputs do not
    out3, none = mha(x, x, x, attn_mask=causal, need_weights=False)
    assert none is None
    np.testing.assert_allclose(out3.data, out.data)


def test_attention_draws_as_its_steps_when_weights_are_asked_for_and_one_node_otherwise(rng):
    mha = nn.MultiheadAttention(4, 1, seed=0)
    x = Value(rng.normal(size=(3, 2, 4)))
    out, _ = mha(x, x, x)
    ops = [n.op for n in topological_order(out)]
    labels = {n.label for n in topological_order(out)}
    assert {"scores", "attention weights", "attention output"} <= labels and "softmax" in ops
    fast, _ = mha(x, x, x, need_weights=False)
    ops = [n.op for n in topological_order(fast)]
    assert ops.count("scaled_dot_product_attention") == 1 and "softmax" not in ops


def test_multihead_attention_errors():
    with pytest.raises(ValueError, match=r"embed_dim=10 must be divisible by num_heads=4.*num_heads=2"):
        nn.MultiheadAttention(10, 4)
    mha = nn.MultiheadAttention(8, 2)
    with pytest.raises(ShapeError, match=r"\(L, N, E\) \(batch_first=False\).*E = embed_dim = 8; got \(2, 3, 4, 8\)"):
        mha(*(np.zeros((2, 3, 4, 8)),) * 3)
    with pytest.raises(ShapeError, match=r"E = embed_dim = 8; got \(5, 2, 6\)"):
        mha(*(np.zeros((5, 2, 6)),) * 3)
    x = np.zeros((5, 2, 8))
    with pytest.raises(ShapeError, match=r"attn_mask of shape \(4, 5\) does not fit; expected \(5, 5\) or \(4, 5, 5\)"):
        mha(x, x, x, attn_mask=np.zeros((4, 5), bool))
    with pytest.raises(ShapeError, match=r"key_padding_mask of shape \(5, 2\) does not fit; expected \(2, 5\)"):
        mha(x, x, x, key_padding_mask=np.zeros((5, 2), bool))


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_recurrent_errors_name_the_layout_and_the_fix(kind):
    layer = getattr(nn, kind)(3, 4)
    with pytest.raises(ShapeError, match=rf"{kind}\(3, 4\): expects a sequence of shape \(seq, batch, input_size\).*"
                                         r"got shape \(5, 2, 2\).*pass batch_first=True"):
        layer(np.zeros((5, 2, 2)))
    with pytest.raises(ShapeError, match=r"got shape \(5,\)"):
        layer(np.zeros(5))
    bf = getattr(nn, kind)(3, 4, num_layers=2, batch_first=True)
    h0 = np.zeros((1, 2, 4))
    with pytest.raises(ShapeError, match=r"h0 must have shape \(2, 2, 4\) = \(num_layers, batch, hidden_size\).*"
                                         r"got \(1, 2, 4\)"):
        bf(np.zeros((2, 5, 3)), (h0, h0) if kind == "LSTM" else h0)


def test_lstm_state_is_a_pair_and_labels_its_steps(rng):
    lstm = nn.LSTM(2, 3, num_layers=2, seed=0)
    with pytest.raises(TypeError, match=r"pair \(h0, c0\)"):
        lstm(np.zeros((4, 2)), np.zeros((2, 3)))
    out, (h, c) = lstm(rng.normal(size=(4, 1, 2)))
    assert out.shape == (4, 1, 3) and h.shape == c.shape == (2, 1, 3)
    labels = {n.label for n in topological_order(h + c)}
    assert {"h1", "h4", "c4", "l0.h1", "l0.c4"} <= labels
    np.testing.assert_allclose(out.data[-1], h.data[-1])
    listed, _ = lstm([x for x in rng.normal(size=(4, 1, 2))])   # a list of per-step inputs
    assert listed.shape == (4, 1, 3)


def test_reprs():
    assert repr(nn.LSTM(2, 3, num_layers=2)) == "LSTM(2, 3, num_layers=2)  # 180 params"
    assert repr(nn.Embedding(5, 2)) == "Embedding(5, 2)  # 10 params"
    assert "embed_dim=8, num_heads=2" in repr(nn.MultiheadAttention(8, 2))
    assert autograd.OPS["layer_norm"].label == "LayerNorm"


def test_attention_steps_names_the_constants_it_draws():
    """The scale and an array mask are drawn with names (were bare 'data' boxes in the block player)."""
    from autograd.ops.sequence import attention_steps

    rng = np.random.default_rng(0)
    q, k, v = (Value(rng.normal(size=(1, 2, 3, 4))) for _ in range(3))
    mask = np.triu(np.full((3, 3), -np.inf), 1)
    out, _ = attention_steps(q, k, v, mask=mask)
    leaves = {n.label for n in topological_order(out) if not n.op and not n.requires_grad}
    assert leaves == {"1/√4", "mask"}
    out2, _ = attention_steps(q, k, v, scale=0.1)
    assert {n.label for n in topological_order(out2) if not n.op and not n.requires_grad} == {"scale"}
    np.testing.assert_allclose(out2.data, attention_steps(q, k, v, scale=0.1)[0].data)
