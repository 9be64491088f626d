"""Feedforward vs recurrent: an RNN learns the next value of a sine wave; unrolled graph; gradient through time."""
from __future__ import annotations

import pathlib

import numpy as np

import nn
from autograd.engine import grad, topological_order
from autograd.mode import no_grad
from autograd.value import Value

from . import _plot

STEP = 0.3           # radians between two samples of the wave


class SineRNN(nn.Module):
    """h_t = tanh(W_ih x_t + W_hh h_{t-1} + b), prediction_t = head(h_t): a guess of x_{t+1}."""

    def __init__(self, hidden: int = 16, seed: int = 0):
        super().__init__()
        self.rnn = nn.RNN(1, hidden, seed=seed)
        self.head = nn.Linear(hidden, 1, seed=seed + 1, name="head")

    def forward(self, xs):
        """xs: (seq, batch, 1) -> predictions (seq, batch), one after every input."""
        hs, _ = self.rnn(xs)
        seq, batch, hidden = hs.shape
        return self.head(hs.reshape(seq * batch, hidden)).reshape(seq, batch)


def waves(batch: int, length: int, rng) -> np.ndarray:
    """`batch` stretches of sin(STEP·t + phase) with random phases, shape (length + 1, batch)."""
    phases = rng.uniform(0, 2 * np.pi, batch)
    return np.sin(STEP * np.arange(length + 1)[:, None] + phases)


def compute(steps: int = 300, hidden: int = 16, length: int = 20, seed: int = 0, progress=None) -> dict:
    """Train on random windows (MSE of every next-value guess, Adam); test on a fresh wave."""
    rng = np.random.default_rng(seed)
    model = SineRNN(hidden, seed)
    opt = nn.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in (progress or iter)(range(steps)):
        w = waves(32, length, rng)
        loss = nn.mse(model(w[:-1, :, None]), w[1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    test = waves(1, 60, np.random.default_rng(seed + 100))
    with no_grad():
        guess = model(test[:-1, :, None]).numpy()[:, 0]
    return {"model": model, "loss": np.array(losses), "test": test[:, 0], "guess": guess,
            "test_mse": float(np.mean((guess - test[1:, 0]) ** 2)),
            "copy_mse": float(np.mean((test[:-1, 0] - test[1:, 0]) ** 2)),   # "next = this one"
            "through_time": through_time(model, length=30), "untrained": through_time(SineRNN(hidden, seed), 30)}


def through_time(model, length: int = 30) -> np.ndarray:
    """‖∂ŷ/∂h_t‖ for t = 1..length, where ŷ is the network's LAST guess.

    Backpropagation through time: the gradient of the last output flows back through
    every earlier hidden state. The states are found in the recorded graph by their
    labels h1, h2, ... and differentiated with autograd.grad: how much each earlier
    memory still moves the last guess (it fades as t goes back: vanishing gradients).
    """
    w = waves(1, length, np.random.default_rng(7))
    last = model(w[:-1, :, None])[length - 1, 0]
    by_label = {n.label: n for n in topological_order(last) if n.label}
    hs = [by_label[f"h{t}"] for t in range(1, length + 1)]
    return np.array([np.linalg.norm(g.numpy()) for g in grad(last, hs)])


def unrolled(length: int = 3):
    """One hidden unit written with scalar Values, unrolled over `length` inputs, then backpropagated.

    h_t = tanh(w_x·x_t + w_h·h_(t-1) + b) and ŷ = w_y·h_T: the SAME w_x, w_h, b feed every
    step, so their gradients add up contributions from every step (backprop through time).
    """
    w_x, w_h, b, w_y = (Value(v, label=name) for v, name in ((0.8, "w_x"), (0.5, "w_h"), (0.1, "b"), (1.2, "w_y")))
    xs = np.sin(STEP * np.arange(length + 1))
    h = None
    for t in range(1, length + 1):
        x = Value(xs[t - 1], label=f"x{t}", requires_grad=False)
        wx = w_x * x
        wx.label = f"w_x·x{t}"
        if h is None:
            z = wx + b
        else:
            wh = w_h * h
            wh.label = f"w_h·h{t - 1}"
            z = wx + wh + b
        z.label = f"z{t}"
        h = z.tanh()
        h.label = f"h{t}"
    guess = w_y * h
    guess.label = "ŷ"
    loss = (guess - Value(xs[length], label=f"x{length + 1}", requires_grad=False)) ** 2
    loss.label = "loss"
    loss.backward()
    return loss


def run(out: pathlib.Path, fast: bool = False) -> list[pathlib.Path]:
    from tqdm.auto import tqdm

    r = compute(steps=120 if fast else 300, progress=lambda it: tqdm(it, desc="RNN training", unit="step"))
    print(f"next-value error on a new wave: RNN {r['test_mse']:.2e} vs 'same as now' {r['copy_mse']:.2e}")
    fig, ax = _plot.figure(ncols=3, width=5.0, height=4.2,
                           title="A recurrent network learns a sine wave, one value at a time")
    t = np.arange(len(r["test"]))
    ax[0].plot(t, r["test"], color="k", lw=1.5, label="the wave")
    ax[0].plot(t[1:], r["guess"], "o", color=_plot.ORANGE, ms=4, label="RNN's guess of the next value")
    ax[0].set(title="Predicting the next value (new wave)", xlabel="time step t", ylabel="value")
    ax[0].set_ylim(-1.2, 1.55)
    ax[0].legend(loc="upper center", ncol=2, fontsize=9)
    _plot.loss_curve(ax[1], r["loss"], title="Training loss (MSE)")
    ts = np.arange(1, len(r["through_time"]) + 1)
    ax[2].semilogy(ts, r["through_time"], "o-", color=_plot.GREEN, lw=2, label="trained")
    ax[2].semilogy(ts, r["untrained"], "s--", color=_plot.GREY, lw=1.5, label="untrained")
    ax[2].set(title="Gradient through time", xlabel="hidden state h_t (last guess at t = 30)",
              ylabel="‖∂ŷ₃₀ / ∂h_t‖ (log scale)")
    ax[2].legend()
    paths = [_plot.save(fig, out / "recurrent.png")]
    paths += _plot.graph(unrolled(), out / "unrolled_graph", rankdir="TB")   # time runs downwards
    return paths
