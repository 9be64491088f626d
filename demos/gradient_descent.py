"""Gradient descent on y = m·x + b: MSE, its partial derivatives, the (m, b) path over the loss."""
from __future__ import annotations

import pathlib

import numpy as np

from autograd.value import Value
from autograd.viz.graph.draw import draw

from . import _plot

TRUE_M, TRUE_B = 2.0, 1.0
START = (-1.5, 3.5)          # (m, b) before the first step: up on the hillside
GOOD_LR = 0.3


def make_data(n: int = 40, noise: float = 0.25, seed: int = 0):
    """Points around the line y = 2x + 1, x in [0, 2] (x > 0 makes m and b pull against each other)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 2.0, n)
    return x, TRUE_M * x + TRUE_B + rng.normal(0.0, noise, n)


def loss_of(m, b, x, y):
    """E(m, b) = (1/N) Σ (yᵢ − (m·xᵢ + b))², for Values or plain numbers/arrays (the contour plot)."""
    return ((y - (m * x + b)) ** 2).mean()


def by_hand(m: float, b: float, x, y) -> tuple[float, float]:
    """The article's partial derivatives: ∂E/∂m = −2/N Σ xᵢ(yᵢ − (m·xᵢ + b)), ∂E/∂b = −2/N Σ (yᵢ − (m·xᵢ + b))."""
    r = y - (m * x + b)
    return float(-2 * np.mean(x * r)), float(-2 * np.mean(r))


def descend(lr: float = GOOD_LR, steps: int = 100, start=START, data=None, keep_graphs=()) -> dict:
    """Run `steps` steps of m -= lr·∂E/∂m, b -= lr·∂E/∂b with the gradients from backward().

    Returns numpy arrays over the steps: m, b and loss before each step (and one more entry
    for the final point), dm and db from backward() and dm_hand, db_hand from `by_hand`;
    plus `graphs`: {step: DOT source of the loss graph} for the steps in `keep_graphs`.
    """
    x, y = make_data() if data is None else data
    xs = Value(x, label="x", requires_grad=False)
    ys = Value(y, label="y", requires_grad=False)
    m, b = Value(start[0], label="m"), Value(start[1], label="b")
    hist = {key: [] for key in ("m", "b", "loss", "dm", "db", "dm_hand", "db_hand")}
    graphs = {}
    for step in range(steps):
        m.zero_grad()
        b.zero_grad()
        loss = loss_of(m, b, xs, ys)
        loss.label = "E"
        loss.backward()
        for key, v in (("m", m.data), ("b", b.data), ("loss", loss.data), ("dm", m.grad), ("db", b.grad)):
            hist[key].append(float(v))
        dm, db = by_hand(m.data, b.data, x, y)
        hist["dm_hand"].append(dm)
        hist["db_hand"].append(db)
        if step in keep_graphs:                      # draw now: m and b change in place later
            graphs[step] = draw(loss).source
        if not np.isfinite(loss.data) or abs(loss.data) > 1e12:
            break                                    # diverged: stop before overflowing
        m.data -= lr * m.grad
        b.data -= lr * b.grad
    hist["m"].append(m.data)
    hist["b"].append(b.data)
    hist["loss"].append(float(loss_of(m.data, b.data, x, y)))
    result = {key: np.array(v) for key, v in hist.items()}
    result.update(lr=lr, x=x, y=y, graphs=graphs)
    return result


def least_squares(x, y) -> tuple[float, float]:
    """The exact minimiser of E (np.polyfit), to check where descent ends."""
    m, b = np.polyfit(x, y, 1)
    return float(m), float(b)


def contour(ax, x, y, paths, m_range=(-2.5, 4.5), b_range=(-2.5, 5.0)) -> None:
    """E(m, b) as filled contours, with each (label, color, m-path, b-path) drawn on top."""
    mm, bb = np.meshgrid(np.linspace(*m_range, 160), np.linspace(*b_range, 160))
    ee = ((y[None, None, :] - (mm[..., None] * x + bb[..., None])) ** 2).mean(axis=-1)
    ax.contourf(mm, bb, np.log10(ee + 1e-3), levels=25, cmap="viridis", alpha=0.85)
    ax.contour(mm, bb, ee, levels=np.geomspace(0.1, ee.max(), 12), colors="w", linewidths=0.6, alpha=0.6)
    for label, color, pm, pb in paths:
        ax.plot(pm, pb, "-o", color=color, ms=3.5, lw=1.8, label=label)
        ax.plot(pm[0], pb[0], "X", color="w", mec="k", ms=12, zorder=5, label="start")
    lm, lb = least_squares(x, y)
    ax.plot(lm, lb, "*", color="gold", mec="k", ms=18, zorder=6, label=f"minimum ({lm:.2f}, {lb:.2f})")
    ax.set_xlim(*m_range)
    ax.set_ylim(*b_range)
    ax.set_xlabel("m (weight)")
    ax.set_ylabel("b (bias)")
    ax.grid(False)
    ax.legend(loc="lower left", framealpha=0.9)


def run(out: pathlib.Path, fast: bool = False) -> list[pathlib.Path]:
    steps = 40 if fast else 100
    chosen = (0, 5, steps - 1)
    h = descend(GOOD_LR, steps, keep_graphs=chosen)
    x, y = h["x"], h["y"]
    print(f"step 0 at (m, b) = {START}: backward() gives ∂E/∂m = {h['dm'][0]:+.4f}, ∂E/∂b = {h['db'][0]:+.4f}; "
          f"by hand {h['dm_hand'][0]:+.4f}, {h['db_hand'][0]:+.4f}")
    lm, lb = least_squares(x, y)
    print(f"after {steps} steps: m = {h['m'][-1]:.4f}, b = {h['b'][-1]:.4f} "
          f"(least squares {lm:.4f}, {lb:.4f}; the data came from m = {TRUE_M}, b = {TRUE_B})")

    fig, ax = _plot.figure(ncols=2, nrows=2, width=5.6, height=4.3,
                           title=f"Gradient descent on y = m·x + b with the MSE loss (learning rate {GOOD_LR})")
    ax[0].scatter(x, y, s=22, color="k", label="data", zorder=3)
    grid = np.linspace(0, 2, 2)
    for i, step in enumerate((0, 2, 5, 15, steps)):
        color = _plot.plt.cm.plasma(i / 5)
        ax[0].plot(grid, h["m"][step] * grid + h["b"][step], color=color, lw=2,
                   label=f"step {step}: y = {h['m'][step]:.2f}x + {h['b'][step]:.2f}")
    ax[0].set(title="The line after each step", xlabel="x", ylabel="y")
    ax[0].legend(fontsize=9)
    contour(ax[1], x, y, [(f"(m, b) path, lr = {GOOD_LR}", _plot.ORANGE, h["m"], h["b"])])
    ax[1].set_title("The path of (m, b) over the loss E(m, b)")
    _plot.loss_curve(ax[2], h["loss"], title="Loss E after each step")
    ax[3].plot(h["dm"], color=_plot.BLUE, lw=2, label="∂E/∂m (m.grad)")
    ax[3].plot(h["db"], color=_plot.GREEN, lw=2, label="∂E/∂b (b.grad)")
    every = np.arange(len(h["dm"]))[::3]
    ax[3].plot(every, h["dm_hand"][every], "o", mfc="none", color="k", ms=5, label="by hand: −2/N Σ xᵢ(yᵢ − ŷᵢ)")
    ax[3].plot(every, h["db_hand"][every], "s", mfc="none", color=_plot.GREY, ms=5,
               label="by hand: −2/N Σ (yᵢ − ŷᵢ)")
    ax[3].axhline(0, color="k", lw=0.8)
    ax[3].set(title="The partial derivatives shrink to 0", xlabel="step", ylabel="gradient")
    ax[3].legend(fontsize=9)
    paths = [_plot.save(fig, out / "gradient_descent.png")]
    for step, source in h["graphs"].items():
        paths += _plot.render_source(source, out / f"graph_step{step:03d}")
    return paths
