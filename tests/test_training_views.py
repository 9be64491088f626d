"""Watching training: the recorder's numbers (against the same numbers computed from `.grad` and
`.data`), the network view's DOT and SVG, the plots and the player page (on what they contain)."""
from __future__ import annotations

import base64
import json
import re
import weakref

import numpy as np
import pytest

import nn
from autograd import Value, topological_order
from autograd.viz.training.network import dense_layers, edge_style, network_view
from autograd.viz.training.plots import (decision_grid, plot_decision_boundary, plot_grad_norms, plot_gradient_flow,
                                plot_loss, plot_update_ratios, save_figure)
from autograd.viz.graph.render import RenderError, pipe
from autograd.viz.training import TrainingRecorder
from autograd.viz.training.page import save_training_player, training_player


@pytest.fixture(scope="module")
def moons():
    return nn.make_moons(60, noise=0.1, seed=0)


def moons_loss(model, X, y):
    return nn.hinge(model(X).reshape(-1), 2.0 * y - 1)


def train(model, opt, rec, X, y, steps, record_first=False, loss_fn=moons_loss):
    """A training loop; returns the per-step loss, grads and weights seen directly (not by the recorder)."""
    seen = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model, X, y)
        loss.backward()
        grads = {n: np.array(p.grad) for n, p in model.named_parameters()}
        before = {n: np.array(p.data) for n, p in model.named_parameters()}
        if record_first:
            rec.step(loss)
        opt.step()
        if not record_first:
            rec.step(loss)
        after = {n: np.array(p.data) for n, p in model.named_parameters()}
        seen.append((loss.item(), grads, before, after))
    return seen


# ---- the recorder ------------------------------------------------------------------------
@pytest.mark.parametrize("record_first", [False, True], ids=["step-then-record", "record-then-step"])
@pytest.mark.parametrize("steps", [7, 150], ids=["within-a-block", "over-three-blocks"])
def test_recorded_norms_and_ratios_equal_those_computed_from_grad_and_data(moons, steps, record_first):
    X, y = moons
    model = nn.MLP(2, [8, 8, 1], activation="tanh", seed=1)
    opt = nn.SGD(model.parameters(), lr=0.1, momentum=0.9)
    rec = TrainingRecorder(model, opt, every=3)
    seen = train(model, opt, rec, X, y, 7, record_first)
    rec.grad_norms()   # reading in the middle of a run must not disturb what follows
    seen += train(model, opt, rec, X, y, steps - 7, record_first)
    assert len(rec) == steps
    np.testing.assert_allclose(rec.loss, [s[0] for s in seen])
    by_param, ratios = rec.grad_norms("parameter"), rec.update_ratios("parameter")
    for t, (_, grads, before, after) in enumerate(seen):
        for name in grads:
            assert by_param[name][t] == pytest.approx(np.linalg.norm(grads[name]), rel=1e-12)
            if name.endswith("weight"):   # biases start at 0, so their first ratio is NaN
                expected = np.linalg.norm(after[name] - before[name]) / np.linalg.norm(before[name])
                assert ratios[name][t] == pytest.approx(expected, rel=1e-9)
    layer0 = rec.grad_norms()["layers.0"]
    direct = [np.sqrt(np.sum(g["layers.0.weight"] ** 2) + np.sum(g["layers.0.bias"] ** 2)) for _, g, _, _ in seen]
    np.testing.assert_allclose(layer0, direct, rtol=1e-12)
    assert rec.layer_names == ["layers.0", "layers.1", "layers.2"]
    for step in rec.snapshot_steps:   # a snapshot holds the weights that produced that step's loss
        np.testing.assert_array_equal(rec.snapshot(step)["layers.1.weight"], seen[step][2]["layers.1.weight"])
    assert rec.snapshot_steps == list(range(0, steps, 3))
    rec.close()
    assert "step" not in vars(opt), "close() must give the optimizer its own step() back"


def test_without_an_optimizer_the_update_is_the_change_between_calls(moons):
    X, y = moons
    model = nn.MLP(2, [6, 1], seed=2)
    rec = TrainingRecorder(model, every=2)   # the recorder does not know the optimizer
    seen = train(model, nn.SGD(model.parameters(), lr=0.2), rec, X, y, 5)
    ratios = rec.update_ratios("parameter")["layers.0.weight"]
    w = "layers.0.weight"
    np.testing.assert_allclose(ratios, [np.linalg.norm(a[w] - b[w]) / np.linalg.norm(b[w]) for *_, b, a in seen])
    np.testing.assert_array_equal(rec.snapshot(4)[w], seen[4][2][w])


def test_recording_out_of_step_is_caught(moons):
    X, y = moons
    model = nn.MLP(2, [3, 1], seed=0)
    loss = moons_loss(model, X, y)
    loss.backward()
    with pytest.warns(UserWarning, match="weights did not change .* after updating them"):
        TrainingRecorder(model).step(loss)
    opt = nn.SGD(model.parameters(), lr=0.1)
    rec = TrainingRecorder(model, opt)
    rec.step(loss)
    assert np.isnan(rec.update_ratios()["layers.0"][0])   # its update has not happened yet
    with pytest.raises(RuntimeError, match=r"rec.step\(loss\) ran twice without optimizer.step\(\)"):
        rec.step(loss)
    opt.step()
    assert rec.update_ratios()["layers.0"][0] > 0
    opt.step()
    with pytest.raises(RuntimeError, match=r"optimizer.step\(\) ran twice without rec.step\(loss\)"):
        opt.step()
    rec.close()
    opt.step()   # the optimizer is its own again
    with pytest.raises(RuntimeError, match="closed"):
        rec.step(loss)


def test_the_recorder_adds_no_node_and_keeps_no_graph_alive(moons):
    X, y = moons
    model = nn.MLP(2, [5, 5, 1], seed=0)
    opt = nn.Adam(model.parameters(), lr=0.01)
    rec = TrainingRecorder(model, opt, every=1)
    loss = moons_loss(model, X, y)
    loss.backward()
    nodes = topological_order(loss)
    inner = [weakref.ref(n.data) for n in nodes if n.op and isinstance(n.data, np.ndarray)]
    assert len(inner) > 5
    count = len(nodes)
    opt.step()
    rec.step(loss)
    rec.grad_norms()
    assert len(topological_order(loss)) == count
    del nodes
    assert all(r() is not None for r in inner)   # the loss still holds its graph
    del loss
    assert [r for r in inner if r() is not None] == [], "the recorder kept part of the graph alive"
    assert rec.loss.dtype == np.float64 and all(type(s) is np.ndarray for s in rec._snapshots.values())


def test_a_deep_sigmoid_network_shows_vanishing_gradients_and_a_relu_one_does_not(moons):
    X, y = moons
    first_over_last = {}
    for activation in ("sigmoid", "relu"):
        model = nn.MLP(2, [8] * 6 + [1], activation=activation, seed=0)
        opt = nn.SGD(model.parameters(), lr=0.1)
        rec = TrainingRecorder(model, opt, every=5)
        train(model, opt, rec, X, y, 5, loss_fn=lambda m, X, y: nn.binary_cross_entropy_with_logits(m(X).reshape(-1), y))
        norms = rec.grad_norms()
        first, last = norms["layers.0"], norms["layers.6"]
        assert np.all(first > 0)
        first_over_last[activation] = float(np.median(first / last))
    assert first_over_last["sigmoid"] < 0.02     # measured 0.0035: each sigmoid layer scales by <= 1/4
    assert first_over_last["relu"] > 0.3         # measured 1.9 (seeds 0-3: 0.5 to 1.9)
    assert first_over_last["relu"] > 50 * first_over_last["sigmoid"]


def test_recorder_errors_name_the_problem(moons):
    with pytest.raises(ValueError, match="has no parameters"):
        TrainingRecorder(nn.Sequential(nn.Tanh()))
    with pytest.raises(TypeError, match="named_parameters"):
        TrainingRecorder([Value(1.0)])
    model = nn.MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match="every=0"):
        TrainingRecorder(model, every=0)
    rec = TrainingRecorder(model, every=2)
    with pytest.raises(IndexError, match="no snapshot yet"):
        rec.snapshot(0)
    X, y = moons
    train(model, nn.SGD(model.parameters(), lr=0.1), rec, X, y, 3)
    with pytest.raises(IndexError, match=r"step 3 is out of range: 3 steps were recorded \(0..2\)"):
        rec.snapshot(3)
    with pytest.raises(IndexError, match="out of range"):
        rec.model_at(-1)
    with pytest.raises(ValueError, match="step 1 has no weight snapshot; snapshots exist at 0, 2"):
        rec.snapshot(1)
    with pytest.raises(ValueError, match="one number"):
        rec.step(Value(np.ones(3)))
    with pytest.raises(ValueError, match="by='neuron'"):
        rec.grad_norms("neuron")
    with pytest.raises(ValueError, match="parameter shapes"):
        rec.load_snapshot(0, nn.MLP(2, [4, 1], seed=0))


def test_model_at_loads_a_snapshot_into_a_copy_and_reproduces_the_loss(moons):
    X, y = moons
    model = nn.MLP(2, [6, 1], seed=3)
    opt = nn.Adam(model.parameters(), lr=0.05)
    with TrainingRecorder(model, opt, every=4) as rec:
        train(model, opt, rec, X, y, 9, record_first=True)
    twin = rec.model_at(4)
    assert twin is not model and twin.layers[0].weight is not model.layers[0].weight
    assert moons_loss(twin, X, y).item() == pytest.approx(rec.loss[4], rel=1e-12)
    assert moons_loss(model, X, y).item() != pytest.approx(rec.loss[4])   # the model itself moved on


def test_progress_yields_every_item_and_shows_the_loss(capsys):
    model = nn.MLP(2, [2, 1], seed=0)
    rec = TrainingRecorder(model)
    items = []
    for i in rec.progress(range(4), disable=False):
        rec._losses.append(float(i))   # stands in for rec.step(loss)
        items.append(i)
    assert items == [0, 1, 2, 3]
    assert "4/4" in capsys.readouterr().err


# ---- the network view -----------------------------------------------------------------------
def weight_edges(source: str) -> dict:
    """{edge id: (penwidth, colour)} of the weight edges in DOT source."""
    found = {}
    for line in source.splitlines():
        if "class=weight" in line:
            edge_id = re.search(r"id=(L\d+_w\d+_\d+)", line).group(1)
            width = float(re.search(r'penwidth="?([\d.]+)', line).group(1))
            found[edge_id] = (width, re.search(r'color="(#[0-9a-f]{6})', line).group(1))
    return found


def test_network_view_has_one_edge_per_weight_with_width_ordered_by_magnitude():
    model = nn.MLP(3, [4, 2], seed=5)
    edges = weight_edges(network_view(model).source)
    assert len(edges) == 3 * 4 + 4 * 2
    for l, layer in enumerate(dense_layers(model), start=1):
        w = layer.weights()
        pairs = sorted((abs(w[o, i]), edges[f"L{l}_w{o}_{i}"][0]) for o in range(w.shape[0]) for i in range(w.shape[1]))
        widths = [width for _, width in pairs]
        assert widths == sorted(widths) and widths[-1] > widths[0]
        assert widths[-1] == pytest.approx(edge_style(1.0, 1.0)[0])   # the largest |w| gets the full width
        for o in range(w.shape[0]):
            for i in range(w.shape[1]):
                assert edges[f"L{l}_w{o}_{i}"][1] == ("#1f6fb4" if w[o, i] >= 0 else "#e8730c")


def test_wide_layers_fold_and_the_edge_count_is_the_folded_count():
    model = nn.MLP(30, [20, 3], seed=0)
    source = network_view(model, max_neurons=8).source
    assert len(weight_edges(source)) == 7 * 7 + 7 * 3
    # layer 1: box -> each drawn neuron, each drawn input -> box, box -> box; layer 2: box -> each output
    assert source.count("class=fold") == 7 + 7 + 1 + 3
    assert "… 23 more" in source and "… 13 more" in source and "… 3 more" not in source


def test_neurons_are_drawn_in_order_top_to_bottom_and_layers_left_to_right():
    svg = pipe(network_view(nn.MLP(4, [6, 3], seed=0)).source, "svg").decode()
    centre = {m.group(1): (float(m.group(2)), float(m.group(3)))
              for m in re.finditer(r'<title>(L\d_n\d+)</title>\s*(?:<g[^>]*><a[^>]*>\s*)?<ellipse[^>]*cx="([-\d.]+)" '
                                   r'cy="([-\d.]+)"', svg)}
    for layer, width in enumerate([4, 6, 3]):
        ys = [centre[f"L{layer}_n{i}"][1] for i in range(width)]
        assert ys == sorted(ys), f"layer {layer} neurons out of order: {ys}"
    assert centre["L0_n0"][0] < centre["L1_n0"][0] < centre["L2_n0"][0]


def test_activations_for_an_input_are_the_models_own_layer_outputs():
    model = nn.Sequential(nn.Linear(2, 3, seed=0), nn.Tanh(), nn.Linear(3, 1, seed=1), nn.Sigmoid())
    layers = dense_layers(model)
    assert [layer.activation for layer in layers] == ["tanh", "sigmoid"]
    x = np.array([0.3, -1.2])
    hidden = np.tanh(layers[0].weights() @ x + layers[0].biases())
    out = 1 / (1 + np.exp(-(layers[1].weights() @ hidden + layers[1].biases())))
    source = network_view(model, x=x).source
    for i, h in enumerate(hidden):
        assert re.search(rf'L1_n{i} \[label="?{h:.2f}"? ', source)
    assert re.search(rf'L2_n0 \[label="?{out[0]:.2f}"? ', source) and "hidden 1\n3 · tanh" in source


def test_show_grads_draws_the_gradient_of_each_weight(moons):
    X, y = moons
    model = nn.MLP(2, [3, 1], seed=0)
    moons_loss(model, X, y).backward()
    g = model.layers[0].weight.grad
    edges = weight_edges(network_view(model, show_grads=True).source)
    o, i = np.unravel_index(np.abs(g).argmax(), g.shape)
    assert edges[f"L1_w{o}_{i}"][0] == pytest.approx(edge_style(1.0, 1.0)[0])
    assert f"∂L/∂w = {float(g[o, i]):.4g}" in network_view(model).source   # tooltips always hold it


def test_network_view_errors():
    with pytest.raises(TypeError, match="RNN"):
        network_view(nn.RNN(2, 3, seed=0))
    with pytest.raises(ValueError, match=r"one input of 2 numbers .* got shape \(5, 2\)"):
        network_view(nn.MLP(2, [3, 1], seed=0), x=np.zeros((5, 2)))
    with pytest.raises(ValueError, match="max_neurons"):
        network_view(nn.MLP(2, [3, 1], seed=0), max_neurons=1)


def test_a_single_neuron_is_drawn_as_one_layer():
    edges = weight_edges(network_view(nn.Neuron(3, seed=0)).source)
    assert sorted(edges) == ["L1_w0_0", "L1_w0_1", "L1_w0_2"]


# ---- plots ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def recorded(moons):
    X, y = moons
    model = nn.MLP(2, [8, 8, 1], activation="relu", seed=0)
    opt = nn.SGD(model.parameters(), lr=0.1, momentum=0.9)
    rec = TrainingRecorder(model, opt, every=5)
    train(model, opt, rec, X, y, 21)
    return rec


def test_decision_grid_reads_scores_logits_and_probabilities():
    lin = nn.Linear(2, 1, seed=0)
    lin.weight.data[:] = [[2.0, 0.0]]
    grid = decision_grid(lin, np.array([[-1.0, -1.0], [1.0, 1.0]]), resolution=5, bounds=(-1, 1, -1, 1))
    np.testing.assert_allclose(grid.probs[0, :, 1], 1 / (1 + np.exp(-2 * np.linspace(-1, 1, 5))))
    sig = nn.MLP(2, [1], activation="tanh", output_activation="sigmoid", seed=0)
    raw = sig(Value(np.array([[0.5, 0.5]]))).item()
    corner = decision_grid(sig, np.zeros((2, 2)), resolution=3, bounds=(0.5, 1, 0.5, 1)).probs[0, 0, 1]
    assert corner == pytest.approx(raw)   # a sigmoid output is already a probability
    three = nn.MLP(2, [3], seed=0)
    probs = decision_grid(three, np.random.default_rng(0).normal(size=(10, 2)), resolution=4).probs
    assert probs.shape == (4, 4, 3) and np.allclose(probs.sum(-1), 1)


def test_plots_draw_one_line_per_layer_on_a_log_scale(recorded, moons, tmp_path):
    ax = plot_grad_norms(recorded)
    assert len(ax.get_lines()) == 3 and ax.get_yscale() == "log"
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), recorded.grad_norms()["layers.0"])
    assert len(plot_update_ratios(recorded).get_lines()) == 3 + 1   # plus the 1e-3 guide
    np.testing.assert_allclose(plot_loss(recorded).get_lines()[0].get_ydata(), recorded.loss)
    fig = plot_decision_boundary(recorded, *moons)
    assert [a.get_title().split(" ·")[0] for a in fig.axes] == ["step 0", "step 5", "step 15", "step 20"]
    flow = plot_gradient_flow({"a": recorded, "b": recorded})
    assert len(flow.axes) == 4
    path = save_figure(flow, tmp_path / "flow.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and list(tmp_path.iterdir()) == [path]


def test_decision_boundary_needs_2d_inputs(recorded):
    with pytest.raises(ValueError, match=r"inputs of shape \(5, 3\) are not 2-D points"):
        plot_decision_boundary(recorded, np.zeros((5, 3)))
    with pytest.raises(ValueError, match="the model takes 3 inputs"):
        decision_grid(nn.MLP(3, [2, 1], seed=0), np.zeros((5, 2)))
    with pytest.raises(IndexError, match="out of range"):
        plot_decision_boundary(recorded, np.zeros((5, 2)), steps=[0, 25])


# ---- the player page ------------------------------------------------------------------------
def player_data(page: str) -> dict:
    """The page's data, parsed as strict JSON (NaN or Infinity would break the page's JSON.parse)."""
    def reject(constant):
        raise ValueError(f"{constant} is not JSON")
    text = re.search(r'<script type="application/json" id="tg-data">(.*?)</script>', page, re.S).group(1)
    return json.loads(text, parse_constant=reject)


def test_the_player_page_holds_one_frame_per_snapshot_and_the_drawing_once(recorded, moons):
    page = training_player(recorded, *moons, resolution=12, max_neurons=6)
    data = player_data(page.html)
    # one frame per snapshot, then the weights training ended with (after the last step's update)
    assert len(page) == len(data["frames"]) == len(recorded.snapshot_steps) + 1 == 6
    assert [f["step"] for f in data["frames"]] == recorded.snapshot_steps + [len(recorded)]
    assert page.html.count('<svg width=') == 1 and page.html.count('id="loss-chart"') == 1
    assert all(f'id="{edge}"' in page.html for edge in data["edge_ids"])
    assert len(data["edge_ids"]) == 2 * 5 + 5 * 5 + 5 * 1
    frame = data["frames"][2]
    weights = np.frombuffer(base64.b64decode(frame["edges"]), dtype=np.float32)
    w = recorded.snapshot(10)["layers.1.weight"]
    assert weights[data["edge_ids"].index("L2_w3_1")] == pytest.approx(w[3, 1], rel=1e-6)
    grid = np.frombuffer(base64.b64decode(frame["grid"]), dtype=np.uint8)
    assert grid.size == 12 * 12 and len(set(grid.tolist())) > 2
    assert frame["grad_norms"] == pytest.approx([v[10] for v in recorded.grad_norms().values()])
    assert not re.search(r'(src|href)="(https?:)?//', page.html), "the page must work offline"


def test_a_diverged_run_still_gives_a_valid_page(moons):
    X, y = moons
    model = nn.MLP(2, [4, 1], activation="relu", seed=0)
    opt = nn.SGD(model.parameters(), lr=1e300)
    rec = TrainingRecorder(model, opt, every=1)
    with np.errstate(all="ignore"):
        train(model, opt, rec, X, y, 4)
        page = training_player(rec, X, y, resolution=6)
    assert not np.all(np.isfinite(rec.loss))
    assert None in [f["loss"] for f in player_data(page.html)["frames"]]


def test_the_player_without_data_has_no_boundary_and_saving_is_atomic(recorded, tmp_path):
    page = training_player(recorded)
    assert "boundary" not in player_data(page.html)
    path = page.save(tmp_path / "training.html")
    assert path.read_text(encoding="utf-8") == page.html and list(tmp_path.iterdir()) == [path]


def test_the_player_refuses_bad_output_folders_before_computing(recorded, moons, tmp_path):
    with pytest.raises(RenderError, match="does not exist"):
        save_training_player(recorded, tmp_path / "missing" / "t.html", *moons)
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(RenderError, match="does not exist"):
        save_training_player(recorded, tmp_path / "a-file" / "t.html", *moons)
    (tmp_path / "taken").mkdir()
    with pytest.raises(RenderError, match="Cannot write"):   # a folder already has the name
        save_training_player(recorded, tmp_path / "taken", *moons, resolution=4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "taken"], "a temporary file was left"
    with pytest.raises(ValueError, match="not 2-D points"):
        training_player(recorded, np.zeros((4, 3)))
