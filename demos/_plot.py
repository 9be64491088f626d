"""Shared helpers for the demos: lecture-sized matplotlib figures, graph pictures, boundaries.

Every picture is written atomically (to a temporary name, then renamed), so a demo
interrupted half-way never leaves a truncated PNG behind.
"""
from __future__ import annotations

import os
import pathlib

from autograd.extras import require

matplotlib = require("matplotlib", "demo", "the demos")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the Agg backend)
import numpy as np  # noqa: E402

from autograd.mode import no_grad  # noqa: E402

# Big enough to read from the back of a lecture room.
plt.rcParams.update({
    "figure.dpi": 100, "savefig.dpi": 100, "font.size": 12, "axes.titlesize": 13,
    "axes.titleweight": "bold", "axes.labelsize": 12, "legend.fontsize": 10.5,
    "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.25,
    "figure.titlesize": 15, "figure.titleweight": "bold",
})

BLUE, ORANGE, GREEN, RED, PURPLE, GREY = "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#7f7f7f"
# class 0 orange, class 1 blue: the colours of autograd.viz (network view, training player)
CLASS_COLORS = ("#e8730c", "#1f6fb4")
BOUNDARY_CMAP = matplotlib.colors.LinearSegmentedColormap.from_list(
    "orange_white_blue", [CLASS_COLORS[0], "#ffffff", CLASS_COLORS[1]])


def figure(ncols: int = 1, nrows: int = 1, width: float = 5.0, height: float = 4.2, title: str | None = None):
    """A figure of `nrows` x `ncols` panels, each about width x height inches."""
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False,
                             layout="constrained")
    if title:
        fig.suptitle(title)
    return fig, axes.ravel() if nrows * ncols > 1 else axes[0, 0]


def save(fig, path: pathlib.Path) -> pathlib.Path:
    """Write `fig` (format from the suffix) atomically, close it, return the path."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, path)
    return path


def write_text(text: str, path: pathlib.Path) -> pathlib.Path:
    """Write a text file (HTML, SVG) atomically."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def graph(root, path: pathlib.Path, formats=("svg", "png"), rankdir: str | None = None,
          **draw_options) -> list[pathlib.Path]:
    """Draw the graph that computed `root` (autograd.viz.graph.draw) and render it, one file per format.

    rankdir: "TB" lays a long chain out top to bottom instead of left to right.
    """
    from autograd.viz.graph.draw import draw

    g = draw(root, **draw_options)
    if rankdir:
        g.attr(rankdir=rankdir)
    return render_source(g.source, path, formats)


def render_source(source: str, path: pathlib.Path, formats=("svg", "png")) -> list[pathlib.Path]:
    """Lay out DOT `source` (autograd.viz.graph.render: no system Graphviz needed), one file per format."""
    from autograd.viz.graph.render import render

    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        target = path.with_suffix(f".{fmt}")
        render(source, target, format=fmt)
        written.append(target)
    return written


def predict_grid(predict, X, steps: int = 150, pad: float = 0.5):
    """Evaluate `predict` (a model or function: batch (n, 2) -> scores (n,) or (n, 1), a Value or
    an array) on a grid covering X; returns xx, yy, zz."""
    (x0, y0), (x1, y1) = X.min(axis=0) - pad, X.max(axis=0) + pad
    xx, yy = np.meshgrid(np.linspace(x0, x1, steps), np.linspace(y0, y1, steps))
    with no_grad():
        scores = predict(np.c_[xx.ravel(), yy.ravel()])
    zz = np.asarray(getattr(scores, "data", scores), dtype=float).reshape(xx.shape)
    return xx, yy, zz


def decision_boundary(ax, predict, X, y, title: str, threshold: float = 0.0, steps: int = 150) -> None:
    """Shade where `predict` scores above/below `threshold`; draw the boundary and the points."""
    xx, yy, zz = predict_grid(predict, X, steps)
    span = max(np.abs(zz - threshold).max(), 1e-9)
    ax.contourf(xx, yy, zz - threshold, levels=np.linspace(-span, span, 21), cmap=BOUNDARY_CMAP, alpha=0.45)
    ax.contour(xx, yy, zz - threshold, levels=[0.0], colors="k", linewidths=2)
    for cls, color in enumerate(CLASS_COLORS):
        pts = X[np.asarray(y).ravel() == cls]
        ax.scatter(pts[:, 0], pts[:, 1], s=28, c=color, edgecolors="k", linewidths=0.6, label=f"class {cls}")
    ax.set_title(title)
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    ax.grid(False)
    ax.legend(loc="upper right", framealpha=0.9)


def loss_curve(ax, losses, label: str | None = None, color=None, log: bool = True, title="Loss during training"):
    """Plot a loss history against the step number."""
    ax.plot(np.arange(len(losses)), losses, color=color, lw=2, label=label)
    if log and np.all(np.asarray(losses) > 0):
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    if label:
        ax.legend()
