"""The package as users meet it: `tracegrad` is the way in, the HIPS clash warning, extras named in
errors, metadata, notebook display bundles, the API reference. (The wheel in fresh venvs: test_install.)"""
from __future__ import annotations

import builtins
import importlib
import importlib.metadata
import pathlib
import re
import warnings

import numpy as np
import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

import autograd
import autograd.viz
import nn
import tracegrad
from autograd import clash, extras

REPO = pathlib.Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_tracegrad_is_the_way_in_with_the_same_objects():
    from tracegrad import Value, grad, nn as tnn, no_grad, viz  # noqa: F401
    assert tnn is nn and tracegrad.nn.MLP is nn.MLP and tracegrad.nn.to_torch is nn.to_torch
    assert viz is autograd.viz and tracegrad.viz.draw is autograd.viz.draw
    assert tracegrad.Value is autograd.Value and tracegrad.grad is autograd.grad
    assert set(autograd.__all__) <= set(dir(tracegrad))   # everything autograd exports, tracegrad does
    assert re.fullmatch(r"\d+\.\d+\.\d+", tracegrad.__version__)
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "tracegrad.__version__"}


def test_no_clash_warning_without_hips(recwarn):
    importlib.reload(tracegrad)
    assert not [w for w in recwarn if "HIPS" in str(w.message)]


def test_clash_warning_names_hips_autograd_and_the_way_out(monkeypatch):
    real = importlib.metadata.packages_distributions
    monkeypatch.setattr(importlib.metadata, "packages_distributions",
                        lambda: {**real(), "autograd": ["tracegrad", "autograd"]})
    monkeypatch.setattr(clash, "_warned", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.resetwarnings()      # Python's default filters: a UserWarning shows
        importlib.reload(tracegrad)
    (warning,) = [w for w in caught if "HIPS" in str(w.message)]
    assert warning.category is UserWarning
    text = str(warning.message)
    assert "HIPS autograd" in text and "'autograd'" in text and "autograd/__init__.py" in text
    assert "from tracegrad import" in text and "\n" not in text


def test_every_extra_installs_what_its_error_names():
    extras_table = PYPROJECT["project"]["optional-dependencies"]
    for extra, package in [("plot", "matplotlib"), ("progress", "tqdm"), ("datasets", "scikit-learn"),
                           ("gif", "pillow"), ("torch", "torch")]:
        assert any(req.startswith(package) for req in extras_table[extra]), extra
        assert extras.PACKAGES[extra] == package
    assert not [r for reqs in extras_table.values() for r in reqs if "==" in r]   # pins: constraints.txt
    assert "torch==2.13.0" in (REPO / "constraints.txt").read_text()
    assert "-c constraints.txt" in (REPO / "Makefile").read_text()
    assert PYPROJECT["project"]["license"] == "MIT" and (REPO / "LICENSE").read_text().startswith("MIT License")
    assert "tensors" in PYPROJECT["project"]["description"]
    assert PYPROJECT["project"]["scripts"]["tracegrad"] == "autograd.viz.cli.main:main"


def _without(monkeypatch, *names):
    real_import = builtins.__import__

    def fake(name, *args, **kwargs):
        if name.split(".")[0] in names:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake)


def _recorded():
    model = nn.MLP(2, [3, 1], seed=0)
    rec = autograd.viz.TrainingRecorder(model, every=1)
    X, y = nn.make_moons(16, noise=0.1, seed=0)
    opt = nn.SGD(model.parameters(), lr=0.1)
    for _ in range(3):
        loss = nn.hinge(model(X).reshape(-1), 2 * y - 1)
        opt.zero_grad(); loss.backward(); opt.step(); rec.step(loss)
    return rec, X, y


def test_optional_features_name_their_extra_or_work_without_it(monkeypatch):
    rec, X, y = _recorded()
    _without(monkeypatch, "matplotlib", "tqdm")
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'tracegrad\[plot\]'"):
        autograd.viz.plot_loss(rec)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'tracegrad\[progress\]'"):
        list(rec.progress(range(2)))
    page = autograd.viz.training_player(rec, X, y, resolution=8)   # a progress bar is not needed
    assert "<html" in page.html


def test_draw_bundle_has_svg_and_png():
    from tracegrad import Value, viz
    x = Value(2.0, label="x")
    y = (x * x).tanh()
    bundle = viz.draw(y)._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"] and bundle["image/png"].startswith(PNG_MAGIC)


def test_player_bundle_shows_a_still_where_iframes_and_scripts_are_removed():
    from tracegrad import Value, viz
    x = Value(2.0, label="x")
    y = (x * x).tanh()
    y.backward()
    page = viz.player(y)
    bundle = page._repr_mimebundle_()
    html = bundle["text/html"]
    assert html.startswith("<iframe srcdoc=") and 'sandbox="allow-scripts"' in html
    still = re.search(r'<div id="([^"]+)" class="tracegrad-still"><img src="data:image/png;base64,', html)
    assert still and f'document.getElementById("{still.group(1)}").remove()' in html
    assert "Trust Notebook" in html and ".save(" in html
    assert bundle["image/png"].startswith(PNG_MAGIC) and "Trust Notebook" in bundle["text/plain"]
    assert list(page._repr_mimebundle_(include=["image/png"])) == ["image/png"]


def test_api_reference_includes_viz(tmp_path):
    pdoc = pytest.importorskip("pdoc")
    pdoc.render.configure(docformat="markdown")
    pdoc.pdoc("tracegrad", "autograd", "autograd.viz", "nn", output_directory=tmp_path)
    page = (tmp_path / "autograd" / "viz.html").read_text()
    assert "def draw" in page or 'id="draw"' in page
    assert (tmp_path / "tracegrad.html").exists() and (tmp_path / "nn.html").exists()


def test_ddp_prefix_helper_is_documented_in_nn():
    assert "module." in nn.strip_ddp_prefix.__doc__ and "strip_ddp_prefix" in nn.__all__
    state = {"module.layers.0.weight": np.zeros(1), "other": np.ones(1)}
    assert nn.strip_ddp_prefix(state).keys() == {"layers.0.weight", "other"}
