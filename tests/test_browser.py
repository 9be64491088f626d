"""The player in a real browser: headless Debian Chromium opens the file from file://.

Needs /usr/bin/chromium, /usr/bin/chromedriver (Debian packages `chromium` and
`chromium-driver`; `make browser` installs them) and selenium. No browser or driver
is ever downloaded: selenium is pointed at those two paths.
"""
import pytest

from autograd.viz import save_player
from autograd.viz.player.frames import frame_state
from autograd.viz.player import layout

from test_draw import micrograd_neuron, scalar_mlp

pytestmark = pytest.mark.browser

def _open(browser, path):
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(path.resolve().as_uri())
    WebDriverWait(browser, 10).until(
        lambda d: d.execute_script("return document.body.getAttribute('data-ready')") == "1")


def _errors(browser) -> list:
    return [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def _current(browser) -> list:
    """Ids of the highlighted value nodes (their op nodes light up too)."""
    ids = browser.execute_script(
        "return Array.from(document.querySelectorAll('#graph g.node.st_current')).map(e => e.id)")
    return [i for i in ids if not i.endswith("_op")]


def test_next_click_keys_and_inspector(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    o, v = micrograd_neuron()
    path = save_player(o, tmp_path / "player.html")
    _open(browser, path)
    text = lambda: browser.find_element(By.ID, "step-text").text  # noqa: E731
    assert _current(browser) == [] and "Press Next" in text()

    browser.find_element(By.ID, "next").click()  # step 1: the loss node
    first_current, first_text = _current(browser), text()
    assert first_current and first_current[0].startswith("v")
    assert browser.find_element(By.ID, "counter").text.startswith("step 1 of")
    hot = browser.execute_script("return document.querySelectorAll('#graph g.edge.hot').length")
    assert hot >= 2  # op -> node, and node's input -> op

    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_RIGHT)  # step 2
    assert _current(browser) != first_current and text() != first_text
    assert browser.find_element(By.ID, "slider").get_attribute("value") == "2"

    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_LEFT)  # and back
    assert _current(browser) == first_current and text() == first_text

    # click the box of w1 (a leaf): the inspector shows its value and gradient so far
    from autograd import topological_order

    w1 = f"v{topological_order(o).index(v['w1'])}"
    browser.find_element(By.ID, w1).click()
    inspector = browser.find_element(By.ID, "inspect-body").text
    assert "w1" in inspector and "value" in inspector and "gradient now" in inspector
    assert "st_selected" in browser.find_element(By.ID, w1).get_attribute("class")
    browser.find_element(By.ID, "last").click()
    assert "(final)" in browser.find_element(By.ID, "inspect-body").text
    assert browser.find_element(By.ID, f"{w1}_g").text == "grad 1"  # do/dw1 = x1 · 0.5 = 1
    assert _errors(browser) == []


def test_page_script_and_python_frames_agree(browser, tmp_path):
    loss, _ = scalar_mlp([2, 2, 1])
    laid_out = layout(loss, forward=True)
    path = tmp_path / "p.html"
    from autograd.viz.player import Player

    Player(laid_out).save(path)
    _open(browser, path)
    for k in range(len(laid_out.data["steps"]) + 1):
        js = browser.execute_script(f"return window.tracegradFrameState({k})")
        py = frame_state(laid_out.data, k)
        assert {i: c for i, c in js["cls"].items() if c} == {i: c for i, c in py["cls"].items() if c}, k
        assert js["texts"] == py["texts"] and js["hot"] == py["hot"], k
    assert _errors(browser) == []


def test_big_player_steps_and_screenshot(browser, tmp_path):
    from selenium.webdriver.common.by import By

    loss, _ = scalar_mlp([2, 8, 8, 1])
    path = save_player(loss, tmp_path / "big.html", max_nodes=None)
    _open(browser, path)
    for _ in range(12):
        browser.find_element(By.ID, "next").click()
    current = _current(browser)
    assert len(current) == 1
    inside = browser.execute_script(
        "var r = document.getElementById(arguments[0]).getBoundingClientRect(),"
        " p = document.getElementById('graph-pane').getBoundingClientRect();"
        "return r.left >= p.left - 1 && r.right <= p.right + 1 && r.top >= p.top - 1 && r.bottom <= p.bottom + 1;",
        current[0])
    assert inside  # the pane scrolled to the current node
    shot = tmp_path / "player.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    assert _errors(browser) == []
