"""The step recorder: its numbers against backward(), its words, its JSON, and preview()."""
import json
import math

import numpy as np

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograd import OPS, Value, neuron, topological_order
from autograd.viz.player.steps import Recording, record
from autograd.viz.player.explain import preview


def _at(nodes, node):
    """node's position in nodes, by identity (== between Values is elementwise, so list.index is not)."""
    return next(i for i, n in enumerate(nodes) if n is node)


def _micrograd_neuron():
    """The micrograd lecture's neuron: o = tanh(x0*w0 + x1*w1 + b)."""
    x0, w0 = Value(2.0, label="x0"), Value(-3.0, label="w0")
    x1, w1 = Value(0.0, label="x1"), Value(1.0, label="w1")
    b = Value(6.8813735870195432, label="b")
    n = w0 * x0
    n.label = "n"
    o = (n + x1 * w1 + b).tanh()
    return o, {"x0": x0, "w0": w0, "x1": x1, "w1": w1, "b": b, "n": n}


def _assert_matches_backward(loss):
    """Record, then run the real backward: every recorded gradient equals `.grad`."""
    rec = record(loss)
    nodes = topological_order(loss)
    assert [id(n) for n in rec.nodes] == [id(n) for n in nodes]
    loss.backward()
    final = rec.final_grads
    expected = {i for i, n in enumerate(nodes) if n.requires_grad}
    assert set(final) == expected
    for i in expected:
        got, want = final[i], nodes[i].grad
        assert np.shape(got) == np.shape(want), (nodes[i].label, np.shape(got), np.shape(want))
        np.testing.assert_array_equal(got, want, err_msg=f"node {i} ({nodes[i].label or nodes[i].op})")
    return rec


# ---- numbers ---------------------------------------------------------------------------


def test_scalar_graph_matches_backward():
    o, _ = _micrograd_neuron()
    rec = _assert_matches_backward(o)
    assert all(step.kind == "backward" for step in rec.steps)


def test_explains_the_chain_rule_with_numbers():
    o, _ = _micrograd_neuron()
    lines = [line for step in record(o).steps for line in step.text.splitlines()]
    assert "dL/dw0 += dL/dn · dn/dw0 = 0.5 × 2 = 1   (dn/dw0 = x0)" in lines
    assert "dL/dx0 += dL/dn · dn/dx0 = 0.5 × -3 = -1.5   (dn/dx0 = w0)" in lines
    # at the root the local factor is written with d too, marked local, with the formula filled in
    # (the unlabelled sum is named by the expression it computes, in parentheses after a d)
    assert lines[0] == ("dL/d(n + x1·w1 + b) += dL/dL · dL/d(n + x1·w1 + b) = 1 × 0.5 = 0.5   "
                        "(dL/dL = 1 at the root; local: dL/d(n + x1·w1 + b) = 1 - L²)")


def test_one_derivative_notation_in_every_step():
    o, _ = _micrograd_neuron()
    x = Value(3.0, label="x")
    square = x * x  # the root uses x twice: two local factors, one accumulated total
    for loss in (o, square, (o * 2).tanh()):
        for forward in (False, True):
            texts = "\n".join(step.text for step in record(loss, forward=forward).steps)
            assert "∂" not in texts and "dL/d" in texts
    lines = record(square).steps[0].text.splitlines()
    assert lines == ["dL/dx += dL/dL · dL/dx = 1 × 3 = 3   (dL/dL = 1 at the root; local: dL/dx = x; "
                     "x is used 2 times: contribution 1 of 2; the others add to it)",
                     "dL/dx += dL/dL · dL/dx = 1 × 3 = 3   (dL/dL = 1 at the root; local: dL/dx = x; "
                     "x is used 2 times: contribution 2 of 2; dL/dx is now 3 + 3 = 6)"]


def test_each_step_records_upstream_local_contribution_and_accumulated_grads():
    o, v = _micrograd_neuron()
    rec = record(o)
    index = {node: i for i, node in enumerate(rec.nodes)}
    (step,) = [s for s in rec.steps if s.node == index[v["n"]]]
    assert step.upstream == pytest.approx(0.5)
    by_parent = {rec.nodes[p.parent].label: p for p in step.parents}
    assert set(by_parent) == {"w0", "x0"}
    w0 = by_parent["w0"]
    assert (w0.formula, w0.rule) == (OPS["mul"].formula[0], "x0")
    assert w0.local == 2.0 and w0.contribution == pytest.approx(1.0) and w0.grad_after == w0.contribution
    assert rec.grads_at(step.index)[index[v["w0"]]] == pytest.approx(1.0)
    for s in rec.steps:  # every scalar local derivative is the rule's number: contribution = upstream · local
        for p in s.parents:
            assert p.local is not None
            assert p.contribution == pytest.approx(s.upstream * p.local, rel=1e-12)


def test_leaves_the_users_grads_alone():
    o, v = _micrograd_neuron()
    o.backward()
    before = {name: node.grad for name, node in v.items()}
    record(o, forward=True)
    assert {name: node.grad for name, node in v.items()} == before  # not zeroed, not doubled
    fresh, leaves = _micrograd_neuron()
    record(fresh)
    assert all(node.grad == 0.0 for node in leaves.values())


def test_reused_nodes_accumulate_both_contributions():
    a = Value(1.5, label="a")
    b = Value(-0.7, label="b")
    square, twice = a * a, a + a
    diamond_top = (a * b).tanh()
    loss = square * twice + diamond_top * a + (b ** 3) / (a - b)
    rec = _assert_matches_backward(loss)
    index = {node: i for i, node in enumerate(rec.nodes)}
    (step,) = [s for s in rec.steps if s.node == index[square]]
    first, second = step.parents
    assert first.parent == second.parent == index[a]
    assert second.grad_after == pytest.approx(first.grad_after + second.contribution)
    uses = sum(n.parents.count(a) for n in rec.nodes if n.op)
    assert uses == 7
    assert "a is used 7 times: contribution" in step.text.splitlines()[1]
    last = [line for s in rec.steps for line in s.text.splitlines() if line.startswith("dL/da +=")][-1]
    # the last contribution says so and shows the sum of every contribution, one term each
    assert "contribution 7 of 7; dL/da is now " in last
    terms = last.split("dL/da is now ")[1].split(" = ")[0].split(" + ")
    assert len(terms) == 7
    assert last.rstrip(")").endswith(f"= {preview(rec.final_grads[index[a]])}")


def test_mlp_with_matmul_and_broadcast_bias_matches_backward(rng):
    x = Value(rng.normal(size=(4, 3)), label="x", requires_grad=False)
    W1, b1 = Value(rng.normal(size=(3, 5)), label="W1"), Value(rng.normal(size=5), label="b1")
    W2, b2 = Value(rng.normal(size=(5, 1)), label="W2"), Value(rng.normal(size=(1, 1)), label="b2")
    xW = x @ W1
    xW.label = "xW"
    h = (xW + b1).tanh()
    h.label = "h"
    out = h @ W2 + b2
    y = np.array([[1.0], [-1.0], [0.5], [0.0]])
    loss = ((out - y) ** 2).mean()
    rec = _assert_matches_backward(loss)
    text = "\n".join(step.text for step in rec.steps)
    assert "dL/dW1 += xᵀ · dL/dxW = shape (3, 5) float64 · min/mean/max" in text
    assert "dL/dW2 += hᵀ · dL/d(h @ W2) = [[0.8082], [0.3563]" in text
    (bias_line,) = [line for line in text.splitlines() if line.startswith("dL/db1 +=")]
    assert "summed from shape (4, 5) to (5,): broadcasting undone" in bias_line
    b1_steps = [p for s in rec.steps for p in s.parents if rec.nodes[p.parent] is b1]
    assert [p.contribution.shape for p in b1_steps] == [(5,)] and b1_steps[0].local is None


def test_float32_and_reductions_over_axes_match_backward(rng):
    x = Value(rng.normal(size=(3, 4)).astype(np.float32), label="x")
    loss = (x.softmax(axis=1) * x).sum(axis=0).max() + x.logsumexp(axis=1).mean() + x.T.reshape(12)[2:5].sum()
    rec = _assert_matches_backward(loss)
    assert rec.final_grads[_at(rec.nodes, x)].dtype == np.float32


def test_neuron_node_matches_backward():
    w = Value([0.5, -1.0, 2.0], label="w")
    b = Value(0.1, label="b")
    xs = [Value(v, label=f"x{i}") for i, v in enumerate((1.0, 2.0, -0.5))]
    loss = neuron(w, b, xs).tanh()
    rec = _assert_matches_backward(loss)
    lines = rec.steps[1].text.splitlines()
    assert lines[0].startswith("dL/dw += dL/d(neuron#1) · [x0, x1, x2] = [")
    assert "(d(neuron#1)/dx1 = w[1])" in lines[3]


def test_neuron_rows_of_a_weight_matrix_match_backward(rng):
    W = Value(rng.normal(size=(2, 3)), label="W")
    b = Value(rng.normal(size=2), label="b")
    xs = [Value(v) for v in (1.0, -2.0, 0.5)]
    loss = sum((neuron(W, b, xs, row=r).relu() for r in range(2)), Value(0.0, requires_grad=False))
    _assert_matches_backward(loss)


@given(st.lists(st.floats(-3, 3, allow_nan=False), min_size=3, max_size=3))
def test_every_scalar_op_matches_backward(xs):
    a, b, c = (Value(x, label=name) for x, name in zip(xs, "abc"))
    loss = ((a * b - c).tanh() + (a / (b.abs() + 1)).sigmoid() * c.exp() + (c * c + 1).log().exp().sqrt()
            + a.relu() ** 2 - (-b) + (b * b + 0.5) ** a)
    _assert_matches_backward(loss)


# ---- forward steps, names, grads_at, JSON ------------------------------------------------------


def test_forward_steps_come_first_in_topological_order():
    o, v = _micrograd_neuron()
    rec = record(o, forward=True)
    forward = [s for s in rec.steps if s.kind == "forward"]
    ops = [i for i, node in enumerate(rec.nodes) if node.op]
    assert [s.node for s in forward] == ops
    assert rec.steps[: len(forward)] == forward
    assert all(s.value == rec.nodes[s.node].data and s.upstream is None for s in forward)
    assert forward[0].text == "n = w0 * x0 = (-3) × 2 = -6"
    assert forward[-1].text == "L = tanh(n + x1·w1 + b) = tanh(0.8814) = 0.7071"
    assert [s.index for s in rec.steps] == list(range(len(rec.steps)))
    assert rec.grads_at(len(forward) - 1) == {}


def test_names_fall_back_to_op_and_index_and_root_label():
    x = Value(3.0)
    y = (x * 2).exp()
    rec = record(y)
    assert rec.names == ["leaf#1", "2", "mul#1", "L"]  # numbered per op, in reading order
    y.label = "loss"
    assert record(y).steps[0].text.startswith("dloss/d(mul#1) += dloss/dloss")


def test_grads_at_accumulates_step_by_step():
    o, v = _micrograd_neuron()
    rec = record(o)
    root = rec.root_index
    assert rec.grads_at(0)[root] == 1.0  # the seed appears with the first backward step
    seen = {}
    for step in rec.steps:
        seen.update(step.grads)
        assert rec.grads_at(step.index) == seen
    assert rec.grads_at(-1) == rec.final_grads
    with pytest.raises(IndexError, match="out of range"):
        rec.grads_at(len(rec.steps))


def test_constants_receive_no_gradient_and_hooks_do_not_run():
    calls = []
    x = Value(2.0, label="x")
    x.register_hook(calls.append)
    k = Value(5.0, label="k", requires_grad=False)
    rec = record((x * k).tanh())
    assert calls == []
    assert all(rec.nodes[p.parent] is not k for s in rec.steps for p in s.parents)
    assert _at(rec.nodes, k) not in rec.final_grads


def test_to_json_is_json_and_uses_the_drawers_node_ids():
    o, _ = _micrograd_neuron()
    o.label = 'L<script>alert("x")</script>&{}'
    rec = record(o, forward=True)
    data = json.loads(json.dumps(rec.to_json()))
    assert data["root"] == f"v{rec.root_index}"
    assert [n["id"] for n in data["nodes"]] == [f"v{i}" for i in range(len(rec.nodes))]
    assert data["nodes"][rec.root_index]["label"] == o.label  # raw: escaping is the page's job
    n = data["nodes"][[node.label for node in rec.nodes].index("n")]
    assert (n["op"], n["op_label"], n["data"], n["grad"], n["formulas"]) == ("mul", "*", "-6", "0.5", ["b", "a"])
    first_backward = data["steps"][len(data["steps"]) - len([s for s in rec.steps if s.kind == "backward"])]
    assert first_backward["grads"][data["root"]] == "1"
    for raw, step in zip(rec.steps, data["steps"]):
        assert step["node"] == f"v{raw.node}" and step["text"] == raw.text
        assert all(edge[1] == step["node"] for edge in step["edges"])
        if raw.kind == "backward":
            assert {edge[0] for edge in step["edges"]} == {f"v{p.parent}" for p in raw.parents}
            assert set(step["grads"]) >= {edge[0] for edge in step["edges"]}
        else:
            assert step["values"] == {step["node"]: preview(raw.value)} and not step["grads"]


def test_tensor_json_previews(rng):
    W = Value(rng.normal(size=(3, 4)), label="W")
    rec = record((W * 2).sum())
    node = rec.to_json()["nodes"][0]
    assert node["shape"] == [3, 4] and node["data"].startswith("shape (3, 4) float64 · min/mean/max ")


# ---- refusals -----------------------------------------------------------------------------


def test_non_scalar_loss_is_refused_with_the_fix():
    x = Value(np.ones(3), label="x")
    with pytest.raises(ValueError, match=r"scalar loss.*shape \(3,\).*\.sum\(\).*\.mean\(\)"):
        record(x * 2)
    rec = record((x * 2)[1:2])  # a one-element tensor is a scalar loss too
    assert isinstance(rec, Recording) and rec.final_grads[0].tolist() == [0.0, 2.0, 0.0]


def test_loss_without_grad_and_non_values_are_refused():
    with pytest.raises(ValueError, match="does not require grad"):
        record(Value(2.0, requires_grad=False) * 3)
    with pytest.raises(TypeError, match="got float"):
        record(1.0)


# ---- preview -------------------------------------------------------------------------------


@pytest.mark.parametrize("x, text", [
    (2 / 3, "0.6667"), (-6.0, "-6"), (-0.0, "0"), (1234567.0, "1.235e+06"), (1e-7, "1e-07"),
    (np.float32(0.5), "0.5"), (3, "3"), (math.nan, "nan"), (-math.inf, "-inf"), (None, ""),
    (np.array(2.5), "2.5"), (np.array([1.0, -2.25]), "[1, -2.25]"),
    (np.array([[1.0, 2.0], [3.0, 4.0]]), "[[1, 2], [3, 4]]"),
    (np.arange(6.0).reshape(2, 3), "[[0, 1, 2], [3, 4, 5]]"),
    (np.arange(12.0).reshape(3, 4), "shape (3, 4) float64 · min/mean/max 0/5.5/11"),
    (np.ones(7, np.float32), "shape (7,) float32 · min/mean/max 1/1/1"),
    (np.zeros((0, 2)), "shape (0, 2) float64 · empty"),
])
def test_preview(x, text):
    assert preview(x) == text


def test_preview_of_a_value_is_the_preview_of_its_data():
    assert preview(Value([1.0, 2.0])) == "[1, 2]"


def test_a_leaf_loss_gets_its_seed():
    x = Value(3.0, label="x")
    rec = _assert_matches_backward(x)
    assert [s.text for s in rec.steps] == ["dx/dx = 1: the loss is a leaf, there is nothing to propagate"]
