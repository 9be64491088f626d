"""Frames of a recording on request: one SVG per step, or an animated GIF.

Every frame restyles the ONE laid-out SVG of `player.layout` (classes and texts, as
the player page does), so a node has the same coordinates in every frame. The GIF
paints the same per-step states over one PNG of that layout with pillow.

`frame_state` is the Python twin of the page script's `frameState`; the browser
test checks that both agree on every frame.
"""
from __future__ import annotations

import os
import pathlib
import secrets

from .page import Layout, layout
from ..graph.render import RenderError
from ..graph.style import STATE_CSS
from ..graph.svg import restyle

__all__ = ["frame_state", "frame_svgs", "save_frames", "save_gif"]


def frame_state(data: dict, k: int) -> dict:
    """The frame after `k` steps (k=0: the start), as the page script computes it:

    {"cls": {drawn id: [state classes]}, "texts": {text id: text}, "hot": {edge class: "hot"|"hotf"}}
    """
    steps, n_steps = data["steps"], len(data["steps"])
    fwd, bwd, last = {}, {}, {}
    for i, s in enumerate(steps):
        (fwd if s["kind"] == "forward" else bwd)[s["node"]] = i
        for key in s["grads"]:
            last[key] = i
    grads = {}
    for s in steps[:k]:
        grads.update(s["grads"])
    cur = steps[k - 1] if k > 0 else None
    phase = cur["kind"] if cur else (steps[0]["kind"] if steps else "backward")
    # the done frame: every gradient is final, nothing is still receiving
    recv = set(cur["grads"]) - {cur["node"]} if cur and cur["kind"] == "backward" and k < n_steps else set()
    cls, texts, done = {}, {}, {}
    for n in data["nodes"]:
        i, c = n["id"], []
        known = i not in fwd or phase == "backward" or fwd[i] < k
        if phase == "forward":  # values arrive; every gradient is still to come
            is_done = known
            if n["requires_grad"]:
                c.append("st_pending")
            if cur and cur["node"] == i:
                c.append("st_fcurrent")
            if not known:
                c.append("st_unknown")
        elif n["requires_grad"]:
            if i in bwd:
                is_done = bwd[i] <= k - 1  # the current node's grad is final too
            elif i in last:
                is_done = last[i] <= k - 1
            else:
                is_done = k == n_steps
            c.append("st_current" if cur and cur["node"] == i else "st_done" if is_done else "st_pending")
            if i in recv:
                c.append("st_recv")
        else:
            is_done = True
        done[i], cls[i] = is_done, c
        if n["box_data"]:
            texts[i + "_d"] = n["data_box"] if known else "data ?"
        if n["box_grad"]:
            texts[i + "_g"] = "grad " + grads.get(i, "·")
    for gid, group in data["groups"].items():
        members = group["members"]
        current = cur is not None and cur["node"] in members
        complete = all(done[m] for m in members)
        if phase == "forward":
            c = ["st_fcurrent" if current else "st_known" if complete else "st_unknown"]
        else:
            c = ["st_current" if current else "st_done" if complete else "st_pending"]
            if any(m in recv for m in members):
                c.append("st_recv")
        cls[gid] = c
    hot = {}
    if cur:
        mark = "hotf" if cur["kind"] == "forward" else "hot"
        hot = {f"f_{a}_{b}": mark for a, b in cur["edges"]}
        hot["o_" + cur["node"]] = mark
        node = next(n for n in data["nodes"] if n["id"] == cur["node"])
        if node["op"] and node["drawn"] == node["id"]:
            cls[node["id"] + "_op"] = ["st_fcurrent" if mark == "hotf" else "st_current"]
    return {"cls": cls, "texts": texts, "hot": hot}


def frame_svgs(laid_out: Layout, captions: bool = True) -> list:
    """One SVG text per step (frame k shows the state after step k), same coordinates in all."""
    data = laid_out.data
    frames = []
    for k in range(1, len(data["steps"]) + 1):
        state = frame_state(data, k)
        caption = ""
        if captions:
            step = data["steps"][k - 1]
            caption = f"step {k} of {len(data['steps'])} ({step['kind']})\n{step['text']}"
        frames.append(restyle(laid_out.svg, {i: " ".join(c) for i, c in state["cls"].items()},
                              state["texts"], state["hot"], STATE_CSS, caption))
    return frames


def _laid_out(source, forward, draw_options) -> Layout:
    return source if isinstance(source, Layout) else layout(source, forward=forward, **draw_options)


def save_frames(recording, folder, format: str = "svg", forward: bool = False, captions: bool = True,
                **draw_options) -> list:
    """Write `step_001.svg`, `step_002.svg`, ... (one per step) into `folder`; return the paths.

    `recording`: a Recording or a scalar loss. The folder is created if missing. All
    frames are made in memory first and written under temporary names, then renamed:
    on any error no frame file is left behind.
    """
    if format != "svg":
        raise ValueError(f"save_frames writes svg frames, not {format!r}; for an animation use save_gif()")
    laid_out = _laid_out(recording, forward, draw_options)
    frames = frame_svgs(laid_out, captions)
    folder = pathlib.Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RenderError(f"Cannot create the folder {str(folder)!r}: {error.strerror or error}") from error
    width = max(3, len(str(len(frames))))
    named = {folder / f"step_{k:0{width}d}.svg": text.encode("utf-8") for k, text in enumerate(frames, 1)}
    return _write_all(named)


def _write_all(named: dict) -> list:
    """Write every file or none: temporaries first, then renames; clean up on failure."""
    token = secrets.token_hex(4)
    temporaries, renamed = [], []
    try:
        for path, data in named.items():
            temporary = path.with_name(f".{path.name}.{token}.tmp")
            with open(temporary, "xb") as file:
                temporaries.append(temporary)
                file.write(data)
        for temporary, path in zip(temporaries, named):
            os.replace(temporary, path)
            renamed.append(path)
    except BaseException as error:
        for leftover in temporaries + renamed:
            try:
                leftover.unlink()
            except OSError:
                pass
        if isinstance(error, OSError):
            raise RenderError(f"Cannot write the frames into {str(next(iter(named)).parent)!r}: "
                              f"{error.strerror or error}; no frame was left behind") from error
        raise
    return list(named)


def save_gif(recording, path, forward: bool = False, ms_per_frame: int = 900, **draw_options):
    """An animated GIF of every step (pillow), all frames on one layout; returns the path.

    At most 1600 pixels wide; a graph too big to read at that width raises RenderError
    (use save_player or save_frames for it) before anything is rendered or written.
    """
    from .gif import gif_bytes  # pillow is optional: imported only here

    laid_out = _laid_out(recording, forward, draw_options)
    data = gif_bytes(laid_out, ms_per_frame)
    from .page import write_atomic

    return write_atomic(path, data)
