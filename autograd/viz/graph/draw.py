"""Draw a computation graph: value boxes (label | data | grad), small op nodes, left to right.

>>> from autograd import Value
>>> x, w = Value(2.0, label="x"), Value(-3.0, label="w")
>>> y = (x * w).tanh(); y.label = "y"; y.backward()
>>> g = draw(y)          # a render.Digraph: shows inline in Jupyter
>>> 'label' in g.source and "v0" in g.source
True

Node i of `autograd.topological_order(root)` is the Graphviz node `v{i}`; its op,
if any, the separate node `v{i}_op` (edges: parent -> op -> value). Every label is
an HTML-like label built from escaped text, so quotes, braces, `<`, `&` or
`<script>` in a user's label are shown as text and never change the DOT source.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from autograd.engine import topological_order
from autograd.ops import OPS
from autograd.value import Value

from . import fold as _fold
from ..names import node_names, preview
from .fonts import text_width
from .render import Digraph
from .style import (CELL_PAD, EDGE_ATTRS, GRAPH_ATTRS, GROUP_BORDER, GROUP_FILL, KINDS, MONO, MUTED,
                    NAME_SIZE, NODE_ATTRS, NUMBER_SIZE, OP_BORDER, OP_FILL, SMALL_SIZE, esc,
                    legend_label, mono_width)

__all__ = ["draw", "Drawing", "build", "kinds_of", "cell_text", "GraphTooLargeError"]

GraphTooLargeError = _fold.GraphTooLargeError
_TENSOR_HEAD = re.compile(r"^shape \([^)]*\) \S+ · ")


def cell_text(text: str) -> str:
    """A preview for a node box: tensors lose their "shape (..) dtype · " head (the box shows it)."""
    return _TENSOR_HEAD.sub("", text)


def kinds_of(nodes, root: int, params=None) -> list:
    """Kind per node: parameter, input, constant, intermediate or output (see style.KINDS).

    A leaf that requires grad is a parameter when it has a label (or, if `params`
    is given, when it is one of them), else an input.
    """
    wanted = None if params is None else {id(p) for p in params}
    kinds = []
    for i, node in enumerate(nodes):
        if not node.requires_grad:
            kinds.append("constant")
        elif i == root and node.op:
            kinds.append("output")
        elif node.op:
            kinds.append("intermediate")
        elif wanted is not None:
            kinds.append("parameter" if id(node) in wanted else "input")
        else:
            kinds.append("parameter" if node.label else "input")
    return kinds


@dataclass
class Drawing:
    """A built drawing and what the player needs to restyle it."""

    graph: Digraph
    nodes: list
    root: int
    kinds: list
    names: list
    group: list                  # group name per node, None if drawn on its own
    drawn: list                  # Graphviz node id per node: "v3", or "g0" when folded
    has_data: list               # per node: the box has a data cell
    has_grad: list               # per node: the box has a grad cell
    groups: dict = field(default_factory=dict)   # group id -> member node numbers


def draw(root, show_data: bool = True, show_grad: bool = True, forward_only: bool = False,
         max_nodes: int | None | str = _fold.DEFAULT_MAX_NODES, fold="auto", params=None) -> Digraph:
    """The graph that computed `root`, as a `render.Digraph` (`.pipe()`, `.render()`, Jupyter).

    show_data / show_grad: the data and grad cells of each value box.
    forward_only: the forward values only (no grad cells), e.g. before `backward()`.
    max_nodes: cap on Graphviz nodes; over it the graph is folded by label prefix
        (fold="auto") or GraphTooLargeError is raised before Graphviz starts. "auto":
        what the renderer lays out in about a second (1,000 with graphviz-pure, 600 with
        a system dot; see fold.py); None: no cap.
    fold: "auto", True (one box per top-level label prefix such as "L0"), a label
        depth (2: "L0.n3"), or False (never fold).
    params: the Values to style as parameters (default: every labelled leaf that requires grad).
    """
    return build(root, show_data=show_data, show_grad=show_grad and not forward_only,
                 max_nodes=max_nodes, fold=fold, params=params).graph


def build(root, show_data=True, show_grad=True, max_nodes=_fold.DEFAULT_MAX_NODES, fold="auto",
          params=None, texts=None, reserve=None) -> Drawing:
    """Build the drawing of `root` (a Value). For the player:

    texts:   {node: (data text, grad text)} shown instead of the current data/grad;
    reserve: {node: (data chars, grad chars)} cell widths, so any later text of that
             length fits without moving anything.
    """
    if not isinstance(root, Value):
        raise TypeError(f"draw() needs the Value whose graph to draw (e.g. the loss), got "
                        f"{type(root).__name__}")
    nodes = topological_order(root)
    index = {node: i for i, node in enumerate(nodes)}
    r = index[root]
    kinds = kinds_of(nodes, r, params)
    group = _fold.plan(nodes, kinds, r, max_nodes, fold)
    names = node_names(nodes, r)
    group_ids = {g: f"g{k}" for k, g in enumerate(dict.fromkeys(x for x in group if x is not None))}
    drawn = [f"v{i}" if g is None else group_ids[g] for i, g in enumerate(group)]
    has_grad = [show_grad and n.requires_grad for n in nodes]
    has_data = [show_data] * len(nodes)

    graph = Digraph("tracegrad", graph_attr=GRAPH_ATTRS, node_attr=NODE_ATTRS, edge_attr=EDGE_ATTRS)
    graph.node("legend", _legend(kinds, group, show_data, has_grad), shape="plain", id="legend")
    for i, node in enumerate(nodes):
        if group[i] is not None:
            continue
        shown = (texts or {}).get(i) or (_data_text(node), _grad_text(node))
        widths = (reserve or {}).get(i) or (len(shown[0]), len(shown[1]))
        graph.node(f"v{i}", _value_label(node, kinds[i], names[i], shown, widths, has_data[i],
                                         has_grad[i]),
                   shape="plain", id=f"v{i}", **{"class": f"value k_{kinds[i]}"})
        if node.op:
            graph.node(f"v{i}_op", _op_label(node), shape="box", style="rounded,filled",
                       fillcolor=OP_FILL, color=OP_BORDER, fontsize="11", height="0.26",
                       width=_op_width(node), margin="0.05,0.02", id=f"v{i}_op", **{"class": "op"})
            graph.edge(f"v{i}_op", f"v{i}", **{"class": f"o_v{i}"})
    members: dict = {}
    for i, g in enumerate(group):
        if g is not None:
            members.setdefault(group_ids[g], []).append(i)
    for gid, inside in members.items():
        label, width = _group_label(group[inside[0]], [nodes[i] for i in inside],
                                    [kinds[i] for i in inside], show_grad and texts is None)
        graph.node(gid, label, shape="box", style="rounded,filled", fillcolor=GROUP_FILL, color=GROUP_BORDER,
                   margin="0.1,0.05", width=f"{width:.2f}", id=gid, **{"class": "group"})
    _edges(graph, nodes, index, group, drawn)
    return Drawing(graph, nodes, r, kinds, names, group, drawn, has_data, has_grad, members)


def _edges(graph, nodes, index, group, drawn) -> None:
    """parent -> op node; into a folded box directly; one edge per drawn pair when folded."""
    merged: dict = {}
    for i, node in enumerate(nodes):
        for p in node.parents:
            j = index[p]
            if group[i] is not None and group[i] == group[j]:
                continue
            head = drawn[i] if group[i] is not None else f"v{i}_op"
            if group[i] is None and group[j] is None:
                graph.edge(f"v{j}", head, **{"class": f"f_v{j}_v{i}"})
            else:
                merged.setdefault((drawn[j], head), []).append(f"f_v{j}_v{i}")
    for (tail, head), classes in merged.items():
        graph.edge(tail, head, **{"class": " ".join(dict.fromkeys(classes))})


def _data_text(node) -> str:
    return "data " + cell_text(preview(node.data))


def _grad_text(node) -> str:
    return "grad " + cell_text(preview(node.grad))


def _mono(text: str, chars: int, fill: str) -> str:
    """A left-aligned monospace cell `chars` characters wide (the player re-texts it in place)."""
    return (f'<TD ALIGN="LEFT" WIDTH="{mono_width(chars)}" BGCOLOR="{fill}" CELLPADDING="{CELL_PAD}">'
            f'<FONT FACE="{MONO}" POINT-SIZE="{NUMBER_SIZE}">{esc(text)}</FONT></TD>')


def _value_label(node, kind, name, shown, widths, has_data, has_grad) -> str:
    fill, border, _ = KINDS[kind]
    cells = []
    unlabelled_constant = kind == "constant" and not node.label and not node.op
    if not unlabelled_constant or not (has_data or has_grad):
        head = f"<B>{esc(name)}</B>" if node.label else f'<FONT COLOR="{MUTED}">{esc(name)}</FONT>'
        width = text_width(name, NAME_SIZE, bold=bool(node.label))
        if node.ndim:
            shape = f"{tuple(node.shape)} {node.dtype}"
            head += f'<BR/><FONT POINT-SIZE="{SMALL_SIZE}" COLOR="{MUTED}">{esc(shape)}</FONT>'
            width = max(width, text_width(shape, SMALL_SIZE))
        # as wide as DejaVu Sans needs (fonts.py) with the padding, whatever metrics the renderer has
        cells.append(f'<TD BGCOLOR="{fill}" CELLPADDING="{CELL_PAD}" WIDTH="{math.ceil(width) + 2 * CELL_PAD + 2}">{head}</TD>')
    style = ' STYLE="dashed"' if kind == "constant" else ""
    table = f'<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" COLOR="{border}"{style}>'
    if node.ndim and has_data and has_grad:  # tensors: data above grad (long previews, half the width)
        width = max(widths)
        name = cells[0].replace("<TD ", '<TD ROWSPAN="2" ', 1) if cells else ""
        return (f'{table}<TR>{name}{_mono(shown[0], width, fill)}</TR>'
                f'<TR>{_mono(shown[1], width, fill)}</TR></TABLE>>')
    if has_data:
        cells.append(_mono(shown[0], widths[0], fill))
    if has_grad:
        cells.append(_mono(shown[1], widths[1], fill))
    return f'{table}<TR>{"".join(cells)}</TR></TABLE>>'


_OP_SYMBOLS = {"*": "×", "-": "−"}  # as printed, not as typed


def _op_text(node) -> str:
    text = OPS[node.op].describe(node.attrs)
    return _OP_SYMBOLS.get(text, text)


def _op_width(node) -> str:
    """Inches: the op's text in DejaVu Sans and the margins, so no renderer's metrics can move it."""
    text = _op_text(node)
    points = text_width(text, NAME_SIZE + 2, bold=True) if len(text) <= 2 else text_width(text, 11)
    return f"{max(0.3, (points + 2 * 0.05 * 72 + 4) / 72):.3f}"


def _op_label(node) -> str:
    text = _op_text(node)
    if len(text) <= 2:  # a bare symbol (+, ×, @) reads at the size of the names, in bold
        return f'<<B><FONT POINT-SIZE="{NAME_SIZE + 2}">{esc(text)}</FONT></B>>'
    return f'<{esc(text)}>'


def _group_label(name, members, kinds, show_grad) -> str:
    counts: dict = {}
    for node in members:
        key = node.op or "leaf"
        counts[key] = counts.get(key, 0) + 1
    made = ", ".join(f"{n} {op}" for op, n in sorted(counts.items(), key=lambda kv: -kv[1])[:4])
    params = [n for n, k in zip(members, kinds) if k == "parameter"]
    lines = [f"<B>{esc(name)}</B>",
             f'<FONT POINT-SIZE="{SMALL_SIZE}">{len(members)} nodes folded: {esc(made)}</FONT>']
    widths = [text_width(name, NAME_SIZE, bold=True), text_width(f"{len(members)} nodes folded: {made}", SMALL_SIZE)]
    if params:
        numbers = sum(p.size for p in params)
        lines.append(f'<FONT POINT-SIZE="{SMALL_SIZE}">{len(params)} parameters '
                     f'({numbers} numbers)</FONT>')
        widths.append(text_width(f"{len(params)} parameters ({numbers} numbers)", SMALL_SIZE))
        if show_grad:
            biggest = max(float(np.max(np.abs(p.grad))) for p in params)
            lines.append(f'<FONT POINT-SIZE="{SMALL_SIZE}" FACE="{MONO}">max |grad| '
                         f'{esc(preview(biggest))}</FONT>')
            widths.append(0.61 * SMALL_SIZE * len(f"max |grad| {preview(biggest)}"))
    # (label, inches wide): the widest line in DejaVu Sans and the margins
    return "<" + "<BR/>".join(lines) + ">", (max(widths) + 2 * 0.1 * 72 + 4) / 72


def _legend(kinds, group, show_data, has_grad) -> str:
    present = {k for k, g in zip(kinds, group) if g is None}
    return legend_label(present, any(g is not None for g in group), show_data, any(has_grad))

