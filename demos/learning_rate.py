"""Learning rate: too high diverges, too low crawls, a good one converges (same y = m·x + b problem)."""
from __future__ import annotations

import pathlib

import numpy as np

from . import _plot
from .gradient_descent import contour, descend, make_data

# The loss is a quadratic bowl; a step is stable only if lr < 2 / (largest curvature).
RATES = {"too high": 0.44, "good": 0.3, "too low": 0.02}
COLORS = {"too high": _plot.RED, "good": _plot.GREEN, "too low": _plot.BLUE}
VERDICT = {"too high": "diverges", "good": "converges", "too low": "crawls"}


def stability_limit(x) -> float:
    """2 / λmax of the Hessian of E(m, b) = mean((y − m·x − b)²): rates above it diverge."""
    hessian = 2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]])
    return 2.0 / np.linalg.eigvalsh(hessian).max()


def compute(steps: int = 60, rates=None) -> dict:
    """{name: descend(...) history} for each learning rate, all from the same start on the same data."""
    data = make_data()
    return {name: descend(lr, steps, data=data) for name, lr in (rates or RATES).items()}


def steps_to_reach(losses, target: float):
    """The first step whose loss is <= target (None if never)."""
    hits = np.flatnonzero(np.asarray(losses) <= target)
    return int(hits[0]) if hits.size else None


def reach_text(losses, best: float, steps: int) -> str:
    """ "within 5% of the minimum after 35 steps", or "not within 5% of the minimum in 60 steps"."""
    reached = steps_to_reach(losses, 1.05 * best)
    if reached is None:
        return f"not within 5% of the minimum in {steps} steps"
    return f"within 5% of the minimum after {reached} step{'s' * (reached != 1)}"


def run(out: pathlib.Path, fast: bool = False) -> list[pathlib.Path]:
    steps = 30 if fast else 60
    runs = compute(steps)
    x, y = runs["good"]["x"], runs["good"]["y"]
    limit = stability_limit(x)
    best = runs["good"]["loss"][-1]
    print(f"a step is stable only for lr < 2/λmax = {limit:.3f}")
    for name, h in runs.items():
        print(f"  {name:9s} lr = {h['lr']:<5g} loss {h['loss'][0]:.3g} -> {h['loss'][-1]:.3g}; "
              + reach_text(h["loss"], best, steps))

    fig, ax = _plot.figure(ncols=4, width=4.4, height=4.4,
                           title=f"Learning rate: same start, same {steps} steps "
                                 f"(steps are stable only for lr < {limit:.2f})")
    for a, (name, h) in zip(ax, runs.items()):
        contour(a, x, y, [(f"lr = {h['lr']:g}", COLORS[name], h["m"], h["b"])])
        a.set_title(f"{name}: lr = {h['lr']:g} {VERDICT[name]}", color=COLORS[name])
    for name, h in runs.items():
        ax[3].plot(h["loss"], color=COLORS[name], lw=2.2, label=f"lr = {h['lr']:g} {VERDICT[name]}")
    ax[3].set_yscale("log")
    ax[3].set_ylim(best * 0.5, max(h["loss"].max() for h in runs.values()) * 2)
    ax[3].set(title="Loss after each step", xlabel="step", ylabel="loss E (log scale)")
    ax[3].legend(loc="upper left")
    return [_plot.save(fig, out / "learning_rate.png")]
