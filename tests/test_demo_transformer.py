"""The transformer demo in its reduced mode: it learns, attends causally, and its player shows the
gradient splitting at the residuals, passing through the softmax and reaching Q, K and V."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from autograd import topological_order
from demos import _chars, transformer


@pytest.fixture(scope="module")
def result():
    return transformer.compute(fast=True)


def test_text_is_the_standard_librarys_docstrings_read_now():
    text = _chars.stdlib_text(20_000)
    assert len(text) == 20_000 and "JSON" in text[:200]    # json's module docstring comes first
    assert set(text) <= set(_chars.ALPHABET)


def test_it_learns_beyond_the_unigram_baseline_and_samples_change(result):
    losses, vocab = result["losses"], result["corpus"].vocab
    assert losses[0] == pytest.approx(np.log(vocab), abs=0.5)      # starts near uniform guessing
    assert losses[-5:].mean() < losses[:5].mean() - 0.8
    assert result["held_out"] < result["unigram"] + 0.1 < np.log(vocab)
    assert result["after"].startswith(transformer.PROMPT) and result["after"] != result["before"]
    assert result["lstm_losses"][-3:].mean() < result["lstm_losses"][:3].mean()


def test_attention_is_causal_and_sums_to_one(result):
    text, weights = transformer.attention_of(result["model"], result["corpus"], "Return the value of x.")
    assert len(weights) == result["config"]["layers"]
    for w in weights:
        assert w.shape == (len(text), len(text))
        np.testing.assert_allclose(w.sum(axis=-1), 1, rtol=1e-5)
        assert np.all(w[np.triu_indices(len(text), 1)] == 0)


def test_through_time_is_measured_for_the_lstm_and_the_rnn(result):
    for key in ("lstm_through_time", "rnn_through_time"):
        g = result[key]
        assert g.shape == (result["config"]["context"],) and np.all(g > 0)
        assert g[0] < g[-1]                     # the last state moves the last prediction most


def test_the_block_player_shows_residual_splits_softmax_and_qkv(result, tmp_path):
    loss = transformer.block_player_loss(result["model"], result["corpus"])
    labels = {n.label: n for n in topological_order(loss) if n.label}
    for name in ("Q", "K", "V", "scores", "attention weights", "x + attention", "x + MLP", "LayerNorm 1"):
        assert name in labels, name
    assert labels["attention weights"].op == "softmax"
    residual = labels["x + attention"]
    users = [n for n in topological_order(loss) if any(p is residual for p in n.parents)]
    assert len(users) == 2                      # the residual stream and LayerNorm 2: the gradient splits
    from autograd.viz import player, record
    page = player(record(loss, forward=True)).save(tmp_path / "p.html")
    data = json.loads(re.search(r'<script type="application/json" id="[^"]+">(.*?)</script>',
                                page.read_text(encoding="utf-8"), re.DOTALL).group(1))
    texts = " ".join(s["text"] for s in data["steps"] if s["kind"] == "backward")
    for name in ("dloss/dQ", "dloss/dK", "dloss/dV", "dloss/d(attention weights)", "dloss/d(x + attention)"):
        assert name in texts, name


def test_training_uses_adamw_with_weight_decay(monkeypatch):
    """The char models train with nn.AdamW (weight decay 0.01), not a fallback to Adam."""
    import nn

    made = []

    class Spy(nn.AdamW):
        def __init__(self, params, **kw):
            made.append(kw)
            super().__init__(params, **kw)

    monkeypatch.setattr(nn, "AdamW", Spy)
    corpus = _chars.Corpus("def f(x):\n    return x + 1\n" * 40)
    model = _chars.CharRecurrent(corpus.vocab, hidden=8, embed=4, kind="RNN")
    losses = _chars.train(model, corpus, steps=2, context=8, batch=4)
    assert made == [{"lr": 3e-3, "weight_decay": 0.01}] and losses.shape == (2,) and np.isfinite(losses).all()


@pytest.mark.parametrize("blocks", [1, 2])
def test_attention_picture_title_fits_the_figure(blocks, tmp_path, monkeypatch):
    """With one block (fast mode) the title used to run off both sides of the picture."""
    from demos import _plot

    save, seen = _plot.save, []

    def check(fig, path):
        fig.canvas.draw()
        box, title = fig.bbox, fig._suptitle.get_window_extent()
        seen.append(box.x0 <= title.x0 and title.x1 <= box.x1)
        return save(fig, path)

    monkeypatch.setattr(_plot, "save", check)
    text = "def f(x):"
    weights = [np.tril(np.ones((len(text), len(text)))) / np.arange(1, len(text) + 1)[:, None]] * blocks
    assert transformer.plot_attention(text, weights, tmp_path / "a.png").exists()
    assert seen == [True]
