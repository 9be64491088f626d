"""Edit the one laid-out SVG: mark the cells the player re-texts, restyle it per frame, read positions.

Graphviz writes every node as `<g id="v3" class="node ...">` (the ids and classes
`draw.build` gave it) holding, per table cell, a fill polygon, a border polygon and
a `<text>`. The cells of a value box are name | data | grad, so the grad text is the
node's last text and the data text the one before. `annotate` gives those texts
(and the grad cell's fill) ids and classes once; after that a frame is only class
changes and new text, never a new layout.
"""
from __future__ import annotations

import re

from .style import STATE_CSS, esc

_PROLOG = re.compile(r"^.*?(?=<svg[\s>])", re.S)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_NODE = re.compile(r'<g id="([^"]+)" class="node([^"]*)">(.*?)</g>', re.S)
_EDGE = re.compile(r'<g id="(edge\d+)" class="edge([^"]*)">')
_TEXT = re.compile(r"<text (?![^>]*\bid=)")
_FILLED = re.compile(r'<polygon fill="(?!none")')
_TITLE = re.compile(r"<title>[^<]*</title>")
_POINT = re.compile(r"(-?[\d.]+),(-?[\d.]+)")
_NUMBERS = re.compile(r'\b(x|y|cx|cy|rx|ry)="(-?[\d.]+)"')
_SHAPE = re.compile(r'\b(?:points|d)="([^"]+)"')
_ELLIPSE = re.compile(r'<ellipse[^>]*cx="(-?[\d.]+)" cy="(-?[\d.]+)" rx="([\d.]+)" ry="([\d.]+)"')


_CELL_ITEM = re.compile(r'<polygon fill="[^"]*" stroke="[^"]*" points="([^"]+)"/>|(<text [^>]*\by=")(-?[\d.]+)("[^>]*>)')
_SIZE = re.compile(r'font-size="([\d.]+)"')
# what the SVG says -> the families a viewer should try, in order (see fonts.py)
FONT_STACKS = {'font-family="Helvetica,sans-Serif"': 'font-family="DejaVu Sans,Helvetica,Arial,sans-serif"',
               'font-family="DejaVu Sans"': 'font-family="DejaVu Sans,Helvetica,Arial,sans-serif"',
               'font-family="Courier,monospace"':
               'font-family="DejaVu Sans Mono,Liberation Mono,Courier New,Courier,monospace"'}
CAP_HEIGHT = 0.365  # half the height of a capital or digit in DejaVu Sans, in em


def tidy(svg: str) -> str:
    """The texts of value boxes placed for the font the viewer draws with: a name centred across
    its cell, a text alone in its cell centred on the cell's middle by its capitals (so a bold
    name and the monospace numbers beside it share one baseline); the picture widened where a
    DejaVu text would run past its edge; font families given with their fallbacks."""
    def node(match):
        body = match.group(3)
        if "value" not in match.group(2).split():  # value boxes only (not the legend, not a group)
            return match.group(0)
        cell, texts = None, {}
        for item in _CELL_ITEM.finditer(body):
            if item.group(1):
                cell = item.group(1)
            elif cell is not None:
                texts.setdefault(cell, []).append(item)
        edits = {}  # start of a text tag's attributes -> (end, new attributes)
        for cell, items in texts.items():
            points = [tuple(map(float, p)) for p in _POINT.findall(cell)]
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            for item in items:
                attrs = item.group(2) + item.group(3) + item.group(4)
                if "Courier" not in attrs:  # a name: centred across the cell, whatever its width
                    attrs = re.sub(r'\bx="-?[\d.]+"', f'x="{(min(xs) + max(xs)) / 2:.2f}"', attrs)
                    attrs = attrs.replace('text-anchor="start"', 'text-anchor="middle"')
                size = _SIZE.search(attrs)
                if len(items) == 1 and size:
                    y = (min(ys) + max(ys)) / 2 + CAP_HEIGHT * float(size.group(1))
                    attrs = re.sub(r'\by="-?[\d.]+"', f'y="{y:.2f}"', attrs)
                edits[item.start(2)] = (item.end(4), attrs)
        pieces, last = [], 0
        for start in sorted(edits):
            end, attrs = edits[start]
            pieces += [body[last:start], attrs]
            last = end
        pieces.append(body[last:])
        head = match.group(0)[: match.start(3) - match.start(0)]
        return head + "".join(pieces) + "</g>"

    svg = _fit_texts(_NODE.sub(node, svg))
    for plain, stack in FONT_STACKS.items():
        svg = svg.replace(plain, stack)
    return svg


_TRANSLATE = re.compile(r'<g id="graph0" class="graph" transform="[^"]*translate\((-?[\d.]+) (-?[\d.]+)\)"')
_ANY_TEXT = re.compile(r'<text ([^>]*)>([^<]*)</text>')
_VIEWBOX = re.compile(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"\s+viewBox="(-?[\d.]+) (-?[\d.]+) ([\d.]+) ([\d.]+)"')


def _fit_texts(svg: str) -> str:
    """Widen the picture where a text drawn in DejaVu Sans would run past its edge (a caption
    measured with a renderer's narrower metrics): nothing moves, the view grows."""
    from html import unescape

    from .fonts import MONO_ADVANCE, text_width

    box, shift = _VIEWBOX.search(svg), _TRANSLATE.search(svg)
    if not box or not shift:
        return svg
    tx = float(shift.group(1))
    x0, width = float(box.group(3)), float(box.group(5))
    low, high = x0, x0 + width
    for attrs, content in _ANY_TEXT.findall(svg):
        x, size = re.search(r'\bx="(-?[\d.]+)"', attrs), _SIZE.search(attrs)
        if not x or not size:
            continue
        text, points = unescape(content), float(size.group(1))
        if "Courier" in attrs:
            w = len(text) * MONO_ADVANCE * points / 1000
        else:
            w = text_width(text, points, bold='font-weight="bold"' in attrs)
        anchor = re.search(r'text-anchor="(\w+)"', attrs)
        left = float(x.group(1)) + tx - {"middle": w / 2, "end": w}.get(anchor.group(1) if anchor else "", 0)
        low, high = min(low, left - 2), max(high, left + w + 2)
    if low >= x0 and high <= x0 + width:
        return svg
    scale = float(box.group(1)) / width if width else 1.0
    new_width = high - low
    head = (f'<svg width="{new_width * scale:.2f}pt" height="{box.group(2)}pt"\n viewBox="{low:.2f} '
            f'{box.group(4)} {new_width:.2f} {box.group(6)}"')
    return svg[:box.start()] + head + svg[box.end():]


def annotate(svg: str, drawing) -> str:
    """The SVG without XML prolog/comments, with `id="v3_g" class="gtx"` on grad texts,
    `id="v3_d" class="dtx"` on data texts, `id="v3_gbg" class="gbg"` / `"v3_dbg" class="dbg"` on
    their cells' fills, and node names as titles."""
    svg = _COMMENT.sub("", _PROLOG.sub("", svg, count=1))
    index = {f"v{i}": i for i in range(len(drawing.nodes))}
    group_names = {gid: drawing.group[members[0]] for gid, members in drawing.groups.items()}

    def one(match):
        node_id, classes, body = match.groups()
        if node_id in group_names:
            return _retitle(match.group(0), group_names[node_id])
        i = index.get(node_id)
        if i is None:
            return match.group(0)
        starts = [m.start() for m in _TEXT.finditer(body)]
        marks = {}
        if drawing.has_grad[i] and starts:
            marks[starts.pop()] = f'<text id="{node_id}_g" class="gtx" '
        if drawing.has_data[i] and starts:
            marks[starts.pop()] = f'<text id="{node_id}_d" class="dtx" '
        fills = [m.start() for m in _FILLED.finditer(body)]
        for at, mark in list(marks.items()):  # the cell's fill is the last one before its text
            before = [f for f in fills if f < at]
            if before:
                cell = "g" if "gtx" in mark else "d"
                marks[before[-1]] = f'<polygon id="{node_id}_{cell}bg" class="{cell}bg" '
        pieces, last = [], 0
        for at in sorted(marks):
            pieces.append(body[last:at])
            pieces.append(marks[at])
            last = at + len("<text ") if marks[at].startswith("<text") else at + len("<polygon ")
        pieces.append(body[last:])
        head = f'<g id="{node_id}" class="node{classes}">'
        return _retitle(head + "".join(pieces) + "</g>", drawing.names[i])

    return _NODE.sub(one, svg)


def _retitle(group: str, name: str) -> str:
    return _TITLE.sub(lambda _: f"<title>{esc(name)}</title>", group, count=1)


def restyle(svg: str, node_classes: dict, texts: dict, hot: dict, css: str = STATE_CSS,
            caption: str = "") -> str:
    """One frame from an annotated SVG: extra classes per node id, new text per text id
    ("v3_g"), edge classes -> extra class ("f_v1_v3" -> "hot"), a stylesheet, a caption."""
    def node(match):
        node_id, classes, body = match.groups()
        extra = node_classes.get(node_id)
        if extra:
            classes = f"{classes} {extra}"
        if texts:
            body = re.sub(r'(<text id="([^"]+)"[^>]*>)([^<]*)(</text>)',
                          lambda m: m.group(1) + (esc(texts[m.group(2)]) if m.group(2) in texts
                                                  else m.group(3)) + m.group(4), body)
        return f'<g id="{node_id}" class="node{classes}">{body}</g>'

    def edge(match):
        edge_id, classes = match.groups()
        extra = {hot[c] for c in classes.split() if c in hot}
        return f'<g id="{edge_id}" class="edge{classes}{"".join(" " + e for e in sorted(extra))}">'

    svg = _EDGE.sub(edge, _NODE.sub(node, svg))
    svg = re.sub(r"(<svg[^>]*>)", lambda m: m.group(1) + f"\n<style>{css}</style>", svg, count=1)
    return _add_caption(svg, caption) if caption else svg


def _add_caption(svg: str, caption: str) -> str:
    """Lines of text below the picture (the viewBox grows; nothing in the graph moves)."""
    box = re.search(r'viewBox="([\d.\-]+) ([\d.\-]+) ([\d.]+) ([\d.]+)"', svg)
    x0, y0, width, height = (float(v) for v in box.groups())
    lines = caption.splitlines() or [""]
    line_height, size = 16, 12
    extra = 12 + line_height * len(lines)
    new_width = max(width, 20 + size * 0.62 * max(len(line) for line in lines))
    svg = svg.replace(box.group(0), f'viewBox="{x0:g} {y0:g} {new_width:.2f} {height + extra:.2f}"', 1)
    svg = re.sub(r'<svg([^>]*?) width="[\d.]+pt" height="[\d.]+pt"',
                 lambda m: f'<svg{m.group(1)} width="{new_width:.2f}pt" height="{height + extra:.2f}pt"',
                 svg, count=1)
    texts = "".join(
        f'<text x="{x0 + 10:g}" y="{y0 + height + 4 + line_height * (k + 1):.2f}" '
        f'font-family="Courier,monospace" font-size="{size}" fill="#111827" '
        f'xml:space="preserve">{esc(line)}</text>' for k, line in enumerate(lines))
    block = (f'<g id="caption"><rect x="{x0:g}" y="{y0 + height:.2f}" width="{new_width:.2f}" '
             f'height="{extra:.2f}" fill="#f8fafc"/>{texts}</g>')
    return svg.replace("</svg>", block + "\n</svg>")


def node_geometry(svg: str) -> dict:
    """{node id: every coordinate of its shapes and texts, in order}: equal across frames iff nothing moved."""
    out = {}
    for node_id, _, body in _NODE.findall(svg):
        coords = [tuple(map(float, p)) for shape in _SHAPE.findall(body) for p in _POINT.findall(shape)]
        coords += [(k, float(v)) for k, v in _NUMBERS.findall(body)]
        out[node_id] = tuple(coords)
    return out


def node_boxes(svg: str) -> dict:
    """{node id: (left, top, right, bottom)} in the graph's coordinates (before its translate)."""
    boxes = {}
    for node_id, _, body in _NODE.findall(svg):
        points = [tuple(map(float, p)) for shape in _SHAPE.findall(body) for p in _POINT.findall(shape)]
        for cx, cy, rx, ry in _ELLIPSE.findall(body):
            cx, cy, rx, ry = map(float, (cx, cy, rx, ry))
            points += [(cx - rx, cy - ry), (cx + rx, cy + ry)]
        if points:
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            boxes[node_id] = (min(xs), min(ys), max(xs), max(ys))
    return boxes


def edge_paths(svg: str) -> dict:
    """{edge class: [list of (x, y) points along each drawn edge]} (Bezier control points sampled)."""
    out: dict = {}
    for classes, body in re.findall(r'<g id="edge\d+" class="edge([^"]*)">(.*?)</g>', svg, re.S):
        for d in re.findall(r'<path[^>]* d="([^"]+)"', body):
            points = _bezier([tuple(map(float, p)) for p in _POINT.findall(d)])
            for c in classes.split():
                out.setdefault(c, []).append(points)
    return out


def _bezier(control: list, samples: int = 8) -> list:
    """Points along Graphviz's cubic Bezier chain p0 (c1 c2 p)*."""
    if len(control) < 4:
        return control
    points = [control[0]]
    for k in range(1, len(control) - 2, 3):
        p0, p1, p2, p3 = control[k - 1], control[k], control[k + 1], control[k + 2]
        for s in range(1, samples + 1):
            t = s / samples
            u = 1 - t
            points.append(tuple(u ** 3 * a + 3 * u * u * t * b + 3 * u * t * t * c + t ** 3 * d
                                for a, b, c, d in zip(p0, p1, p2, p3)))
    return points
