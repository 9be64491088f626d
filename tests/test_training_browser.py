"""The training player in a real browser: headless Debian Chromium opens it from file://.

Needs /usr/bin/chromium, /usr/bin/chromedriver (Debian packages `chromium` and
`chromium-driver`; `make browser` installs them) and selenium. Nothing is downloaded:
selenium is pointed at those two paths. The test moves the slider the way a person
does (keyboard on the focused slider) and checks that the picture changed: the
network's edge styles, the decision-boundary canvas pixels and the loss marker.
"""
from __future__ import annotations

import pytest

import nn
from autograd.viz.training import TrainingRecorder
from autograd.viz.training.page import save_training_player

pytestmark = pytest.mark.browser

@pytest.fixture(scope="module")
def page_path(tmp_path_factory):
    X, y = nn.make_moons(80, noise=0.1, seed=0)
    model = nn.MLP(2, [10, 10, 1], activation="tanh", seed=0)
    opt = nn.Adam(model.parameters(), lr=0.05)
    rec = TrainingRecorder(model, opt, every=10)
    for _ in range(120):
        opt.zero_grad()
        loss = nn.binary_cross_entropy_with_logits(model(X).reshape(-1), y)
        loss.backward()
        opt.step()
        rec.step(loss)
    return save_training_player(rec, tmp_path_factory.mktemp("player") / "training.html", X, y)


def _picture(browser) -> dict:
    """What the page shows now: edge styles, canvas pixels, the loss marker, the readout."""
    return browser.execute_script("""
        const edges = Array.from(document.querySelectorAll('#network g.edge.weight path')).map(
            p => [p.getAttribute('stroke'), p.getAttribute('stroke-width'), p.getAttribute('stroke-opacity')]);
        return {edges: edges, canvas: document.getElementById('boundary').toDataURL(),
                marker: document.getElementById('loss-marker').getAttribute('x1'),
                readout: document.getElementById('readout').textContent};""")


def test_moving_the_slider_changes_the_picture(browser, page_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(page_path.resolve().as_uri())
    WebDriverWait(browser, 10).until(lambda d: d.execute_script("return document.body.dataset.ready") == "1")
    start = _picture(browser)
    assert start["readout"].startswith("snapshot 1/13 · step 0 / 119")
    assert len(start["edges"]) == 2 * 10 + 10 * 10 + 10 * 1   # one path per weight
    assert all(float(width) > 0 for _, width, _ in start["edges"])
    shot_before = browser.find_element(By.ID, "boundary").screenshot_as_png

    slider = browser.find_element(By.ID, "slider")
    slider.click()
    slider.send_keys(Keys.HOME)
    for _ in range(6):
        slider.send_keys(Keys.ARROW_RIGHT)
    after = _picture(browser)
    assert after["readout"].startswith("snapshot 7/13 · step 60 / 119")
    changed = sum(a != b for a, b in zip(start["edges"], after["edges"]))
    assert changed > len(start["edges"]) // 2, "most weights move in 60 Adam steps"
    assert after["canvas"] != start["canvas"]
    assert browser.find_element(By.ID, "boundary").screenshot_as_png != shot_before
    assert float(after["marker"]) > float(start["marker"])

    slider.send_keys(Keys.END)
    assert _picture(browser)["readout"] == "snapshot 13/13 · final weights, after step 119"
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
