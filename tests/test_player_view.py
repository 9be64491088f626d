"""The players as a learner sees them, in headless Chromium at 1280×720 and 1400×1000: on every
step the current node and the nodes receiving its gradient are inside the graph pane (and the
window), the done frame shows every leaf gradient final, a matrix gets a heatmap, long steps fold."""
from __future__ import annotations

import numpy as np
import pytest

from autograd import Value
from autograd.viz import save_player

pytestmark = pytest.mark.browser

SIZES = [(1280, 720), (1400, 1000)]


def _neuron():
    from demos.neuron import build

    return build()[-1]


def _mlp():
    from demos.backprop import build

    return build()[1]


def _flagship():
    from demos import flagship, moons

    model, X, y = moons.build()
    x, label = flagship.example_inside_margin(model)
    return flagship.one_example_loss(model, x, label)


PLAYERS = {"neuron": (_neuron, True), "mlp": (_mlp, True), "flagship": (_flagship, False)}


def _open(browser, path, width, height):
    from selenium.webdriver.support.ui import WebDriverWait

    browser.set_window_size(width, height)
    inner = browser.execute_script("return [innerWidth, innerHeight]")
    browser.set_window_size(2 * width - inner[0], 2 * height - inner[1])  # the page gets exactly w×h
    browser.get(path.resolve().as_uri())
    WebDriverWait(browser, 10).until(
        lambda d: d.execute_script("return document.body.getAttribute('data-ready')") == "1")
    assert browser.execute_script("return [innerWidth, innerHeight]") == [width, height]


OUTSIDE = """
var st = window.tracegradFrameState(arguments[0]), D = JSON.parse(document.getElementById('tg-data').textContent);
var byId = {}; D.nodes.forEach(function (n) { byId[n.id] = n; });
var ids = st.cur ? [st.cur.node].concat(Object.keys(st.recv)) : [];
var p = document.getElementById('graph-pane'), pr = p.getBoundingClientRect();
var left = pr.left + p.clientLeft, top = pr.top + p.clientTop;
var right = Math.min(left + p.clientWidth, innerWidth), bottom = Math.min(top + p.clientHeight, innerHeight);
return ids.filter(function (id) {
  var r = document.getElementById(byId[id].drawn).getBoundingClientRect();
  return r.left < left - 1 || r.right > right + 1 || r.top < top - 1 || r.bottom > bottom + 1;
});
"""


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("which", list(PLAYERS))
def test_every_step_keeps_current_and_receiving_nodes_in_view(browser, tmp_path, which, size):
    from selenium.webdriver.common.by import By

    build, forward = PLAYERS[which]
    path = save_player(build(), tmp_path / f"{which}.html", forward=forward)
    _open(browser, path, *size)
    n = int(browser.find_element(By.ID, "slider").get_attribute("max"))
    for k in range(1, n + 1):
        browser.find_element(By.ID, "next").click()
        assert browser.execute_script(OUTSIDE, k) == [], f"step {k} of {n}"
    zoom = int(browser.find_element(By.ID, "zoom-level").text.rstrip("%"))
    assert zoom >= 20  # followed by panning, not by shrinking the graph to dots
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []


@pytest.mark.parametrize("which", list(PLAYERS))
def test_done_frame_shows_every_leaf_gradient_final(browser, tmp_path, which):
    from selenium.webdriver.common.by import By

    build, forward = PLAYERS[which]
    path = save_player(build(), tmp_path / f"{which}.html", forward=forward)
    _open(browser, path, 1280, 720)
    browser.find_element(By.ID, "last").click()
    leaves = browser.execute_script("""
        var D = JSON.parse(document.getElementById('tg-data').textContent);
        return D.nodes.filter(function (n) { return !n.op && n.requires_grad && n.drawn === n.id; })
                      .map(function (n) { return [n.id, document.getElementById(n.id).getAttribute('class')]; });""")
    assert leaves
    for node_id, classes in leaves:
        assert "st_done" in classes.split() and "st_recv" not in classes.split(), (node_id, classes)
    assert browser.find_element(By.ID, "step-text").text.count("Done: every gradient is final") == 1


def test_a_matrix_node_gets_a_heatmap_with_a_colour_scale(browser, tmp_path):
    from selenium.webdriver.common.by import By

    W = Value(np.arange(12.0).reshape(3, 4) - 5, label="W")
    x = Value(np.ones((4, 2)), label="x", requires_grad=False)
    loss = (W @ x).tanh().sum()
    path = save_player(loss, tmp_path / "matrix.html")
    _open(browser, path, 1280, 720)
    browser.find_element(By.ID, "last").click()
    browser.execute_script("document.getElementById(arguments[0]).dispatchEvent(new MouseEvent('click', {bubbles: true}))",
                           "v0")
    maps = browser.find_elements(By.CSS_SELECTOR, "#inspect-body figure.heatmap")
    captions = [m.find_element(By.TAG_NAME, "figcaption").text for m in maps]
    assert captions[0].startswith("value · shape (3, 4)") and captions[1].startswith("gradient now")
    canvas = maps[0].find_element(By.TAG_NAME, "canvas")
    assert int(canvas.get_attribute("width")) > 4 * 10 and canvas.is_displayed()
    assert maps[0].find_element(By.CLASS_NAME, "scale").text.split() == ["-6", "+6"]
    # the pixel of W[0, 0] = -5 is blue, of W[2, 3] = 6 red
    first, last = browser.execute_script(
        "var c = arguments[0], x = c.getContext('2d'), d1 = x.getImageData(1, 1, 1, 1).data,"
        " d2 = x.getImageData(c.width - 2, c.height - 2, 1, 1).data; return [Array.from(d1), Array.from(d2)];",
        canvas)
    assert first[2] > first[0] and last[0] > last[2]
    # the step panel shows the gradient W receives in the step that reaches it
    browser.find_element(By.ID, "first").click()
    for _ in range(int(browser.find_element(By.ID, "slider").get_attribute("max"))):
        browser.find_element(By.ID, "next").click()
        if browser.find_elements(By.CSS_SELECTOR, "#step-text figure.heatmap[data-node='v0']"):
            break
    else:
        pytest.fail("no step showed W's gradient as a heatmap")


def test_a_step_with_many_receivers_shows_a_few_then_expands(browser, tmp_path):
    from selenium.webdriver.common.by import By

    from autograd.functional import neuron
    from autograd.viz.player import record

    xs = [Value(float(i) / 10, label=f"x{i}") for i in range(32)]
    loss = neuron(Value(np.linspace(-1, 1, 32), label="w"), Value(0.5, label="b"), xs).tanh()

    step = next(s for s in record(loss).steps if len(s.parents) > 6)
    path = save_player(loss, tmp_path / "many.html")
    _open(browser, path, 1280, 720)
    for _ in range(step.index + 1):
        browser.find_element(By.ID, "next").click()
    lines = [e for e in browser.find_elements(By.CSS_SELECTOR, "#step-text .line")
             if not e.text.startswith("Done")]
    more = browser.find_element(By.ID, "more-lines")
    total = len(step.text.splitlines())
    assert len(lines) == 5 and more.text == f"… and {total - 5} more"
    more.click()
    assert len(browser.find_elements(By.CSS_SELECTOR, "#step-text .line")) == total + 1  # and "Done"


def test_start_text_and_titles_name_the_loss_once_and_wrap_expressions(browser, tmp_path):
    from selenium.webdriver.common.by import By

    path = save_player(_mlp(), tmp_path / "mlp.html")
    _open(browser, path, 1280, 720)
    start = browser.find_element(By.ID, "step-text").text
    assert "loss loss" not in start and "the loss starts with dloss/dloss = 1" in start
    titles = []
    for _ in range(int(browser.find_element(By.ID, "slider").get_attribute("max"))):
        browser.find_element(By.ID, "next").click()
        titles.append(browser.find_element(By.ID, "step-title").text)
    assert any("dloss/d(ŷ − y) = " in t for t in titles)
    assert not any("dloss/dŷ − y" in t for t in titles)


def test_in_a_notebook_frame_the_step_stays_in_view(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from autograd.viz import player

    shown = player(_flagship())._repr_html_()
    path = tmp_path / "notebook.html"
    path.write_text(f"<!DOCTYPE html><html><body style='margin:0;width:900px'>{shown}</body></html>",
                    encoding="utf-8")
    browser.set_window_size(1280, 900)
    browser.get(path.resolve().as_uri())
    browser.switch_to.frame(browser.find_element(By.TAG_NAME, "iframe"))
    try:
        WebDriverWait(browser, 10).until(
            lambda d: d.execute_script("return document.body.getAttribute('data-ready')") == "1")
        n = int(browser.find_element(By.ID, "slider").get_attribute("max"))
        for k in range(1, n + 1):
            browser.find_element(By.ID, "next").click()
            assert browser.execute_script(OUTSIDE, k) == [], f"step {k} of {n}"
    finally:
        browser.switch_to.default_content()
