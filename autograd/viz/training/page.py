"""The training player: one offline HTML file with a slider over a recorder's snapshots.

>>> page = training_player(rec, X, y)         # doctest: +SKIP
>>> page.save("out/training.html")            # open it from file://, no server

Side by side: the network (weights as edge width and colour, biases as fill),
the decision boundary of 2-D data, the loss curve with the current step marked,
and each layer's gradient norm at that step. Same discipline as the backprop
player: the network is laid out once (one SVG, edges with stable ids), the loss
curve drawn once; a frame is only numbers — the drawn weights and biases as
float32, the decision grid as one byte per cell (two for more than two classes)
— that the page's script turns into edge widths, colours and canvas pixels with
the formulas of `network.edge_style`, `network.neuron_fill` and `plots.grid_colors`.

The page shows at most `MAX_FRAMES` snapshots (evenly spaced, first and last kept, with a
note saying so), and after the last snapshot the weights the training ended with, when they
differ from it (a recorder snapshots the weights *before* each recorded step's update).
The build is linear in the number of frames shown.
"""
from __future__ import annotations

import base64
import html
import os
import pathlib
import sys

import numpy as np

from ...extras import progress_bar
from . import network
from ..names import readable
from ..player.page import _script_json, write_atomic
from .plots import CLASS_COLORS, check_2d, class_indices, decision_grid, grid_bounds
from .network import copy_model
from ..graph.render import RenderError, pipe
from .recorder import TrainingRecorder
from .template import page

__all__ = ["TrainingPlayer", "training_player", "save_training_player", "MAX_FRAMES"]

MAX_FRAMES = 500  # snapshots shown by one page: beyond, evenly spaced ones (each frame is a grid + weights)


def _number(v) -> float | None:
    """A JSON-safe number: NaN and inf (a diverged run) become null."""
    return float(v) if np.isfinite(v) else None


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def _loss_chart(loss: np.ndarray, steps: list[int], width=440, height=140):
    """Inline SVG of the loss curve (drawn once) and the marker position of each frame."""
    left, right, top, bottom = 46, 8, 10, 24
    finite = loss[np.isfinite(loss)]
    log = finite.size and finite.min() > 0 and finite.max() > 100 * finite.min()
    curve = np.log10(np.where(np.isfinite(loss) & (loss > 0), loss, np.nan)) if log else loss
    low, high = np.nanmin(curve), np.nanmax(curve)
    high = high if high > low else low + 1
    px = lambda s: left + (width - left - right) * s / max(len(loss) - 1, 1)  # noqa: E731
    py = lambda v: top + (height - top - bottom) * (high - v) / (high - low)  # noqa: E731
    every = max(1, len(loss) // 600)   # at most ~600 points in the polyline
    points = " ".join(f"{px(s):.1f},{py(curve[s]):.1f}" for s in range(0, len(loss), every)
                      if np.isfinite(curve[s]))
    ticks = "".join(f'<text x="{left - 4}" y="{py(v) + 4:.1f}" text-anchor="end">'
                    f'{10 ** v if log else v:.3g}</text>' for v in (low, high))
    svg = (f'<svg id="loss-chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
           f'<rect x="{left}" y="{top}" width="{width - left - right}" height="{height - top - bottom}" '
           f'fill="#f8fafc" stroke="#e5e7eb"/>{ticks}'
           f'<text x="{width - right}" y="{height - 6}" text-anchor="end">step {len(loss) - 1}</text>'
           f'<text x="{left}" y="{height - 6}">0{" · log scale" if log else ""}</text>'
           f'<polyline points="{points}" fill="none" stroke="#111827" stroke-width="1.3"/>'
           f'<line id="loss-marker" x1="0" x2="0" y1="{top}" y2="{height - bottom}" stroke="#ea580c"/>'
           f'<circle id="loss-dot" r="4" fill="#ea580c"/></svg>')
    markers = [[round(px(s), 1), round(py(curve[s]), 1) if np.isfinite(curve[s]) else top] for s in steps]
    return svg, markers


def _drawn_values(rec, twin, layers, shown):
    """Flat-snapshot indices of the drawn weights and biases, with their SVG ids and layers."""
    offsets = {id(p): int(rec._offsets[k]) for k, (_, p) in enumerate(twin.named_parameters())}
    edges, biases = {"index": [], "id": [], "layer": []}, {"index": [], "id": [], "layer": []}
    for l, layer in enumerate(layers, start=1):
        start = offsets[id(layer.weight)]
        for o in shown[l]:
            for i in shown[l - 1]:
                edges["index"].append(start + o * layer.nin + i)
                edges["id"].append(f"L{l}_w{o}_{i}")
                edges["layer"].append(l - 1)
            if layer.bias is not None:
                biases["index"].append(offsets[id(layer.bias)] + o)
                biases["id"].append(f"L{l}_n{o}")
                biases["layer"].append(l - 1)
    return edges, biases


def _layer_max(frames: np.ndarray, layer_of: list[int], count: int) -> list[float]:
    """Largest |value| per layer over all frames (the fixed full-width scale of the page)."""
    layer_of = np.asarray(layer_of, dtype=int)
    return [(_number(np.nanmax(np.abs(frames[:, layer_of == k]))) or 0.0) if (layer_of == k).any() else 0.0
            for k in range(count)]


def _shown_steps(steps: list, max_frames: int) -> tuple[list, str]:
    """At most `max_frames` of `steps`, evenly spaced with the first and the last; and the note."""
    if len(steps) <= max_frames:
        return steps, ""
    keep = np.unique(np.linspace(0, len(steps) - 1, max_frames).round().astype(int))
    return [steps[k] for k in keep], f"showing {len(keep):,} of {len(steps):,} snapshots, evenly spaced"


def _final_weights(rec: TrainingRecorder, last: np.ndarray):
    """The model's weights now, flat like a snapshot, if training moved them after the last one."""
    params = [p for _, p in rec.model.named_parameters()]
    if [p.shape for p in params] != list(rec._shapes):
        return None
    flat = np.concatenate([np.ravel(np.asarray(p.data, dtype=np.float64)) for p in params])
    return None if flat.shape != last.shape or np.array_equal(flat, last) else flat


def _frames_bar(steps, progress):
    """`steps`, with a progress bar only when asked (None: only on a terminal): never a widget
    warning in a notebook without ipywidgets."""
    if progress is None:
        progress = hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
    if not progress:
        return steps
    try:
        import ipywidgets  # noqa: F401  (tqdm.auto draws a notebook widget with it)
        tqdm = progress_bar(required=True)  # asked for: without tqdm, an error naming tracegrad[progress]
    except ImportError:
        from ...extras import require
        tqdm = require("tqdm", "progress", "a progress bar").tqdm
    return tqdm(steps, desc="training player", unit="frame", leave=False)


def _build(rec: TrainingRecorder, X, y, resolution: int, max_neurons: int, progress,
           max_frames: int = MAX_FRAMES) -> tuple[str, str, dict]:
    recorded = rec.snapshot_steps
    if not recorded:
        raise IndexError("training_player: the recorder holds no snapshot yet; call rec.step(loss) in "
                         "the training loop first")
    steps, note = _shown_steps(recorded, max_frames)
    losses = rec.loss  # once: the property builds a new array on every call
    twin = copy_model(rec.model)
    twin_params = [p for _, p in twin.named_parameters()]  # their snapshot order (see rec._write_flat)
    layers = network.dense_layers(twin)
    widths = [layers[0].nin] + [layer.nout for layer in layers]
    shown = [network._shown(n, max_neurons)[0] for n in widths]
    edges, biases = _drawn_values(rec, twin, layers, shown)
    flats = np.stack([rec._snapshots[s] for s in steps])
    final = _final_weights(rec, flats[-1])
    if final is not None:  # the weights training ended with: after the update of the last step
        flats = np.concatenate([flats, final[None]])
    edge_frames, bias_frames = flats[:, edges["index"]], flats[:, biases["index"]]
    full = [_number(np.nanmax(np.abs(flats[:, int(rec._offsets[k]):int(rec._offsets[k]) + p.size])))
            for k, (_, p) in enumerate(twin.named_parameters())]
    params = {id(p): k for k, (_, p) in enumerate(twin.named_parameters())}
    scales = [full[params[id(layer.weight)]] or 0.0 for layer in layers]   # all of each weight matrix
    if X is not None:
        X = check_2d(twin, X)
        bounds = grid_bounds(X)
        if y is not None and len(y) != len(X):
            raise ValueError(f"training_player: {len(y)} labels y for {len(X)} points X; give one label per point")
    norms = np.array(list(rec.grad_norms().values()), dtype=np.float64).reshape(len(rec.layer_names), -1)
    last_step = len(losses) - 1
    chart, markers = _loss_chart(losses, steps + [last_step] * (final is not None))
    frames = []
    bar = _frames_bar(range(len(flats)), progress)
    try:
        for k in bar:
            step = steps[k] if k < len(steps) else len(losses)  # the final weights: after step last_step
            at = min(step, last_step)
            frame = {"step": step, "loss": _number(losses[step]) if step <= last_step else None,
                     "marker": markers[k], "edges": _b64(edge_frames[k].astype(np.float32)),
                     "biases": _b64(bias_frames[k].astype(np.float32)),
                     "grad_norms": [_number(v) for v in norms[:, at]] if norms.shape[1] > at else
                                   [None] * len(norms)}
            if X is not None:
                rec._write_flat(twin_params, flats[k])
                probs = np.nan_to_num(decision_grid(twin, X, resolution, bounds).probs, nan=0.5)
                cells = probs[..., 1:2] if probs.shape[-1] == 2 else np.stack(
                    [probs.argmax(-1), probs.max(-1)], axis=-1)
                scale = np.array([255.0] if probs.shape[-1] == 2 else [1.0, 255.0])
                frame["grid"] = _b64(np.round(cells * scale).astype(np.uint8))
                classes = probs.shape[-1]
            frames.append(frame)
    finally:
        if hasattr(bar, "close"):
            bar.close()
    rec._write_flat(twin_params, flats[0])
    svg = pipe(network.network_view(twin, max_neurons=max_neurons, scales=scales).source, "svg").decode()
    svg = svg[svg.index("<svg"):]
    data = {"frames": frames, "layers": [layer.name for layer in layers],
            "edge_ids": edges["id"], "edge_layer": edges["layer"],
            "bias_ids": biases["id"], "bias_layer": biases["layer"], "scales": scales,
            "bias_scales": _layer_max(bias_frames, biases["layer"], len(layers)),
            "style": {"positive": network.POSITIVE, "negative": network.NEGATIVE, "min_width": network.MIN_WIDTH,
                      "max_width": network.MAX_WIDTH, "min_opacity": network.MIN_OPACITY},
            "total_steps": len(rec), "note": note, "final": final is not None}
    if X is not None:
        sample = np.linspace(0, len(X) - 1, min(len(X), 600)).astype(int)   # at most 600 dots
        data["boundary"] = {"resolution": resolution, "bounds": [float(b) for b in bounds], "classes": classes,
                            "colors": list(CLASS_COLORS[:classes]), "points": X[sample].round(4).tolist(),
                            "labels": None if y is None else class_indices(y)[sample].tolist()}
    return svg, chart, data


class TrainingPlayer:
    """A training player page: `.html` (one self-contained file), `.save(path)`, Jupyter display."""

    def __init__(self, network_svg: str, loss_svg: str, data: dict, title: str):
        self.data, self.title = data, title
        self.html = page(html.escape(readable(title)), network_svg, loss_svg, _script_json(data))

    def __len__(self) -> int:
        """Number of frames: the snapshots shown, and the final weights when they differ from the last."""
        return len(self.data["frames"])

    def save(self, path) -> pathlib.Path:
        """Write the page to `path` atomically (a temporary file renamed over it)."""
        return write_atomic(path, self.html.encode("utf-8"))

    def _repr_html_(self) -> str:
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" style="width:100%;height:760px;'
                'border:1px solid #d1d5db;border-radius:6px" sandbox="allow-scripts"></iframe>')


def training_player(recorder: TrainingRecorder, X=None, y=None, resolution: int = 40, max_neurons: int = 12,
                    title: str = "tracegrad: watch training", progress: bool | None = None,
                    max_frames: int = MAX_FRAMES) -> TrainingPlayer:
    """A player over `recorder`'s snapshots; give the 2-D data `X` (and labels `y`) for the boundary.

    resolution: decision-grid cells per side. max_neurons: fold wider layers.
    progress: a tqdm bar over the frames (None: only on a terminal).
    max_frames: snapshots shown at most; more are thinned evenly (the page says so).
    """
    if not isinstance(recorder, TrainingRecorder):
        raise TypeError(f"training_player: expected a TrainingRecorder, got {type(recorder).__name__}")
    if y is not None and X is None:
        raise ValueError("training_player: labels y were given without the inputs X")
    if isinstance(max_frames, bool) or not isinstance(max_frames, (int, np.integer)) or max_frames < 2:
        raise ValueError(f"training_player: max_frames={max_frames!r}; give a whole number >= 2")
    network_svg, loss_svg, data = _build(recorder, X, y, int(resolution), max_neurons, progress, int(max_frames))
    return TrainingPlayer(network_svg, loss_svg, data, title)


def save_training_player(recorder: TrainingRecorder, path, X=None, y=None, **options) -> pathlib.Path:
    """Write the training player for `recorder` to `path` (.html); the folder is checked first."""
    folder = pathlib.Path(path).parent
    if not folder.is_dir():
        raise RenderError(f"Cannot write {str(path)!r}: the folder {str(folder)!r} does not exist; create it first")
    if not os.access(folder, os.W_OK):
        raise RenderError(f"Cannot write {str(path)!r}: the folder {str(folder)!r} is not writable")
    return training_player(recorder, X, y, **options).save(path)
