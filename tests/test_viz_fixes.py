"""What a new user tripped over (issue: every frame true and readable), kept fixed: the flagship's
one-neuron graph, the learning-rate wording, the CLI's inf/nan warning and kinds, render's files and
formats, lone surrogates, the drawer's cap from measured layout times, and cells sized for DejaVu."""
from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

from autograd import Value, grad, topological_order
from autograd.viz import GraphTooLargeError, draw
from autograd.viz.graph import fold
from autograd.viz.graph.fonts import text_width
from autograd.viz.graph.render import pipe

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


# ---- 1. the flagship's neuron --------------------------------------------------------------

def test_the_flagship_neuron_shows_its_own_row_and_fresh_gradients():
    from demos import flagship, moons

    model, X, y = moons.build()
    for p in model.parameters():  # as after training: stale gradients everywhere
        p.grad = np.ones_like(p.data) if p.ndim else 1.0
    x, _ = flagship.example_inside_margin(model)
    out = flagship.one_neuron(model, x)
    leaves = [n for n in topological_order(out) if not n.op and n.requires_grad]
    (w,) = [n for n in leaves if n.label.startswith("layers.0.weight[")]
    (b,) = [n for n in leaves if n.label.startswith("layers.0.bias[")]
    row = int(re.search(r"\[(\d+)\]", w.label).group(1))
    assert w.shape == (2,) and np.array_equal(w.data, model.layers[0].weight.data[row])
    assert out.data > 0  # an active neuron: the gradient flows
    fresh = grad(out, [w, b])
    assert np.allclose(w.grad, fresh[0].data) and np.isclose(b.grad, fresh[1].data)
    assert np.allclose(w.grad, x)  # d relu(w·x + b)/dw = x when active
    assert np.all(model.layers[0].weight.grad == 1)  # the model's own gradients are not touched
    source = draw(out).source
    assert "(16, 2)" not in source and f"layers.0.weight[{row}]" in source


# ---- 6. learning-rate wording ------------------------------------------------------------

def test_learning_rate_says_never_plainly():
    from demos.learning_rate import reach_text

    assert reach_text([5.0, 4.0, 3.0], 1.0, 60) == "not within 5% of the minimum in 60 steps"
    assert reach_text([5.0, 1.01, 1.0], 1.0, 60) == "within 5% of the minimum after 1 step"
    assert reach_text([5.0, 2.0, 1.0], 1.0, 60) == "within 5% of the minimum after 2 steps"


# ---- 4, 5. the CLI ----------------------------------------------------------------------------

@pytest.mark.parametrize("expression, op, kind", [("x / y", "div", "NaN"), ("log(x)", "log", "inf"),
                                                  ("sqrt(x) * y", "sqrt", "NaN")])
def test_the_cli_warns_about_inf_and_nan_naming_the_op(tmp_path, expression, op, kind):
    done = subprocess.run([sys.executable, "-m", "autograd.viz", expression, "x=0", "y=0", "-o", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    (warning,) = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert f"{kind} in the " in warning and f" of {op}" in warning and "<" not in warning
    assert (tmp_path / "graph.svg").exists() and (tmp_path / "player.html").exists()


def test_the_cli_is_quiet_for_finite_values_and_draws_its_inputs_as_inputs(tmp_path):
    done = subprocess.run([sys.executable, "-m", "autograd.viz", "tanh(w*x + b)", "x=2", "w=-3", "b=1",
                           "-o", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stderr == ""
    svg = (tmp_path / "graph.svg").read_text()
    assert "k_parameter" not in svg and svg.count("k_input") == 3
    assert "input: a leaf you differentiate by" in svg and "parameter: a leaf you train" not in svg
    html = (tmp_path / "player.html").read_text()
    assert '"kind":"input"' in html and '"kind":"parameter"' not in html


# ---- 14. render ------------------------------------------------------------------------------

def _graph():
    x = Value(2.0, label="x")
    return draw((x * 3.0).tanh())


def test_render_outfile_writes_only_that_file_and_jpg_works(tmp_path):
    g = _graph()
    assert g.render(outfile=tmp_path / "g.svg") == str(tmp_path / "g.svg")
    assert [p.name for p in tmp_path.iterdir()] == ["g.svg"]
    g.render(outfile=tmp_path / "g.jpg")
    assert (tmp_path / "g.jpg").read_bytes()[:3] == b"\xff\xd8\xff"
    g.render(filename=tmp_path / "src.gv", outfile=tmp_path / "h.svg")  # asked for: the source too
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.jpg", "g.svg", "h.svg", "src.gv"]
    assert pipe(g.source, "jpg")[:3] == b"\xff\xd8\xff"


def test_a_label_with_a_lone_surrogate_is_drawn_with_a_replacement_character(tmp_path):
    import os

    from autograd.viz import player

    name = os.fsdecode(b"data\xff.csv")  # a non-UTF-8 file name: a lone surrogate
    x = Value(1.5, label=name)
    y = (x * 2.0).tanh()
    y.backward()
    svg = draw(y).pipe(encoding="utf-8")
    assert "data\ufffd.csv" in svg
    assert "data\ufffd.csv" in player(y).html
    player(y).save(tmp_path / "p.html")


# ---- 15. the cap, from measured layout times -------------------------------------------------

def test_the_cap_and_its_message_come_from_the_measured_layout_times():
    from autograd.viz.graph.render import backend_name

    cap = fold.max_nodes_for("auto")
    assert cap == fold.MAX_NODES.get(backend_name(), fold.MAX_NODES["graphviz-pure"])
    assert fold.MAX_NODES["graphviz-pure"] > fold.MAX_NODES["system dot"]
    xs = [Value(float(i)) for i in range(cap)]
    big = sum(xs[1:], xs[0])
    with pytest.raises(GraphTooLargeError) as caught:
        draw(big)
    message = str(caught.value)
    assert f"over max_nodes={cap}" in message and "22 s for 2,000" not in message
    assert "benchmarks/viz.py" in message and ("graphviz-pure lays out" in message or "dot lays out" in message)


# ---- 12. fonts: cells sized for DejaVu, texts centred -----------------------------------------

def test_name_cells_are_as_wide_as_dejavu_needs_and_texts_are_centred():
    from autograd.viz.graph.svg import _NODE, node_boxes

    w = Value(np.zeros((16, 2)), label="layers.0.weight")
    out = Value(1.0, label="L0.n2.out")
    loss = (w.sum() * out).tanh()
    loss.backward()
    svg = draw(loss).pipe(encoding="utf-8")
    for label in ("layers.0.weight", "L0.n2.out"):
        text = re.search(rf'<text [^>]*x="([\d.]+)"[^>]*>{re.escape(label)}</text>', svg)
        assert text, label
    for node_id, classes, body in _NODE.findall(svg):
        if "value" not in classes.split():
            continue  # the legend and op nodes are Graphviz's own layout
        cells = re.findall(r'<polygon fill="[^n][^"]*" stroke="none" points="([^"]+)"/>\s*'
                           r'<polygon fill="none"[^>]*/>\s*<text [^>]*x="([\d.]+)" y="(-?[\d.]+)"[^>]*'
                           r'font-weight="bold" font-size="([\d.]+)">([^<]+)</text>', body)
        for points, x, y, size, label in cells:
            xs = [float(p.split(",")[0]) for p in points.split()]
            ys = [float(p.split(",")[1]) for p in points.split()]
            assert float(x) == pytest.approx((min(xs) + max(xs)) / 2, abs=0.01)  # centred (text-anchor middle)
            room = max(xs) - min(xs)
            assert room >= text_width(label, float(size), bold=True), (label, room)
            middle = (min(ys) + max(ys)) / 2
            if label == "layers.0.weight":
                continue  # two lines in that cell (name, shape): Graphviz places them
            assert abs(float(y) - 0.365 * float(size) - middle) < 0.6  # capitals centred in the cell
    assert 'font-family="DejaVu Sans,Helvetica,Arial,sans-serif"' in svg
    assert node_boxes(svg)
