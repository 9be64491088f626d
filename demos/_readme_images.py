"""Regenerate the README's pictures in docs/img/: `python -m demos._readme_images`.

Runs the demos (full mode) into a temporary folder and copies the chosen pictures,
PNGs reduced to a 128-colour palette so each stays well under 200 KB. With selenium
and Debian's chromium + chromedriver (`make browser` installs them) it also takes
screenshots of the players at a chosen step; without them those are skipped.
"""
from __future__ import annotations

import importlib
import pathlib
import shutil
import sys
import tempfile
import time

from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parent.parent
IMG = ROOT / "docs" / "img"
LIMIT = 200_000

# demo output -> README picture
PICKS = {
    "neuron/backward.svg": "neuron_graph.svg",
    "neuron/compact.svg": "neuron_compact.svg",
    "activations/activations.png": "activations.png",
    "meal_prices/meal_prices.png": "meal_prices.png",
    "nonlinearity/collapse.png": "collapse.png",
    "nonlinearity/xor.png": "xor.png",
    "layers/architecture_mlp.png": "architecture_mlp.png",
    "layers/boundaries.png": "boundaries.png",
    "recurrent/recurrent.png": "recurrent.png",
    "recurrent/unrolled_graph.svg": "unrolled_graph.svg",
    "backprop/network.svg": "backprop_network.svg",
    "gradient_descent/gradient_descent.png": "gradient_descent.png",
    "learning_rate/learning_rate.png": "learning_rate.png",
    "moons/decision_boundary.png": "moons.png",
    "digits/digits.png": "digits.png",
    "cnn/cnn.png": "cnn.png",
    "cnn/cnn_filters.png": "cnn_filters.png",
    "cnn/cnn_feature_maps.png": "cnn_feature_maps.png",
    "transformer/attention.png": "transformer_attention.png",
    "transformer/training.png": "transformer_training.png",
}
# player page -> (README picture, arrow-key presses before the shot, bands stacked into the
# picture: (element id whose top starts the band, or None for the window's top; element id whose
# bottom ends it, or None for the window's bottom). The backprop player: the controls and graph,
# then the step's explanation, without the empty space between them.
BACKPROP_BANDS = [(None, "graph"), ("explain", "step-text")]
SHOTS = {
    "neuron/player.html": ("player_neuron.png", 9, BACKPROP_BANDS),
    "backprop/player.html": ("player_mlp.png", 14, BACKPROP_BANDS),
    "flagship/training.html": ("player_training.png", 30, [(None, None)]),
    "cnn/cnn_backprop.html": ("player_cnn.png", 7, BACKPROP_BANDS),
}
# pages shot as they open (the view follows the step) rather than fitted: the CNN's graph is
# long and thin, and fitted into 1400 px its boxes are unreadable
NO_FIT = {"cnn/cnn_backprop.html"}


def shrink(src: pathlib.Path, dst: pathlib.Path, max_width: int = 1400, bands=None) -> None:
    """Copy a PNG as a 128-colour palette image, at most max_width pixels wide.

    bands: [(top, bottom), ...] horizontal strips to keep, stacked in order.
    """
    with Image.open(src) as image:
        image = image.convert("RGB")
        if bands:
            strips = [image.crop((0, top, image.width, min(bottom, image.height))) for top, bottom in bands]
            image = Image.new("RGB", (image.width, sum(s.height for s in strips)), "white")
            y = 0
            for strip in strips:
                image.paste(strip, (0, y))
                y += strip.height
        if image.width > max_width:
            image = image.resize((max_width, round(image.height * max_width / image.width)), Image.LANCZOS)
        image.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(dst, optimize=True)


def _band(driver, top_id, bottom_id) -> tuple[int, int]:
    """Pixel rows from the top of one element (or 0) to the bottom of another (or the window's),
    each clipped to the visible part of its scrolling parent."""
    script = """const e = document.getElementById(arguments[0]); if (!e) return null;
        const r = e.getBoundingClientRect(), p = e.parentElement.getBoundingClientRect();
        return [Math.max(r.top, p.top), Math.min(r.bottom, p.bottom)];"""
    top = driver.execute_script(script, top_id)[0] if top_id else 0
    bottom = driver.execute_script(script, bottom_id)[1] if bottom_id else driver.execute_script(
        "return window.innerHeight")
    return int(top), int(bottom) + 6


def screenshots(out: pathlib.Path, scratch: pathlib.Path) -> list[pathlib.Path]:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys
    except ImportError:
        print("selenium is not installed: player screenshots skipped")
        return []
    if not pathlib.Path("/usr/bin/chromedriver").exists():
        print("no /usr/bin/chromedriver (run `make browser`): player screenshots skipped")
        return []
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--no-first-run", f"--user-data-dir={scratch / 'chromium-profile'}", "--window-size=1400,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    written = []
    try:
        for page, (name, presses, bands) in SHOTS.items():
            driver.get((out / page).resolve().as_uri())
            time.sleep(1.0)
            body = driver.find_element(By.TAG_NAME, "body")
            for _ in range(presses):
                body.send_keys(Keys.ARROW_RIGHT)
                time.sleep(0.05)
            for button in driver.find_elements(By.XPATH, "//button[normalize-space()='fit']"):
                if page not in NO_FIT:
                    button.click()                  # the whole graph in view
            time.sleep(1.0)
            raw = scratch / name
            driver.save_screenshot(str(raw))
            shrink(raw, IMG / name, bands=[_band(driver, top, bottom) for top, bottom in bands])
            written.append(IMG / name)
    finally:
        driver.quit()
    return written


def main() -> int:
    from . import DEMOS

    IMG.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp)
        for name in DEMOS:
            importlib.import_module(f"demos.{name}").run(out / name)
        written = []
        for src, name in PICKS.items():
            if src.endswith(".png"):
                shrink(out / src, IMG / name)
            else:
                shutil.copyfile(out / src, IMG / name)
            written.append(IMG / name)
        written += screenshots(out, out)
    too_big = [p for p in written if p.stat().st_size > LIMIT]
    for path in written:
        print(f"{path.stat().st_size / 1000:6.0f} KB  {path.relative_to(ROOT)}")
    if too_big:
        print(f"over {LIMIT // 1000} KB: {', '.join(p.name for p in too_big)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
