"""Sigmoid, tanh and ReLU, with their derivatives computed by backward() and plotted."""
from __future__ import annotations

import pathlib

import numpy as np

from autograd.value import Value

from . import _plot

# name -> (formula shown in the title, the derivative written by hand, for comparison)
ACTIVATIONS = {
    "sigmoid": ("σ(z) = 1 / (1 + e⁻ᶻ)", "σ′(z) = σ(z)·(1 − σ(z))",
                lambda z: (s := 1 / (1 + np.exp(-z))) * (1 - s)),
    "tanh": ("tanh(z) = 2σ(2z) − 1", "tanh′(z) = 1 − tanh²(z)", lambda z: 1 - np.tanh(z) ** 2),
    "relu": ("ReLU(z) = max(0, z)", "ReLU′(z) = 1 if z > 0 else 0", lambda z: (z > 0).astype(float)),
}


def compute(points: int = 401, lo: float = -5.0, hi: float = 5.0) -> dict:
    """For each activation: z, f(z), and f'(z) read from z.grad after f(z).sum().backward().

    Summing makes one scalar whose gradient with respect to each z[i] is f'(z[i]),
    because each output depends on its own input only.
    """
    z_values = np.linspace(lo, hi, points)
    result = {}
    for name, (_, _, by_hand) in ACTIVATIONS.items():
        z = Value(z_values, label="z")
        out = getattr(z, name)()
        out.sum().backward()
        result[name] = {"z": z_values, "f": np.asarray(out.data), "df": np.asarray(z.grad),
                        "df_by_hand": by_hand(z_values)}
    return result


def run(out: pathlib.Path, fast: bool = False) -> list[pathlib.Path]:
    curves = compute(points=101 if fast else 401)
    fig, axes = _plot.figure(ncols=3, width=4.6, height=4.0,
                             title="Activation functions f(z) and the derivatives backward() computes")
    for ax, (name, c) in zip(axes, curves.items()):
        formula, derivative, _ = ACTIVATIONS[name]
        ax.axhline(0, color="k", lw=0.8)
        ax.axvline(0, color="k", lw=0.8)
        ax.plot(c["z"], c["f"], color=_plot.BLUE, lw=2.5, label=formula)
        ax.plot(c["z"], c["df"], color=_plot.ORANGE, lw=2.5, label=f"z.grad: {derivative}")
        ax.plot(c["z"][::20], c["df_by_hand"][::20], "o", mfc="none", color="k", ms=6,
                label="derivative by hand")
        ax.set_title({"sigmoid": "Sigmoid", "tanh": "tanh", "relu": "ReLU"}[name])
        ax.set_xlabel("z")
        ax.set_ylim(-1.15, 1.6 if name != "relu" else 5.2)
        ax.legend(loc="upper left", fontsize=9.5)
    paths = [_plot.save(fig, out / "activations.png")]
    worst = max(np.max(np.abs(c["df"] - c["df_by_hand"])) for c in curves.values())
    print(f"largest gap between backward() and the hand-written derivatives: {worst:.2e}")
    return paths
