"""Backprop step by step: the player for a small MLP (2-3-1, tanh) on one example."""
from __future__ import annotations

import pathlib

import nn
from autograd.value import Value
from autograd.viz import player, record
from autograd.viz.training.network import network_view

from . import _plot

EXAMPLE = (0.5, -1.0)
TARGET = 1.0


def build(seed: int = 1):
    """The model, and the squared error of its output on EXAMPLE: one graph node per neuron."""
    model = nn.MLP(2, [3, 1], activation="tanh", seed=seed)
    xs = [Value(v, label=f"x{i}", requires_grad=False) for i, v in enumerate(EXAMPLE)]
    y = model(xs)
    y.label = "ŷ"
    error = y - Value(TARGET, label="y", requires_grad=False)  # named as in the label
    error.label = "ŷ − y"
    loss = error * error
    loss.label = "loss"
    return model, loss


def compute(seed: int = 1) -> dict:
    """The recording of one backward pass (with forward steps first) and the numbers it ends with."""
    model, loss = build(seed)
    rec = record(loss, forward=True)
    loss.backward()
    return {"model": model, "loss": loss, "recording": rec,
            "forward_steps": sum(s.kind == "forward" for s in rec.steps),
            "backward_steps": sum(s.kind == "backward" for s in rec.steps),
            "grads": {name: p.grad for name, p in model.named_parameters()}}


def run(out: pathlib.Path, fast: bool = False) -> list[pathlib.Path]:
    r = compute()
    print(f"MLP 2-3-1 on x = {EXAMPLE}, target {TARGET}: loss = {r['loss'].data:.4f}")
    print(f"the player: {r['forward_steps']} forward steps (one per op), then {r['backward_steps']} backward "
          f"steps (one per node that passes a gradient on)")
    out.mkdir(parents=True, exist_ok=True)
    page = player(r["recording"], title="A 2-3-1 MLP on one example: forward, then backward")
    paths = [page.save(out / "player.html")]
    paths += _plot.graph(r["loss"], out / "graph")
    net = network_view(r["model"], x=list(EXAMPLE), show_grads=True,
                       title="The same network on this example: neurons show their activation, "
                             "edges the gradient of their weight")
    paths += _plot.render_source(net.source, out / "network")
    for name, g in r["grads"].items():
        print(f"  d loss / d {name} = {_plot.np.round(g, 4).tolist()}")
    return paths
