"""Keep big graphs drawable: fold modules into one box each, or refuse before Graphviz runs.

Layout seconds against Graphviz nodes (value boxes + op nodes + folded boxes), measured
by `benchmarks/viz.py` (section 3) on the 2-core dev machine while it was busy:

    renderer                 ~400    ~1,300   ~2,400   ~4,500   ~6,000
    graphviz-pure (pip)      0.48     1.07     1.95     10.6       -
    system dot (2.43)        0.31   ~3 (1,000)   22        -      217

A drawing should appear in about a second, so the cap (`max_nodes="auto"`) is the size
each renderer lays out in that time: 1,000 nodes with graphviz-pure, 600 with a system
`dot` (see `MAX_NODES`). Over it the graph is folded, or refused with the numbers above.

Folding uses the labels people already give their parameters: `"L0.w"`,
`"L0.n3.b"`, `"encoder.attn.q"`. At depth d every node is put in the group named
by the first d parts of a dotted label:

  * a labelled node with at least d+1 parts: its own prefix (`L0.n3.w` -> `L0` at d=1);
  * any other result of an op: the group of its parameter inputs when they agree
    (so layer 1's neuron, fed by layer 0's outputs, joins layer 1), else the group
    all its non-constant inputs share;
  * a constant used only inside one group joins it.

Inputs and the root (the loss) are never folded, so the picture still shows where
the data comes in and where the loss comes out. `"auto"` folds only when the graph
is over the cap, at the finest depth that fits (neurons before layers).
"""
from __future__ import annotations

DEFAULT_MAX_NODES = "auto"  # the cap of the renderer in use (MAX_NODES)
MAX_NODES = {"graphviz-pure": 1000, "system dot": 600}
LAYOUT_TIMES = {  # what the message quotes, from the table above
    "graphviz-pure": "graphviz-pure lays out about 1,300 nodes in 1.1 s, 2,400 in 2 s and 4,500 in 11 s",
    "system dot": "Graphviz's dot lays out about 400 nodes in 0.3 s, 1,000 in 3 s and 2,000 in 22 s",
}


def max_nodes_for(max_nodes):
    """The cap to use: `max_nodes` itself, or for "auto" that of the renderer in use."""
    if max_nodes != "auto":
        return max_nodes
    from .render import RenderError, backend_name

    try:
        return MAX_NODES.get(backend_name(), MAX_NODES["graphviz-pure"])
    except RenderError:
        return MAX_NODES["graphviz-pure"]


class GraphTooLargeError(ValueError):
    """The drawing would have more Graphviz nodes than `max_nodes`, even folded."""


def drawn_count(nodes, group: list) -> int:
    """Graphviz nodes of a drawing: a box (+ an op node) per unfolded value, one per group."""
    count = len({g for g in group if g is not None})
    for node, g in zip(nodes, group):
        if g is None:
            count += 2 if node.op else 1
    return count


def _prefix(label: str, depth: int):
    parts = label.split(".")
    return ".".join(parts[:depth]) if len(parts) > depth and all(parts[:depth]) else None


def label_depth(nodes) -> int:
    """The deepest fold level the labels allow (0: no dotted labels)."""
    return max((label.count(".") for label in (n.label for n in nodes) if label), default=0)


def groups_at(nodes, kinds: list, root: int, depth: int) -> list:
    """Group name (or None) per node at label depth `depth`; groups of one are dropped."""
    index = {node: i for i, node in enumerate(nodes)}
    group: list = [None] * len(nodes)
    for i, node in enumerate(nodes):  # topological: inputs first
        if i == root or kinds[i] == "input":
            continue
        if node.label:
            group[i] = _prefix(node.label, depth)
            if group[i] is not None or not node.op:
                continue
        if not node.op:
            continue
        parents = [index[p] for p in node.parents]
        owners = {group[j] for j in parents if kinds[j] == "parameter" and group[j] is not None}
        if not owners:
            owners = {group[j] for j in parents if kinds[j] != "constant"}
        if len(owners) == 1:
            group[i] = owners.pop()
    users: dict = {}
    for i, node in enumerate(nodes):
        for p in node.parents:
            users.setdefault(index[p], set()).add(group[i])
    for i in range(len(nodes)):
        if kinds[i] == "constant" and not nodes[i].op and group[i] is None:
            owners = users.get(i, {None})
            if len(owners) == 1:
                group[i] = next(iter(owners))
    sizes: dict = {}
    for g in group:
        sizes[g] = sizes.get(g, 0) + 1
    return [g if g is not None and sizes[g] > 1 else None for g in group]


def plan(nodes, kinds: list, root: int, max_nodes: int | None = DEFAULT_MAX_NODES,
         fold="auto") -> list:
    """Group per node (None = drawn on its own), or GraphTooLargeError.

    fold: "auto" (fold only if over the cap), True (one box per top-level prefix),
    an int (fold at that label depth), False (never fold).
    """
    if not (fold in ("auto", True, False) and isinstance(fold, (str, bool))
            or type(fold) is int and fold >= 1):
        raise ValueError(f"fold={fold!r}: use 'auto', True, False or a label depth >= 1")
    if isinstance(max_nodes, str) and max_nodes != "auto" or isinstance(max_nodes, bool):
        raise ValueError(f"max_nodes={max_nodes!r}: use a number of Graphviz nodes, None (no cap) or 'auto'")
    max_nodes = max_nodes_for(max_nodes)
    if max_nodes is not None and max_nodes < 1:
        raise ValueError(f"max_nodes={max_nodes!r} must be at least 1 (or None for no cap)")
    none = [None] * len(nodes)
    full = drawn_count(nodes, none)
    cap = float("inf") if max_nodes is None else max_nodes
    if fold is False or (fold == "auto" and full <= cap):
        candidates = [none]
    elif fold == "auto":  # over the cap: the finest depth that fits
        candidates = [groups_at(nodes, kinds, root, d) for d in range(label_depth(nodes), 0, -1)]
    else:
        candidates = [groups_at(nodes, kinds, root, 1 if fold is True else fold)]
    best = None
    for group in candidates:
        count = drawn_count(nodes, group)
        if count <= cap:
            return group
        best = count if best is None else min(best, count)
    raise GraphTooLargeError(_too_large(nodes, full, best, max_nodes, fold))


def _times() -> str:
    from .render import RenderError, backend_name

    try:
        return LAYOUT_TIMES.get(backend_name(), LAYOUT_TIMES["graphviz-pure"])
    except RenderError:
        return LAYOUT_TIMES["graphviz-pure"]


def _too_large(nodes, full: int, best: int, max_nodes: int, fold) -> str:
    ops = sum(1 for n in nodes if n.op)
    message = (f"This graph would draw {full} Graphviz nodes ({len(nodes)} values + {ops} op nodes), "
               f"over max_nodes={max_nodes}; {_times()} (benchmarks/viz.py), so it was not started. ")
    if fold is False:
        message += "Folding is off (fold=False). "
    elif best is not None and best < full:
        message += f"Folding by label prefix gets it down to {best} nodes at best. "
    else:
        message += "Nothing folds: no dotted labels such as 'L0.w' mark its modules. "
    return message + (f"Fix: pass max_nodes={full} (or None) to draw it anyway, give parameters "
                      "dotted labels ('layer1.w', 'layer1.b') so each module folds into one box, "
                      "or draw a smaller graph (e.g. the loss of one sample).")
