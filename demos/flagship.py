"""What `make demo` runs: train the moons MLP, then write every picture and player, and an index.html."""
from __future__ import annotations

import html
import pathlib
import time

import numpy as np

import nn
from autograd.functional import neuron
from autograd.value import Value
from autograd.viz import player
from autograd.viz.training import TrainingRecorder
from autograd.viz.training.page import training_player

from . import _plot, moons
from ._train import fit_hinge, scores

STEPS = 100


def train(steps: int = STEPS, every: int = 2) -> dict:
    """micrograd's moons MLP, with a TrainingRecorder keeping a snapshot every `every` steps."""
    model, X, y = moons.build()
    opt = nn.SGD(model.parameters(), lr=1.0)
    with TrainingRecorder(model, opt, every=every) as rec:
        losses = fit_hinge(model, X, y, steps=steps, opt=opt, recorder=rec,
                           progress=lambda it: rec.progress(it, desc="training the moons MLP", unit="step"))
    accuracy = float(np.mean((scores(model, X) > 0) == (y == 1)))
    return {"model": model, "X": X, "y": y, "loss": losses, "accuracy": accuracy, "recorder": rec}


def example_inside_margin(model, seed: int = 99) -> tuple[np.ndarray, int]:
    """A new moons point the trained network scores inside its margin (0 < y·score < 1),
    so its hinge loss relu(1 − y·score) is positive and a gradient flows back."""
    X, y = nn.make_moons(200, noise=0.1, seed=seed)
    margins = (2 * y - 1) * scores(model, X)
    inside = np.flatnonzero((margins > 0) & (margins < 1))
    k = inside[np.argmin(np.abs(margins[inside] - 0.5))] if inside.size else int(np.argmin(np.abs(margins)))
    return X[k], int(y[k])


def one_example_loss(model, x, label: int):
    """The hinge loss of one example through the network, one graph node per neuron."""
    xs = [Value(float(v), label=f"x{i}", requires_grad=False) for i, v in enumerate(x)]
    score = model(xs)
    score.label = "score"
    loss = (1.0 - score * (2.0 * label - 1.0)).relu()
    loss.label = "loss"
    return loss


def one_neuron(model, x):
    """The first active neuron of the first hidden layer on input x, backpropagated from its output.

    The neuron gets its own Values: its row of layers.0.weight and its bias, copied, so the
    drawing shows that neuron's two weights (not the whole 16×2 matrix) and gradients that come
    from this one backward pass only (the trained model's .grad is left as it is).
    """
    layer = model.layers[0]
    xs = [Value(float(v), label=f"x{i}", requires_grad=False) for i, v in enumerate(x)]
    rows = [float(neuron(layer.weight.data[j], float(layer.bias.data[j]), xs).data) for j in range(layer.nout)]
    j = next((k for k, z in enumerate(rows) if z > 0), 0)
    w = Value(layer.weight.data[j].copy(), label=f"layers.0.weight[{j}]")
    b = Value(float(layer.bias.data[j]), label=f"layers.0.bias[{j}]")
    z = neuron(w, b, xs)
    z.label = f"L0.n{j}"
    out = z.relu()
    out.label = f"L0.n{j}.out"
    out.backward()
    return out


PAGES = [  # (file, title, what it shows)
    ("training.html", "Training player", "Slide through training: weights, decision boundary, loss and gradients."),
    ("backprop.html", "Backprop player", "One example's loss flowing back through the trained network, node by node."),
    ("decision_boundary.png", "Decision boundary", "Where the trained MLP says class 0 and class 1."),
    ("loss.png", "Loss curve", "Hinge loss + L2 penalty at every step of SGD."),
    ("neuron.svg", "One neuron's graph", "x0, x1, that neuron's two weights (its row of layers.0.weight) and its bias → Σ w·x + b → ReLU, with values and gradients."),
]


def index_page(out: pathlib.Path, accuracy: float, seconds: float, steps: int = STEPS) -> pathlib.Path:
    """index.html linking every file: the two players first, then the pictures inline."""
    cards = []
    for name, title, text in PAGES:
        body = (f'<a href="{name}"><img src="{name}" alt="{html.escape(title)}"></a>' if name.endswith((".png", ".svg"))
                else f'<a class="open" href="{name}">open {name}</a>')
        kind = "picture" if name.endswith((".png", ".svg")) else "player"
        cards.append(f'<section class="{kind}"><h2>{html.escape(title)}</h2><p>{html.escape(text)}</p>{body}</section>')
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tracegrad: make demo</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1200px;margin:1.5em auto;padding:0 1em;color:#111827}}
main{{display:grid;align-items:start;grid-template-columns:repeat(auto-fit,minmax(340px,1fr));gap:1em}}
section{{border:1px solid #e5e7eb;border-radius:8px;padding:0 1em 1em}} section.player{{background:#f8fafc}}
img{{width:100%;border:1px solid #f3f4f6}} code{{background:#f3f4f6;padding:0 .2em}}
a.open{{display:inline-block;padding:.5em 1em;border-radius:6px;background:#2563eb;color:white;text-decoration:none}}
</style></head><body><h1>tracegrad: the moons MLP, trained and watched</h1>
<p>micrograd's demo (MLP 2-16-16-1, ReLU, {steps} steps of SGD on 100 points) trained with tracegrad:
{accuracy:.0%} of the points correct. Everything on this page was made in {seconds:.1f} s and works offline.
Re-create it with <code>make demo</code>; list the other demos with <code>python -m demos</code>.</p>
<main>{''.join(cards)}</main></body></html>
"""
    return _plot.write_text(page, out / "index.html")


def run(out: pathlib.Path, fast: bool = False) -> list[pathlib.Path]:
    start = time.perf_counter()
    r = train(steps=40 if fast else STEPS)
    model = r["model"]
    print(f"trained: loss {r['loss'][-1]:.4f}, accuracy {r['accuracy']:.0%}")
    out.mkdir(parents=True, exist_ok=True)
    paths = moons.plot(r, out)
    x, label = example_inside_margin(model)
    paths += _plot.graph(one_neuron(model, x), out / "neuron", formats=("svg",))
    loss = one_example_loss(model, x, label)
    page = player(loss, title=f"Backprop through the trained moons MLP: one point ({x[0]:.2f}, {x[1]:.2f}), "
                              f"class {label}, hinge loss {loss.data:.3f}")
    paths.append(page.save(out / "backprop.html"))
    trainer = training_player(r["recorder"], r["X"], r["y"], title="Training the moons MLP (micrograd's demo)")
    paths.append(trainer.save(out / "training.html"))
    paths.append(index_page(out, r["accuracy"], time.perf_counter() - start, steps=len(r["loss"])))
    print(f"backprop player: {len(page)} steps; training player: {len(trainer)} frames; "
          f"{time.perf_counter() - start:.1f} s. Open {out / 'index.html'}")
    return paths
