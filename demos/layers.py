"""Layers: input / hidden / output drawn; single-layer perceptron vs MLP on XOR and moons."""
from __future__ import annotations

import pathlib

import nn
from autograd.viz.training.network import network_view

from . import _plot
from ._train import accuracy, fit_binary

HIDDEN = [8, 8]


def datasets(seed: int = 0) -> dict:
    return {"XOR": nn.make_xor(n=120, noise=0.12, seed=seed), "moons": nn.make_moons(n=200, noise=0.1, seed=seed)}


def models(seed: int = 0) -> dict:
    """A single-layer perceptron (inputs straight to the output neuron) and an MLP with hidden layers."""
    return {"single-layer perceptron": nn.MLP(2, [1], seed=seed),
            "multi-layer perceptron": nn.MLP(2, HIDDEN + [1], activation="tanh", seed=seed)}


def compute(steps: int = 400, seed: int = 0) -> dict:
    """{(data name, model name): (model, losses, accuracy)} for both data sets and both models."""
    result = {}
    for data_name, (X, y) in datasets(seed).items():
        for model_name, model in models(seed).items():
            losses = fit_binary(model, X, y, steps=steps, lr=0.05)
            result[data_name, model_name] = (model, losses, accuracy(model, X, y))
    return result


def run(out: pathlib.Path, fast: bool = False) -> list[pathlib.Path]:
    trained = compute(steps=200 if fast else 400)
    data = datasets()
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for key, model in (("perceptron", trained["moons", "single-layer perceptron"][0]),
                       ("mlp", trained["moons", "multi-layer perceptron"][0])):
        title = {"perceptron": "Single-layer perceptron: inputs connect straight to the output",
                 "mlp": f"Multi-layer perceptron: input layer, {len(HIDDEN)} hidden layers, output layer"}[key]
        paths += _plot.render_source(network_view(model, title=title).source, out / f"architecture_{key}")

    fig, ax = _plot.figure(ncols=2, nrows=2, width=5.0, height=4.3,
                           title="Single-layer perceptron vs MLP (2-8-8-1, tanh): decision boundaries")
    for i, ((data_name, model_name), (model, _, acc)) in enumerate(trained.items()):
        X, y = data[data_name]
        _plot.decision_boundary(ax[i], model, X, y, f"{data_name}: {model_name}\n{acc:.0%} correct")
    paths.append(_plot.save(fig, out / "boundaries.png"))
    for (data_name, model_name), (_, _, acc) in trained.items():
        print(f"  {data_name:6s} {model_name:24s} accuracy {acc:.1%}")
    return paths
