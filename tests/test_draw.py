"""The graph drawer: what the DOT says (labels, values, grads, kinds, legend), escaping, folding, the cap."""
import html
import re
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from autograd import Value, neuron, topological_order
from autograd.viz import GraphTooLargeError, draw, preview, render
from autograd.viz.graph.draw import build, cell_text, kinds_of
from autograd.viz.graph.style import GROUP_FILL, KINDS, OP_FILL

SVG = "{http://www.w3.org/2000/svg}"


def _at(nodes, node):
    """node's position in nodes, by identity (== between Values is elementwise, so list.index is not)."""
    return next(i for i, n in enumerate(nodes) if n is node)


def micrograd_neuron():
    """micrograd's README neuron: o = tanh(x1*w1 + x2*w2 + b)."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o, dict(x1=x1, x2=x2, w1=w1, w2=w2, b=b, n=n)


def node_statement(source: str, name: str) -> str:
    match = re.search(rf"^\t{name} \[(.*)\]$", source, re.M)
    assert match, f"no node statement for {name}"
    return match.group(1)


def test_value_nodes_show_label_data_and_grad_op_nodes_separate():
    o, v = micrograd_neuron()
    o.backward()
    graph = draw(o)
    assert isinstance(graph, render.Digraph)
    assert "rankdir=LR" in graph.source
    nodes = topological_order(o)
    for i, node in enumerate(nodes):
        label = node_statement(graph.source, f"v{i}")
        assert f"data {preview(node.data)}" in label
        assert f"grad {preview(node.grad)}" in label
        if node.label:
            assert f"<B>{node.label}</B>" in label
    # hand-computed: do/dn = 1 - tanh(n)^2 = 0.5, so do/dw1 = 0.5 * x1 = 1 and do/dx1 = 0.5 * w1 = -1.5
    assert "grad -1.5" in node_statement(graph.source, f"v{_at(nodes, v['x1'])}")
    assert "grad 1<" in node_statement(graph.source, f"v{_at(nodes, v['w1'])}")
    assert "grad 0.5<" in node_statement(graph.source, f"v{_at(nodes, v['n'])}")
    # one small op node per computed value, edges parent -> op -> value
    for i, node in enumerate(nodes):
        if node.op:
            assert f"\tv{i}_op -> v{i} " in graph.source
            for p in node.parents:
                assert f"\tv{_at(nodes, p)} -> v{i}_op " in graph.source
    tanh_op = node_statement(graph.source, f"v{_at(nodes, o)}_op")
    assert "label=<tanh>" in tanh_op and OP_FILL in tanh_op


def test_kinds_are_styled_differently_and_the_legend_names_them():
    w = Value(2.0, label="w")
    x = Value(3.0)                              # input: requires grad, no label
    c = Value(4.0, requires_grad=False)         # constant
    h = w * x + c
    L = h.tanh()
    nodes = topological_order(L)
    kinds = kinds_of(nodes, _at(nodes, L))
    assert kinds[_at(nodes, w)] == "parameter"
    assert kinds[_at(nodes, x)] == "input"
    assert kinds[_at(nodes, c)] == "constant"
    assert kinds[_at(nodes, h)] == "intermediate"
    assert kinds[_at(nodes, L)] == "output"
    source = draw(L).source
    for node, kind in zip(nodes, kinds):
        fill, border, words = KINDS[kind]
        statement = node_statement(source, f"v{_at(nodes, node)}")
        assert f'BGCOLOR="{fill}"' in statement and f'COLOR="{border}"' in statement
        assert f"k_{kind}" in statement
        assert html.escape(words) in node_statement(source, "legend")
    fills = {KINDS[k][0] for k in kinds}
    assert len(fills) == 5  # five kinds, five looks
    assert "grad" not in node_statement(source, f"v{_at(nodes, c)}")  # constants have no gradient


def test_params_argument_decides_parameters_versus_inputs():
    w, x = Value(2.0, label="w"), Value(3.0, label="x")
    L = w * x
    nodes = topological_order(L)
    kinds = kinds_of(nodes, _at(nodes, L), params=[w])
    assert kinds[_at(nodes, w)] == "parameter" and kinds[_at(nodes, x)] == "input"
    assert "k_input" in node_statement(draw(L, params=[w]).source, f"v{_at(nodes, x)}")


def test_hiding_data_or_grads_and_forward_only():
    o, _ = micrograd_neuron()
    o.backward()
    no_grad = draw(o, show_grad=False).source
    no_data = draw(o, show_data=False).source
    forward = draw(o, forward_only=True).source
    assert ">grad " not in no_grad and ">data " in no_grad
    assert ">data " not in no_data and ">grad " in no_data
    assert ">grad " not in forward and ">data " in forward
    assert "grad = dL/d(node)" not in node_statement(forward, "legend")


def test_tensor_nodes_show_shape_dtype_and_a_preview():
    rng = np.random.default_rng(0)
    W = Value(rng.normal(size=(3, 4)).astype(np.float32), label="W")
    x = Value(np.array([1.0, 2.0, 3.0, 4.0]), label="x")
    L = (W @ x).sum()
    L.backward()
    source = draw(L).source
    nodes = topological_order(L)
    w_label = node_statement(source, f"v{_at(nodes, W)}")
    assert "(3, 4) float32" in w_label
    assert f"data {cell_text(preview(W.data))}" in w_label and "min/mean/max" in w_label
    x_label = node_statement(source, f"v{_at(nodes, x)}")
    assert "data [1, 2, 3, 4]" in x_label  # small tensors in full
    assert f"grad {cell_text(preview(x.grad))}" in x_label


NASTY = ['say "hi"', "{a|b}", "x<y>z", "A&B", "<script>alert(1)</script>", "back\\slash", "</TD></TR>"]


@pytest.mark.parametrize("nasty", NASTY)
def test_labels_cannot_break_the_dot_source(nasty):
    x = Value(2.0, label=nasty)
    y = (x * 3).tanh()
    y.label = nasty
    y.backward()
    graph = draw(y)
    statement = node_statement(graph.source, "v0")
    assert html.escape(nasty, quote=True) in statement
    for raw in ("<script", '"hi"', "x<y", "A&B"):
        if raw in nasty:
            assert raw not in statement
    plain = Value(2.0, label="plain")
    benign = node_statement(draw((plain * 3).tanh()).source, "v0")
    assert statement.count("<TD") == benign.count("<TD") and statement.count("</TD>") == benign.count("</TD>")
    svg = graph.pipe(format="svg").decode()  # the renderer accepts it ...
    root = ET.fromstring(svg[svg.index("<svg"):])  # ... and writes well-formed SVG
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert texts.count(nasty) == 2  # shown verbatim, as text, in both boxes


def test_draw_renders_with_the_pip_backend(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACEGRAD_RENDERER", "pip")
    monkeypatch.delenv("TRACEGRAD_DOT", raising=False)
    o, _ = micrograd_neuron()
    graph = draw(o)
    written = graph.render(tmp_path / "g", format="svg")
    assert open(written).read().count('class="node value') == len(topological_order(o))
    assert graph.pipe(format="png")[:8] == b"\x89PNG\r\n\x1a\n"


def scalar_mlp(sizes, seed=0, labelled=True):
    """micrograd-style scalar MLP: every neuron sum(w*x) + b, parameters labelled L{l}.n{j}.w{i}."""
    rng = np.random.default_rng(seed)
    xs = [Value(v) for v in rng.normal(size=sizes[0])]
    for l, (a, b) in enumerate(zip(sizes, sizes[1:])):
        outs = []
        for j in range(b):
            act = Value(0.0, label=f"L{l}.n{j}.b" if labelled else "")
            for i in range(a):
                act = act + Value(rng.normal(), label=f"L{l}.n{j}.w{i}" if labelled else "") * xs[i]
            outs.append(act.tanh() if l < len(sizes) - 2 else act)
        xs = outs
    return (xs[0] - 1.0) ** 2, xs


def drawn_nodes(source: str) -> set:
    return set(re.findall(r"^\t(\w+) \[", source, re.M)) - {"graph", "node", "edge", "legend"}


def test_big_graph_folds_by_label_prefix_under_the_cap():
    loss, _ = scalar_mlp([3, 16, 16, 1])
    nodes = topological_order(loss)
    assert 2 * len(nodes) > 400
    graph = draw(loss)  # default cap, fold="auto"
    names = drawn_nodes(graph.source)
    assert len(names) <= 400
    groups = {n for n in names if n.startswith("g")}
    assert groups
    statements = [node_statement(graph.source, g) for g in groups]
    assert all(GROUP_FILL in s and "nodes folded" in s for s in statements)
    # neurons fold (the finest level that fits), the loss and the inputs stay visible
    assert any("<B>L1.n3</B>" in s for s in statements)
    assert f"v{_at(nodes, loss)}" in names
    for i, node in enumerate(nodes):
        if node.is_leaf and node.requires_grad and not node.label:
            assert f"v{i}" in names
    # edges only between drawn nodes, each pair once
    edges = re.findall(r"^\t(\w+) -> (\w+)", graph.source, re.M)
    assert len(edges) == len(set(edges))
    assert {t for t, _ in edges} | {h for _, h in edges} <= names
    graph.pipe()  # and Graphviz lays it out


def test_fold_true_makes_one_box_per_module():
    loss, _ = scalar_mlp([2, 4, 1])
    source = draw(loss, fold=True).source
    groups = sorted(g for g in drawn_nodes(source) if g.startswith("g"))
    labels = sorted(re.search(r"<B>([^<]*)</B>", node_statement(source, g)).group(1) for g in groups)
    assert labels == ["L0", "L1"]


def test_over_the_cap_without_folding_raises_before_graphviz(monkeypatch):
    def no_graphviz(*args, **kwargs):
        raise AssertionError("Graphviz must not be started")

    monkeypatch.setattr(render, "pipe", no_graphviz)
    monkeypatch.setattr(sys.modules["autograd.viz.player.page"], "pipe", no_graphviz)
    loss, _ = scalar_mlp([3, 8, 1])
    nodes = topological_order(loss)
    expected = sum(2 if n.op else 1 for n in nodes)
    with pytest.raises(GraphTooLargeError) as caught:
        draw(loss, max_nodes=50, fold=False)
    message = str(caught.value)
    assert f"{expected} Graphviz nodes" in message and "max_nodes=50" in message
    assert f"max_nodes={expected}" in message and "fold" in message
    assert isinstance(caught.value, ValueError)
    from autograd.viz import player

    with pytest.raises(GraphTooLargeError):
        player(loss, max_nodes=50, fold=False)


def test_unlabelled_graph_over_the_cap_says_nothing_folds():
    x = Value(0.5)
    y = x
    for _ in range(300):
        y = (y * 1.01).tanh()
    with pytest.raises(GraphTooLargeError, match="Nothing folds"):
        draw(y)
    assert len(drawn_nodes(draw(y, max_nodes=None).source)) > 400  # None lifts the cap


def test_neuron_is_one_node():
    w = Value(np.array([0.5, -1.0, 2.0]), label="w")
    b = Value(0.1, label="b")
    xs = [Value(1.0, label=f"x{i}") for i in range(3)]
    out = neuron(w, b, xs)
    source = draw(out).source
    ops = re.findall(r"^\t(v\d+_op) \[label=<([^>]*)>", source, re.M)
    assert [label for _, label in ops] == ["Σ w·x + b"]
    assert source.count("-> v5_op") == 5  # w, b and three inputs into the one node


def test_bad_options_are_refused():
    o, _ = micrograd_neuron()
    with pytest.raises(ValueError, match="fold="):
        draw(o, fold="sometimes")
    with pytest.raises(ValueError, match="max_nodes"):
        draw(o, max_nodes=0)


def test_build_reserves_widths_for_the_player():
    o, _ = micrograd_neuron()
    nodes = topological_order(o)
    texts = {i: ("data ?", "grad ·") for i in range(len(nodes))}
    reserve = {i: (6, 30) for i in range(len(nodes))}
    drawing = build(o, texts=texts, reserve=reserve)
    assert drawing.drawn == [f"v{i}" for i in range(len(nodes))]
    statement = node_statement(drawing.graph.source, "v0")
    assert ">grad ·<" in statement and ">data ?<" in statement
    widths = [int(w) for w in re.findall(r'WIDTH="(\d+)"', statement)]
    assert max(widths) >= 30 * 0.6 * 11  # 30 monospace characters at 11 pt fit
