"""draw() and player() in a real JupyterLab in headless Chromium, trusted and untrusted (make notebook-check).

A notebook is run (nbclient) so its outputs are saved, then opened in JupyterLab twice:
signed (trusted: SVG and the player's iframe show) and unsigned (untrusted, as a notebook
someone sends you: JupyterLab's sanitizer drops SVG, iframes and scripts, and the graph
shows as a PNG, the player as a PNG still of its first step with a line on how to get it).
"""
from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("jupyterlab")
pytestmark = pytest.mark.notebook

CELLS = ["from tracegrad import Value, viz\n"
         "x, w, b = Value(2.0, label='x'), Value(-3.0, label='w'), Value(6.88, label='b')\n"
         "y = (x * w + b).tanh(); y.label = 'y'; y.backward()",
         "viz.draw(y)",
         "viz.player(y)"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """(base URL, token, folder): a JupyterLab server on 127.0.0.1 serving two run notebooks."""
    root = tmp_path_factory.mktemp("lab")
    data = root / ".jupyter-data"
    env = {**os.environ, "JUPYTER_DATA_DIR": str(data), "JUPYTER_CONFIG_DIR": str(root / ".jupyter-config"),
           "JUPYTER_RUNTIME_DIR": str(root / ".jupyter-runtime"), "JUPYTER_PLATFORM_DIRS": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(pytest_root()), os.environ.get("PYTHONPATH")]))}
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(root)}}).execute()
    nbformat.write(nb, root / "trusted.ipynb")
    # a different notebook (trust is kept per content digest): someone else's, opened from disk
    nb.cells.insert(0, nbformat.v4.new_markdown_cell("A notebook someone sent you."))
    nbformat.write(nb, root / "untrusted.ipynb")
    subprocess.run([sys.executable, "-m", "jupyter", "trust", str(root / "trusted.ipynb")], env=env, check=True,
                   capture_output=True, timeout=60)
    port, token = _free_port(), secrets.token_hex(16)
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}", "--ip=127.0.0.1",
         f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={token}", "--ServerApp.port_retries=0",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=root)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("JupyterLab did not start: " + server.stderr.read().decode()[-2000:]
                                if server.poll() is not None else "JupyterLab did not start within 90 s")
                time.sleep(0.5)
        yield base, token, root
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(data, ignore_errors=True)


def pytest_root():
    return __import__("pathlib").Path(__file__).resolve().parent.parent


def open_outputs(browser, lab, name: str):
    """The rendered output areas of the notebook's cells 2 and 3 (draw, player) once JupyterLab shows them."""
    from selenium.webdriver.support.ui import WebDriverWait

    base, token, _ = lab
    browser.get(f"{base}/lab/tree/{name}?token={token}&reset")
    wait = WebDriverWait(browser, 90, poll_frequency=0.5)

    def outputs(driver):
        cells = driver.find_elements("css selector", ".jp-Notebook .jp-Cell.jp-CodeCell")
        if len(cells) < 3:
            return False
        found = [c.find_elements("css selector", ".jp-OutputArea-output") for c in cells[1:3]]
        return [f[0] for f in found] if all(found) else False

    return wait.until(outputs)


def image_loaded(browser, img) -> bool:
    return browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", img)


def test_trusted_notebook_shows_the_svg_graph_and_the_interactive_player(browser, lab):
    draw_out, player_out = open_outputs(browser, lab, "trusted.ipynb")
    assert draw_out.get_attribute("data-mime-type") == "image/svg+xml"   # JupyterLab shows it as an <img>
    (img,) = draw_out.find_elements("css selector", "img")
    src = urllib.parse.unquote(img.get_attribute("src"))
    assert src.startswith("data:image/svg+xml") and ">tanh<" in src and image_loaded(browser, img)
    iframes = player_out.find_elements("css selector", "iframe")
    assert iframes and iframes[0].is_displayed()
    # the script ran, so the still for sanitized views is gone
    assert not player_out.find_elements("css selector", ".tracegrad-still")
    browser.switch_to.frame(iframes[0])
    try:
        assert browser.find_elements("css selector", "svg")   # the player's own page, with its graph
    finally:
        browser.switch_to.default_content()


def test_untrusted_notebook_shows_png_pictures_and_how_to_get_the_player(browser, lab):
    draw_out, player_out = open_outputs(browser, lab, "untrusted.ipynb")
    assert draw_out.get_attribute("data-mime-type") == "image/png"       # not the SVG: it is unsafe here
    (img,) = draw_out.find_elements("css selector", "img")
    assert image_loaded(browser, img) and img.get_attribute("src").startswith("data:image/png")
    assert not player_out.find_elements("css selector", "iframe")   # sanitized away
    imgs = player_out.find_elements("css selector", "img")
    assert imgs and image_loaded(browser, imgs[0]) and imgs[0].is_displayed()
    assert "Trust Notebook" in player_out.text and "save(" in player_out.text
