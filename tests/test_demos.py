"""Every demo runs in fast mode and shows what it claims: the numbers behind its pictures are checked.

Each demo is run once (module fixture) into a temporary folder; the pictures are then checked
as pictures (PIL opens the PNGs and finds more than one colour, the SVGs parse as XML), the
players for their frames. The claims themselves are checked on the demos' `compute` results.
"""
from __future__ import annotations

import html.parser
import importlib
import json
import pathlib
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from autograd import topological_order
from demos import DEMOS
from demos.__main__ import main

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict:
    """{demo name: the paths its run(fast=True) returned}, every demo run once."""
    root = tmp_path_factory.mktemp("demos")
    return {name: importlib.import_module(f"demos.{name}").run(root / name, fast=True) for name in DEMOS}


def player_data(path: pathlib.Path) -> dict:
    """The JSON a player page embeds (backprop player: steps; training player: frames)."""
    text = path.read_text(encoding="utf-8")
    found = re.search(r'<script type="application/json" id="[^"]+">(.*?)</script>', text, re.S)
    assert found, f"{path.name} embeds no JSON data"
    return json.loads(found.group(1))


def backward_nodes(loss) -> int:
    """How many nodes pass a gradient on: one per op node that requires grad."""
    return sum(1 for n in topological_order(loss) if n.op and n.requires_grad)


# ---- every demo: runs, writes real pictures -------------------------------------------------
@pytest.mark.parametrize("name", DEMOS)
def test_demo_writes_valid_nonempty_files(written, name):
    paths = written[name]
    assert paths, f"demo {name} wrote nothing"
    for path in paths:
        assert path.is_file() and path.stat().st_size > 500, path
        assert path.parent.name == name or path.parent.parent.name == name, f"{path} is not under out/{name}/"
        if path.suffix in (".png", ".gif"):
            with Image.open(path) as image:
                image.verify()
            with Image.open(path) as image:
                assert min(image.size) >= 100, f"{path.name} is only {image.size}"
                pixels = np.asarray(image.convert("L"))
                assert pixels.std() > 5, f"{path.name} is (almost) one flat colour"
        elif path.suffix == ".svg":
            root = ET.parse(path).getroot()
            assert root.tag.endswith("svg") and any(e.tag.endswith("}g") for e in root.iter())
            assert sum(1 for e in root.iter() if e.tag.endswith("text")) >= 3, f"{path.name} has no labels"
        elif path.suffix == ".html":
            html.parser.HTMLParser().feed(path.read_text(encoding="utf-8"))
        else:
            pytest.fail(f"unexpected file type {path}")


def test_cli_lists_and_rejects(capsys):
    assert main([]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in DEMOS)
    assert main(["no_such_demo"]) == 2
    assert "unknown demo" in capsys.readouterr().err


# ---- the article's claims, on the numbers -------------------------------------------------
def test_neuron_gradients_match_the_chain_rule_by_hand(written):
    from demos import neuron

    r = neuron.compute()
    for name, g in r["grads"].items():
        assert g == pytest.approx(r["by_hand"][name], rel=1e-12)
    page = next(p for p in written["neuron"] if p.name == "player.html")
    steps = player_data(page)["steps"]
    _, _, _, y = neuron.build()
    # 3 products, 3 additions (two sums and the bias), tanh: 7 nodes pass a gradient back
    assert sum(s["kind"] == "backward" for s in steps) == backward_nodes(y) == 7
    assert sum(s["kind"] == "forward" for s in steps) == sum(1 for n in topological_order(y) if n.op)
    with Image.open(next(p for p in written["neuron"] if p.suffix == ".gif")) as gif:
        assert gif.n_frames >= len(steps)                 # the animation shows every step


def test_activation_derivatives_from_backward_match_the_formulas():
    from demos import activations

    for name, c in activations.compute(points=51).items():
        np.testing.assert_allclose(c["df"], c["df_by_hand"], atol=1e-12, err_msg=name)
    sig = activations.compute(points=3, lo=-50, hi=50)["sigmoid"]
    assert sig["f"][0] == pytest.approx(0, abs=1e-20) and sig["f"][-1] == pytest.approx(1)


def test_stacked_linear_layers_are_one_matrix_and_fail_xor_where_tanh_succeeds():
    from demos import nonlinearity

    r = nonlinearity.compute(steps=250)
    assert r["W"].shape == (1, 2) and r["collapse_gap"] < 1e-12
    assert r["tanh_accuracy"] == 1.0
    assert r["linear_accuracy"] <= 0.75            # no straight line gets more than 3 of XOR's 4 corners
    assert r["linear_loss"][-1] > 0.2 > 10 * r["tanh_loss"][-1]


def test_meal_price_neuron_recovers_prices_within_one_percent():
    from demos import meal_prices

    r = meal_prices.compute(steps=150)
    np.testing.assert_allclose(r["prices"], meal_prices.PRICES, rtol=0.01)
    assert abs(r["fixed_charge"]) < 0.05
    assert r["loss"][-1] < 1e-3 * r["loss"][0]


def test_single_layer_perceptron_fails_xor_and_the_mlp_solves_both():
    from demos import layers

    r = layers.compute(steps=200)
    assert r["XOR", "multi-layer perceptron"][2] == 1.0
    assert r["XOR", "single-layer perceptron"][2] <= 0.75
    assert r["moons", "multi-layer perceptron"][2] >= 0.97 > r["moons", "single-layer perceptron"][2]


def test_rnn_predicts_the_next_value_and_gradients_fade_back_in_time():
    from demos import recurrent

    r = recurrent.compute(steps=120)
    assert r["test_mse"] < r["copy_mse"] / 3          # better than "the next value is this one"
    tt = r["through_time"]
    assert tt.shape == (30,) and np.all(tt > 0) and tt[0] < tt[-1] / 10
    loss = recurrent.unrolled(length=3)
    labels = {n.label for n in topological_order(loss)}
    assert {"h1", "h2", "h3", "w_x", "w_h", "b"} <= labels
    uses = {p.label: 0 for p in topological_order(loss) if p.label in ("w_x", "w_h")}
    for n in topological_order(loss):
        for p in n.parents:
            if p.label in uses:
                uses[p.label] += 1
    assert uses == {"w_x": 3, "w_h": 2}               # the same weights at every time step


def test_backprop_player_holds_one_frame_per_backward_step(written):
    from demos import backprop

    r = backprop.compute()
    page = next(p for p in written["backprop"] if p.name == "player.html")
    steps = player_data(page)["steps"]
    assert sum(s["kind"] == "backward" for s in steps) == backward_nodes(r["loss"]) == r["backward_steps"]
    assert [s["kind"] for s in steps] == ["forward"] * r["forward_steps"] + ["backward"] * r["backward_steps"]


def test_gradient_descent_recovers_m_and_b_with_the_articles_partial_derivatives():
    from demos import gradient_descent as gd

    h = gd.descend(steps=100)
    np.testing.assert_allclose(h["dm"], h["dm_hand"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h["db"], h["db_hand"], rtol=1e-10, atol=1e-12)
    m, b = gd.least_squares(h["x"], h["y"])
    assert h["m"][-1] == pytest.approx(m, abs=1e-3) and h["b"][-1] == pytest.approx(b, abs=1e-3)
    assert h["m"][-1] == pytest.approx(gd.TRUE_M, abs=0.15) and h["b"][-1] == pytest.approx(gd.TRUE_B, abs=0.15)
    assert np.all(np.diff(h["loss"]) <= 1e-12)     # below the stability limit the loss only falls


def test_high_learning_rate_diverges_and_low_one_is_slower():
    from demos import learning_rate as lr

    runs = lr.compute(steps=30)
    limit = lr.stability_limit(runs["good"]["x"])
    assert runs["too high"]["lr"] > limit > runs["good"]["lr"] > runs["too low"]["lr"]
    high, good, low = (runs[k]["loss"] for k in ("too high", "good", "too low"))
    assert high[-1] > 10 * high[0] and np.all(np.diff(high[5:]) > 0)      # diverges, ever faster
    assert good[-1] < 0.02 * good[0]
    best = good[-1]
    assert lr.steps_to_reach(good, 1.05 * best) is not None and lr.steps_to_reach(low, 1.05 * best) is None
    assert low[-1] > 5 * good[-1] and np.all(np.diff(low) < 0)             # still going down, slowly


def test_moons_and_digits_learn():
    from demos import digits, moons

    r = moons.compute(steps=60)
    assert r["accuracy"] >= 0.95 and r["loss"][-1] < 0.3 * r["loss"][0]
    d = digits.compute(epochs=4)
    assert d["accuracy"] > 0.9
    assert d["confusion"].sum() == len(d["y_test"])
    assert np.trace(d["confusion"]) / d["confusion"].sum() == pytest.approx(d["accuracy"])


def test_flagship_index_links_every_page_and_the_players_hold_their_frames(written):
    paths = {p.name: p for p in written["flagship"]}
    assert {"index.html", "training.html", "backprop.html", "decision_boundary.png", "loss.png",
            "neuron.svg"} <= set(paths)
    index = paths["index.html"].read_text(encoding="utf-8")
    linked = set(re.findall(r'href="([^"]+)"', index))
    assert linked == set(paths) - {"index.html"}
    assert "40 steps of SGD" in index  # the steps it trained (fast), not the full run's
    training = player_data(paths["training.html"])
    # fast: 40 steps, a snapshot every 2, then the weights after the last update
    assert len(training["frames"]) == 21 and training["total_steps"] == 40
    assert training["final"] and training["frames"][-1]["step"] == 40
    steps = player_data(paths["backprop.html"])["steps"]
    assert all(s["kind"] == "backward" for s in steps) and len(steps) > 30


def test_cnn_learns_the_digits_and_its_player_passes_through_the_conv_layers(written):
    from demos import cnn

    r = cnn.compute(epochs=cnn.EPOCHS)
    assert r["accuracy"] >= 0.98                                     # the README's claim, held out
    assert r["confusion"].sum() == len(r["y_test"]) and r["loss"][-1] < 0.2 * r["loss"][0]
    maps = cnn.feature_maps(r["model"], r["X_test"][0])
    assert [m.shape for m in maps] == [(1, 8, 8), (16, 4, 4), (32, 2, 2)]
    paths = {p.name: p for p in written["cnn"]}
    assert {"cnn.png", "cnn_filters.png", "cnn_feature_maps.png", "cnn_backprop.html"} <= set(paths)
    steps = player_data(paths["cnn_backprop.html"])["steps"]
    rules = " ".join(s["text"] for s in steps)
    assert "transposed conv of" in rules and "input window" in rules          # conv: into its input, its weight
    assert "x̂" in rules and "(first) maximum" in rules                       # batch norm, max pool
    assert sum(1 for s in steps if s["kind"] == "backward") >= 10   # loss, linear, flatten, 2 × (pool, relu, bn, conv)
    nodes = player_data(paths["cnn_backprop.html"])["nodes"]
    assert [n["label"] for n in nodes if n["shape"] == [1, 1, 8, 8]] == ["digit"]  # the input is named, not "const#1"
    assert "const#" not in rules


def test_digits_and_cnn_draw_their_training_with_one_function(tmp_path):
    """The confusion matrix + loss/accuracy figure is written once (demos.digits.plot_training)."""
    from demos import cnn, digits

    assert cnn.plot_training is digits.plot_training
    confusion = np.diag(np.full(10, 3))
    confusion[3, 5] = 1
    r = {"confusion": confusion, "loss": np.linspace(2.0, 0.1, 12), "test_accuracy": np.array([0.5, 0.8, 0.96])}
    path = digits.plot_training(r, tmp_path / "t.png", "a title")
    assert path == tmp_path / "t.png" and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
