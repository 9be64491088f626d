"""Why nonlinearity: stacked linear layers collapse to one matrix and fail on XOR; a tanh MLP solves it."""
from __future__ import annotations

import pathlib

import numpy as np

import nn
from autograd.mode import no_grad

from . import _plot

SIZES = [4, 4, 1]          # two hidden layers of 4 neurons, one output


def collapse(model: nn.MLP):
    """The single (W, c) with model(x) = x @ W.T + c, for an MLP whose activations are all linear.

    Layer k computes x @ Wk.T + bk, so three of them give x @ (W3 W2 W1).T + (W3 (W2 b1 + b2) + b3).
    """
    W, c = None, None
    for layer in model.layers:
        Wk, bk = layer.weight.numpy(), layer.bias.numpy()
        W = Wk if W is None else Wk @ W
        c = bk if c is None else Wk @ c + bk
    return W, c


def train(activation: str, X, y, steps: int, seed: int = 0):
    """An MLP(2, SIZES) with `activation` on the hidden layers, fitted to 0/1 targets by MSE with Adam."""
    model = nn.MLP(2, SIZES, activation=activation, seed=seed)
    opt = nn.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(steps):
        loss = nn.mse(model(X).reshape(-1), y.astype(float))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with no_grad():
        accuracy = float(np.mean((model(X).numpy().ravel() > 0.5) == y))
    return model, np.array(losses), accuracy


def compute(steps: int = 400, seed: int = 0) -> dict:
    """Train the linear stack and the tanh MLP on XOR; check that the linear stack is one matrix."""
    X, y = nn.make_xor(n=120, noise=0.12, seed=seed)
    linear, linear_loss, linear_acc = train("linear", X, y, steps, seed)
    tanh, tanh_loss, tanh_acc = train("tanh", X, y, steps, seed)
    W, c = collapse(linear)
    probe = np.random.default_rng(seed).normal(size=(1000, 2))
    with no_grad():
        gap = float(np.max(np.abs(linear(probe).numpy() - (probe @ W.T + c))))
    return {"X": X, "y": y, "linear": linear, "tanh": tanh, "W": W, "c": c, "collapse_gap": gap,
            "linear_loss": linear_loss, "tanh_loss": tanh_loss,
            "linear_accuracy": linear_acc, "tanh_accuracy": tanh_acc}


def _matrix(ax, M, title, scale):
    ax.imshow(M, cmap="coolwarm", vmin=-scale, vmax=scale)
    for (i, j), v in np.ndenumerate(M):
        ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=10)
    ax.set_title(title, fontsize=12)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


def run(out: pathlib.Path, fast: bool = False) -> list[pathlib.Path]:
    r = compute(steps=250 if fast else 400)
    W, c = r["W"], r["c"]
    print(f"three linear layers = one matrix: W3·W2·W1 = {np.round(W, 3).tolist()}, bias {np.round(c, 3).tolist()}; "
          f"largest gap on 1000 random inputs {r['collapse_gap']:.1e}")
    print(f"XOR accuracy: linear layers {r['linear_accuracy']:.0%}, tanh MLP {r['tanh_accuracy']:.0%}")

    layers = [layer.weight.numpy() for layer in r["linear"].layers]
    fig = _plot.plt.figure(figsize=(13, 3.6), layout="constrained")
    fig.suptitle("Stacked linear layers collapse: W3 · W2 · W1 is one 1×2 matrix")
    axes = fig.subplots(1, 4, width_ratios=[4, 4, 2, 2])
    scale = max(np.abs(M).max() for M in layers)
    for ax, M, name in zip(axes, [layers[2], layers[1], layers[0], W],
                           ["W3 (1×4)", "W2 (4×4)", "W1 (4×2)", "= W (1×2)"]):
        _matrix(ax, M, name, scale)
    fig.supxlabel(f"x @ W.T + c gives the trained network's output on 1000 random inputs to within "
                  f"{max(r['collapse_gap'], 1e-16):.0e}: the hidden layers added nothing.\nTrained on XOR, the "
                  f"best such map is W ≈ 0, c = {c[0]:.2f}: \"always answer one half\".", fontsize=11)
    paths = [_plot.save(fig, out / "collapse.png")]

    fig, ax = _plot.figure(ncols=3, width=4.7, height=4.3, title="XOR: a straight line cannot separate it")
    X, y = r["X"], r["y"]
    _plot.decision_boundary(ax[0], r["linear"], X, y, f"3 linear layers: {r['linear_accuracy']:.0%} correct",
                            threshold=0.5)
    _plot.decision_boundary(ax[1], r["tanh"], X, y, f"tanh MLP 2-4-4-1: {r['tanh_accuracy']:.0%} correct",
                            threshold=0.5)
    ax[2].plot(r["linear_loss"], color=_plot.RED, lw=2, label="linear layers (stuck near 0.25)")
    ax[2].plot(r["tanh_loss"], color=_plot.GREEN, lw=2, label="tanh MLP")
    ax[2].set_yscale("log")
    ax[2].set(title="MSE loss while training", xlabel="step", ylabel="loss (log scale)")
    ax[2].legend()
    paths.append(_plot.save(fig, out / "xor.png"))
    return paths
