"""The player page: HTML, CSS and script as Python strings (no data files to package).

`page()` fills in the title (already HTML-escaped), the SVG (laid out once) and the
JSON (already made safe for a <script> element). The script never uses innerHTML
with recorded text: labels and explanations are set with textContent.
"""
from __future__ import annotations

from ..html import fill

PAGE_CSS = """
:root { --ink: #111827; --muted: #6b7280; --line: #e5e7eb; --accent: #ea580c; }
* { box-sizing: border-box; }
html, body { margin: 0; height: 100%; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", Arial, sans-serif;
  color: var(--ink); background: #f8fafc; display: flex; flex-direction: column; font-size: 14px; }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 16px; padding: 8px 14px;
  background: white; border-bottom: 1px solid var(--line); }
header h1 { font-size: 16px; margin: 0; font-weight: 600; }
.controls { display: flex; align-items: center; gap: 6px; flex-wrap: wrap; }
button { font: inherit; padding: 4px 10px; border: 1px solid #cbd5e1; border-radius: 6px;
  background: white; cursor: pointer; min-width: 34px; }
button:hover { background: #f1f5f9; }
button:focus-visible, input:focus-visible, select:focus-visible { outline: 2px solid #2563eb; outline-offset: 1px; }
button.primary { background: #2563eb; border-color: #2563eb; color: white; font-weight: 600; }
button.primary:hover { background: #1d4ed8; }
#slider { width: min(36vw, 420px); accent-color: var(--accent); }
#counter { font-variant-numeric: tabular-nums; min-width: 9.5em; color: var(--muted); }
.hint { color: var(--muted); font-size: 12px; }
#graph-pane { flex: 0 1 auto; overflow: auto; background: white; min-height: 150px; position: relative; }
#graph { padding: 8px; width: max-content; margin: 0 auto; }
#graph svg { display: block; }
#graph .node { cursor: pointer; }
#graph text[font-family^="Helvetica"] { font-family: "Liberation Sans", Arimo, Helvetica, Arial, sans-serif; }
#graph text[font-family^="Courier"] { font-family: "Liberation Mono", Cousine, "Courier New", Courier, monospace; }
#graph .node.st_selected > polygon[fill="none"], #graph .node.st_selected > path,
#graph .node.st_selected > ellipse { stroke: #2563eb; stroke-width: 2.5px; stroke-dasharray: 5 3; }
#panels { flex: 1 0 30vh; display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr);
  gap: 10px; padding: 10px 14px; border-top: 1px solid var(--line); min-height: 190px; }
.panel { background: white; border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px;
  overflow: auto; }
.panel h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted);
  margin: 0 0 6px; }
#step-title { font-size: 15px; font-weight: 600; margin: 0 0 8px; }
#step-text { font-family: "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace;
  font-size: 14px; line-height: 1.55; white-space: pre-wrap; margin: 0; }
#step-text .line { display: block; padding: 1px 6px; border-left: 3px solid #fca5a5; margin-bottom: 3px;
  background: #fef2f2; }
#step-text .line.fwd { border-left-color: #93c5fd; background: #eff6ff; }
#inspect dl { display: grid; grid-template-columns: max-content 1fr; gap: 3px 10px; margin: 0; }
#inspect dt { color: var(--muted); }
#inspect dd { margin: 0; font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; word-break: break-word;
  white-space: pre-line; }
#inspect .name { font-weight: 600; font-size: 15px; margin-bottom: 6px; }
#states { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 12px; color: var(--muted); }
#states span::before { content: ""; display: inline-block; width: 12px; height: 10px; margin-right: 5px;
  vertical-align: -1px; border: 1.5px solid var(--c); background: var(--b); border-radius: 2px; }
#states .edge::before { height: 0; border-width: 0; border-top: 3px dashed #dc2626; background: none; width: 18px; }
#states .edgef::before { height: 0; border-width: 0; border-top: 3px dashed #2563eb; background: none; width: 18px; }
"""

PAGE_JS = r"""
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("tg-data").textContent);
  var steps = D.steps, N = steps.length, nodes = D.nodes;
  var byId = {}, fwdStep = {}, bwdStep = {}, lastChange = {};
  nodes.forEach(function (n) { byId[n.id] = n; });
  steps.forEach(function (s, i) {
    if (s.kind === "forward") fwdStep[s.node] = i; else bwdStep[s.node] = i;
    Object.keys(s.grads).forEach(function (k) { lastChange[k] = i; });
  });
  var $ = function (id) { return document.getElementById(id); };
  var svg = document.querySelector("#graph svg");
  var pane = $("graph-pane"), slider = $("slider");
  var drawnIds = {};
  nodes.forEach(function (n) { drawnIds[n.drawn] = true; });
  var frame = 0, selected = null, timer = null, zoom = 1;

  function has(o, k) { return Object.prototype.hasOwnProperty.call(o, k); }

  // The state of every node at frame k (k steps applied). Mirrors frames.frame_state in Python.
  function frameState(k) {
    var grads = {}, full = {}, values = {}, i, key;
    for (i = 0; i < k; i++) {
      for (key in steps[i].grads) grads[key] = steps[i].grads[key];
      for (key in steps[i].full) full[key] = steps[i].full[key];
      for (key in steps[i].values) values[key] = steps[i].values[key];
    }
    var cur = k > 0 ? steps[k - 1] : null;
    var phase = cur ? cur.kind : (N ? steps[0].kind : "backward");
    var recv = {};
    if (cur && cur.kind === "backward") for (key in cur.grads) if (key !== cur.node) recv[key] = true;
    var cls = {}, texts = {}, hot = {}, done = {};
    nodes.forEach(function (n) {
      var c = [], isDone = false;
      var known = !has(fwdStep, n.id) || phase === "backward" || fwdStep[n.id] < k;
      if (phase === "forward") {  // values arrive; every gradient is still to come
        isDone = known;
        if (n.requires_grad) c.push("st_pending");
        if (cur && cur.node === n.id) c.push("st_fcurrent");
        if (!known) c.push("st_unknown");
      } else if (n.requires_grad) {
        if (has(bwdStep, n.id)) isDone = bwdStep[n.id] <= k - 1;  // the current node's grad is final too
        else if (has(lastChange, n.id)) isDone = lastChange[n.id] <= k - 1;
        else isDone = k === N;
        if (cur && cur.node === n.id) c.push("st_current");
        else c.push(isDone ? "st_done" : "st_pending");
        if (recv[n.id]) c.push("st_recv");
      } else {
        isDone = true;
      }
      done[n.id] = isDone;
      cls[n.id] = c;
      if (n.box_data) texts[n.id + "_d"] = known ? n.data_box : "data ?";
      if (n.box_grad) texts[n.id + "_g"] = "grad " + (has(grads, n.id) ? grads[n.id] : "·");
    });
    Object.keys(D.groups).forEach(function (gid) {
      var members = D.groups[gid].members, c = [];
      var isCur = cur && members.indexOf(cur.node) >= 0;
      var any = members.some(function (m) { return recv[m]; });
      var all = members.every(function (m) { return done[m]; });
      if (phase === "forward") {
        c.push(isCur ? "st_fcurrent" : (all ? "st_known" : "st_unknown"));
      } else {
        c.push(isCur ? "st_current" : (all ? "st_done" : "st_pending"));
        if (any) c.push("st_recv");
      }
      cls[gid] = c;
    });
    if (cur) {
      var mark = cur.kind === "forward" ? "hotf" : "hot";
      cur.edges.forEach(function (e) { hot["f_" + e[0] + "_" + e[1]] = mark; });
      hot["o_" + cur.node] = mark;
      if (byId[cur.node].op && byId[cur.node].drawn === cur.node)
        cls[cur.node + "_op"] = [cur.kind === "forward" ? "st_fcurrent" : "st_current"];
    }
    return { cls: cls, texts: texts, hot: hot, grads: grads, full: full, values: values, cur: cur, done: done };
  }
  window.tracegradFrameState = frameState;  // read by the browser test

  var STATES = ["st_current", "st_fcurrent", "st_done", "st_pending", "st_recv", "st_unknown", "st_known"];
  var groupsEl = {}, edgesEl = [];
  var opIds = nodes.filter(function (n) { return n.op && n.drawn === n.id; })
                  .map(function (n) { return n.id + "_op"; });
  Object.keys(drawnIds).concat(Object.keys(D.groups), opIds).forEach(function (id) {
    var e = $(id); if (e) groupsEl[id] = e;
  });
  svg.querySelectorAll("g.edge").forEach(function (e) { edgesEl.push(e); });

  function show(k) {
    k = Math.max(0, Math.min(N, k));
    frame = k;
    var st = frameState(k);
    Object.keys(groupsEl).forEach(function (id) {
      var e = groupsEl[id];
      STATES.forEach(function (s) { e.classList.remove(s); });
      (st.cls[id] || []).forEach(function (s) { e.classList.add(s); });
    });
    Object.keys(st.texts).forEach(function (id) {
      var t = $(id); if (t && t.textContent !== st.texts[id]) t.textContent = st.texts[id];
    });
    edgesEl.forEach(function (e) {
      e.classList.remove("hot"); e.classList.remove("hotf");
      e.classList.forEach(function (c) { if (has(st.hot, c)) e.classList.add(st.hot[c]); });
    });
    slider.value = String(k);
    $("counter").textContent = "step " + k + " of " + N;
    explain(st, k);
    if (selected) inspect(selected, st);
    if (st.cur) reveal(groupsEl[byId[st.cur.node].drawn]);
  }

  function nameOf(id) { var n = byId[id]; return n ? n.name : id; }

  function explain(st, k) {
    var title = $("step-title"), box = $("step-text");
    box.textContent = "";
    if (!st.cur) {
      title.textContent = N ? "Start: nothing computed yet" : "Nothing to step through";
      addLine(box, steps.length && steps[0].kind === "forward"
        ? "Press Next (or →) to compute each value in order, then send gradients back from the loss."
        : "Every gradient starts at 0 (shown ·). Press Next (or →): the loss " + nameOf(D.root) +
          " gets gradient 1, then each node passes its gradient to its inputs by the chain rule.", false);
      return;
    }
    var c = st.cur, n = byId[c.node];
    if (c.kind === "forward") {
      title.textContent = "Step " + k + " of " + N + " · forward: compute " + n.name +
        (n.op_label ? " (" + n.op_label + ")" : "");
    } else {
      title.textContent = "Step " + k + " of " + N + " · backward through " + n.name +
        (n.op_label ? " (" + n.op_label + ")" : "") + ": d" + nameOf(D.root) + "/d" + n.name +
        " = " + (st.grads[c.node] || "?") + " flows to its inputs";
    }
    c.text.split("\n").forEach(function (line) { addLine(box, line, c.kind === "forward"); });
    if (k === N) addLine(box, "Done: these gradients are exactly what " + nameOf(D.root) +
      ".backward() adds to each .grad.", false);
  }

  function addLine(box, text, fwd) {
    var span = document.createElement("span");
    span.className = fwd ? "line fwd" : "line";
    span.textContent = text;
    box.appendChild(span);
  }

  function row(dl, term, value) {
    var dt = document.createElement("dt"), dd = document.createElement("dd");
    dt.textContent = term; dd.textContent = value;
    dl.appendChild(dt); dl.appendChild(dd);
  }

  function inspect(id, st) {
    st = st || frameState(frame);
    var body = $("inspect-body");
    body.textContent = "";
    var head = document.createElement("div"); head.className = "name";
    var dl = document.createElement("dl");
    if (has(D.groups, id)) {
      var g = D.groups[id];
      head.textContent = "Folded group " + g.name + " (" + g.members.length + " nodes)";
      body.appendChild(head); body.appendChild(dl);
      g.members.slice(0, 40).forEach(function (m) {
        var n = byId[m];
        row(dl, n.name, (n.op_label ? n.op_label + " · " : "") + "data " + n.data +
          (n.requires_grad ? " · grad " + (has(st.full, m) ? st.full[m] : (st.grads[m] || "·")) : ""));
      });
      if (g.members.length > 40) row(dl, "…", (g.members.length - 40) + " more");
      return;
    }
    var n = byId[id];
    if (!n) return;
    head.textContent = n.name + (n.label && n.label !== n.name ? " (" + n.label + ")" : "");
    body.appendChild(head); body.appendChild(dl);
    row(dl, "kind", n.kind + (n.shape.length ? " · shape (" + n.shape.join(", ") + ") " + n.dtype : ""));
    var known = !has(fwdStep, id) || fwdStep[id] < frame || (st.cur && st.cur.kind === "backward");
    row(dl, "value", known ? n.data : "not computed yet");
    if (n.op) {
      var args = n.parents.map(nameOf);
      row(dl, "computed by", n.op_label + " of " + (args.length ? args.join(", ") : "nothing"));
      n.formulas.forEach(function (f, i) {
        var who = args[i] === undefined ? "input " + (i + 1) : args[i];
        row(dl, n.elementwise ? "d(out)/d(" + who + ")" : "to " + who, f);
      });
    }
    if (!n.requires_grad) { row(dl, "gradient", "none: a constant (requires_grad=False)"); return; }
    var g = has(st.full, id) ? st.full[id] : st.grads[id];
    var settled = has(lastChange, id) && lastChange[id] <= frame - 1;
    row(dl, "gradient now", g === undefined ? "· (nothing has arrived yet)" :
      g + (st.done[id] ? "  (final)" : settled ? "  (complete: passed on when its turn comes)"
                                               : "  (so far: more arrives from its other uses)"));
    var got = [];
    for (var i = 0; i < frame; i++) {
      steps[i].parents.forEach(function (p) {
        if (p.id === id) got.push("step " + (i + 1) + " from " + nameOf(steps[i].node) + ": " + p.contribution);
      });
    }
    if (got.length) row(dl, "received", got.join("\n"));
  }

  function select(id) {
    if (selected && groupsEl[byId[selected] ? byId[selected].drawn : selected])
      groupsEl[byId[selected] ? byId[selected].drawn : selected].classList.remove("st_selected");
    selected = id;
    var e = groupsEl[byId[id] ? byId[id].drawn : id];
    if (e) e.classList.add("st_selected");
    inspect(id);
  }

  svg.addEventListener("click", function (ev) {
    var g = ev.target.closest ? ev.target.closest("g.node") : null;
    if (!g || !g.id) return;
    var id = g.id.replace(/_op$/, "");
    if (has(byId, id) || has(D.groups, id)) select(id);
  });

  function reveal(e) {
    if (!e) return;
    var r = e.getBoundingClientRect(), p = pane.getBoundingClientRect();
    if (r.left < p.left || r.right > p.right) pane.scrollLeft += (r.left + r.right - p.left - p.right) / 2;
    if (r.top < p.top || r.bottom > p.bottom) pane.scrollTop += (r.top + r.bottom - p.top - p.bottom) / 2;
  }

  // zoom: the SVG keeps its viewBox; only its displayed size changes
  var vb = svg.viewBox.baseVal, natural = { w: vb.width * 4 / 3, h: vb.height * 4 / 3 };
  svg.removeAttribute("width"); svg.removeAttribute("height");
  function setZoom(z) {
    zoom = Math.max(0.1, Math.min(4, z));
    svg.style.width = (natural.w * zoom) + "px";
    svg.style.height = (natural.h * zoom) + "px";
    $("zoom-level").textContent = Math.round(zoom * 100) + "%";
  }
  function fitZoom() {  // the whole graph in the room left by the header and the panels
    var room = window.innerHeight - document.querySelector("header").offsetHeight -
               Math.max(190, 0.3 * window.innerHeight) - 24;
    return Math.min(1.5, (pane.clientWidth - 20) / natural.w, Math.max(120, room) / natural.h);
  }

  function stop() { if (timer) { clearInterval(timer); timer = null; } $("play").textContent = "▶ Play"; }
  function play() {
    if (timer) { stop(); return; }
    if (frame >= N) show(0);
    $("play").textContent = "❚❚ Pause";
    timer = setInterval(function () { if (frame >= N) stop(); else show(frame + 1); },
                        Number($("speed").value));
  }
  $("first").addEventListener("click", function () { stop(); show(0); });
  $("prev").addEventListener("click", function () { stop(); show(frame - 1); });
  $("next").addEventListener("click", function () { stop(); show(frame + 1); });
  $("last").addEventListener("click", function () { stop(); show(N); });
  $("play").addEventListener("click", play);
  $("speed").addEventListener("change", function () { if (timer) { stop(); play(); } });
  slider.addEventListener("input", function () { stop(); show(Number(slider.value)); });
  $("zoom-in").addEventListener("click", function () { setZoom(zoom * 1.25); });
  $("zoom-out").addEventListener("click", function () { setZoom(zoom / 1.25); });
  $("zoom-fit").addEventListener("click", function () { setZoom(fitZoom()); });
  document.addEventListener("keydown", function (ev) {
    var t = ev.target, tag = t && t.tagName;
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") return;
    if (tag === "BUTTON" && (ev.key === " " || ev.key === "Enter")) return;
    var moves = { ArrowRight: 1, ArrowLeft: -1 };
    if (has(moves, ev.key)) { stop(); show(frame + moves[ev.key]); }
    else if (ev.key === "Home") { stop(); show(0); }
    else if (ev.key === "End") { stop(); show(N); }
    else if (ev.key === " ") play();
    else return;
    ev.preventDefault();
  });

  slider.max = String(N);
  var fit = fitZoom();
  setZoom(Math.max(fit, 0.8));  // big graphs: readable text; the pane follows the current node
  show(0);
  document.body.setAttribute("data-ready", "1");
})();
"""

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>__PAGE_CSS__
__STATE_CSS__</style>
</head>
<body>
<header>
  <h1>__TITLE__</h1>
  <div class="controls" role="toolbar" aria-label="Steps">
    <button id="first" title="Back to the start (Home)">« Start</button>
    <button id="prev" title="Previous step (←)">◀ Prev</button>
    <button id="play" class="primary" title="Play / pause (space)">▶ Play</button>
    <button id="next" title="Next step (→)">Next ▶</button>
    <button id="last" title="Last step (End)">End »</button>
    <input id="slider" type="range" min="0" max="0" value="0" aria-label="Step">
    <span id="counter">step 0</span>
    <label class="hint">speed <select id="speed">
      <option value="1500">slow</option><option value="800" selected>normal</option>
      <option value="300">fast</option></select></label>
  </div>
  <div class="controls" aria-label="Zoom">
    <button id="zoom-out" title="Zoom out">−</button>
    <button id="zoom-fit" title="Fit to the window">fit</button>
    <button id="zoom-in" title="Zoom in">+</button>
    <span id="zoom-level" class="hint">100%</span>
  </div>
  <div id="states">
    <span style="--c:#ea580c;--b:#fed7aa">current node</span>
    <span style="--c:#ca8a04;--b:#fef08a">receiving gradient</span>
    <span style="--c:#166534;--b:#dcfce7">gradient final</span>
    <span style="--c:#9ca3af;--b:#ffffff">pending (· = none yet)</span>
    <span class="edge">gradient flowing back</span>
    <span class="edgef">value flowing forward</span>
  </div>
</header>
<section id="graph-pane"><div id="graph">
__SVG__
</div></section>
<section id="panels">
  <div class="panel" id="explain"><h2>This step, in numbers</h2><div id="step-title"></div><div id="step-text"></div></div>
  <div class="panel" id="inspect"><h2>Inspector</h2><div id="inspect-body"><span class="hint">Click a node
  to see its value, its gradient so far and the formula of its op.</span></div></div>
</section>
<script type="application/json" id="tg-data">__DATA__</script>
<script>__PAGE_JS__</script>
</body>
</html>
"""


def page(title: str, svg: str, data: str, css: str) -> str:
    """The whole page. `title` must be HTML-escaped and `data` script-safe JSON already."""
    return fill(PAGE, {"__TITLE__": title, "__PAGE_CSS__": PAGE_CSS, "__STATE_CSS__": css, "__SVG__": svg,
                       "__DATA__": data, "__PAGE_JS__": PAGE_JS})
