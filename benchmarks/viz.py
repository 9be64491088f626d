"""Speed of watching backprop (issue 4), measured side by side in one run.

1. The backprop player for a ~400-node graph with every step, its single layout
   included (target: under 2 s). The graph is a micrograd-style scalar MLP(2, [7, 7, 1])
   built from * and + (244 values + 156 op nodes = 400 Graphviz nodes, the drawer's
   cap). Against it, the micrograd fork's way: a fresh drawing and a fresh Graphviz
   layout for every frame. That is timed on --frames frames spread over the recording
   (every frame with --all-frames) and scaled to the number of frames; the ratio is printed.
2. micrograd's moons model MLP(2, [16, 16, 1]) on one sample, drawn collapsed
   (nn.MLP's one-example mode: each neuron is one Σ w·x + b node), draw + layout
   (target: under 1 s); also folded into one box per layer. With --full, micrograd's
   own uncollapsed graph of the same model is laid out by the same renderer, and the
   ratio printed (slow: ~1,600 Graphviz nodes).

3. Layout seconds against the number of Graphviz nodes, for every renderer installed
   (system `dot`, graphviz-pure): what the drawer's cap (fold.DEFAULT_MAX_NODES) and
   its message are set from.

Run: .venv/bin/python benchmarks/viz.py [--frames 12] [--all-frames] [--full] [--quick]
Times are the fastest of 3 wall-clock runs (Graphviz runs as a child process, so CPU
time of this process would leave it out).
"""
from __future__ import annotations

import argparse
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from _common import best_of, load_note, ratio, seconds  # noqa: E402

from autograd import Value, neuron  # noqa: E402
from autograd.viz import draw, player, preview, record  # noqa: E402
from autograd.viz.graph.draw import build, cell_text  # noqa: E402
from autograd.viz.graph.render import backend_name, pipe  # noqa: E402

PLAYER_TARGET, MOONS_TARGET = 2.0, 1.0


def timed(fn, repeat: int = 3):
    """(fastest wall-clock seconds of `repeat` calls, the result of a call); GC on, as users run."""
    results = []

    def run(laps):
        results.append(fn())
        laps.lap("run")

    return best_of(run, repeat)["total"], results[-1]


def verdict(s: float, target: float) -> str:
    return f"{'PASS' if s < target else 'FAIL'} (target < {target:g} s)"


# ---- 1. the player against one layout per frame -----------------------------------------------


def scalar_mlp(sizes=(7, 7, 1), nin: int = 2, seed: int = 0) -> Value:
    """A micrograd-style graph: every weight a scalar Value, every neuron made of * and +."""
    rng = np.random.default_rng(seed)
    xs = [Value(float(v), label=f"x{i}", requires_grad=False) for i, v in enumerate(rng.normal(size=nin))]
    dims = [nin, *sizes]
    for layer, width in enumerate(dims[1:]):
        outs = []
        for j in range(width):
            act = Value(float(rng.normal()), label=f"b{layer}{j}")
            for i, x in enumerate(xs):
                act = act + Value(float(rng.normal() * 0.5), label=f"w{layer}{j}{i}") * x
            outs.append(act.tanh() if layer < len(sizes) - 1 else act)
        xs = outs
    loss = (xs[0] - 1.0) ** 2
    loss.label = "loss"
    return loss


def frame_texts(rec, k: int) -> dict:
    """The box texts of frame k: data, and the gradient accumulated so far."""
    grads = rec.grads_at(k)
    return {i: ("data " + cell_text(preview(node.data)),
                "grad " + cell_text(preview(grads[i])) if i in grads else "grad ·")
            for i, node in enumerate(rec.nodes)}


def layout_per_frame(loss, rec, frames: list[int]) -> float:
    """Seconds per frame, drawing and laying out anew as the micrograd fork does."""
    start = time.perf_counter()
    for k in frames:
        pipe(build(loss, texts=frame_texts(rec, k)).graph.source, "svg")
    return (time.perf_counter() - start) / len(frames)


def bench_player(frames_sampled: int, all_frames: bool) -> None:
    loss = scalar_mlp()
    loss.backward()
    drawing = build(loss)
    drawn = sum(2 if n.op else 1 for n in drawing.nodes)
    took, page = timed(lambda: player(loss))
    rec = page.recording
    n_frames = len(rec.steps)
    print(f"graph: micrograd-style scalar MLP(2, [7, 7, 1]): {len(drawing.nodes)} values, "
          f"{drawn} Graphviz nodes, {n_frames} backward steps")
    print(f"  player, one layout, all {n_frames} steps: {seconds(took)}   {verdict(took, PLAYER_TARGET)}"
          f"   page {len(page.html.encode()) / 1e6:.2f} MB, {page.html.count('<svg')} <svg>")
    record_seconds, _ = timed(lambda: record(loss))
    layout_seconds, _ = timed(lambda: pipe(drawing.graph.source, "svg"))
    print(f"    of which: record {seconds(record_seconds)}, one Graphviz layout {seconds(layout_seconds)}")
    if all_frames:
        chosen = list(range(n_frames))
    else:
        count = min(frames_sampled, n_frames)
        chosen = sorted({round(i * (n_frames - 1) / max(count - 1, 1)) for i in range(count)})
    per_frame = layout_per_frame(loss, rec, chosen)
    total = per_frame * n_frames
    how = "all frames" if all_frames else f"{len(chosen)} frames timed, x {n_frames} frames"
    print(f"  one layout per frame (micrograd fork): {per_frame:.3f} s/frame, {total:.1f} s for "
          f"{n_frames} frames ({how})")
    print(f"  ratio: layout per frame / player = {ratio(total, took)}")


# ---- 2. micrograd's moons MLP on one sample, drawn collapsed ------------------------------------


def moons_loss() -> tuple[Value, str]:
    """Hinge loss of MLP(2, [16, 16, 1]) (relu hidden layers) on one moons sample."""
    x, y = [0.5, -0.25], 1.0
    inputs = [Value(v, label=f"x{i}", requires_grad=False) for i, v in enumerate(x)]
    try:
        import nn
    except ImportError:
        nn = None
    if nn is not None and hasattr(nn, "MLP"):
        score, how = nn.MLP(2, [16, 16, 1], activation="relu", seed=0)(inputs), "nn.MLP"
    else:  # the same graph from autograd.neuron: one node per neuron
        rng, xs = np.random.default_rng(0), inputs
        for layer, (nin, nout) in enumerate(zip((2, 16, 16), (16, 16, 1))):
            w = Value(rng.uniform(-1, 1, (nout, nin)), label=f"L{layer}.weight")
            b = Value(np.zeros(nout), label=f"L{layer}.bias")
            xs = [neuron(w, b, xs, row=j) for j in range(nout)]
            xs = [s.relu() for s in xs] if layer < 2 else xs
        score, how = xs[0], "autograd.neuron"
    score = score[0] if isinstance(score, (list, tuple)) else score
    loss = (1 - y * score).relu()
    loss.label = "loss"
    return loss, how


def micrograd_dot(root) -> tuple[str, int]:
    """micrograd's notebook draw_dot for a micrograd Value, as DOT source (and its node count)."""
    nodes, edges, stack = set(), set(), [root]
    while stack:
        v = stack.pop()
        if v not in nodes:
            nodes.add(v)
            for child in v._prev:
                edges.add((child, v))
                stack.append(child)
    lines = ["digraph { rankdir=LR;"]
    count = 0
    for n in nodes:
        lines.append(f'"{id(n)}" [shape=record, label="{{ data {n.data:.4f} | grad {n.grad:.4f} }}"];')
        count += 1
        if n._op:
            lines.append(f'"{id(n)}{n._op}" [label="{n._op}"]; "{id(n)}{n._op}" -> "{id(n)}";')
            count += 1
    lines += [f'"{id(a)}" -> "{id(b)}{b._op}";' for a, b in edges]
    return "\n".join(lines + ["}"]), count


def bench_moons(full: bool) -> None:
    loss, how = moons_loss()
    loss.backward()
    collapsed = draw(loss)
    took, _ = timed(lambda: pipe(draw(loss).source, "svg"))
    boxes = collapsed.source.count("shape=plain") - 1  # value boxes (minus the legend)
    print(f"moons MLP(2, [16, 16, 1]), one sample ({how}): {boxes} value boxes drawn")
    print(f"  collapsed (a neuron is one node), draw + layout: {seconds(took)}   {verdict(took, MOONS_TARGET)}")
    folded_seconds, _ = timed(lambda: pipe(draw(loss, fold=True).source, "svg"))
    print(f"  folded (one box per layer), draw + layout: {seconds(folded_seconds)}")
    try:
        from micrograd.nn import MLP as MicroMLP
    except ImportError:
        print("  micrograd not installed: no uncollapsed comparison")
        return
    model = MicroMLP(2, [16, 16, 1])
    micro_loss = (1 + -1.0 * model([0.5, -0.25])).relu()
    micro_loss.backward()
    source, count = micrograd_dot(micro_loss)
    if not full:
        print(f"  micrograd's own graph of the same model would be {count} Graphviz nodes "
              "(lay it out too with --full)")
        return
    micro_seconds, _ = timed(lambda: pipe(source, "svg", timeout=600), repeat=1)
    print(f"  micrograd's uncollapsed graph ({count} Graphviz nodes), layout only: {seconds(micro_seconds)}")
    print(f"  ratio: uncollapsed layout / collapsed draw + layout = {ratio(micro_seconds, took)}")


# ---- 3. layout time against graph size, per renderer -----------------------------------------

SIZE_WIDTHS = {"~400": (7, 7, 1), "~800": (10, 10, 1), "~1,500": (14, 14, 1), "~3,000": (20, 20, 1),
               "~6,000": (28, 28, 1)}


def renderers() -> dict:
    """{name: executable} of every renderer installed here."""
    import shutil

    from autograd.viz.graph.render import _pip_renderer

    found = {"system dot": shutil.which("dot"), "graphviz-pure": _pip_renderer()}
    return {name: path for name, path in found.items() if path}


def bench_sizes(quick: bool) -> None:
    import os

    from autograd.viz.graph.fold import max_nodes_for

    print(f"\n3. layout seconds by Graphviz nodes (the drawer's cap here: {max_nodes_for('auto')} nodes)")
    sizes = dict(list(SIZE_WIDTHS.items())[: 3 if quick else None])
    sources = {}
    for label, widths in sizes.items():
        drawing = build(scalar_mlp(widths), max_nodes=None)
        sources[label] = (drawing.graph.source, sum(2 if n.op else 1 for n in drawing.nodes) + 1)
    before = os.environ.get("TRACEGRAD_DOT")
    try:
        for name, path in renderers().items():
            os.environ["TRACEGRAD_DOT"] = path
            for label, (source, count) in sources.items():
                took, _ = timed(lambda: pipe(source, "svg", timeout=900), repeat=1 if count > 2000 else 3)
                print(f"  {name:14s} {count:6d} nodes: {seconds(took)}  ({took / count * 1000:.2f} ms per node)")
    finally:
        if before is None:
            os.environ.pop("TRACEGRAD_DOT", None)
        else:
            os.environ["TRACEGRAD_DOT"] = before


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=12, help="frames timed for the per-frame layout")
    parser.add_argument("--all-frames", action="store_true", help="time the per-frame layout on every frame")
    parser.add_argument("--full", action="store_true", help="also lay out micrograd's uncollapsed graph")
    parser.add_argument("--quick", action="store_true", help="time only 4 frames of the per-frame layout")
    parser.add_argument("--sizes-only", action="store_true", help="only the layout time by graph size")
    args = parser.parse_args(argv)
    if args.quick:
        args.frames, args.all_frames = 4, False
    print(f"renderer: {backend_name()}")
    note = load_note()
    if note:
        print(note)
    if not args.sizes_only:
        bench_player(args.frames, args.all_frames)
        bench_moons(args.full)
    bench_sizes(args.quick)


if __name__ == "__main__":
    main()
