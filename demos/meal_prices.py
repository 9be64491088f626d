"""The article's linear neuron learns the prices of burgers, fries and sodas from receipts."""
from __future__ import annotations

import pathlib

import numpy as np

import nn
from autograd.mode import no_grad
from autograd.value import Value

from . import _plot

ITEMS = ("burger", "fries", "soda")
PRICES = (5.0, 2.5, 1.5)          # what the restaurant charges; the neuron never sees these


def compute(receipts: int = 50, steps: int = 300, lr: float = 0.01, momentum: float = 0.9, seed: int = 0) -> dict:
    """Train f(z) = z, z = w·counts + b, on (counts, total) receipts with MSE and SGD.

    Momentum matters here: the bias and the three weights pull against each other (every
    receipt has a count of 2-3 of each item on average), which makes plain SGD crawl.

    Returns the weight and bias history (one row per step, before each update), the loss
    history, the learned prices (the final weights) and the data.
    """
    X, totals = nn.make_meals(receipts, prices=PRICES, seed=seed)
    neuron = nn.Neuron(3, activation="linear", seed=seed, name="meal")
    opt = nn.SGD(neuron.parameters(), lr=lr, momentum=momentum)
    weights, biases, losses = [], [], []
    for _ in range(steps):
        loss = nn.mse(neuron(X), totals)
        opt.zero_grad()
        loss.backward()
        weights.append(neuron.weight.numpy().copy())
        biases.append(float(neuron.bias.data))
        losses.append(loss.item())
        opt.step()
    return {"weights": np.array(weights), "bias": np.array(biases), "loss": np.array(losses),
            "prices": neuron.weight.numpy().copy(), "fixed_charge": float(neuron.bias.data),
            "X": X, "totals": totals, "neuron": neuron}


def run(out: pathlib.Path, fast: bool = False) -> list[pathlib.Path]:
    r = compute(steps=150 if fast else 300)
    X, totals = r["X"], r["totals"]
    print("receipts the neuron learns from (first 3):")
    for counts, total in zip(X[:3], totals[:3]):
        print("  " + ", ".join(f"{int(c)} {item}" for c, item in zip(counts, ITEMS)) + f"  ->  ${total:.2f}")
    for item, learned, true in zip(ITEMS, r["prices"], PRICES):
        print(f"  {item:6s} learned ${learned:.4f}  (true ${true:.2f}, off by {abs(learned / true - 1):.3%})")
    print(f"  bias (a fixed charge per receipt) learned ${r['fixed_charge']:+.4f}")

    fig, ax = _plot.figure(ncols=3, width=4.8, height=4.2,
                           title="A linear neuron learns the menu prices from receipts")
    colors = (_plot.ORANGE, _plot.GREEN, _plot.BLUE)
    for k, (item, color) in enumerate(zip(ITEMS, colors)):
        ax[0].plot(r["weights"][:, k], color=color, lw=2.2, label=f"w{k}: {item} → ${r['prices'][k]:.2f}")
        ax[0].axhline(PRICES[k], color=color, ls="--", lw=1)
    ax[0].plot(r["bias"], color=_plot.GREY, lw=1.8, label=f"b: fixed charge → ${r['fixed_charge']:.2f}")
    ax[0].set(title="Weights become the prices (dashed: true)", xlabel="step", ylabel="$")
    ax[0].legend(fontsize=9.5)
    _plot.loss_curve(ax[1], r["loss"], title="MSE loss over the receipts")
    with no_grad():
        predicted = r["neuron"](X).numpy()
    ax[2].scatter(totals, predicted, s=30, color=_plot.PURPLE, edgecolors="k", linewidths=0.5)
    ax[2].plot([0, totals.max()], [0, totals.max()], "k--", lw=1, label="prediction = bill")
    ax[2].set(title="Predicted vs actual bill", xlabel="actual bill ($)", ylabel="neuron's output ($)")
    ax[2].legend()
    paths = [_plot.save(fig, out / "meal_prices.png")]
    counts = [Value(c, label={"burger": "burgers", "fries": "fries", "soda": "sodas"}[item], requires_grad=False) for c, item in zip(X[0], ITEMS)]
    one = r["neuron"](counts)                       # one receipt: the neuron is one graph node
    one.label = "price"
    one.backward()
    paths += _plot.graph(one, out / "neuron_graph")
    return paths
