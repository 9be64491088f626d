"""micrograd's moons demo trained with tracegrad: MLP 2-16-16-1, max-margin loss, decision boundary."""
from __future__ import annotations

import pathlib

import numpy as np

import nn

from . import _plot
from ._train import accuracy, fit_hinge, scores


def build(seed: int = 2, n: int = 100):
    """micrograd's set-up: 100 noisy moons, labels ±1 via 0/1, an MLP(2, [16, 16, 1]) with ReLU."""
    X, y = nn.make_moons(n, noise=0.1, seed=seed)
    model = nn.MLP(2, [16, 16, 1], activation="relu", seed=seed)
    return model, X, y


def compute(steps: int = 100, seed: int = 2, recorder=None, progress=None) -> dict:
    """Train as micrograd's demo does (SGD, lr 1.0 → 0.1, hinge + 1e-4·L2, full batch)."""
    model, X, y = build(seed)
    losses = fit_hinge(model, X, y, steps=steps, recorder=recorder, progress=progress)
    return {"model": model, "X": X, "y": y, "loss": losses, "accuracy": accuracy(model, X, y)}


def plot(r: dict, out: pathlib.Path) -> list[pathlib.Path]:
    """decision_boundary.png and loss.png for a result of `compute`."""
    fig, ax = _plot.figure(width=6.0, height=5.0)
    _plot.decision_boundary(ax, r["model"], r["X"], r["y"],
                            f"Moons: MLP 2-16-16-1 (ReLU), {r['accuracy']:.0%} correct")
    paths = [_plot.save(fig, out / "decision_boundary.png")]
    fig, ax = _plot.figure(width=6.0, height=4.0)
    _plot.loss_curve(ax, r["loss"], log=False, title="Training loss: hinge + 1e-4·L2 (SGD, lr 1.0 → 0.1)")
    margins = (2 * r["y"] - 1) * scores(r["model"], r["X"])
    ax.text(0.97, 0.9, f"final loss {r['loss'][-1]:.3f}\nsmallest margin {margins.min():+.2f}",
            transform=ax.transAxes, ha="right", va="top", fontsize=11,
            bbox={"boxstyle": "round", "fc": "w", "ec": "0.8"})
    paths.append(_plot.save(fig, out / "loss.png"))
    return paths


def run(out: pathlib.Path, fast: bool = False) -> list[pathlib.Path]:
    r = compute(steps=60 if fast else 100)
    print(f"after {len(r['loss'])} steps: loss {r['loss'][-1]:.4f}, accuracy {r['accuracy']:.0%} "
          f"({int(np.round(r['accuracy'] * len(r['y'])))}/{len(r['y'])} points)")
    return plot(r, out)
