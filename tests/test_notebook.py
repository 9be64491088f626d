"""demos/tour.ipynb runs headless (nbclient, the venv's python3 kernel) and shows what it promises:
the neuron's gradients, its graph as inline SVG, the backprop player and the training player as
inline HTML, and the network view as SVG."""
from __future__ import annotations

import pathlib
import re
import xml.etree.ElementTree as ET

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = pathlib.Path(__file__).resolve().parent.parent / "demos" / "tour.ipynb"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The notebook after running every cell in a fresh kernel, from an empty working folder."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    workdir = tmp_path_factory.mktemp("tour")
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=180,
                            resources={"metadata": {"path": str(workdir)}}).execute()
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def outputs(cell, mime: str) -> list:
    return [o["data"][mime] for o in cell.outputs if mime in o.get("data", {})]


def source_of(cells, text: str):
    """The first code cell whose source contains `text`."""
    return next(c for c in cells if text in c.source)


def test_the_committed_notebook_has_no_stale_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    nbformat.validate(nb)


def test_every_cell_runs_without_error(executed):
    errors = [o for c in executed for o in c.outputs if o.output_type == "error"]
    assert not errors, errors[0]["ename"] + ": " + errors[0]["evalue"] if errors else ""


def test_neuron_cell_prints_its_gradients(executed):
    text = "".join(o.get("text", "") for o in source_of(executed, "Y.backward()").outputs)
    assert "Y = -0.5717" in text
    assert re.search(r"dY/dw1 = \+1\.3464", text)


def test_graph_is_inline_svg_with_the_neurons_labels(executed):
    (svg,) = outputs(source_of(executed, "draw(Y)"), "image/svg+xml")
    root = ET.fromstring(svg.encode())
    texts = {"".join(e.itertext()).strip() for e in root.iter() if e.tag.endswith("text")}
    assert {"x0", "w0", "b", "Y", "tanh"} <= texts


def test_backprop_player_is_inline_html_with_its_steps(executed):
    (page,) = outputs(source_of(executed, "player(Y"), "text/html")
    assert page.startswith("<iframe") and "srcdoc=" in page
    assert "tg-data" in page and "&lt;svg" in page       # the page (escaped inside srcdoc) holds the graph


def test_network_view_is_inline_svg(executed):
    (svg,) = outputs(source_of(executed, "network_view(model)"), "image/svg+xml")
    assert len(set(re.findall(r'id="L\d+_w\d+_\d+"', svg))) == 2 * 8 + 8 * 8 + 8   # one edge per weight
    assert "% of the points correct" in "".join(
        o.get("text", "") for o in source_of(executed, "TrainingRecorder(").outputs)


def test_training_player_is_inline_html(executed):
    (page,) = outputs(source_of(executed, "training_player(rec"), "text/html")
    assert page.startswith("<iframe") and "srcdoc=" in page
    assert "An MLP 2-8-8-1 learning the moons" in page


def test_no_cell_prints_a_warning(executed):
    """No red stderr in the tour: a missing ipywidgets once made tqdm warn "IProgress not found"."""
    streams = [o for c in executed for o in c.outputs if o.output_type == "stream" and o.name == "stderr"]
    assert not streams, "".join(o.text for o in streams)
