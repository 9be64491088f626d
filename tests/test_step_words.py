"""The words of the players and drawings, as a learner reads them (issue: every frame true and
readable): names by expression, reuse counts with each contribution, parentheses in d(...)/d(...),
forward steps with numbers, a weight matrix's changed row, no name written twice."""
from __future__ import annotations

import re

import numpy as np

from autograd import Value, grad, topological_order
from autograd.functional import neuron
from autograd.viz.names import node_names, preview
from autograd.viz.player import layout, record


def _at(nodes, node):
    """The position of `node` by identity (== between Values compares their data)."""
    return next(i for i, n in enumerate(nodes) if n is node)


def _neuron():
    x0, x1 = Value(2.0, label="x0", requires_grad=False), Value(0.5, label="x1", requires_grad=False)
    w0, w1 = Value(0.25, label="w0"), Value(-1.0, label="w1")
    return x0, w0, x1, w1, ((x0 * w0) + (x1 * w1)).tanh()


def test_small_intermediates_are_named_by_their_expression_and_the_rest_numbered_in_order():
    *_, L = _neuron()
    nodes = topological_order(L)
    assert node_names(nodes, _at(nodes, L)) == ["x0", "w0", "x1", "w1", "x0·w0", "x1·w1", "x0·w0 + x1·w1", "L"]
    a = Value(1.0)
    long = (a * a * a * a * a * a * a).exp()
    nodes = topological_order(long)
    names = node_names(nodes, _at(nodes, long))
    assert names[0] == "leaf#1"
    assert [n for n in names if n.startswith("mul#")] == [f"mul#{k}" for k in range(1, 7)]  # reading order
    assert len(set(names)) == len(names)


def test_two_nodes_computing_the_same_expression_get_different_names():
    x, w = Value(2.0, label="x"), Value(3.0, label="w")
    L = x * w + x * w
    nodes = topological_order(L)
    names = node_names(nodes, _at(nodes, L))
    assert names.count("x·w") == 1 and "mul#1" in names and len(set(names)) == len(names)


def test_forward_steps_show_the_numbers_and_never_repeat_a_name():
    *_, L = _neuron()
    forward = [s.text for s in record(L, forward=True).steps if s.kind == "forward"]
    assert forward == ["x0·w0 = 2 × 0.25 = 0.5",
                       "x1·w1 = 0.5 × (-1) = -0.5",
                       "x0·w0 + x1·w1 = 0.5 + (-0.5) = 0",
                       "L = tanh(x0·w0 + x1·w1) = tanh(0) = 0"]
    for text in forward:
        parts = text.split(" = ")
        assert len(parts) == len(set(parts))  # no "n = n"


def test_a_node_used_three_times_says_so_and_shows_each_contribution():
    x = Value(2.0, label="x")
    L = x * 3.0 + x * x
    texts = [line for s in record(L).steps for line in s.text.splitlines() if line.startswith("dL/dx +=")]
    assert len(texts) == 3
    assert all("x is used 3 times" in t for t in texts)
    assert "contribution 1 of 3; the others add to it" in texts[0]
    assert texts[-1].endswith("contribution 3 of 3; dL/dx is now 2 + 2 + 3 = 7)")
    assert "twice" not in " ".join(texts)
    assert grad(L, [x])[0].data == 7.0


def test_tensor_reuse_counts_and_the_changed_row_of_a_weight_matrix():
    W = Value(np.arange(8.0).reshape(4, 2) / 8, label="W")
    b = Value(np.zeros(4), label="b")
    xs = [Value(1.0, label="x0", requires_grad=False), Value(-2.0, label="x1", requires_grad=False)]
    L = sum((neuron(W, b, xs, row=r).tanh() for r in range(4)), Value(0.0, requires_grad=False))
    lines = [line for s in record(L).steps for line in s.text.splitlines() if line.startswith("dL/dW +=")]
    assert len(lines) == 4 and all("W is used 4 times" in line for line in lines)
    assert "min/mean/max" not in lines[0]
    assert re.search(r"= shape \(4, 2\) float64 · row \d \[[-\d.e, ]+\], other rows 0", lines[0])
    g = np.zeros((16, 2))
    g[5] = [0.25, -0.5]
    assert preview(g) == "shape (16, 2) float64 · row 5 [0.25, -0.5], other rows 0"
    assert preview(np.zeros((3, 4))) == "shape (3, 4) float64 · all 0"
    v = np.zeros(16)
    v[3] = 0.5
    assert preview(v) == "shape (16,) float64 · [3] 0.5, other entries 0"
    assert preview(np.arange(12.0).reshape(3, 4)) == "shape (3, 4) float64 · min/mean/max 0/5.5/11"


def test_gradient_names_put_expressions_in_parentheses_in_the_titles_too():
    y = Value(1.0, label="y", requires_grad=False)
    yhat = Value(0.25, label="ŷ")
    e = yhat - y
    e.label = "ŷ − y"
    loss = e * e
    loss.label = "loss"
    data = layout(loss).data
    by_name = {n["name"]: n for n in data["nodes"]}
    assert by_name["ŷ − y"]["dname"] == "dloss/d(ŷ − y)"
    assert by_name["ŷ"]["dname"] == "dloss/dŷ"
    text = record(loss).steps[0].text
    assert "dloss/d(ŷ − y)" in text and "dloss/dŷ − y" not in text
    # the constant the label calls y is drawn with that name, as a constant
    assert by_name["y"]["kind"] == "constant"


def test_the_done_frame_marks_nothing_as_still_receiving():
    from autograd.viz.player.frames import frame_state

    *_, L = _neuron()
    data = layout(L).data
    last = frame_state(data, len(data["steps"]))
    leaves = [n["id"] for n in data["nodes"] if not n["op"] and n["requires_grad"]]
    assert leaves and all(last["cls"][i] == ["st_done"] for i in leaves)
    before = frame_state(data, len(data["steps"]) - 1)
    assert any("st_recv" in c for c in before["cls"].values())  # receiving is shown on earlier frames


def test_heatmap_data_is_embedded_once_per_array_and_capped():
    from autograd.viz.player.heatmap import MAX_SIDE, heat

    img = np.random.default_rng(0).normal(size=(6, 3, 100, 20))
    h = heat(img)
    assert h["shape"] == [6, 3, 100, 20] and h["grid"] == [4, 3, 25, 20]
    assert len(h["v"]) == 4 * 3 * 25 * 20 and h["cut"] == "first 4 of 6 samples, every 4th row"
    assert h["v"][:2] == [float(f"{v:.4g}") for v in img[0, 0, 0, :2]]
    from autograd.viz.player.heatmap import Arrays

    arrays = Arrays(budget=8000)
    assert arrays.add(img) == 0 and arrays.add(img) == 0  # the same array: stored once
    assert arrays.add(img.copy()) is None and len(arrays.items) == 1  # over the page's budget
    assert h["grid"][2] <= MAX_SIDE + 2
    assert heat(np.zeros(5)) is None and heat(np.zeros((2, 2)))["grid"] == [1, 1, 2, 2]
    W = Value(np.ones((3, 4)), label="W")
    loss = (W * 2.0).sum()
    data = layout(loss).data
    w = next(n for n in data["nodes"] if n["name"] == "W")
    assert data["arrays"][w["heat"]]["grid"] == [1, 1, 3, 4]
    assert any(s["heat"] for s in data["steps"])


def test_expression_names_put_negative_numbers_and_sums_in_parentheses():
    x = Value(2.0, label="x")
    e = Value(0.5, label="e")
    L = ((x * -0.5 + 3) * e).exp()
    nodes = topological_order(L)
    names = node_names(nodes, _at(nodes, L))
    assert "x·(-0.5)" in names and "(x·(-0.5) + 3)·e" in names
    assert record(L, forward=True).steps[0].text == "x·(-0.5) = 2 × (-0.5) = -1"


def test_the_heatmap_scale_covers_the_whole_tensor_not_only_the_values_shown():
    from autograd.viz.player.heatmap import heat

    a = np.zeros((4, 100))
    a[0, 1] = -7.5           # column 1 is not among the shown ones (every 4th column)
    a[2, 0], a[3, 4] = 1.0, np.inf  # inf is left out of the scale
    h = heat(a)
    assert h["step"] == [1, 4] and max(abs(v) for v in h["v"]) == 1.0
    assert h["absmax"] == 7.5
    assert heat(np.zeros((2, 2)))["absmax"] == 0.0
