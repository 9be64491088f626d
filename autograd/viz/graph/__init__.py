"""Graph drawing: a Value's graph as a graphviz diagram with data and gradient on every node.

    draw.py    nodes and edges (`draw`, `build`), read from public node attributes
    fold.py    folding big graphs into groups by label prefix
    style.py   colours, kinds of node, fonts, the legend
    fonts.py   the DejaVu Sans metrics the cells are sized with
    render.py  running `dot` (system Graphviz) or graphviz-pure to SVG/PNG
    svg.py     tidying (centred cell texts, font fallbacks), annotating and reading the SVG
"""
from . import render
from .draw import GraphTooLargeError, draw
from .render import Digraph, RenderError, pipe

__all__ = ["draw", "render", "pipe", "Digraph", "RenderError", "GraphTooLargeError"]
