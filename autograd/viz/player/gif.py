"""An animated GIF of a recording: one PNG of the single layout, each step painted over it.

Graphviz draws the PNG once (graphviz-pure and a system `dot` both write PNG), with
the same DOT source as the player's SVG, so both have the same layout. The SVG
tells where each grad cell, node and edge is; pillow repaints just those per frame
(grad texts, state colours, edges carrying gradient) and adds the step's text
below. Nothing is laid out twice and no node moves between frames.

The PNG's resolution is chosen from the SVG's size before it is rendered: at most
1600 pixels wide (Graphviz's -Gdpi), and a graph that would be too small to read at
that width is refused with a RenderError that points to the HTML player and the
SVG frames, which scale without losing detail.
"""
from __future__ import annotations

import html
import io
import os
import re
import textwrap

from .frames import frame_state
from ..graph.render import RenderError, pipe
from ..graph.svg import _POINT, edge_paths, node_boxes

# the state colours of style.STATE_CSS, as pillow fills: (cell background, text)
_CELL = {"st_current": ("#fed7aa", "#9a3412"), "st_recv": ("#fef08a", "#854d0e"),
         "st_done": ("#dcfce7", "#166534"), "st_pending": ("#ffffff", "#9ca3af")}
_INK = "#111827"
_OUTLINE = {"st_current": ("#ea580c", 3), "st_fcurrent": ("#2563eb", 3), "st_recv": ("#ca8a04", 2)}
_FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
          "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf",
          "/System/Library/Fonts/Menlo.ttc", "C:/Windows/Fonts/consola.ttf")


def _pillow():
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError as error:
        raise RenderError("save_gif needs pillow to assemble the frames: pip install 'tracegrad[gif]' "
                          "(or use save_frames() for SVG frames, or the HTML player)") from error
    return Image, ImageDraw, ImageFont


def _font(ImageFont, size: int):
    paths = list(_FONTS)
    try:
        import matplotlib
        paths.append(os.path.join(os.path.dirname(matplotlib.__file__), "mpl-data", "fonts", "ttf",
                                  "DejaVuSansMono.ttf"))
    except ImportError:
        pass
    for path in paths:
        if os.path.exists(path):
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


def _cells(svg: str) -> dict:
    """{text id: (cell rectangle, text start (x, baseline), fill, text)} in SVG units."""
    cells = {}
    for cell_id, fill, points in re.findall(r'<polygon id="([^"]+)bg" class="[gd]bg" fill="([^"]+)"[^>]*'
                                            r'points="([^"]+)"', svg):
        xy = [tuple(map(float, p)) for p in _POINT.findall(points)]
        text = re.search(rf'<text id="{cell_id}" [^>]*x="(-?[\d.]+)" y="(-?[\d.]+)"[^>]*>([^<]*)<', svg)
        if text:
            rect = (min(p[0] for p in xy), min(p[1] for p in xy), max(p[0] for p in xy), max(p[1] for p in xy))
            cells[cell_id] = (rect, (float(text.group(1)), float(text.group(2))), fill,
                              html.unescape(text.group(3)))
    return cells


PNG_DPI = 96              # Graphviz's PNG resolution: 96/72 pixels per point
MIN_PIXELS_PER_PT = 0.45  # below this a 12 pt label is under 5.4 px high: no longer legible
MIN_CELL_PX = 4           # cells smaller than this are left as Graphviz drew them


def _size_pt(svg: str) -> tuple[float, float]:
    """(width, height) of a Graphviz SVG in points."""
    size = re.search(r'<svg[^>]* width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    return float(size.group(1)), float(size.group(2))


def png_scale(svg: str, max_width: int = 1600, max_height: int = 6400) -> float:
    """Pixels per point for the GIF's PNG, from the laid-out SVG's size (nothing rendered).

    Graphviz's own 96 dpi, or less so that the picture is at most `max_width` x
    `max_height` pixels. A graph that would have to be drawn at under
    MIN_PIXELS_PER_PT to fit is refused with a RenderError naming what to use instead.
    """
    width_pt, height_pt = _size_pt(svg)
    scale = min(PNG_DPI / 72, max_width / max(width_pt, 1.0), max_height / max(height_pt, 1.0))
    if scale < MIN_PIXELS_PER_PT:
        raise RenderError(
            f"This graph is {width_pt:.0f} x {height_pt:.0f} pt: a GIF at most {max_width} x "
            f"{max_height} pixels would draw it at {scale:.2f} pixels per point, too small to read. "
            "Use the HTML player (save_player, or player(...).save), which zooms, or SVG frames "
            "(save_frames), which scale without losing detail; or record a smaller graph "
            "(fold it, or draw a sub-graph).")
    return scale


def gif_bytes(laid_out, ms_per_frame: int = 900, max_width: int = 1600,
              max_pixels: int = 400_000_000, max_height: int = 6400) -> bytes:
    """The GIF: a start frame, then one frame per step, all on the one layout.

    The PNG is rendered at a resolution that keeps it within `max_width` x `max_height`
    pixels (decided from the layout's size before anything is rendered); a graph too
    big to stay legible at that size, or a GIF needing more than `max_pixels` pixels
    in all (pillow holds every frame), is refused up front with a RenderError.
    """
    Image, ImageDraw, ImageFont = _pillow()
    frames_needed = len(laid_out.data["steps"]) + 1
    svg = laid_out.svg
    target = png_scale(svg, max_width, max_height)
    width_pt, height_pt = _size_pt(svg)
    estimate = (round(width_pt * target), round(height_pt * target))
    if estimate[0] * estimate[1] * frames_needed > max_pixels:
        raise _too_many_pixels(frames_needed, *estimate, max_pixels)
    dpi = {} if target >= PNG_DPI / 72 else {"dpi": f"{72 * target:.3f}"}
    base = Image.open(io.BytesIO(pipe(laid_out.drawing.graph.source, "png",
                                      graph_attributes=dpi))).convert("RGB")
    tx, ty = map(float, re.search(r'translate\((-?[\d.]+) (-?[\d.]+)\)', svg).groups())
    scale = base.width / width_pt
    if base.width > max_width:  # a renderer that rounds up: never wider than asked
        shrink = max_width / base.width
        base = base.resize((max_width, max(1, round(base.height * shrink))), Image.LANCZOS)
        scale *= shrink
    if base.width * base.height * frames_needed > max_pixels:
        raise _too_many_pixels(frames_needed, base.width, base.height, max_pixels)

    def px(point):
        return ((point[0] + tx) * scale, (point[1] + ty) * scale)

    def box(rect, margin=0):
        (a, b), (c, d) = px(rect[:2]), px(rect[2:])
        return (max(0, int(a) - margin), max(0, int(b) - margin),
                min(base.width, int(c + 1) + margin), min(base.height, int(d + 1) + margin))

    laid_out_cells = _cells(svg)
    cells = {i: (box(rect), px(start), fill) for i, (rect, start, fill, _) in laid_out_cells.items()}
    # too small to repaint legibly (or at all): such a cell keeps Graphviz's own pixels
    cells = {i: c for i, c in cells.items()
             if c[0][2] - c[0][0] >= MIN_CELL_PX and c[0][3] - c[0][1] >= MIN_CELL_PX}
    # what the PNG already shows in each cell: the layout's text, ink and fill
    as_laid_out = {i: (text, fill, _INK) for i, (_, _, fill, text) in laid_out_cells.items()}
    boxes, paths = node_boxes(svg), edge_paths(svg)
    font = _font(ImageFont, max(5.0, 11 * scale * 0.96))  # a little under Graphviz's width estimate
    caption_font = _font(ImageFont, 16)
    wrap = max(20, int((base.width - 20) / caption_font.getlength("M")))
    data = laid_out.data
    captions = ["start: every gradient is 0 (shown ·)"] + [
        f"step {k} of {len(data['steps'])} ({s['kind']})\n{s['text']}" for k, s in enumerate(data["steps"], 1)]
    wrapped = ["\n".join(textwrap.fill(line, wrap) for line in c.splitlines()) for c in captions]
    line_h = round(caption_font.size * 1.35)
    extra = 16 + line_h * max(c.count("\n") + 1 for c in wrapped)
    canvas = Image.new("RGB", (base.width, base.height + extra), "#f8fafc")
    canvas.paste(base, (0, 0))
    draw = ImageDraw.Draw(canvas)
    palette = _palette(Image, base)
    painted = dict(as_laid_out)  # cell id -> (text, background, ink) on the canvas now
    transient: list = []   # regions holding last frame's outlines and red edges
    frames = []
    for k, caption in enumerate(wrapped):
        # Only what changed is repainted: last frame's outlines and edges are wiped back
        # to the base picture, then every cell whose look differs (or was wiped) is redrawn.
        for region in transient:
            canvas.paste(base.crop(region), region[:2])
            for cell_id, (cell, _, _) in cells.items():
                if _overlap(cell, region) and painted.get(cell_id) != as_laid_out[cell_id]:
                    painted[cell_id] = None  # part base, part repaint: draw it again
        transient = []
        state = frame_state(data, k)
        for cell_id, text in state["texts"].items():
            if cell_id not in cells:
                continue
            look = _look(cell_id, text, state["cls"].get(cell_id[:-2], []), cells[cell_id][2])
            if painted.get(cell_id) != look:
                cell, start, _ = cells[cell_id]
                if look == as_laid_out[cell_id]:  # Graphviz's own pixels
                    canvas.paste(base.crop(cell), cell[:2])
                else:
                    draw.rectangle((cell[0] + 1, cell[1] + 1, cell[2] - 2, cell[3] - 2), fill=look[1])
                    draw.text(start, text, font=font, fill=look[2], anchor="ls")
                painted[cell_id] = look
        width = max(2, round(2.5 * scale))
        for edge_class, mark in state["hot"].items():
            for points in paths.get(edge_class, []):
                xy = [px(p) for p in points]
                draw.line(xy, fill="#dc2626" if mark == "hot" else "#2563eb", width=width)
                transient.append(_bounds(xy, width + 2, base))
        for node_id, classes in state["cls"].items():
            outline = next((_OUTLINE[c] for c in ("st_current", "st_fcurrent", "st_recv") if c in classes),
                           None)
            if outline and node_id in boxes:
                a, b, c, d = box(boxes[node_id])
                draw.rectangle((a - 2, b - 2, c + 1, d + 1), outline=outline[0], width=outline[1])
                transient.append((max(0, a - 4), max(0, b - 4),
                                  min(base.width, c + 4), min(base.height, d + 4)))
        draw.rectangle((0, base.height, base.width, base.height + extra), fill="#f8fafc")
        draw.multiline_text((10, base.height + 10), caption, font=caption_font, fill="#111827",
                            spacing=line_h - caption_font.size)
        frames.append(canvas.quantize(palette=palette, dither=Image.Dither.NONE))
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=ms_per_frame,
                   loop=0, optimize=False)
    return out.getvalue()


def _too_many_pixels(frames: int, width: int, height: int, max_pixels: int) -> RenderError:
    return RenderError(
        f"A GIF of {frames} frames of {width}x{height} pixels is too big to assemble (over "
        f"{max_pixels:,} pixels). Use the HTML player (save_player) or SVG frames (save_frames) "
        "for a graph this size, or record a smaller graph.")


def _look(cell_id: str, text: str, classes: list, fill: str) -> tuple:
    """(text, background, ink) of a cell in this frame, after style.STATE_CSS."""
    background, ink = fill, _INK
    if cell_id.endswith("_g"):
        state = next((c for c in ("st_current", "st_recv", "st_done", "st_pending") if c in classes), None)
        if state:
            background, ink = _CELL[state]
    elif "st_fcurrent" in classes:
        background = "#bfdbfe"
    elif "st_unknown" in classes:
        ink = "#9ca3af"
    return text, background, ink


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _bounds(points, margin, base) -> tuple:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return (max(0, int(min(xs)) - margin), max(0, int(min(ys)) - margin),
            min(base.width, int(max(xs)) + margin + 1), min(base.height, int(max(ys)) + margin + 1))


def _palette(Image, base):
    """One palette for every frame: the picture's own colours plus the state colours."""
    colours = {c for pair in _CELL.values() for c in pair} | {c for c, _ in _OUTLINE.values()}
    colours |= {"#dc2626", "#2563eb", "#bfdbfe", "#111827", "#9ca3af", "#f8fafc"}
    swatch = Image.new("RGB", (len(colours), 1))
    for i, colour in enumerate(sorted(colours)):
        swatch.putpixel((i, 0), tuple(int(colour[j:j + 2], 16) for j in (1, 3, 5)))
    sample = Image.new("RGB", (base.width, base.height + 8), "white")
    sample.paste(base, (0, 0))
    for i in range(0, base.width, len(colours)):  # the state colours weigh in the choice
        sample.paste(swatch.resize((len(colours), 8)), (i, base.height))
    return sample.quantize(colors=256, dither=Image.Dither.NONE)
