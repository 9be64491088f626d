"""The rendering backend: graphviz-pure always, a system Graphviz `dot` when installed."""
import json
import os
import re
import shutil
import stat

import graphviz
import pytest

from autograd.viz import render as render_module
from autograd.viz.graph.render import Digraph, RenderError, backend_name, find_dot, pipe, render

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# A value node as a record and an op node as an HTML-like label, as autograd draws them.
SOURCE = """digraph G {
  rankdir=LR;
  x [shape=record, label="{ x | data 2.0000 | grad -3.0000 }"];
  mul [shape=plaintext, label=<<TABLE BORDER="0"><TR><TD><B>*</B></TD></TR></TABLE>>];
  y [shape=record, label="{ y | data -6.0000 | grad 1.0000 }"];
  x -> mul -> y;
}
"""


def _system_dot():
    """A real Graphviz `dot` on PATH (not a `dot -> graphviz-pure` link), or None."""
    dot = shutil.which("dot")
    if dot and not os.path.basename(os.path.realpath(dot)).startswith("graphviz-pure"):
        return dot
    return None


@pytest.fixture(params=["pip", "system"])
def backend(request, monkeypatch):
    """Run the test with graphviz-pure, then with the system dot if there is one."""
    monkeypatch.delenv("TRACEGRAD_DOT", raising=False)
    if request.param == "system" and _system_dot() is None:
        pytest.skip("no system Graphviz `dot` on PATH")
    monkeypatch.setenv("TRACEGRAD_RENDERER", request.param)
    return request.param


@pytest.fixture
def pip_backend(monkeypatch):
    monkeypatch.delenv("TRACEGRAD_DOT", raising=False)
    monkeypatch.setenv("TRACEGRAD_RENDERER", "pip")


@pytest.fixture
def no_renderer(monkeypatch):
    monkeypatch.setattr(render_module, "find_dot", lambda: None)


def test_backend_is_found(backend):
    assert find_dot() is not None
    assert backend_name() == {"pip": "graphviz-pure", "system": "system dot"}[backend]


def test_svg_has_a_titled_group_per_node(backend):
    svg = pipe(SOURCE, "svg").decode()
    for name in ("x", "mul", "y"):
        assert re.search(rf'<g id="node\d+" class="node">\s*<title>{name}</title>', svg)
    assert "grad &#45;3.0000" in svg  # record field
    assert 'font-weight="bold"' in svg  # the <B> of the HTML-like label


def test_png_bytes(backend):
    assert pipe(SOURCE, "png").startswith(PNG_MAGIC)


def test_json_layout_has_node_positions(backend):
    layout = json.loads(pipe(SOURCE, "json"))
    positions = {node["name"]: node["pos"] for node in layout["objects"]}
    assert set(positions) == {"x", "mul", "y"}
    assert all(len(pos.split(",")) == 2 for pos in positions.values())


@pytest.mark.parametrize("format, start", [("xdot", b"digraph"), ("plain", b"graph ")])
def test_text_formats(backend, format, start):
    assert pipe(SOURCE, format).startswith(start)


def test_pinned_positions_with_neato(pip_backend):
    plain = pipe('digraph { a [pos="0,0!"]; b [pos="3,0!"]; a -> b }', "plain", "neato")
    x = {line.split()[1]: float(line.split()[2]) for line in plain.decode().splitlines()
         if line.startswith("node ")}
    assert x["b"] - x["a"] == pytest.approx(3.0, abs=0.01)  # neato reads pos in inches


def test_pdf_on_graphviz_pure_names_backend_and_formats(pip_backend):
    with pytest.raises(RenderError, match=r"graphviz-pure cannot write 'pdf'.*svg, png"):
        pipe(SOURCE, "pdf")


@pytest.mark.skipif(_system_dot() is None, reason="no system Graphviz `dot` on PATH")
def test_pdf_with_system_dot(monkeypatch):
    monkeypatch.delenv("TRACEGRAD_DOT", raising=False)
    monkeypatch.setenv("TRACEGRAD_RENDERER", "system")
    assert pipe(SOURCE, "pdf").startswith(b"%PDF")


def test_missing_renderer_says_how_to_fix(no_renderer):
    with pytest.raises(RenderError, match="pip install graphviz-pure") as caught:
        pipe(SOURCE)
    assert not isinstance(caught.value, graphviz.ExecutableNotFound)
    assert backend_name() == "none"


def test_missing_forced_executable(monkeypatch, tmp_path):
    monkeypatch.setenv("TRACEGRAD_DOT", str(tmp_path / "no-such-dot"))
    with pytest.raises(RenderError, match="pip install graphviz-pure"):
        pipe(SOURCE)


def test_timeout_names_node_count_and_folding(monkeypatch, tmp_path):
    slow_dot = tmp_path / "dot"
    slow_dot.write_text("#!/bin/sh\nexec sleep 30\n")
    slow_dot.chmod(slow_dot.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("TRACEGRAD_DOT", str(slow_dot))
    with pytest.raises(RenderError, match=r"about 3 nodes.*Fold the graph"):
        pipe(SOURCE, timeout=0.2)


def test_renderer_error_carries_stderr(pip_backend):
    with pytest.raises(RenderError, match="syntax error"):
        pipe("digraph { a -> ")


def test_render_writes_file_and_infers_format(pip_backend, tmp_path):
    written = render(SOURCE, tmp_path / "graph.png")
    assert written == tmp_path / "graph.png"
    assert written.read_bytes().startswith(PNG_MAGIC)
    assert render(SOURCE, tmp_path / "graph.svg").read_text().startswith("<?xml")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["graph.png", "graph.svg"]


def test_render_without_suffix_or_format(pip_backend, tmp_path):
    with pytest.raises(RenderError, match="format="):
        render(SOURCE, tmp_path / "graph")


def test_render_into_missing_folder_leaves_nothing(pip_backend, tmp_path):
    target = tmp_path / "missing" / "graph.svg"
    with pytest.raises(RenderError, match=re.escape(str(target))):
        render(SOURCE, target)
    assert list(tmp_path.iterdir()) == []


def test_render_into_unwritable_folder_leaves_nothing(pip_backend, tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    with pytest.raises(RenderError, match="Cannot write"):
        render(SOURCE, not_a_folder / "graph.svg")
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write anywhere")
def test_render_into_read_only_folder(pip_backend, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o500)
    try:
        with pytest.raises(RenderError, match="Cannot write"):
            render(SOURCE, folder / "graph.svg")
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o700)


def test_failed_render_keeps_the_old_file(pip_backend, tmp_path, monkeypatch):
    target = tmp_path / "graph.svg"
    target.write_text("old")
    with pytest.raises(RenderError):
        render("digraph { a -> ", target)

    def replace_fails(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(render_module.os, "replace", replace_fails)
    with pytest.raises(RenderError, match="No space left"):
        render(SOURCE, target)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["graph.svg"]


def _small_digraph():
    graph = Digraph("net")
    graph.attr(rankdir="LR")
    graph.node("a", shape="record", label="{ a | data 1.0 }")
    with graph.subgraph(name="cluster_layer") as layer:
        layer.node("b", label="<<B>tanh</B>>")
    graph.edge("a", "b")
    return graph


def test_digraph_pipe(backend):
    graph = _small_digraph()
    assert "subgraph cluster_layer" in graph.source
    svg = graph.pipe()
    assert re.search(rb'class="node">\s*<title>b</title>', svg)
    assert graph.pipe(format="png").startswith(PNG_MAGIC)
    assert graph.pipe(encoding="utf-8").startswith("<?xml")


def test_digraph_jupyter_display(pip_backend):
    graph = _small_digraph()
    bundle = graph._repr_mimebundle_()
    assert list(bundle) == ["image/svg+xml", "image/png"]
    assert "<title>a</title>" in bundle["image/svg+xml"]
    png = graph._repr_mimebundle_(include=["image/png"])["image/png"]
    assert png.startswith(PNG_MAGIC)


def test_digraph_without_renderer_raises_render_error(no_renderer):
    with pytest.raises(RenderError, match="pip install graphviz-pure"):
        _small_digraph()._repr_mimebundle_()


def test_digraph_render(pip_backend, tmp_path):
    graph = _small_digraph()
    written = graph.render(directory=tmp_path)
    assert written == os.path.join(tmp_path, "net.gv.svg")
    assert os.path.exists(os.path.join(tmp_path, "net.gv"))
    written = graph.render(outfile=tmp_path / "out.png", cleanup=True)
    assert open(written, "rb").read(8) == PNG_MAGIC
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.gv", "net.gv.svg", "out.png"]


def test_failed_digraph_render_leaves_no_source_behind(no_renderer, tmp_path):
    # the layout runs before anything is written: no .gv, no output, no folder
    with pytest.raises(RenderError, match="pip install graphviz-pure"):
        _small_digraph().render(directory=tmp_path / "out")
    with pytest.raises(RenderError):
        _small_digraph().render(outfile=tmp_path / "net.svg")
    assert list(tmp_path.iterdir()) == []


def test_digraph_render_in_a_format_the_renderer_lacks_writes_nothing(pip_backend, tmp_path):
    with pytest.raises(RenderError, match="cannot write 'pdf'"):
        _small_digraph().render(directory=tmp_path, format="pdf")
    assert list(tmp_path.iterdir()) == []


def test_digraph_render_writes_the_source_it_laid_out(pip_backend, tmp_path):
    graph = _small_digraph()
    written = graph.render("g.gv", directory=tmp_path / "new")  # the folder is created
    assert open(os.path.join(tmp_path, "new", "g.gv"), encoding="utf-8").read() == graph.source
    assert open(written, encoding="utf-8").read().startswith("<?xml")
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["g.gv", "g.gv.svg"]


def test_graph_attributes_become_flags(backend):
    png_width = lambda png: int.from_bytes(png[16:20], "big")  # noqa: E731  (the IHDR chunk)
    normal = pipe(SOURCE, "png")
    half = pipe(SOURCE, "png", graph_attributes={"dpi": 48})  # Graphviz's PNG default is 96
    assert half.startswith(PNG_MAGIC)
    assert abs(png_width(half) - png_width(normal) / 2) <= 2
