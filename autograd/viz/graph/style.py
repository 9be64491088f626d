"""How the drawings look: node kinds and their colours, the legend, the step states.

One palette for the static drawing (`draw`), the player and the SVG frames, so a
parameter is the same blue everywhere. The player's step states (current node,
edges carrying gradient, done vs pending) are CSS classes on the SVG elements;
`STATE_CSS` is shared by the player page and the frame files.
"""
from __future__ import annotations

import html
import math
import re

from ..names import readable
from .fonts import text_width

# kind -> (fill, border, what the legend says)
KINDS = {
    "parameter": ("#dbeafe", "#1d4ed8", "parameter: a leaf you train (labelled, requires grad)"),
    "input": ("#fef3c7", "#b45309", "input: a leaf you differentiate by, not a parameter (requires grad)"),
    "constant": ("#f3f4f6", "#9ca3af", "constant: no gradient (requires_grad=False)"),
    "intermediate": ("#ffffff", "#475569", "intermediate: the result of an op"),
    "output": ("#ede9fe", "#6d28d9", "output: the root (the loss)"),
}
OP_FILL, OP_BORDER = "#f1f5f9", "#64748b"
GROUP_FILL, GROUP_BORDER = "#ecfdf5", "#047857"
INK, MUTED = "#111827", "#6b7280"

FONT = "Helvetica"      # in the DOT (graphviz-pure paints PNGs with a sans font for it); every
                        # width is set from DejaVu Sans metrics (fonts.py), and SVGs ask for
                        # DejaVu Sans first (svg.FONT_STACKS)
MONO = "Courier"        # numbers: a fixed advance, so a reserved width holds any text
MONO_EM = 0.62          # advance of a monospace glyph in em (DejaVu Sans Mono: 0.602)
NAME_SIZE, NUMBER_SIZE, SMALL_SIZE = 12, 11, 9
CELL_PAD = 4            # CELLPADDING of the node tables, in points

GRAPH_ATTRS = {"rankdir": "LR", "bgcolor": "white", "nodesep": "0.18", "ranksep": "0.3",
               "fontname": FONT, "pad": "0.15"}
NODE_ATTRS = {"fontname": FONT, "fontsize": str(NAME_SIZE)}
EDGE_ATTRS = {"color": "#94a3b8", "arrowsize": "0.6", "penwidth": "1.1"}

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def esc(text) -> str:
    """Text for an HTML-like Graphviz label (or SVG/XML): markup and control characters made inert."""
    return html.escape(readable(_CONTROL.sub("", str(text))), quote=True).replace("\n", " ")


def mono_width(chars: int) -> int:
    """Points a monospace cell needs for `chars` characters at NUMBER_SIZE, padding included."""
    return int(chars * MONO_EM * NUMBER_SIZE + 2 * CELL_PAD + 3)


def legend_label(kinds_present, folded: bool, show_data: bool, show_grad: bool) -> str:
    """HTML-like label of the legend node: one swatch row per kind drawn (cells as wide as DejaVu needs)."""
    rows = [f'<TR><TD COLSPAN="2" ALIGN="LEFT" WIDTH="{_width("Legend", NAME_SIZE, True)}"><B>Legend</B></TD></TR>']
    for kind in KINDS:
        if kind in kinds_present:
            fill, border, words = KINDS[kind]
            rows.append(_swatch_row(fill, border, words))
    rows.append(_swatch_row(OP_FILL, OP_BORDER, "op: the operation computing the node it points to"))
    if folded:
        rows.append(_swatch_row(GROUP_FILL, GROUP_BORDER, "folded group: many nodes with one label prefix"))
    cells = " · ".join(["data = value"] * show_data + ["grad = dL/d(node)"] * show_grad)
    if cells:
        rows.append(f'<TR><TD COLSPAN="2" ALIGN="LEFT" WIDTH="{_width(cells, SMALL_SIZE) + 18}">'
                    f'<FONT POINT-SIZE="{SMALL_SIZE}" COLOR="{MUTED}">{esc(cells)}</FONT></TD></TR>')
    return ('<<TABLE BORDER="1" COLOR="#cbd5e1" CELLBORDER="0" CELLSPACING="2" CELLPADDING="2" '
            f'BGCOLOR="white">{"".join(rows)}</TABLE>>')


def _swatch_row(fill: str, border: str, words: str) -> str:
    return (f'<TR><TD BGCOLOR="{fill}" COLOR="{border}" BORDER="1" WIDTH="14" HEIGHT="10" '
            f'FIXEDSIZE="TRUE"></TD><TD ALIGN="LEFT" WIDTH="{_width(words, SMALL_SIZE)}">'
            f'<FONT POINT-SIZE="{SMALL_SIZE}">{esc(words)}</FONT></TD></TR>')


def _width(text: str, size: float, bold: bool = False) -> int:
    """Points a cell needs for `text` in DejaVu Sans, its padding (2 + 2) included."""
    return math.ceil(text_width(text, size, bold)) + 5


# Step states, as CSS on the one laid-out SVG. Classes set per frame:
#   node groups  backward: st_pending | st_done | st_current, plus st_recv (gets gradient now)
#                forward:  st_fcurrent (being computed), st_unknown (value not computed yet),
#                          st_known (folded group: all computed)
#   edge groups  hot (carries gradient this step), hotf (carries a value forward)
#   inside value nodes: .gtx grad text, .gbg grad cell background, .dtx data text
STATE_CSS = """
.node.st_pending .gtx { fill: #9ca3af; }
.node.st_pending .gbg { fill: #ffffff; }
.node.st_done .gbg { fill: #dcfce7; }
.node.st_done .gtx { fill: #166534; font-weight: bold; }
.node.st_recv .gbg { fill: #fef08a; }
.node.st_recv .gtx { fill: #854d0e; font-weight: bold; }
.node.st_current .gbg { fill: #fed7aa; }
.node.st_current .gtx { fill: #9a3412; font-weight: bold; }
.node.st_current polygon, .node.st_current ellipse, .node.st_current path {
  stroke: #ea580c; stroke-width: 2.5px; }
.node.st_current { filter: drop-shadow(0 0 5px rgba(234, 88, 12, 0.9)); }
.node.st_recv polygon, .node.st_recv ellipse, .node.st_recv path { stroke: #ca8a04; stroke-width: 2px; }
.node.st_unknown .dtx { fill: #9ca3af; }
.node.st_fcurrent polygon, .node.st_fcurrent ellipse, .node.st_fcurrent path {
  stroke: #2563eb; stroke-width: 2.5px; }
.node.st_fcurrent { filter: drop-shadow(0 0 5px rgba(37, 99, 235, 0.9)); }
.node.st_fcurrent .dbg { fill: #bfdbfe; }
.node.st_fcurrent .dtx { font-weight: bold; }
.node.group.st_unknown > path { fill: #f8fafc; }
.node.group.st_done > path { fill: #dcfce7; }
.node.group.st_recv > path { fill: #fef08a; }
.node.group.st_current > path { fill: #fed7aa; }
.edge.hot path, .edge.hotf path { stroke: #dc2626; stroke-width: 2.6px; stroke-dasharray: 7 4; }
.edge.hot polygon, .edge.hotf polygon { stroke: #dc2626; fill: #dc2626; }
.edge.hotf path { stroke: #2563eb; }
.edge.hotf polygon { stroke: #2563eb; fill: #2563eb; }
"""
# Only in the player (moving dashes): gradient flows against the arrows, values along them.
ANIMATION_CSS = """
.edge.hot path { animation: tg-back 0.7s linear infinite; }
.edge.hotf path { animation: tg-fwd 0.7s linear infinite; }
@keyframes tg-back { to { stroke-dashoffset: 22; } }
@keyframes tg-fwd { to { stroke-dashoffset: -22; } }
"""
