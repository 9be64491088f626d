"""Words for the step recorder: how numbers, nodes and chain-rule steps are written.

Numbers and node names come from `autograd.viz.names` (shared with the drawer). This module turns one backward (or forward) step of `autograd.viz.player.steps` into lines like

    dL/dw0 += dL/dn · dn/dw0 = 0.5 × 2 = 1   (dn/dw0 = x0)
    dL/dW += xᵀ · dL/dout = shape (2, 16) float64 · min/mean/max -0.3/0.01/0.4

using the op table's `formula` strings, with a, b, out, g replaced by node names.
"""
from __future__ import annotations

import re

import numpy as np

from autograd.ops import OPS

from ..names import INLINE_MAX, _number, node_names, preview  # noqa: F401  (preview, node_names: re-exported)

def _d(top: str, bottom: str) -> str:
    return f"d{_wrap(top)}/d{_wrap(bottom)}"


def _wrap(name: str) -> str:
    """Names that are not one word go in parentheses: d(tanh#7)/d(x + 1)."""
    return name if re.fullmatch(r"[\w.]+", name) else f"({name})"


# ---- formulas with names filled in -----------------------------------------------------

# a, b, out, g, p as whole words (ASCII boundaries: "out²" and "aᵀ" still match)
_SYMBOL = re.compile(r"(?<![A-Za-z0-9_#])(out|a|b|g|p)(?![A-Za-z0-9_#])")


def formula_of(node, parent_position: int) -> str:
    """The op table's formula string for input `parent_position` of `node`, its static
    arguments filled in ("1 if a > 0 else {negative_slope}" -> "1 if a > 0 else 0.01")."""
    formulas = OPS[node.op].formula
    formula = formulas[min(parent_position, len(formulas) - 1)]
    if "{" in formula and node.attrs:
        values = {k: _number(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
                  for k, v in node.attrs.items()}
        try:
            formula = formula.format(**values)
        except (KeyError, IndexError, ValueError):  # braces that are not placeholders: as written
            pass
    return formula


def fill_formula(formula: str, node, position: int, names: list[str], index: dict,
                 upstream: str) -> str:
    """`formula` with a, b -> input names, out -> the node's name, g -> dL/d(node),
    p -> the exponent; neuron's per-input "w" and "x" become w[i] and [x0, x1, ...]."""
    parent_names = [names[index[p]] for p in node.parents]
    if node.op == "neuron":
        return _neuron_formula(node, position, parent_names)
    mapping = {"out": _paren_name(names[index[node]]), "g": upstream}
    if parent_names:
        mapping["a"] = _paren_name(parent_names[0])
    if len(parent_names) > 1:
        mapping["b"] = _paren_name(parent_names[1])
    if "exponent" in node.attrs:
        mapping["p"] = _number(node.attrs["exponent"])
        less = node.attrs["exponent"] - 1
        formula = formula.replace("(p-1)", _number(less) if less >= 0 else f"({_number(less)})")
    if node.op == "mean":  # "broadcast(g) / n": n is the number of elements averaged
        formula = formula.replace("/ n", f"/ {node.parents[0].size // max(node.size, 1)}")
    formula = formula.replace(" @ ", " · ")  # before the names go in: "h @ W2" is a name
    return _SYMBOL.sub(lambda m: mapping.get(m.group(1), m.group(1)), formula)


def _neuron_formula(node, position: int, parent_names: list[str]) -> str:
    w, row = parent_names[0], node.attrs.get("row")
    if position == 0:
        xs = "[" + ", ".join(parent_names[2:]) + "]"
        return xs if row is None else f"{xs} in row {row}"
    if position == 1:
        return "1"
    i = position - 2
    return f"{w}[{i}]" if row is None else f"{w}[{row}, {i}]"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# ---- step lines --------------------------------------------------------------------------


def grad_name(root_name: str, node_name: str) -> str:
    """dL/dn: how the text writes the gradient of the loss with respect to a node."""
    return _d(root_name, node_name)


def backward_line(root_name, node_name, parent_name, rule, elementwise, upstream, local,
                  contribution, raw_shape=None, before=None, uses=1, earlier=()) -> str:
    """One line of a backward step: the gradient `parent_name` receives from `node_name`.

    `rule` is the formula with names filled in; `local` the number d(node)/d(parent) in
    the scalar case (None: tensor form); `raw_shape` the shape the rule produced before
    broadcasting was undone; `before` the parent's gradient before this step (reuse);
    `uses` how many times the parent is an input, `earlier` the contributions it got before.
    """
    total, up = _d(root_name, parent_name), _d(root_name, node_name)
    notes = []
    if local is not None:  # scalar chain rule, every number shown
        local_name = _d(node_name, parent_name)
        line = (f"{total} += {up} · {local_name} = "
                f"{preview(upstream)} × {preview(local)} = {preview(contribution)}")
        if node_name == root_name:
            # the local factor is written like the total one here: say which is which
            notes.append(f"{up} = 1 at the root")
            if not _is_number(rule):
                notes.append(f"local: {local_name} = {rule}")
        elif not _is_number(rule):
            notes.append(f"{local_name} = {rule}")
    else:
        if not elementwise:
            product = rule
        elif rule in ("1", "-1"):
            product = up if rule == "1" else f"-{up}"
        else:
            times = "·" if np.ndim(upstream) == 0 else "⊙"  # ⊙: elementwise product
            product = f"{up} {times} {_paren(rule)}"
        line = f"{total} += {product} = {preview(contribution)}"
        shape = tuple(np.shape(contribution))
        if raw_shape is not None and tuple(raw_shape) != shape:
            notes.append(f"summed from shape {tuple(raw_shape)} to {shape}: broadcasting undone")
    if uses > 1:
        notes.append(_reuse_note(total, parent_name, uses, list(earlier) + [contribution], before))
    elif before is not None:  # a gradient that did not come through the counted uses
        notes.append(f"{total} is now {preview(before + contribution)}")
    return line + (f"   ({'; '.join(notes)})" if notes else "")


def _reuse_note(total, parent_name, uses, contributions, before) -> str:
    """ "x is used 3 times: contribution 2 of 3; dL/dx is now 0.5 + 0.25 = 0.75" """
    k = len(contributions)
    head = f"{parent_name} is used {uses} times: contribution {k} of {uses}"
    if before is None:
        return head + "; the others add to it"
    after = before + contributions[-1]
    if all(np.ndim(c) == 0 for c in contributions) and k <= 8:
        terms = " + ".join(_paren_number(preview(c)) for c in contributions)
        return f"{head}; {total} is now {terms} = {preview(after)}"
    return f"{head}; {total} is now the sum of {k}: {preview(after)}"


def _paren(text: str) -> str:
    return text if re.fullmatch(r"[\w.#\[\], ]+", text) else f"({text})"


def forward_line(node, names: list[str], index: dict) -> str:
    """How the node's value was computed, with its inputs' numbers when they are short:
    `n = w0·x0 = 2 × (-3) = -6`, `L = tanh(n) = tanh(0.8814) = 0.7071`. A node whose
    name already is its expression is not written twice: `x0·w0 = 2 × (-3) = -6`."""
    name = names[index[node]]
    expr = _forward_expression(node, [names[index[p]] for p in node.parents], _paren_name)
    spelled = not node.label and "#" not in name and name != "L"  # an auto name: its own expression
    parts = [name] if spelled or expr == name else [name, expr]
    numbers = [preview(p.data) for p in node.parents]
    if all(p.size <= INLINE_MAX for p in node.parents) and node.parents:
        with_numbers = _forward_expression(node, numbers, _paren_number, numbers=True)
        if with_numbers not in parts:
            parts.append(with_numbers)
    parts.append(preview(node.data))
    return " = ".join(parts)


def _forward_expression(node, args: list, paren, numbers: bool = False) -> str:
    """The op applied to `args` (names or numbers), each operand made safe by `paren`."""
    op = OPS[node.op]
    label = op.describe(node.attrs)
    if node.op == "neuron":
        row = node.attrs.get("row")
        w, b = args[0], args[1]
        if row is not None and not numbers:
            w = f"{w}[{row}]"
            b = b if not node.parents[1].ndim else f"{b}[{row}]"
        elif row is not None:  # the numbers of that row only
            w = _nested_row(node.parents[0].data, row)
            b = b if not node.parents[1].ndim else _number(np.asarray(node.parents[1].data)[row])
        return f"{w} · [{', '.join(args[2:])}] + {b}"
    if len(args) == 2 and node.op in ("add", "sub", "mul", "div", "matmul", "pow_value"):
        symbol = {"mul": "×", "matmul": "@"}.get(node.op, label) if numbers else label
        return f"{paren(args[0])} {symbol} {paren(args[1])}"
    if node.op == "pow":
        return f"{paren(args[0])} ** {_number(node.attrs['exponent'])}"
    if node.op == "neg":
        return f"-{paren(args[0])}"
    extra = {k: v for k, v in node.attrs.items()
             if k not in ("key", "cond", "plan") and v is not None and v is not False}
    attrs = "".join(f", {k}={_attr_text(v)}" for k, v in extra.items())
    return f"{node.op}({', '.join(args)}{attrs})"


def _nested_row(data, row: int) -> str:
    return "[" + ", ".join(_number(v) for v in np.asarray(data)[row]) + "]"


def _paren_number(text: str) -> str:
    """Negative numbers and tensors in parentheses inside an expression: 2 × (-3)."""
    return f"({text})" if text.startswith("-") else text


def _attr_text(v) -> str:
    """An op's static argument as text: arrays (an index, a mask) by their shape."""
    return f"<array of shape {v.shape}>" if isinstance(v, np.ndarray) else str(v)


def _paren_name(name: str) -> str:
    plain = re.fullmatch(r"[\w.#]+", name) or (_is_number(name) and not name.startswith("-"))
    return name if plain else f"({name})"
