"""The article's neuron Y = f(x0·w0 + x1·w1 + x2·w2 + b): computed, backpropagated, drawn, played."""
from __future__ import annotations

import math
import pathlib

from autograd.functional import neuron
from autograd.value import Value
from autograd.viz import player, save_gif

from . import _plot

INPUTS = (1.0, 2.0, -1.0)
WEIGHTS = (0.5, -0.25, 0.75)
BIAS = 0.1


def build(f: str = "tanh"):
    """The neuron as scalar Values, one node per step of the article's recipe:

    each input times its weight (x0·w0, ...), the weighted inputs summed with the
    bias (z), then the activation f (Y). Returns (xs, ws, b, Y).
    """
    x = [Value(v, label=f"x{i}", requires_grad=False) for i, v in enumerate(INPUTS)]
    w = [Value(v, label=f"w{i}") for i, v in enumerate(WEIGHTS)]
    b = Value(BIAS, label="b")
    products = []
    for i in range(3):
        p = x[i] * w[i]
        p.label = f"x{i}·w{i}"
        products.append(p)
    z = products[0] + products[1] + products[2] + b
    z.label = "z"
    y = z if f == "linear" else getattr(z, f)()
    y.label = "Y"
    return x, w, b, y


def build_compact(f: str = "tanh"):
    """The same neuron with the weighted sum as ONE node (autograd.neuron), as nn layers draw it."""
    x = [Value(v, label=f"x{i}", requires_grad=False) for i, v in enumerate(INPUTS)]
    w = Value(list(WEIGHTS), label="w")
    b = Value(BIAS, label="b")
    z = neuron(w, b, x)
    z.label = "z"
    y = getattr(z, f)()
    y.label = "Y"
    return x, w, b, y


def compute(f: str = "tanh") -> dict:
    """Forward and backward; also the gradients by hand: dY/dwi = f'(z)·xi, dY/db = f'(z)."""
    x, w, b, y = build(f)
    y.backward()
    z = sum(xi * wi for xi, wi in zip(INPUTS, WEIGHTS)) + BIAS
    slope = {"tanh": 1 - math.tanh(z) ** 2, "sigmoid": (s := 1 / (1 + math.exp(-z))) * (1 - s),
             "relu": float(z > 0), "linear": 1.0}[f]
    return {"z": z, "Y": y.data, "grads": {v.label: v.grad for v in (*w, b)},
            "by_hand": {**{f"w{i}": slope * INPUTS[i] for i in range(3)}, "b": slope}, "root": y}


def run(out: pathlib.Path, fast: bool = False) -> list[pathlib.Path]:
    r = compute()
    print(f"z = x0·w0 + x1·w1 + x2·w2 + b = {r['z']:.4f};  Y = tanh(z) = {r['Y']:.4f}")
    for name, g in r["grads"].items():
        print(f"  dY/d{name} = {g:+.4f}   (by hand: tanh'(z)·{'1' if name == 'b' else 'x' + name[1]} "
              f"= {r['by_hand'][name]:+.4f})")
    out.mkdir(parents=True, exist_ok=True)
    _, _, _, fresh = build()                        # before backward: the forward pass only
    paths = _plot.graph(fresh, out / "forward", forward_only=True)
    paths += _plot.graph(r["root"], out / "backward")
    _, _, _, compact = build_compact()
    compact.backward()
    paths += _plot.graph(compact, out / "compact")
    _, _, _, again = build()                        # the player replays backward from zero
    page = player(again, forward=True, title="One neuron: forward, then backward, step by step")
    paths.append(page.save(out / "player.html"))
    paths.append(save_gif(page.layout, out / "backprop.gif"))      # the same frames, for slides
    print(f"the player has {len(page)} steps: each op's value, then each node passing its gradient back")
    return paths

