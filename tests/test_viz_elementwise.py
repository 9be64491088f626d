"""The drawing and the step explainer show every op of the elementwise families (math,
rounding and remainders, clamp and extremes, activations) with its own label and formula."""
from __future__ import annotations

import re

import numpy as np
import pytest

import autograd
from autograd import OPS, Value
from autograd.viz import draw, record
from autograd.viz.graph.style import esc

# op: (how to call it on x (and y, z), how many of x, y, z it takes); x = 0.4, y = 1.3, z = 0.6
CALLS = {
    "sin": (lambda x: x.sin(), 1), "cos": (lambda x: x.cos(), 1), "tan": (lambda x: x.tan(), 1),
    "asin": (lambda x: x.asin(), 1), "acos": (lambda x: x.acos(), 1), "atan": (lambda x: x.atan(), 1),
    "sinh": (lambda x: x.sinh(), 1), "cosh": (lambda x: x.cosh(), 1), "asinh": (lambda x: x.asinh(), 1),
    "acosh": (lambda x: (x + 1.0).acosh(), 1), "atanh": (lambda x: x.atanh(), 1), "erf": (lambda x: x.erf(), 1),
    "rsqrt": (lambda x: x.rsqrt(), 1), "square": (lambda x: x.square(), 1),
    "reciprocal": (lambda x: x.reciprocal(), 1), "log2": (lambda x: x.log2(), 1),
    "log10": (lambda x: x.log10(), 1), "log1p": (lambda x: x.log1p(), 1), "expm1": (lambda x: x.expm1(), 1),
    "exp2": (lambda x: x.exp2(), 1), "logaddexp": (lambda x, y: x.logaddexp(y), 2),
    "lerp": (lambda x, y, z: x.lerp(y, z), 3),
    "sign": (lambda x: x.sign() * x, 1), "copysign": (lambda x, y: x.copysign(y), 2),
    "fmod": (lambda x, y: x.fmod(y), 2), "remainder": (lambda x, y: x % y, 2),
    "floor_divide": (lambda x, y: x // y + x, 2),
    "floor": (lambda x: x.floor() + x, 1), "ceil": (lambda x: x.ceil() + x, 1),
    "trunc": (lambda x: x.trunc() + x, 1), "round": (lambda x: x.round() + x, 1),
    "maximum": (lambda x, y: x.maximum(y), 2), "minimum": (lambda x, y: x.minimum(y), 2),
    "clamp": (lambda x: x.clamp(-1, 0.2), 1), "clamp_tensor": (lambda x, y, z: x.clamp(z, y), 3),
    "leaky_relu": (lambda x: (-x).leaky_relu(0.1), 1), "gelu": (lambda x: x.gelu(), 1),
    "gelu_tanh": (lambda x: x.gelu("tanh"), 1), "silu": (lambda x: x.silu(), 1),
    "softplus": (lambda x: x.softplus(2.0), 1), "elu": (lambda x: (-x).elu(0.7), 1),
    "selu": (lambda x: x.selu(), 1), "celu": (lambda x: (-x).celu(1.5), 1), "mish": (lambda x: x.mish(), 1),
    "logsigmoid": (lambda x: x.logsigmoid(), 1), "hardtanh": (lambda x: x.hardtanh(-0.5, 1.5), 1),
    "relu6": (lambda x: x.relu6(), 1), "hardsigmoid": (lambda x: x.hardsigmoid(), 1),
    "hardswish": (lambda x: x.hardswish(), 1), "softsign": (lambda x: x.softsign(), 1),
    "softmin": (lambda x: autograd.stack([x, x * 2.0]).softmin()[0], 1),
}
FAMILIES = {
    "trigonometric": ["sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "erf"],
    "powers, logs": ["rsqrt", "square", "reciprocal", "log2", "log10", "log1p", "expm1", "exp2", "logaddexp", "lerp"],
    "signs, remainders, rounding": ["sign", "copysign", "fmod", "remainder", "floor_divide", "floor", "ceil",
                                    "trunc", "round"],
    "clamp and extremes": ["maximum", "minimum", "clamp", "clamp_tensor"],
    "activations": ["leaky_relu", "gelu", "gelu_tanh", "silu", "softplus", "elu", "selu", "celu", "mish",
                    "logsigmoid", "hardtanh", "relu6", "hardsigmoid", "hardswish", "softsign", "softmin"],
}
_SYMBOL = re.compile(r"(?<![A-Za-z0-9_#])(out|a|b|g)(?![A-Za-z0-9_#])")


def test_the_families_cover_every_op_of_their_modules():
    from autograd.ops import activations, functions
    ours = {name for name, op in OPS.items()
            if op.forward.__module__ in (functions.__name__, activations.__name__)
            or getattr(op.backward, "__module__", None) in (functions.__name__, activations.__name__)}
    ours -= {"tanh", "sigmoid", "relu", "softmax", "log_softmax"}  # the older activations
    assert ours == set(CALLS) == {op for ops in FAMILIES.values() for op in ops}


def plain(source: str) -> str:
    """DOT source without the bold/font markup around op symbols (label=<<B><FONT ..>%</FONT></B>>)."""
    return re.sub(r"</?(?:B|FONT[^>]*)>", "", source)


def build(op):
    fn, arity = CALLS[op]
    inputs = [Value(0.4, label="x"), Value(1.3, label="y"), Value(0.6, label="z")][:arity]
    L = fn(*inputs) * 1.5
    L.label = "L"
    node = next(n for n in autograd.topological_order(L) if n.op == op)
    return L, node, inputs


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_each_op_is_drawn_with_its_label_and_explained_with_its_formula(family):
    for op in FAMILIES[family]:
        L, node, inputs = build(op)
        label = OPS[op].describe(node.attrs)
        assert "{" not in label
        assert f"label=<{esc(label)}>" in plain(draw(L).source), f"{op}: label {label!r} not drawn"
        rec = record(L, forward=True)
        at = {id(n): i for i, n in enumerate(rec.nodes)}
        name = rec.names[at[id(node)]]
        # the forward step says how the node was computed
        assert any(s.text.startswith(f"{name} = ") for s in rec.steps if s.kind == "forward"), op
        # the backward step of the node: one line per input that needs a gradient, with the
        # op's formula (its static arguments filled in) in the input's names
        (step,) = [s for s in rec.steps if s.kind == "backward" and s.node == at[id(node)]]
        data = rec.to_json()["nodes"][at[id(node)]]
        assert data["op_label"] == label
        for k, ps in enumerate(step.parents):
            formula = data["formulas"][k]
            assert "{" not in formula and ps.formula == formula
            names = {"a": rec.names[at[id(node.parents[0])]]}
            if len(node.parents) > 1:
                names["b"] = rec.names[at[id(node.parents[1])]]
            names["out"] = name
            # names of one word (x, y, L, mul#3) appear as themselves, others in parentheses
            wrap = {k: v if re.fullmatch(r"[\w.#]+", v) else f"({v})" for k, v in names.items()}
            wrap["g"] = f"dL/d{name}" if re.fullmatch(r"[\w.]+", name) else f"dL/d({name})"  # the upstream gradient
            expected = _SYMBOL.sub(lambda m, wrap=wrap: wrap[m.group(1)], formula)
            assert ps.rule == expected, f"{op}: {ps.rule!r} != {expected!r}"
            assert f"= {expected}" in step.text or f"({expected})" in step.text or expected in step.text, op
        # and the numbers are backward()'s
        L.backward()
        for x in inputs:
            if id(x) in at and at[id(x)] in rec.final_grads:
                assert rec.final_grads[at[id(x)]] == pytest.approx(x.grad, rel=1e-12, abs=1e-15), op


def test_formulas_read_with_their_arguments_and_input_names():
    x, y = Value(0.4, label="x"), Value(1.3, label="y")
    n, softmin = -x, x.softmin()
    n.label, softmin.label = "n", "s"
    cases = [
        (n.leaky_relu(0.1), "1 if n > 0 else 0.1"),
        (x.clamp(-1, 0.2), "1 if -1 ≤ x ≤ 0.2 else 0"),
        (x.softplus(2.0), "σ(2·x), 1 where 2·x > 20"),
        (x.hardtanh(-0.5, 1.5), "1 if -0.5 < x < 1.5 else 0"),
        (x.maximum(y), "1 where x > y, ½ where x = y"),
        (x % y, "1"),
        (x.sin(), "cos(x)"),
        (n.celu(1.5), "1 if n > 0 else e^(n/1.5)"),
        (softmin, "-s·(dL/ds - Σ dL/ds·s)"),
    ]
    for out, first_rule in cases:
        L = out * 1.0
        rec = record(L)
        rules = [ps.rule for s in rec.steps for ps in s.parents]
        assert first_rule in rules, (first_rule, rules)
    rec = record((x % y) * 1.0)
    assert "-floor(x/y)" in [ps.rule for s in rec.steps for ps in s.parents]


def test_labels_in_the_drawing():
    x, y = Value(np.array([0.4, -0.2]), label="x"), Value(np.array([1.3, 0.7]), label="y")
    L = (x.clamp(-1, 1) + x.leaky_relu(0.1) + x.softplus(2.0) + x.gelu("tanh") + x.elu(0.7) + x % y + x // y
         + x.hardtanh(-0.5, 1.5) + x.clamp(max=y) + x.maximum(y)).sum()
    source = draw(L).source
    for label in ["clamp[-1, 1]", "LeakyReLU(0.1)", "Softplus(β=2)", "GELU(tanh)", "ELU(α=0.7)", "%", "//",
                  "Hardtanh[-0.5, 1.5]", "clamp", "maximum"]:
        assert f"label=<{esc(label)}>" in plain(source), label
