"""The backprop player: one self-contained HTML file that steps through a recording.

>>> from autograd import Value
>>> x, w = Value(2.0, label="x"), Value(-3.0, label="w")
>>> L = (x * w).tanh()
>>> p = player(L)                  # shows inline in Jupyter
>>> p.html.count("<svg") == 1      # the picture once, the steps as data
True

One layout for every frame. The graph is laid out once (`render.pipe`, so no
system Graphviz is needed), with every data and grad cell as wide as the longest
text it will ever hold (each node's widths come from all its recorded previews).
The page embeds that SVG once and the recording's per-step JSON; a frame is then
a few CSS classes (current node, edges carrying gradient, done vs pending) and
new text in the grad cells, set by a small script. Nothing is laid out again,
so no node moves, and the file grows with the steps only as JSON.
"""
from __future__ import annotations

import base64
import html
import json
import os
import pathlib
import secrets
from dataclasses import dataclass

import numpy as np

from autograd.ops import OPS

from . import template as player_template
from ..graph.draw import Drawing, build, cell_text
from ..graph.render import RenderError, pipe
from ..names import readable
from .heatmap import Arrays
from .steps import Recording, record
from ..graph.style import ANIMATION_CSS, STATE_CSS
from ..graph.svg import annotate

__all__ = ["Player", "player", "save_player", "Layout", "layout"]


@dataclass
class Layout:
    """A recording laid out once: the drawing, its annotated SVG and the player's data."""

    recording: Recording
    drawing: Drawing
    svg: str        # annotated: ids on the grad/data texts (see svg.annotate)
    data: dict      # JSON-safe: nodes, steps, groups (what the page script reads)


def _recording(loss_or_recording, forward: bool) -> Recording:
    if isinstance(loss_or_recording, Recording):
        return loss_or_recording
    return record(loss_or_recording, forward=forward)


def layout(loss_or_recording, forward: bool = False, **draw_options) -> Layout:
    """Record (unless given a Recording: then `forward` is the recording's), draw with
    reserved cell widths, lay out once."""
    rec = _recording(loss_or_recording, forward)
    raw = rec.to_json()
    nodes, steps = raw["nodes"], raw["steps"]
    computed_later = {s["node"] for s in steps if s["kind"] == "forward"}
    grad_chars = {n["id"]: len("grad ·") for n in nodes}  # the longest grad text each box will show
    for step in steps:
        for key, value in step["grads"].items():
            grad_chars[key] = max(grad_chars[key], len("grad " + cell_text(value)))
    texts, reserve = {}, {}
    for i, n in enumerate(nodes):
        data_text = "data " + cell_text(n["data"])
        texts[i] = ("data ?" if n["id"] in computed_later else data_text, "grad ·")
        reserve[i] = (max(len(data_text), len("data ?")), grad_chars[n["id"]])
    root = rec.nodes[rec.root_index]
    drawing = build(root, texts=texts, reserve=reserve, **draw_options)
    if len(drawing.nodes) != len(rec.nodes):
        raise ValueError("the recording does not match the graph of its loss: record it again")
    svg = annotate(pipe(drawing.graph.source, "svg").decode("utf-8"), drawing)
    return Layout(rec, drawing, svg, _player_data(raw, drawing, rec))


def _player_data(raw: dict, drawing: Drawing, rec: Recording) -> dict:
    """The recording's JSON, slimmed for the page: box texts, kinds, folded groups, and the
    heatmaps of matrices and images (data once per node, a gradient per step that changes it)."""
    position = {node: i for i, node in enumerate(drawing.nodes)}
    arrays = Arrays()
    nodes = []
    for i, n in enumerate(raw["nodes"]):
        node = drawing.nodes[i]
        nodes.append({**n, "kind": drawing.kinds[i], "drawn": drawing.drawn[i],
                      "parents": [f"v{position[p]}" for p in node.parents],
                      "elementwise": bool(node.op and OPS[node.op].elementwise),
                      "box_data": drawing.has_data[i], "box_grad": drawing.has_grad[i],
                      "data_box": "data " + cell_text(n["data"]),
                      "heat": arrays.add(node.data) if node.ndim >= 2 else None})
    steps = []
    for s, step in zip(raw["steps"], rec.steps):
        steps.append({
            "kind": s["kind"], "node": s["node"], "text": s["text"], "edges": s["edges"],
            "grads": {k: cell_text(v) for k, v in s["grads"].items()},
            "full": {k: v for k, v in s["grads"].items() if cell_text(v) != v},
            "values": {k: cell_text(v) for k, v in s["values"].items()},
            "parents": [{"id": p["id"], "rule": p["rule"], "contribution": p["contribution"]}
                        for p in s.get("parents", [])],
            "heat": {f"v{i}": k for i, g in step.grads.items()
                     if np.ndim(g) >= 2 and (k := arrays.add(g)) is not None},
        })
    groups = {gid: {"name": drawing.group[members[0]], "members": [f"v{i}" for i in members]}
              for gid, members in drawing.groups.items()}
    return {"root": raw["root"], "nodes": nodes, "steps": steps, "groups": groups, "arrays": arrays.items}


def _script_json(data: dict) -> str:
    """JSON that cannot end a <script> element or open a comment (`<`, `>`, `&` as \\u escapes)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return text


class Player:
    """A backprop player page: `.html` (one self-contained file), `.save(path)`, Jupyter display."""

    def __init__(self, laid_out: Layout, title: str = "tracegrad: backprop, step by step"):
        self.layout = laid_out
        self.recording = laid_out.recording
        self.title = title
        self.html = player_template.page(title=html.escape(readable(title)), svg=laid_out.svg,
                                         data=_script_json(laid_out.data),
                                         css=STATE_CSS + ANIMATION_CSS)

    def __len__(self) -> int:
        """Number of steps."""
        return len(self.recording.steps)

    def save(self, path) -> pathlib.Path:
        """Write the page to `path` atomically (a temporary file renamed over it)."""
        return write_atomic(path, self.html.encode("utf-8"))

    def save_frames(self, folder, captions: bool = True) -> list:
        """One SVG per step in `folder`, on this player's layout (see frames.save_frames)."""
        from .frames import save_frames

        return save_frames(self.layout, folder, captions=captions)

    def save_gif(self, path, ms_per_frame: int = 900) -> pathlib.Path:
        """An animated GIF of every step, on this player's layout (needs pillow)."""
        from .frames import save_gif

        return save_gif(self.layout, path, ms_per_frame=ms_per_frame)

    STATIC_NOTE = ("A still of the first step: the interactive player shows in a trusted notebook "
                   "(JupyterLab: File > Trust Notebook, or run the cell) or as a page: .save('backprop.html').")

    def first_frame_png(self) -> bytes:
        """A PNG of the player's picture before the first step (what a static viewer can show)."""
        return pipe(self.layout.drawing.graph.source, "png")

    def _repr_html_(self) -> str:
        # an iframe keeps the page's ids, styles and keys apart from the notebook's. JupyterLab's
        # sanitizer removes iframes and scripts from an untrusted notebook's HTML but keeps
        # <img> with a data: URI, so the still below stays; where scripts run, they remove it.
        still = f"tracegrad-still-{secrets.token_hex(6)}"
        png = base64.b64encode(self.first_frame_png()).decode("ascii")
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" style="width:100%;'
                'height:720px;border:1px solid #d1d5db;border-radius:6px" '
                'sandbox="allow-scripts"></iframe>'
                f'<div id="{still}" class="tracegrad-still"><img src="data:image/png;base64,{png}" '
                f'alt="backprop player, first step"><p>{html.escape(self.STATIC_NOTE)}</p></div>'
                f'<script>document.getElementById("{still}").remove()</script>')

    def _repr_mimebundle_(self, include=None, exclude=None, **_) -> dict:
        """HTML (the player, with a still for sanitized views), a PNG still, and a line of text."""
        bundle = {"text/html": self._repr_html_,
                  "image/png": self.first_frame_png,
                  "text/plain": lambda: f"<backprop player: {len(self)} steps> " + self.STATIC_NOTE}
        return {mime: make() for mime, make in bundle.items()
                if (include is None or mime in include) and (exclude is None or mime not in exclude)}


def player(loss_or_recording, forward: bool = False, title: str | None = None, **draw_options) -> Player:
    """A step-by-step backprop player for a scalar `loss` (or a `steps.Recording`).

    forward: record the forward pass first (values computed in order), then backward.
    draw_options: as for `draw` (show_data, max_nodes, fold, params).
    """
    laid_out = layout(loss_or_recording, forward=forward, **draw_options)
    return Player(laid_out, title or "tracegrad: backprop, step by step")


def save_player(loss_or_recording, path, forward: bool = False, **options) -> pathlib.Path:
    """Write the player page for `loss` to `path` (an .html file); returns the path."""
    return player(loss_or_recording, forward=forward, **options).save(path)


def write_atomic(path, data: bytes) -> pathlib.Path:
    """Write bytes under a temporary name beside `path`, then rename: never a half-written file."""
    path = pathlib.Path(path)
    if not path.parent.is_dir():
        raise RenderError(f"Cannot write {str(path)!r}: the folder {str(path.parent)!r} does not exist")
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temporary, "xb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException as error:
        try:
            temporary.unlink()
        except OSError:
            pass
        if isinstance(error, OSError):
            raise RenderError(f"Cannot write {str(path)!r}: {error.strerror or error}") from error
        raise
    return path
