"""Matplotlib pictures of a recorded training run.

>>> fig = plot_gradient_flow({"sigmoid": rec_sigmoid, "relu": rec_relu})   # doctest: +SKIP
>>> save_figure(fig, "out/gradient_flow.png")                              # doctest: +SKIP

Figures are built as `matplotlib.figure.Figure` objects, never through pyplot:
no global state, no GUI backend (Agg draws them), and Jupyter shows them when
they are the last expression of a cell. Each `plot_*` taking `ax=` draws into an
existing Axes, so pictures can be put side by side.

Colours match the network view and the training player: blue for class 1 (and
positive numbers), orange for class 0 (and negative ones).
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from autograd.extras import require
from autograd.mode import no_grad
from autograd.value import Value

from .network import NEGATIVE, POSITIVE, copy_model, dense_layers

__all__ = ["plot_loss", "plot_grad_norms", "plot_update_ratios", "plot_gradient_flow",
           "plot_decision_boundary", "decision_grid", "DecisionGrid", "grid_colors", "save_figure",
           "CLASS_COLORS"]

CLASS_COLORS = (NEGATIVE, POSITIVE, "#2ca02c", "#9467bd", "#d62728", "#8c564b", "#e377c2", "#17becf")


# ---- decision boundaries ----------------------------------------------------------------
@dataclass
class DecisionGrid:
    """Class probabilities of a 2-D classifier on a regular grid: probs[row, col, class]."""

    xs: np.ndarray      # (resolution,) first input, left to right
    ys: np.ndarray      # (resolution,) second input, bottom to top
    probs: np.ndarray   # (resolution, resolution, classes); rows follow ys

    @property
    def extent(self) -> tuple:
        return (self.xs[0], self.xs[-1], self.ys[0], self.ys[-1])


def check_2d(model, X) -> np.ndarray:
    """X as a float (n, 2) array, or a ValueError saying why no boundary can be drawn."""
    X = np.asarray(X.data if isinstance(X, Value) else X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"decision boundary: inputs of shape {X.shape} are not 2-D points; a boundary "
                         "is drawn for data of shape (n, 2) only. For other data, plot the loss and "
                         "gradient norms, or project X to 2 features first.")
    try:
        nin = dense_layers(model)[0].nin
    except (TypeError, ValueError):
        nin = 2  # not a chain of dense layers: the forward pass will tell
    if nin != 2:
        raise ValueError(f"decision boundary: the model takes {nin} inputs, so it has no boundary in "
                         "the plane; it is drawn for models of 2 inputs only")
    return X


def grid_bounds(X: np.ndarray, margin: float = 0.15) -> tuple:
    """(x0, x1, y0, y1): the data's range widened by `margin` of its span on each side."""
    low, high = X.min(axis=0), X.max(axis=0)
    pad = margin * np.maximum(high - low, 1e-9)
    return (low[0] - pad[0], high[0] + pad[0], low[1] - pad[1], high[1] + pad[1])


def _ends_in_sigmoid(model) -> bool:
    try:
        return dense_layers(model)[-1].activations[-1:] == ["sigmoid"]
    except (TypeError, ValueError):
        return False


def decision_grid(model, X, resolution: int = 60, bounds=None, output: str = "auto") -> DecisionGrid:
    """Evaluate `model` on a resolution x resolution grid over the data `X` (one batch, no graph).

    output: how to read the model's outputs. "logits": one output is a score
    (p = sigmoid), several are class logits (p = softmax); "probabilities": they
    already are; "auto": probabilities when the last layer ends in a sigmoid.
    """
    X = check_2d(model, X)
    if output not in ("auto", "logits", "probabilities"):
        raise ValueError(f"decision_grid: output={output!r}; use 'auto', 'logits' or 'probabilities'")
    x0, x1, y0, y1 = bounds if bounds is not None else grid_bounds(X)
    xs, ys = np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution)
    points = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    with no_grad():
        out = model(Value(points, requires_grad=False))
    out = np.asarray(getattr(out, "data", out), dtype=np.float64).reshape(len(points), -1)
    probabilities = output == "probabilities" or (output == "auto" and _ends_in_sigmoid(model))
    if out.shape[1] == 1:
        p = out[:, 0] if probabilities else 1 / (1 + np.exp(-np.clip(out[:, 0], -500, 500)))
        probs = np.stack([1 - p, p], axis=-1)
    elif probabilities:
        probs = out
    else:
        e = np.exp(out - out.max(axis=1, keepdims=True))
        probs = e / e.sum(axis=1, keepdims=True)
    return DecisionGrid(xs, ys, np.clip(probs, 0, 1).reshape(resolution, resolution, -1))


def class_indices(y) -> np.ndarray:
    """Labels as class indices: ±1 labels (hinge) become 0/1, others are cast to int."""
    y = np.asarray(y).reshape(-1)
    if y.size and set(np.unique(y)) <= {-1, 1} and (y == -1).any():
        return (y > 0).astype(int)
    return y.astype(int)


def grid_colors(probs: np.ndarray) -> np.ndarray:
    """RGB in [0, 1]: white mixed towards the winning class's colour by how sure the model is.

    Strength (p_max - 1/C) / (1 - 1/C) is 0 on the boundary and 1 where p_max = 1;
    the training player's script paints its canvas with the same formula.
    """
    classes = probs.shape[-1]
    palette = np.array([[int(c[k:k + 2], 16) / 255 for k in (1, 3, 5)] for c in _palette(classes)])
    winner, p = probs.argmax(axis=-1), probs.max(axis=-1)
    strength = 0.85 * np.clip((p - 1 / classes) / (1 - 1 / classes), 0, 1)[..., None]
    return 1 + (palette[winner] - 1) * strength


def _palette(classes: int) -> tuple:
    if classes > len(CLASS_COLORS):
        raise ValueError(f"decision boundary: {classes} classes, but only {len(CLASS_COLORS)} colours")
    return CLASS_COLORS[:classes]


def _draw_boundary(ax, grid: DecisionGrid, X, y, title: str) -> None:
    ax.imshow(grid_colors(grid.probs), origin="lower", extent=grid.extent, aspect="auto",
              interpolation="bilinear")
    if grid.probs.shape[-1] == 2:
        ax.contour(grid.xs, grid.ys, grid.probs[..., 1], levels=[0.5], colors="#374151", linewidths=1)
    if y is not None:
        classes = class_indices(y)
        colors = np.array(_palette(max(grid.probs.shape[-1], classes.max() + 1)))[classes]
        ax.scatter(X[:, 0], X[:, 1], c=colors, s=16, edgecolors="#111827", linewidths=0.5)
    else:
        ax.scatter(X[:, 0], X[:, 1], c="#374151", s=8)
    ax.set(title=title, xlim=grid.extent[:2], ylim=grid.extent[2:], xticks=[], yticks=[])


def plot_decision_boundary(source, X, y=None, steps=None, resolution: int = 80, output: str = "auto"):
    """Decision boundary of a model, or of a TrainingRecorder's snapshots at `steps`.

    Default steps: up to four snapshots evenly spread from the first to the last.
    Returns a Figure with one panel per step.
    """
    Figure = require("matplotlib.figure", "plot", "tracegrad's plots").Figure

    from .recorder import TrainingRecorder

    if isinstance(source, TrainingRecorder):
        check_2d(source.model, X)
        if steps is None:
            taken = source.snapshot_steps
            if not taken:
                raise IndexError("plot_decision_boundary: the recorder holds no snapshot yet")
            steps = sorted({taken[round(k)] for k in np.linspace(0, len(taken) - 1, min(4, len(taken)))})
        for step in steps:
            source._check_step(step)  # every step is checked before anything is drawn
        twin = copy_model(source.model)
        panels = []
        for step in steps:
            source.load_snapshot(step, twin)
            panels.append((decision_grid(twin, X, resolution, output=output),
                           f"step {step} · loss {source.loss[step]:.3g}"))
    else:
        panels = [(decision_grid(source, X, resolution, output=output), "decision boundary")]
    X = np.asarray(X.data if isinstance(X, Value) else X, dtype=np.float64)
    fig = Figure(figsize=(3.2 * len(panels), 3.3), layout="constrained")
    for k, (grid, title) in enumerate(panels):
        _draw_boundary(fig.add_subplot(1, len(panels), k + 1), grid, X, y, title)
    return fig


# ---- curves -------------------------------------------------------------------------------
def _axes(ax, size=(6, 3.6)):
    if ax is not None:
        return ax
    Figure = require("matplotlib.figure", "plot", "tracegrad's plots").Figure

    return Figure(figsize=size, layout="constrained").add_subplot()


def _depth_colors(count: int):
    colormaps = require("matplotlib", "plot", "tracegrad's plots").colormaps

    return colormaps["viridis"](np.linspace(0.05, 0.85, max(count, 1)))


def plot_loss(recorder, ax=None, log: bool | None = None):
    """The loss at every recorded step (log scale by default when it spans over 100x)."""
    ax = _axes(ax)
    loss = recorder.loss
    ax.plot(np.arange(len(loss)), loss, color="#111827", linewidth=1.4)
    positive = loss[np.isfinite(loss) & (loss > 0)]
    if log or (log is None and positive.size == loss.size and positive.size
               and positive.max() > 100 * positive.min()):
        ax.set_yscale("log")
    ax.set(title="loss", xlabel="step", ylabel="loss")
    ax.grid(alpha=0.3)
    return ax


def _plot_per_layer(ax, series: dict, title: str, ylabel: str):
    for (name, values), color in zip(series.items(), _depth_colors(len(series))):
        ax.plot(np.arange(len(values)), values, color=color, linewidth=1.3, label=name)
    ax.set_yscale("log")
    ax.set(title=title, xlabel="step", ylabel=ylabel)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, title="first → last layer", title_fontsize=7, ncols=2 if len(series) > 4 else 1)
    return ax


def plot_grad_norms(recorder, ax=None, by: str = "layer", title: str = "gradient norm per layer"):
    """‖∂L/∂θ‖ of each layer over the steps, log scale: vanishing layers sit at the bottom."""
    return _plot_per_layer(_axes(ax), recorder.grad_norms(by), title, "‖∂L/∂θ‖ (log)")


def plot_update_ratios(recorder, ax=None, by: str = "layer"):
    """‖Δθ‖ / ‖θ‖ per layer over the steps, with the usual ~1e-3 guide line."""
    ax = _plot_per_layer(_axes(ax), recorder.update_ratios(by), "update / weight ratio", "‖Δθ‖ / ‖θ‖ (log)")
    ax.axhline(1e-3, color="#9ca3af", linestyle="--", linewidth=1)
    ax.annotate("1e-3 rule of thumb", (0, 1e-3), xytext=(2, 3), textcoords="offset points",
                fontsize=8, color="#6b7280")
    return ax


def plot_gradient_flow(recorders: dict, by: str = "layer"):
    """Side by side per run: gradient norms over the steps (top), and per layer at the
    first step (bars) and the last step (dots), input layer on the left (bottom).

    recorders: {title: TrainingRecorder}, e.g. a deep sigmoid MLP next to a ReLU one.
    """
    Figure = require("matplotlib.figure", "plot", "tracegrad's plots").Figure

    if not recorders:
        raise ValueError("plot_gradient_flow: give at least one {title: TrainingRecorder}")
    empty = [name for name, rec in recorders.items() if len(rec) == 0]
    if empty:
        raise ValueError(f"plot_gradient_flow: {', '.join(map(str, empty))} recorded no step yet")
    fig = Figure(figsize=(5.2 * len(recorders), 7), layout="constrained")
    axes = fig.subplots(2, len(recorders), squeeze=False, sharey="row")
    for k, (name, rec) in enumerate(recorders.items()):
        norms = rec.grad_norms(by)
        plot_grad_norms(rec, axes[0, k], by, title=f"{name}: gradient norm per layer")
        ax, depth = axes[1, k], np.arange(1, len(norms) + 1)
        ax.bar(depth, [v[0] for v in norms.values()], color=_depth_colors(len(norms)), label="step 0")
        ax.plot(depth, [v[-1] for v in norms.values()], "o", color="#111827", label=f"step {len(rec) - 1}")
        ax.set_yscale("log")
        ax.set_xticks(depth)
        ax.set(title=f"{name}: per layer", xlabel="layer (input → output)", ylabel="‖∂L/∂θ‖ (log)")
        ax.grid(alpha=0.3, axis="y", which="both")
        ax.legend(fontsize=8)
    return fig


def save_figure(fig, path, dpi: int = 110):
    """Write `fig` to `path` (format from the suffix) atomically; returns the path."""
    from ..player.page import write_atomic

    path_text = str(path)
    suffix = path_text.rsplit(".", 1)[-1].lower() if "." in path_text else ""
    if not suffix:
        raise ValueError(f"save_figure: cannot tell the format of {path_text!r}; end it in .png, .svg or .pdf")
    buffer = io.BytesIO()
    fig.savefig(buffer, format=suffix, dpi=dpi)
    return write_atomic(path, buffer.getvalue())
