"""How numbers and nodes are named, in every picture: `preview` is the one number formatter
of the viz package (drawer, player, explainer and training views all call it), so a value
reads the same in the picture and in the text; `node_names` names the nodes of a graph."""
from __future__ import annotations

import math
import re

import numpy as np

INLINE_MAX = 6  # tensors with at most this many elements are printed in full


def _number(x) -> str:
    x = float(x)
    if x == 0:
        return "0"  # also -0.0
    if math.isnan(x) or math.isinf(x):
        return str(x)
    return format(x, ".4g")


def _nested(a) -> str:
    if a.ndim == 0:
        return _number(a)
    return "[" + ", ".join(_nested(row) for row in a) + "]"


def preview(x) -> str:
    """A short text for a number or a tensor.

    Scalars: 4 significant digits ("0.5", "-6.88", "1.235e+06"). Tensors of up to
    6 elements: inline ("[0.5, -1]"); larger ones: "shape (3, 4) float64 · min/mean/max
    -1.2/0.03/2.1", or "all 0", or, for a matrix with one or two non-zero rows, those rows
    ("row 3 [0.1, -0.3], other rows 0"), for a vector its one or two non-zero entries. None (no gradient yet) gives "".

    >>> preview(2 / 3), preview(np.array([[1.0, 2.0]])), preview(np.zeros((3, 4)))
    ('0.6667', '[[1, 2]]', 'shape (3, 4) float64 · all 0')
    """
    if x is None:
        return ""
    if hasattr(x, "data") and not isinstance(x, (np.ndarray, np.generic, memoryview)):
        x = x.data  # a Value
    if isinstance(x, (bool, int, float, np.number, np.bool_)):
        return _number(x)
    a = np.asarray(x)
    if a.ndim == 0:
        return _number(a)
    if a.size <= INLINE_MAX and a.size:
        return _nested(a)
    head = f"shape {tuple(a.shape)} {a.dtype}"
    if a.size == 0:
        return f"{head} · empty"
    rows = _changed_rows(a)
    if rows:
        return f"{head} · {rows}"
    with np.errstate(all="ignore"):
        stats = "/".join(_number(f(a)) for f in (np.min, np.mean, np.max))
    return f"{head} · min/mean/max {stats}"


def _changed_rows(a) -> str | None:
    """ "row 3 [0.1, -0.3], other rows 0" for a matrix with one or two non-zero rows (a weight
    matrix's gradient from one neuron), "[3] 0.5, other entries 0" for such a vector, "all 0"
    for zeros; else None."""
    with np.errstate(all="ignore"):
        if not np.any(a):
            return "all 0"
        if a.ndim == 1:
            where = np.flatnonzero(a)
            if where.size > 2:
                return None
            return "; ".join(f"[{k}] {_number(a[k])}" for k in where) + ", other entries 0"
    if a.ndim != 2 or a.shape[1] > INLINE_MAX or a.shape[0] < 2:
        return None
    with np.errstate(all="ignore"):
        rows = np.flatnonzero(np.any(a != 0, axis=1))
    if not 1 <= rows.size <= 2 or rows.size == a.shape[0]:
        return None
    shown = "; ".join(f"row {r} {_nested(a[r])}" for r in rows)
    return f"{shown}, other rows 0"


_SURROGATE = re.compile("[\ud800-\udfff]")


def readable(text: str) -> str:
    """`text` with lone surrogates (os.fsdecode of a non-UTF-8 file name) replaced by U+FFFD,
    so it can be written as UTF-8 and drawn."""
    return _SURROGATE.sub("\ufffd", str(text))


# ---- node names --------------------------------------------------------------------------

NAME_MAX = 18  # an auto name spelling out its expression is at most this many characters
_ATOM = re.compile(r"[\w.#\[\]]+")
# op -> (how the expression is written, its precedence: 1 additive, 2 multiplicative, 3 power/unary)
_INFIX = {"add": (" + ", 1), "sub": (" − ", 1), "mul": ("·", 2), "div": ("/", 2), "matmul": (" @ ", 2)}
_CALLS = ("tanh", "exp", "log", "sqrt", "sigmoid", "relu", "abs", "sin", "cos")
_SUPERSCRIPT = {2: "²", 3: "³"}


def _precedence(name: str) -> int:
    """4 for a plain word or a positive number (never needs parentheses), else 1 (always
    does: "x·(-0.5)", "(ŷ − y)²")."""
    return 4 if _ATOM.fullmatch(name) else 1


def _expression(node, parents: list, precedence: dict) -> tuple | None:
    """(text, precedence) of `node` written with its parents' names, or None (no short form)."""
    def operand(name, at_least):
        return name if precedence[name] >= at_least else f"({name})"

    if node.op in _INFIX and len(parents) == 2:
        symbol, level = _INFIX[node.op]
        a = operand(parents[0], level)
        b = operand(parents[1], level + (node.op in ("sub", "div")))  # a − (b + c), a/(b·c)
        return f"{a}{symbol}{b}", level
    if node.op == "neg" and parents:
        return f"−{operand(parents[0], 3)}", 3
    if node.op == "pow" and parents:
        p = node.attrs.get("exponent")
        power = _SUPERSCRIPT.get(p) if p in _SUPERSCRIPT else f"^{_number(p)}"
        return f"{operand(parents[0], 4)}{power}", 3
    if node.op in _CALLS and len(parents) == 1:
        return f"{node.op}({parents[0]})", 4
    return None


def node_names(nodes, root_index: int) -> list[str]:
    """A display name per node, never the same for two nodes unless their labels are.

    Labelled nodes: their label; the root, unlabelled: "L". Small constants: their
    value ("2"). An unlabelled result of + − · / @, a power or tanh/exp/... of named
    inputs: the expression it computes when that stays short ("x0·w0 + x1·w1",
    "tanh(z)"). The rest: op and a number counting that op in reading order
    (topological order, left to right in the drawings): "mul#1", "mul#2", "leaf#1".
    """
    names: list = [None] * len(nodes)
    index = {node: i for i, node in enumerate(nodes)}
    taken = {readable(node.label) for node in nodes if node.label}
    precedence: dict = {}
    counts: dict = {}

    def numbered(kind: str) -> str:
        while True:
            counts[kind] = counts.get(kind, 0) + 1
            name = f"{kind}#{counts[kind]}"
            if name not in taken:
                return name

    for i, node in enumerate(nodes):
        if node.label:
            name = readable(node.label)
        elif i == root_index and "L" not in taken:
            name = "L"
        elif not node.op and not node.requires_grad and node.size <= INLINE_MAX:
            name = preview(node.data)  # a constant reads as its value, wherever it appears
        else:
            name = None
            if node.op:
                parents = [names[index[p]] for p in node.parents]
                # built from named inputs only: "mul#2·x" would read as if "#2·x" were part of it
                made = None if any("#" in p for p in parents) else _expression(node, parents, precedence)
                if made and len(made[0]) <= NAME_MAX and made[0] not in taken:
                    name = made[0]
                    precedence[name] = made[1]
            if name is None:
                name = numbered(node.op or ("leaf" if node.requires_grad else "const"))
        names[i] = name
        precedence.setdefault(name, _precedence(name))
        if not (not node.op and not node.requires_grad):
            taken.add(name)
    return names
