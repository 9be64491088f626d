"""The training player page (issue: every frame true and readable): the final weights are shown,
many snapshots are thinned with a note, the build reads the losses once, the script never spreads
data into Math.min/max, the legend lists the classes present, and the header never reflows."""
from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest

import nn
from autograd.viz.training import TrainingRecorder
from autograd.viz.training import page as training_page
from autograd.viz.training.page import training_player


def _data(html: str) -> dict:
    return json.loads(re.search(r'id="tg-data">(.*?)</script>', html, re.S).group(1))


def _trained(steps=30, every=2, n=40, seed=0):
    X, y = nn.make_moons(n, noise=0.1, seed=seed)
    model = nn.MLP(2, [4, 1], activation="tanh", seed=seed)
    opt = nn.SGD(model.parameters(), lr=0.5)
    rec = TrainingRecorder(model, opt, every=every)
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.hinge(model(X).reshape(-1), 2.0 * y - 1)
        loss.backward()
        opt.step()
        rec.step(loss)
    rec.close()
    return model, rec, X, y


def test_the_last_frame_holds_the_weights_training_ended_with():
    model, rec, X, y = _trained(steps=30, every=2)
    assert rec.snapshot_steps[-1] == 28  # snapshots are the weights before an update
    data = _data(training_player(rec, X, y, resolution=6).html)
    last = data["frames"][-1]
    assert data["final"] and last["step"] == 30 and last["loss"] is None
    ids = data["edge_ids"]
    weights = np.frombuffer(base64.b64decode(last["edges"]), dtype=np.float32)
    w = model.layers[0].weight.data
    assert weights[ids.index("L1_w2_1")] == pytest.approx(w[2, 1], rel=1e-6)


def test_many_snapshots_are_thinned_evenly_with_a_note_and_the_losses_read_once(monkeypatch):
    model, rec, X, y = _trained(steps=60, every=1, n=20)
    reads = []
    real = type(rec).loss
    monkeypatch.setattr(type(rec), "loss", property(lambda self: reads.append(1) or real.fget(self)))
    page = training_player(rec, X, y, resolution=4, max_frames=10)
    data = _data(page.html)
    steps = [f["step"] for f in data["frames"]]
    assert steps[0] == 0 and steps[-2] == 59 and steps[-1] == 60 and len(steps) == 11
    gaps = np.diff(steps[:-1])
    assert gaps.max() - gaps.min() <= 1
    assert data["note"] == "showing 10 of 60 snapshots, evenly spaced"
    assert len(reads) == 1
    assert training_page.MAX_FRAMES >= 100
    with pytest.raises(ValueError, match="max_frames"):
        training_player(rec, X, y, max_frames=1)


def test_the_script_never_spreads_an_array_into_a_call():
    from autograd.viz.training.template import JS

    code = "\n".join(line for line in JS.splitlines() if not line.strip().startswith("//"))
    assert not re.search(r"\(\s*\.\.\.", code), "Math.min(...array) throws RangeError past ~120k values"


def test_the_legend_lists_the_classes_of_the_data():
    model, rec, X, y = _trained(steps=4)
    data = _data(training_player(rec, X, y, resolution=4).html)
    assert data["boundary"]["classes"] == 2 and len(data["boundary"]["colors"]) == 2
    assert "2 green" not in training_player(rec, X, y, resolution=4).html


@pytest.mark.browser
@pytest.mark.parametrize("size", [(1280, 720), (1400, 1000)], ids=["1280x720", "1400x1000"])
def test_the_header_keeps_its_height_on_every_frame(browser, tmp_path, size):
    from selenium.webdriver.support.ui import WebDriverWait

    model, rec, X, y = _trained(steps=200, every=1, n=30)
    path = training_player(rec, X, y, resolution=6, max_frames=120).save(tmp_path / "t.html")
    browser.set_window_size(*size)
    browser.get(path.resolve().as_uri())
    WebDriverWait(browser, 10).until(lambda d: d.execute_script("return document.body.dataset.ready") == "1")
    heights = browser.execute_script("""
        const s = document.getElementById('slider'), out = [];
        for (let k = 0; k <= +s.max; k++) { s.value = k; s.dispatchEvent(new Event('input'));
          out.push(document.querySelector('header').getBoundingClientRect().height); }
        return out;""")
    assert len(set(heights)) == 1, sorted(set(heights))
    legend = browser.find_element("id", "legend").text
    assert legend.startswith("colour: predicted class") and "0" in legend and "1" in legend and "2" not in legend
    assert browser.find_element("id", "note").text == "showing 120 of 200 snapshots, evenly spaced"
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
