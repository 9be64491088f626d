"""The article's neuron Y = f(x0·w0 + x1·w1 + x2·w2 + b): computed, then backpropagated."""
from __future__ import annotations

import pathlib

from autograd import Value


def build(f: str = "tanh"):
    """The neuron as scalar Values, labelled like the article's figure."""
    x = [Value(v, label=f"x{i}", requires_grad=False) for i, v in enumerate((1.0, 2.0, -1.0))]
    w = [Value(v, label=f"w{i}") for i, v in enumerate((0.5, -0.25, 0.75))]
    b = Value(0.1, label="b")
    z = x[0] * w[0] + x[1] * w[1] + x[2] * w[2] + b
    z.label = "z"
    y = getattr(z, f)() if f != "linear" else z
    y.label = "Y"
    return x, w, b, y


def run(out: pathlib.Path, fast: bool = False) -> list[pathlib.Path]:
    x, w, b, y = build()
    y.backward()
    print(f"Y = tanh(x0·w0 + x1·w1 + x2·w2 + b) = {y.data:.4f}")
    for v in (*w, b):
        print(f"  dY/d{v.label} = {v.grad:+.4f}")
    return []
