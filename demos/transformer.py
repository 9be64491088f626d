"""A character transformer learns Python's docstrings: attention weights, the backprop player of a block, and an LSTM beside it."""
from __future__ import annotations

import pathlib

import numpy as np

import nn
from autograd.mode import no_grad
from autograd.value import Value
from autograd.viz import player, record

from . import _chars, _plot

FULL = {"context": 32, "d": 64, "heads": 4, "layers": 2, "steps": 2500, "lstm_steps": 600, "chars": 400_000}
FAST = {"context": 16, "d": 32, "heads": 2, "layers": 1, "steps": 40, "lstm_steps": 15, "chars": 60_000}
PROMPT = "Return the "


def gelu(z):
    """GELU where this tracegrad has it (x.gelu()), tanh otherwise: the MLP's nonlinearity."""
    return z.gelu() if hasattr(z, "gelu") else z.tanh()


def causal_mask(length: int) -> np.ndarray:
    """MultiheadAttention's boolean convention: True = may NOT attend (here: every later position)."""
    return np.triu(np.ones((length, length), dtype=bool), 1)


class Block(nn.Module):
    """A pre-norm transformer block: x + attention(LayerNorm(x)), then x + MLP(LayerNorm(x))."""

    def __init__(self, d: int, heads: int, seed):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.ln1 = nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True, seed=rng)
        self.ln2 = nn.LayerNorm(d)
        self.fc = nn.Linear(d, 4 * d, seed=rng, name="mlp.fc")
        self.proj = nn.Linear(4 * d, d, seed=rng, name="mlp.proj")

    def forward(self, x, need_weights: bool = False):
        """(x after the block, the attention weights averaged over heads, or None). need_weights=True
        records the attention as its steps (scores, softmax, weighted sum) for pictures; training
        leaves it False: one fused attention node, the fast path."""
        h = self.ln1(x)
        h.label = "LayerNorm 1"
        a, weights = self.attn(h, h, h, attn_mask=causal_mask(x.shape[1]), need_weights=need_weights)
        x = x + a
        x.label = "x + attention"   # the residual: the gradient reaching here splits two ways
        h = self.ln2(x)
        h.label = "LayerNorm 2"
        m = gelu(self.fc(h))
        m.label = "GELU" if hasattr(m, "gelu") else "tanh"
        x = x + self.proj(m)
        x.label = "x + MLP"
        return x, weights


class CharTransformer(nn.Module):
    """Token and position embeddings, `layers` pre-norm blocks, a final LayerNorm and a linear head."""

    def __init__(self, vocab: int, context: int = 32, d: int = 64, heads: int = 4, layers: int = 2, seed: int = 0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.context = context
        self.tok = nn.Embedding(vocab, d, seed=rng)
        self.pos = nn.Embedding(context, d, seed=rng)
        for e in (self.tok, self.pos):
            e.weight.data *= 0.1  # small starting embeddings: the residual stream starts near zero
        self.blocks = nn.ModuleList(Block(d, heads, rng) for _ in range(layers))
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab, seed=rng, name="head")

    def embed(self, idx):
        idx = np.asarray(idx)
        x = self.tok(idx) + self.pos(np.arange(idx.shape[1]))
        x.label = "tokens + positions"
        return x

    def forward(self, idx, weights: list | None = None):
        """Logits (N, L, vocab) for indices (N, L); pass a list as `weights` to collect each block's
        attention weights (then recorded as separate nodes)."""
        x = self.embed(idx)
        for block in self.blocks:
            x, w = block(x, need_weights=weights is not None)
            if weights is not None:
                weights.append(w)
        return self.head(self.ln(x))

    def to(self, dtype):
        super().to(dtype)
        return self


def compute(fast: bool = False, progress=None, seed: int = 0) -> dict:
    """Train the transformer and an LSTM on the same text; the numbers behind the pictures."""
    with _chars.one_blas_thread():
        return _compute(fast, progress, seed)


def _compute(fast, progress, seed):
    cfg = FAST if fast else FULL
    corpus = _chars.Corpus(_chars.stdlib_text(cfg["chars"]))
    ctx = cfg["context"]
    model = CharTransformer(corpus.vocab, ctx, cfg["d"], cfg["heads"], cfg["layers"], seed=seed).to(np.float32)
    before = _chars.sample(model, corpus, PROMPT, 80, ctx, seed=1)
    losses = _chars.train(model, corpus, cfg["steps"], ctx, seed=seed, progress=progress)
    after = _chars.sample(model, corpus, PROMPT, 200, ctx, seed=1)
    lstm = _chars.CharRecurrent(corpus.vocab, hidden=128 if not fast else 32, seed=seed).to(np.float32)
    lstm_losses = _chars.train(lstm, corpus, cfg["lstm_steps"], ctx, lr=1e-2, seed=seed, progress=progress)
    rnn = _chars.CharRecurrent(corpus.vocab, hidden=128 if not fast else 32, kind="RNN", seed=seed).to(np.float32)
    rnn_losses = _chars.train(rnn, corpus, cfg["lstm_steps"], ctx, lr=3e-3, seed=seed, progress=progress)
    return {"corpus": corpus, "model": model, "config": cfg, "losses": losses, "before": before, "after": after,
            "held_out": _chars.held_out_loss(model, corpus, ctx), "unigram": corpus.unigram_entropy(),
            "lstm": lstm, "lstm_losses": lstm_losses, "lstm_held_out": _chars.held_out_loss(lstm, corpus, ctx),
            "rnn": rnn, "rnn_losses": rnn_losses, "rnn_held_out": _chars.held_out_loss(rnn, corpus, ctx),
            "lstm_through_time": _chars.through_time(lstm, corpus, ctx),
            "lstm_memory_through_time": _chars.through_time(lstm, corpus, ctx, state="c"),
            "rnn_through_time": _chars.through_time(rnn, corpus, ctx)}


def attention_of(model, corpus, text: str):
    """The attention weights (L, L) of each block for one sequence, averaged over heads."""
    idx = corpus.encode(text)[None, :model.context]
    weights = []
    with no_grad():
        model(idx, weights=weights)
    return corpus.decode(idx[0]), [w.data[0] for w in weights]


def block_player_loss(model, corpus, text: str = "def f"):
    """One short sequence through the first block only, in float64, with every step recorded: the
    loss of a linear read-out of the block's output, so the player shows the gradient splitting at
    both residuals, passing back through the softmax and reaching Q, K and V."""
    idx = corpus.encode(text)[None]
    block = model.blocks[0]
    x = Value(model.embed(idx).data.astype(np.float64), label="x (embedded)")
    state = {k: v.astype(np.float64) for k, v in block.state_dict().items()}
    small = Block(model.tok.embedding_dim, block.attn.num_heads, 0).load_state_dict(state)
    out, _ = small(x, need_weights=True)
    head = Value(model.head.weight.data[:, :].astype(np.float64), label="read-out")
    logits = out[0] @ head.T
    logits.label = "logits"
    target = corpus.encode(text[1:] + " ")
    loss = nn.cross_entropy(logits, target)
    loss.label = "loss"
    return loss


def run(out: pathlib.Path, fast: bool = False) -> list[pathlib.Path]:
    from tqdm.auto import tqdm

    r = compute(fast, progress=lambda it: tqdm(it, desc="training", unit="step"))
    corpus, cfg = r["corpus"], r["config"]
    print(f"text: {len(corpus.train) + len(corpus.held_out):,} characters of standard-library docstrings, "
          f"{corpus.vocab} distinct")
    print(f"sample before training: {r['before']!r}")
    print(f"sample after training:  {r['after']!r}")
    print(f"held-out loss (nats/char): transformer {r['held_out']:.3f}, LSTM {r['lstm_held_out']:.3f}, "
          f"RNN {r['rnn_held_out']:.3f}; unigram entropy {r['unigram']:.3f}")
    out.mkdir(parents=True, exist_ok=True)
    fig, ax = _plot.figure(ncols=2, width=5.5, height=4.2, title="Character language models on Python's docstrings")
    for losses, name, color in ((r["losses"], "transformer", _plot.ORANGE), (r["lstm_losses"], "LSTM", _plot.GREEN),
                                (r["rnn_losses"], "tanh RNN", _plot.GREY)):
        ax[0].plot(losses, color=color, lw=1, label=name)
    ax[0].axhline(r["unigram"], color="k", ls="--", lw=1, label="unigram entropy")
    ax[0].set(title="Training loss (nats / character)", xlabel="step")
    ax[0].legend()
    ts = np.arange(1, len(r["lstm_through_time"]) + 1)
    ax[1].semilogy(ts, r["lstm_through_time"], "o-", color=_plot.GREEN, lw=2, label="LSTM, h_t")
    ax[1].semilogy(ts, r["lstm_memory_through_time"], ":", color=_plot.GREEN, lw=2, label="LSTM, memory c_t")
    ax[1].semilogy(ts, r["rnn_through_time"], "s--", color=_plot.GREY, lw=1.5, label="tanh RNN")
    ax[1].set(title="Gradient through time", xlabel=f"hidden state h_t (last prediction at t = {len(ts)})",
              ylabel="‖∂loss / ∂h_t‖ (log scale)")
    ax[1].legend()
    paths = [_plot.save(fig, out / "training.png")]
    text, weights = attention_of(r["model"], corpus, corpus.decode(corpus.held_out[:cfg["context"]]))
    paths.append(plot_attention(text, weights, out / "attention.png"))
    loss = block_player_loss(r["model"], corpus)
    page = player(record(loss, forward=True), title="One transformer block on 'def f': forward, then backward")
    paths.append(page.save(out / "block_player.html"))
    return paths


def plot_attention(text: str, weights, path: pathlib.Path) -> pathlib.Path:
    """One heatmap of attention weights per block (row = query, column = key), characters as ticks."""
    title = "Attention weights (mean over heads): row = query, column = key"
    if len(weights) == 1:  # one panel is too narrow for the title on one line
        title = title.replace(": ", ":\n")
    fig, axes = _plot.figure(ncols=len(weights), width=6.0, height=5.6, title=title)
    for k, (a, w) in enumerate(zip(np.atleast_1d(axes), weights)):
        image = a.imshow(w, cmap="viridis", vmin=0)
        labels = [repr(ch)[1:-1] for ch in text]
        a.set_xticks(range(len(text)), labels, fontsize=6)
        a.set_yticks(range(len(text)), labels, fontsize=6)
        a.set_title(f"block {k + 1}")
        a.figure.colorbar(image, ax=a, fraction=0.046)
    return _plot.save(fig, path)
