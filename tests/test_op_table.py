"""The op table keeps itself honest: every entry has a label, a formula per input, a doc
line, a gradcheck case (tests/test_ops_gradcheck.py), and its bindings exist.

A new op missing any of these fails here, by name."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
from autograd import OPS, Value, topological_order
from autograd.ops import BINDINGS
from test_ops_gradcheck import CASES

VARIADIC = {"concat", "stack", "neuron", "jit", "einsum"}  # these reuse their last formula for further inputs
CASE_OPS = {c.op for c in CASES}


@pytest.mark.parametrize("name", sorted(OPS))
def test_entry_is_complete(name):
    op = OPS[name]
    assert op.label.strip(), f"op {name!r} has no display label"
    assert op.doc.strip() and "\n" not in op.doc, f"op {name!r} needs a one-line doc"
    assert op.formula and all(f.strip() for f in op.formula), f"op {name!r} needs a formula per input"
    assert name in CASE_OPS, f"op {name!r} has no gradcheck case in tests/test_ops_gradcheck.py (CASES)"


@pytest.mark.parametrize("case", CASES, ids=str)
@settings(max_examples=5, deadline=None)
@given(data=st.data())
def test_a_formula_per_input(case, data):
    fn, inputs = case.build(data.draw)
    out = fn(*[Value(np.asarray(x)) for x in inputs])
    for node in topological_order(out):
        if node.op and node.op not in VARIADIC:
            n = len(node.parents)
            # >=: an optional input (linear's bias) keeps its formula when absent
            assert len(OPS[node.op].formula) >= n, f"op {node.op!r} has {n} inputs but " \
                                                   f"{len(OPS[node.op].formula)} formulas"


@pytest.mark.parametrize("b", BINDINGS, ids=lambda b: b.method or b.function)
def test_bindings_exist(b):
    assert b.op is None or b.op in OPS
    if b.method:
        assert callable(getattr(Value, b.method, None)), f"Value.{b.method} missing"
        assert getattr(Value, b.method).__doc__, f"Value.{b.method} has no doc"
    if b.function:
        assert callable(getattr(autograd, b.function, None)), f"autograd.{b.function} missing"
        assert b.function in autograd.__all__


def test_bound_methods_record_their_op():
    x = Value(np.array([[0.5, -1.0], [2.0, 0.25]]))
    assert x.tanh().op == "tanh" and x.sum(dim=1, keepdim=True).shape == (2, 1)
    assert autograd.softmax(x, dim=0).op == "softmax"
    with pytest.raises(TypeError, match="both axis= and dim="):
        x.sum(axis=0, dim=1)
