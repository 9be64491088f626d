"""The player page, its one layout, the SVG frames and the GIF (no browser; see test_browser.py)."""
import html
import json
import re
import sys
from html.parser import HTMLParser

import numpy as np
import pytest

from autograd import Value, topological_order
from autograd.viz import RenderError, player, preview, record, save_frames, save_gif, save_player
from autograd.viz.player.frames import frame_state, frame_svgs
from autograd.viz.player import layout
from autograd.viz.graph.style import mono_width
from autograd.viz.graph.svg import node_geometry

from test_draw import micrograd_neuron, scalar_mlp


def _at(nodes, node):
    """node's position in nodes, by identity (== between Values is elementwise, so list.index is not)."""
    return next(i for i, n in enumerate(nodes) if n is node)


class Tags(HTMLParser):
    """Counts start tags and keeps the text of <script> elements."""

    def __init__(self):
        super().__init__()
        self.tags, self.scripts, self._in_script = {}, [], False

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data


def page_data(page_html: str) -> dict:
    parser = Tags()
    parser.feed(page_html)
    return json.loads(parser.scripts[0])


def test_page_holds_one_svg_and_one_entry_per_step():
    o, _ = micrograd_neuron()
    rec = record(o)
    page = player(rec)
    assert page.html.count("<svg") == 1
    data = page_data(page.html)
    assert len(data["steps"]) == len(rec.steps) == len(page)
    assert [s["node"] for s in data["steps"]] == [f"v{s.node}" for s in rec.steps]
    assert [s["text"] for s in data["steps"]] == [s.text for s in rec.steps]
    assert len(data["nodes"]) == len(topological_order(o))
    parser = Tags()
    parser.feed(page.html)
    assert parser.tags["script"] == 2 and parser.tags["svg"] == 1
    assert "http://" not in page.html.replace("http://www.w3.org/", "")  # nothing fetched from a network


def test_grad_cells_start_pending_and_are_wide_enough_for_every_later_text():
    loss, _ = scalar_mlp([2, 3, 1])
    laid_out = layout(loss)
    data = laid_out.data
    longest = {}
    for step in data["steps"]:
        for node, text in step["grads"].items():
            longest[node] = max(longest.get(node, 0), len("grad " + text))
    source = laid_out.drawing.graph.source
    for node, chars in longest.items():
        statement = re.search(rf"^\t{node} \[(.*)\]$", source, re.M).group(1)
        assert ">grad ·<" in statement
        last_width = int(re.findall(r'WIDTH="(\d+)"', statement)[-1])
        assert last_width >= mono_width(chars)
    texts = re.findall(r'<text id="(v\d+)_g" class="gtx"[^>]*>([^<]*)</text>', laid_out.svg)
    assert len(texts) == sum(n["box_grad"] for n in data["nodes"]) and all(t == "grad ·" for _, t in texts)


def test_frames_keep_every_node_where_it_is(tmp_path):
    o, v = micrograd_neuron()
    rec = record(o)
    paths = save_frames(rec, tmp_path / "frames")
    assert [p.name for p in paths] == [f"step_{k:03d}.svg" for k in range(1, len(rec.steps) + 1)]
    svgs = [p.read_text() for p in paths]
    geometry = [node_geometry(s) for s in svgs]
    assert len(geometry[0]) >= 2 * len(rec.steps)
    assert all(g == geometry[0] for g in geometry[1:])  # same coordinates in every frame
    grads = [re.findall(r'<text id="v\d+_g"[^>]*>([^<]*)<', s) for s in svgs]
    assert len({tuple(g) for g in grads}) == len(svgs)  # ... while the grad texts change
    nodes = topological_order(o)
    for k, (svg, step) in enumerate(zip(svgs, rec.steps), 1):
        assert re.search(rf'<g id="v{step.node}" class="node [^"]*st_current', svg), k
        assert f"step {k} of {len(rec.steps)}" in svg
    # the last frame shows every final gradient, as backward() computes it
    o.backward()
    for i, node in enumerate(nodes):
        if node.requires_grad:
            assert f'<text id="v{i}_g" class="gtx"' in svgs[-1]
            assert re.search(rf'<text id="v{i}_g"[^>]*>grad {re.escape(preview(node.grad))}<', svgs[-1])


def test_frame_state_marks_current_receiving_done_and_hot_edges():
    o, v = micrograd_neuron()
    nodes = topological_order(o)
    data = layout(o).data
    n, root = f"v{_at(nodes, v['n'])}", f"v{_at(nodes, o)}"
    start = frame_state(data, 0)
    assert start["hot"] == {}
    assert all("st_pending" in c for i, c in start["cls"].items() if i.startswith("v") and "_" not in i)
    first = frame_state(data, 1)  # tanh node: 1 flows in, do/dn = 1 - o² goes out
    assert first["cls"][root] == ["st_current"] and first["cls"][root + "_op"] == ["st_current"]
    assert "st_recv" in first["cls"][n]
    assert first["texts"][root + "_g"] == "grad 1" and first["texts"][n + "_g"] == "grad 0.5"
    assert first["hot"] == {f"f_{n}_{root}": "hot", f"o_{root}": "hot"}
    second = frame_state(data, 2)
    assert "st_done" in second["cls"][root] and second["cls"][n] == ["st_current"]
    last = frame_state(data, len(data["steps"]))
    assert all("st_done" in c or "st_current" in c or "st_recv" in c
               for i, c in last["cls"].items() if not i.endswith("_op"))


def test_forward_recording_starts_with_unknown_values():
    o, v = micrograd_neuron()
    data = layout(o, forward=True).data
    kinds = [s["kind"] for s in data["steps"]]
    assert kinds == sorted(kinds, key=lambda k: k != "forward") and kinds[0] == "forward"
    nodes = topological_order(o)
    root = f"v{_at(nodes, o)}"
    start = frame_state(data, 0)
    assert start["texts"][root + "_d"] == "data ?" and "st_unknown" in start["cls"][root]
    n_forward = kinds.count("forward")
    after = frame_state(data, n_forward)
    assert after["texts"][root + "_d"] == f"data {preview(o.data)}"
    assert after["cls"][root] == ["st_pending", "st_fcurrent"] and after["hot"][f"o_{root}"] == "hotf"


def test_folded_player_moves_the_highlight_to_the_group():
    loss, _ = scalar_mlp([3, 16, 16, 1])
    laid_out = layout(loss)
    data = laid_out.data
    assert data["groups"]
    folded_step = next(k for k, s in enumerate(data["steps"], 1)
                       if any(s["node"] in g["members"] for g in data["groups"].values()))
    step = data["steps"][folded_step - 1]
    gid = next(g for g, group in data["groups"].items() if step["node"] in group["members"])
    assert frame_state(data, folded_step)["cls"][gid][0] == "st_current"
    assert f'<g id="{gid}" class="node group">' in laid_out.svg


def test_labels_cannot_run_script_in_the_page():
    evil = '</script><script>alert("x")</script><!--'
    x = Value(2.0, label=evil)
    y = (x * x).tanh()
    page = player(y)
    parser = Tags()
    parser.feed(page.html)
    assert parser.tags["script"] == 2
    assert "alert(" not in "".join(parser.scripts[1:])
    data = json.loads(parser.scripts[0])
    assert data["nodes"][0]["label"] == evil  # carried as data, shown with textContent
    assert html.escape(evil) in page.html  # in the SVG, as escaped text
    assert evil not in page.html
    frame = "".join(frame_svgs(page.layout))
    assert evil not in frame


def test_player_for_400_nodes_stays_small():
    loss, _ = scalar_mlp([2, 8, 8, 1])
    laid_out = layout(loss, max_nodes=None)
    drawn = len(re.findall(r'<g id="[^"]+" class="node', laid_out.svg))
    assert 400 <= drawn <= 600
    page = player(loss, max_nodes=None)
    size = len(page.html.encode("utf-8"))
    svg = len(laid_out.svg.encode("utf-8"))
    print(f"player: {drawn} nodes, {len(page)} steps, {size} bytes (svg {svg})")
    assert size < 3_000_000
    assert size < 2 * svg  # the steps add data, not copies of the picture
    assert page.html.count("<svg") == 1


def test_save_is_atomic_and_errors_are_clear(tmp_path):
    o, _ = micrograd_neuron()
    path = save_player(o, tmp_path / "p.html")
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    with pytest.raises(RenderError, match="does not exist"):
        save_player(o, tmp_path / "missing" / "p.html")
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    with pytest.raises(RenderError, match="Cannot create the folder"):
        save_frames(o, blocker / "frames")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt", "p.html"]


def test_frames_are_all_or_nothing(tmp_path):
    o, _ = micrograd_neuron()
    rec = record(o)
    folder = tmp_path / "frames"
    folder.mkdir()
    (folder / f"step_{len(rec.steps):03d}.svg").mkdir()  # the last rename must fail
    with pytest.raises(RenderError, match="no frame was left behind"):
        save_frames(rec, folder)
    assert [p.name for p in folder.iterdir()] == [f"step_{len(rec.steps):03d}.svg"]


def test_gif_has_a_frame_per_step_on_one_canvas(tmp_path):
    PIL = pytest.importorskip("PIL.Image")
    o, _ = micrograd_neuron()
    rec = record(o)
    path = save_gif(rec, tmp_path / "backprop.gif", ms_per_frame=500)
    image = PIL.open(path)
    assert image.format == "GIF" and image.n_frames == len(rec.steps) + 1
    sizes = set()
    pixels = []
    for k in range(image.n_frames):
        image.seek(k)
        sizes.add(image.size)
        pixels.append(np.asarray(image.convert("RGB")))
    assert len(sizes) == 1
    assert not np.array_equal(pixels[1], pixels[2])  # frames differ where the state changed


def test_gif_without_pillow_says_so(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    o, _ = micrograd_neuron()
    with pytest.raises(RenderError, match=r"pip install 'tracegrad\[gif\]'"):
        save_gif(o, tmp_path / "a.gif")
    assert list(tmp_path.iterdir()) == []


def test_jupyter_display_is_an_isolated_iframe():
    o, _ = micrograd_neuron()
    page = player(o)
    shown = page._repr_html_()
    assert shown.startswith("<iframe srcdoc=\"") and 'sandbox="allow-scripts"' in shown
    srcdoc = re.match(r'<iframe srcdoc="([^"]*)"', shown).group(1)
    assert html.unescape(srcdoc) == page.html


def test_tensor_graph_player():
    rng = np.random.default_rng(0)
    X = Value(rng.normal(size=(4, 3)), requires_grad=False)
    W = Value(rng.normal(size=(3, 2)), label="W")
    loss = ((X @ W).tanh() ** 2).mean()
    data = layout(loss).data
    nodes = topological_order(loss)
    w = f"v{_at(nodes, W)}"
    step = next(s for s in data["steps"] if w in s["grads"])
    assert step["grads"][w].startswith("[[")  # 6 numbers: shown in full
    assert frame_state(data, len(data["steps"]))["texts"][w + "_g"] == "grad " + step["grads"][w]
    assert "(3, 2) float64" in player(loss).html


def test_player_writes_frames_and_gif_on_its_own_layout(tmp_path, monkeypatch):
    o, _ = micrograd_neuron()
    page = player(o)
    calls = []
    monkeypatch.setattr(sys.modules["autograd.viz.player.page"], "pipe",
                        lambda *a, **k: calls.append(a) or b"")  # no second layout for the SVG frames
    frames = page.save_frames(tmp_path / "f")
    assert len(frames) == len(page) and calls == []
    assert node_geometry(frames[0].read_text()) == node_geometry(page.layout.svg)
    pytest.importorskip("PIL")
    assert page.save_gif(tmp_path / "a.gif").stat().st_size > 0


def long_scalar_graph():
    """About 250 scalar nodes in a long chain: Graphviz lays it out some 30 000 pt wide."""
    rng = np.random.default_rng(0)
    xs = [Value(float(rng.normal()), label=f"x{i}") for i in range(60)]
    y = xs[0]
    for i, x in enumerate(xs[1:]):
        y = (y * x + 0.1).tanh() if i % 3 == 0 else y + x * 0.3
    return y * y


def test_gif_of_a_graph_too_wide_to_read_is_refused_before_rendering(tmp_path, monkeypatch):
    pytest.importorskip("PIL")
    from autograd.viz.player import gif

    loss = long_scalar_graph()
    assert len(topological_order(loss)) > 250
    page = player(loss)
    rendered = []
    monkeypatch.setattr(gif, "pipe", lambda *a, **k: rendered.append(a) or b"")
    with pytest.raises(RenderError, match=r"too small to read.*save_player.*save_frames"):
        page.save_gif(tmp_path / "big.gif")
    assert rendered == [] and list(tmp_path.iterdir()) == []  # decided from the layout alone


def test_gif_cells_too_small_to_repaint_keep_graphvizs_pixels(tmp_path, monkeypatch):
    # Forced down to 0.05 px per point, cells are 1 px high: they are skipped, not a crash.
    PIL = pytest.importorskip("PIL.Image")
    from autograd.viz.player import gif

    monkeypatch.setattr(gif, "MIN_PIXELS_PER_PT", 0.01)
    loss = long_scalar_graph()
    path = save_gif(loss, tmp_path / "tiny.gif")
    image = PIL.open(path)
    assert image.format == "GIF" and image.width <= 1600
    assert image.n_frames == len(record(loss).steps) + 1


def test_gif_of_a_wide_graph_is_rendered_at_a_lower_dpi(tmp_path, monkeypatch):
    PIL = pytest.importorskip("PIL.Image")
    from autograd.viz.player import gif

    loss, _ = scalar_mlp([2, 3, 1])
    laid_out = layout(loss)
    width_pt, _ = gif._size_pt(laid_out.svg)
    assert width_pt * gif.PNG_DPI / 72 > 1600  # at Graphviz's 96 dpi it would be wider
    asked = []
    real_pipe = gif.pipe
    monkeypatch.setattr(gif, "pipe", lambda *a, **k: asked.append(k) or real_pipe(*a, **k))
    image = PIL.open(save_gif(laid_out, tmp_path / "wide.gif"))
    dpi = float(asked[0]["graph_attributes"]["dpi"])
    assert dpi == pytest.approx(72 * 1600 / width_pt, rel=1e-3)
    assert 1590 <= image.width <= 1600 and image.n_frames == len(laid_out.data["steps"]) + 1
