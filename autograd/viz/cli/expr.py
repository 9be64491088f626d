"""A safe little expression language for the command line: `tanh(w0*x0 + w1*x1 + b)`.

The text is parsed with `ast` and every node is checked against a whitelist before
anything is computed: numbers, names given as name=value (none starting with `__`),
+ - * / **, unary minus, and calls of one argument to the known ops. Names are
NFKC-normalised, as Python's parser does, in the expression and the inputs alike.
Nothing is ever passed to eval or exec; `build` walks the checked tree and applies
`Value` operations itself.

>>> parsed = parse("tanh(w*x + b)")
>>> sorted(parsed.names)
['b', 'w', 'x']
>>> round(build(parsed, {"w": -3.0, "x": 2.0, "b": 6.88}).data, 4)
0.7064
"""
from __future__ import annotations

import ast
import math
import unicodedata
from dataclasses import dataclass

from autograd.value import Value

FUNCTIONS = ("tanh", "exp", "log", "sqrt", "sigmoid", "relu", "abs")
MAX_LENGTH = 2000      # characters of expression text
MAX_DEPTH = 100        # nesting of the syntax tree
MAX_MAGNITUDE = 1e6    # largest |number| accepted as a literal or an input
MAX_EXPONENT = 100     # largest |p| in x ** p with a constant p

ALLOWED = (f"Allowed: numbers (|n| <= {MAX_MAGNITUDE:g}), names (not starting with __) given as "
           f"name=value, + - * / **, unary minus, parentheses, and one-argument calls to "
           f"{', '.join(FUNCTIONS)}. "
           f"Powers may not be nested and a constant exponent must be within ±{MAX_EXPONENT}.")

_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_REFUSED = {  # what a person would call the construct, for the message
    ast.Attribute: "attribute access", ast.Subscript: "subscripts", ast.Lambda: "lambdas",
    ast.ListComp: "comprehensions", ast.SetComp: "comprehensions", ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions", ast.Compare: "comparisons", ast.BoolOp: "and/or",
    ast.IfExp: "if/else", ast.NamedExpr: "assignments (:=)", ast.Starred: "* unpacking",
    ast.List: "lists", ast.Tuple: "tuples", ast.Set: "sets", ast.Dict: "dicts",
    ast.JoinedStr: "f-strings", ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield",
    ast.Slice: "slices",
}


class ExpressionError(ValueError):
    """The expression or an input was refused; the message says what is allowed."""


@dataclass(frozen=True)
class Parsed:
    """A checked expression: its syntax tree and the input names it uses (in order of use)."""

    text: str
    tree: ast.Expression
    names: tuple[str, ...]


def _refuse(what: str, node: ast.AST | None = None) -> ExpressionError:
    where = f" (at column {node.col_offset + 1})" if node is not None and hasattr(node, "col_offset") else ""
    return ExpressionError(f"refused: {what}{where}. {ALLOWED}")


def _number_text(number) -> str:
    """A number for a message. An integer too big for a float is described by its digits:
    formatting it with :g would raise OverflowError."""
    if isinstance(number, int) and abs(number) > MAX_MAGNITUDE:
        digits = str(abs(number))  # a literal: at most MAX_LENGTH characters
        return f"{'-' if number < 0 else ''}{digits[:3]}… ({len(digits)} digits)"
    return f"{number:.6g}"


def _refuse_name(name: str) -> str | None:
    """Why `name` may not be used (None: it may)."""
    if name.startswith("__"):
        return f"the name {name!r} (names may not start with '__')"
    return None


def _depth(tree: ast.AST) -> int:
    """Nesting depth of the tree, without recursion (a deep tree must not crash the check)."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _constant_number(node: ast.AST):
    """The number of a literal or a negated literal, else None."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _constant_number(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    return None


def _contains_power(node: ast.AST) -> bool:
    return any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.Pow) for n in ast.walk(node))


def _check(node: ast.AST, names: list[str]) -> None:
    """Raise ExpressionError for anything outside the whitelist; collect the names used."""
    if isinstance(node, ast.Expression):
        return _check(node.body, names)
    if isinstance(node, ast.Constant):
        if type(node.value) not in (int, float):
            kind = {str: "strings", bytes: "bytes", bool: "True/False", complex: "complex numbers"}.get(
                type(node.value), f"the constant {node.value!r}")
            raise _refuse(kind, node)
        if not abs(node.value) <= MAX_MAGNITUDE:
            raise _refuse(f"the number {_number_text(node.value)} is too large", node)
        return None
    if isinstance(node, ast.Name):
        why = _refuse_name(node.id)
        if why:
            raise _refuse(why, node)
        if node.id not in names:
            names.append(node.id)
        return None
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.USub):
            raise _refuse(f"the unary operator {type(node.op).__name__}", node)
        return _check(node.operand, names)
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            raise _refuse(f"the operator {type(node.op).__name__}", node)
        if isinstance(node.op, ast.Pow):
            if _contains_power(node.left) or _contains_power(node.right):
                raise _refuse("nested powers", node)
            exponent = _constant_number(node.right)
            if exponent is not None and not abs(exponent) <= MAX_EXPONENT:
                raise _refuse(f"the exponent {_number_text(exponent)} is too large", node)
        _check(node.left, names)
        return _check(node.right, names)
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            what = _REFUSED.get(type(node.func), "calls of anything but a known function name")
            raise _refuse(what, node.func)
        if node.func.id not in FUNCTIONS:
            raise _refuse(f"unknown function {node.func.id!r}", node)
        if node.keywords:
            raise _refuse("keyword arguments", node)
        if len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
            raise _refuse(f"{node.func.id}() takes exactly one argument, got {len(node.args)}", node)
        return _check(node.args[0], names)
    raise _refuse(_REFUSED.get(type(node), type(node).__name__), node)


def parse(text: str) -> Parsed:
    """Check `text` against the whitelist; nothing is computed."""
    if not isinstance(text, str):
        raise ExpressionError(f"the expression must be text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise _refuse(f"the expression has {len(text)} characters, more than {MAX_LENGTH}")
    if not text.strip():
        raise _refuse("an empty expression")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        detail = getattr(error, "msg", None) or str(error)
        raise _refuse(f"this is not a valid expression ({detail})") from None
    if _depth(tree) > MAX_DEPTH:
        raise _refuse(f"the expression is nested deeper than {MAX_DEPTH} levels")
    names: list[str] = []
    _check(tree, names)
    if not names:
        raise ExpressionError("the expression uses no named inputs, so there is nothing to differentiate; "
                              "use names given as name=value, e.g. \"tanh(w*x + b)\" w=-3 x=2 b=6.88")
    return Parsed(text, tree, tuple(names))


def parse_inputs(pairs) -> dict[str, float]:
    """`["x0=2", "w0=-3"]` -> {"x0": 2.0, "w0": -3.0}, each checked.

    Names are NFKC-normalised as Python's parser normalises the expression's names,
    so `ｘ=1` gives the value of `ｘ` (that is, of x) in the expression.
    """
    values: dict[str, float] = {}
    for pair in pairs:
        name, sep, number = pair.partition("=")
        name, number = unicodedata.normalize("NFKC", name.strip()), number.strip()
        if not sep or not name.isidentifier():
            raise ExpressionError(f"input {pair!r} is not of the form name=number (e.g. x0=2.5)")
        why = _refuse_name(name)
        if why:
            raise _refuse(f"the input {pair!r}: {why}")
        if name in values:
            raise ExpressionError(f"input {name!r} is given twice")
        try:
            value = float(number)
        except ValueError:
            raise ExpressionError(f"input {name}={number!r}: {number!r} is not a number") from None
        if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
            raise ExpressionError(f"input {name}={number}: inputs must be finite numbers with "
                                  f"|value| <= {MAX_MAGNITUDE:g}")
        values[name] = value
    return values


def check_inputs(parsed: Parsed, values: dict) -> list[str]:
    """Raise if a name of the expression has no value; return the given names it does not use."""
    missing = [n for n in parsed.names if n not in values]
    if missing:
        raise ExpressionError(
            f"no value for {', '.join(missing)}: give every name of the expression as name=value, "
            f"e.g. {' '.join(f'{n}=1.0' for n in missing)}")
    return [n for n in values if n not in parsed.names]


def build(parsed: Parsed, values: dict) -> Value:
    """The expression as a graph of Values: one leaf per name (label = the name)."""
    check_inputs(parsed, values)
    leaves = {name: Value(float(values[name]), label=name) for name in parsed.names}
    return _build(parsed.tree.body, leaves)


_FUNCTION_OF = {name: getattr(Value, name) for name in FUNCTIONS}  # the Value methods, by name


def _build(node: ast.AST, leaves: dict) -> Value:
    # Only the node types `_check` accepted reach here; the tree is at most MAX_DEPTH deep.
    if isinstance(node, ast.Constant):
        return Value(float(node.value), requires_grad=False)
    if isinstance(node, ast.Name):
        return leaves[node.id]
    if isinstance(node, ast.UnaryOp):
        return -_build(node.operand, leaves)
    if isinstance(node, ast.Call):
        return _FUNCTION_OF[node.func.id](_build(node.args[0], leaves))
    left = _build(node.left, leaves)
    if isinstance(node.op, ast.Pow):
        exponent = _constant_number(node.right)
        return left ** (exponent if exponent is not None else _build(node.right, leaves))
    right = _build(node.right, leaves)
    return {ast.Add: left.__add__, ast.Sub: left.__sub__, ast.Mult: left.__mul__,
            ast.Div: left.__truediv__}[type(node.op)](right)
