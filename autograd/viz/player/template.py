"""The player page: HTML and CSS as Python strings, the script from script.py (no data files to package).

`page()` fills in the title (already HTML-escaped), the SVG (laid out once) and the
JSON (already made safe for a <script> element). The script never uses innerHTML
with recorded text: labels and explanations are set with textContent.
"""
from __future__ import annotations

from ..html import fill
from .script import PAGE_JS

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
.heats { display: flex; flex-wrap: wrap; gap: 8px 16px; margin-top: 6px; }
.heatmap { margin: 4px 0; }
.heatmap figcaption { font-size: 12px; color: var(--muted); margin-bottom: 2px; }
.heatmap canvas { display: block; max-width: 100%; image-rendering: pixelated; border: 1px solid var(--line); }
.heatmap .scale { display: flex; align-items: center; gap: 4px; font-size: 11px; color: var(--muted);
  font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; margin-top: 2px; }
.heatmap .bar { width: 90px; height: 8px; border: 1px solid var(--line);
  background: linear-gradient(to right, rgb(37,99,235), white, rgb(220,38,38)); }
button.more { font-size: 13px; padding: 2px 8px; margin: 2px 0 4px; color: #1d4ed8; }
#states { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 12px; color: var(--muted); }
#states span::before { content: ""; display: inline-block; width: 12px; height: 10px; margin-right: 5px;
  vertical-align: -1px; border: 1.5px solid var(--c); background: var(--b); border-radius: 2px; }
#states .edge::before { height: 0; border-width: 0; border-top: 3px dashed #dc2626; background: none; width: 18px; }
#states .edgef::before { height: 0; border-width: 0; border-top: 3px dashed #2563eb; background: none; width: 18px; }
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
