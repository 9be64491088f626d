"""The training player's page: HTML, CSS and script as Python strings (no data files to package).

`page()` fills in the title (already HTML-escaped), the two SVGs drawn once (the
network and the loss curve) and the frames as script-safe JSON. The script sets
attributes and textContent only (never innerHTML with recorded text); its colour
and width formulas read their constants from the data, so they stay those of
`network.edge_style`, `network.neuron_fill` and `plots.grid_colors`.
"""
from __future__ import annotations

from ..html import fill

CSS = """
:root { --ink: #111827; --muted: #6b7280; --line: #e5e7eb; --accent: #ea580c; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", Arial, sans-serif;
  color: var(--ink); background: #f8fafc; }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 16px; padding: 8px 14px;
  background: white; border-bottom: 1px solid var(--line); position: sticky; top: 0; z-index: 1; }
h1 { font-size: 16px; margin: 0; font-weight: 600; }
h2 { font-size: 13px; margin: 0 0 6px; color: var(--muted); font-weight: 600; }
button { font: inherit; padding: 4px 10px; border: 1px solid #cbd5e1; border-radius: 6px; background: white;
  cursor: pointer; }
button:hover { background: #f1f5f9; }
#slider { width: min(40vw, 460px); accent-color: var(--accent); }
#readout { font-variant-numeric: tabular-nums; color: var(--muted); white-space: nowrap;
  font-family: "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace; font-size: 13px; }
#note { color: #b45309; font-size: 12px; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin: 0 3px 0 8px;
  vertical-align: -1px; }
main { display: grid; grid-template-columns: minmax(0, 3fr) minmax(300px, 2fr); gap: 10px; padding: 10px 14px; }
aside { display: flex; flex-direction: column; gap: 10px; min-width: 0; }
.panel { background: white; border: 1px solid var(--line); border-radius: 8px; padding: 8px 12px; min-width: 0; }
#network svg { width: 100%; height: auto; max-height: calc(100vh - 110px); display: block; }
#network text { font-family: "DejaVu Sans", "Liberation Sans", Arimo, Helvetica, Arial, sans-serif; }
#boundary { width: 100%; max-width: 290px; aspect-ratio: 1; display: block; border: 1px solid var(--line); }
#loss-chart { width: 100%; height: auto; font-size: 10px; fill: var(--muted); }
.bar { display: grid; grid-template-columns: 6.5em 1fr 5.5em; gap: 6px; align-items: center; font-size: 12px; }
.bar .track { height: 10px; background: #f1f5f9; border-radius: 3px; overflow: hidden; }
.bar .fill { height: 100%; background: #475569; }
.bar .value { font-variant-numeric: tabular-nums; color: var(--muted); text-align: right; }
.hint { color: var(--muted); font-size: 12px; }
@media (max-width: 900px) { main { grid-template-columns: 1fr; } }
"""

JS = r"""
const D = JSON.parse(document.getElementById('tg-data').textContent);
const S = D.style, XLINK = 'http://www.w3.org/1999/xlink';
const bytes = b64 => Uint8Array.from(atob(b64), c => c.charCodeAt(0));
const floats = b64 => new Float32Array(bytes(b64).buffer);
const hex = h => [1, 3, 5].map(k => parseInt(h.slice(k, k + 2), 16));
const mix = (h, r) => 'rgb(' + hex(h).map(c => Math.round(255 + (c - 255) * r)).join(',') + ')';
const fmt = v => (v === null || !isFinite(v) ? '—' : v === 0 ? '0'
  : Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3 ? v.toExponential(2) : v.toPrecision(4));
const byId = id => document.getElementById(id);
const edges = D.edge_ids.map(id => {
  const g = byId(id);
  return g && [g.querySelector('path'), g.querySelector('a')];
});
const fills = D.bias_ids.map(id => { const g = byId(id); return g && g.querySelector('ellipse'); });
const slider = byId('slider'), readout = byId('readout');
slider.max = D.frames.length - 1;

function styleEdges(w) {
  edges.forEach((e, k) => {
    if (!e) return;
    const layer = D.edge_layer[k], scale = D.scales[layer];
    const r = scale > 0 ? Math.min(Math.abs(w[k]) / scale, 1) : 0;
    e[0].setAttribute('stroke', w[k] >= 0 ? S.positive : S.negative);
    e[0].setAttribute('stroke-width', (S.min_width + (S.max_width - S.min_width) * r).toFixed(3));
    e[0].setAttribute('stroke-opacity', (S.min_opacity + (1 - S.min_opacity) * r).toFixed(3));
    const m = /^L\d+_w(\d+)_(\d+)$/.exec(D.edge_ids[k]);
    if (e[1] && m) e[1].setAttributeNS(XLINK, 'title', `${D.layers[layer]}.weight[${m[1]}, ${m[2]}] = ${fmt(w[k])}`);
  });
}

function styleBiases(b) {
  fills.forEach((el, k) => {
    if (!el) return;
    const scale = D.bias_scales[D.bias_layer[k]], r = 0.8 * (scale > 0 ? Math.min(Math.abs(b[k]) / scale, 1) : 0);
    el.setAttribute('fill', mix(b[k] >= 0 ? S.positive : S.negative, r));
  });
}

const B = D.boundary, canvas = byId('boundary');
let off = null;
if (B) {
  off = document.createElement('canvas'); off.width = off.height = B.resolution;
} else { byId('boundary-panel').hidden = true; }

function drawBoundary(grid) {
  const n = B.resolution, C = B.classes, img = off.getContext('2d').createImageData(n, n);
  const colors = B.colors.map(hex);
  for (let row = 0; row < n; row++) for (let col = 0; col < n; col++) {
    const cell = row * n + col;
    let cls, p;
    if (C === 2) { p = grid[cell] / 255; cls = p > 0.5 ? 1 : 0; p = Math.max(p, 1 - p); }
    else { cls = grid[2 * cell]; p = grid[2 * cell + 1] / 255; }
    const s = 0.85 * Math.min(Math.max((p - 1 / C) / (1 - 1 / C), 0), 1);
    const at = 4 * ((n - 1 - row) * n + col);   // grid rows go up, canvas rows go down
    for (let c = 0; c < 3; c++) img.data[at + c] = Math.round(255 + (colors[cls][c] - 255) * s);
    img.data[at + 3] = 255;
  }
  off.getContext('2d').putImageData(img, 0, 0);
  const ctx = canvas.getContext('2d'), W = canvas.width, H = canvas.height, [x0, x1, y0, y1] = B.bounds;
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(off, 0, 0, W, H);
  B.points.forEach((pt, k) => {
    ctx.beginPath();
    ctx.arc((pt[0] - x0) / (x1 - x0) * W, H - (pt[1] - y0) / (y1 - y0) * H, 3.6, 0, 2 * Math.PI);
    ctx.fillStyle = B.labels ? B.colors[B.labels[k]] || '#374151' : '#374151';
    ctx.fill(); ctx.lineWidth = 0.9; ctx.strokeStyle = '#111827'; ctx.stroke();
  });
}

const bars = byId('bars'), logs = [];
D.frames.forEach(f => f.grad_norms.forEach(v => { if (v > 0 && isFinite(v)) logs.push(Math.log10(v)); }));
// a loop, not Math.min(...logs): spreading a long array throws RangeError
let least = Infinity, most = -Infinity;
for (const v of logs) { if (v < least) least = v; if (v > most) most = v; }
const lo = logs.length ? least - 0.3 : -8, hi = logs.length ? most + 0.1 : 0;
const rows = D.layers.map(name => {
  const row = document.createElement('div'); row.className = 'bar';
  const label = document.createElement('span'); label.textContent = name;
  const track = document.createElement('div'); track.className = 'track';
  const fill = document.createElement('div'); fill.className = 'fill'; track.appendChild(fill);
  const value = document.createElement('span'); value.className = 'value';
  row.append(label, track, value); bars.appendChild(row);
  return [fill, value];
});

function readoutText(k) {
  const F = D.frames[k], last = D.frames.length - 1;
  if (D.final && k === last)
    return `snapshot ${k + 1}/${D.frames.length} · final weights, after step ${D.total_steps - 1}`;
  return `snapshot ${k + 1}/${D.frames.length} · step ${F.step} / ${D.total_steps - 1} · loss ${fmt(F.loss)}`;
}
// the readout as wide as its longest text, so the header never reflows between frames
let longest = 0;
for (let k = 0; k < D.frames.length; k++) longest = Math.max(longest, readoutText(k).length);
readout.style.minWidth = (longest + 1) + 'ch';
if (D.note) byId('note').textContent = D.note;
if (B) {
  const legend = byId('legend');
  legend.textContent = 'colour: predicted class';
  B.colors.forEach((c, k) => {
    const sw = document.createElement('span'); sw.className = 'swatch'; sw.style.background = c;
    legend.append(sw, String(k));
  });
  legend.append(' · white: undecided');
}

function show(k) {
  const F = D.frames[k];
  styleEdges(floats(F.edges));
  styleBiases(floats(F.biases));
  if (B) drawBoundary(bytes(F.grid));
  byId('loss-marker').setAttribute('x1', F.marker[0]); byId('loss-marker').setAttribute('x2', F.marker[0]);
  byId('loss-dot').setAttribute('cx', F.marker[0]); byId('loss-dot').setAttribute('cy', F.marker[1]);
  F.grad_norms.forEach((v, j) => {
    const r = v > 0 ? (Math.log10(v) - lo) / (hi - lo) : 0;
    rows[j][0].style.width = (100 * Math.min(Math.max(r, 0), 1)).toFixed(1) + '%';
    rows[j][1].textContent = fmt(v);
  });
  readout.textContent = readoutText(k);
  document.body.dataset.frame = k;
}

slider.addEventListener('input', () => show(+slider.value));
const go = k => { slider.value = Math.min(Math.max(k, 0), D.frames.length - 1); show(+slider.value); };
byId('prev').onclick = () => go(+slider.value - 1);
byId('next').onclick = () => go(+slider.value + 1);
let timer = null;
byId('play').onclick = () => {
  if (timer) { clearInterval(timer); timer = null; byId('play').textContent = '▶ Play'; return; }
  if (+slider.value === D.frames.length - 1) go(0);
  byId('play').textContent = '❚❚ Pause';
  timer = setInterval(() => {
    if (+slider.value >= D.frames.length - 1) byId('play').click(); else go(+slider.value + 1);
  }, 350);
};
document.addEventListener('keydown', e => {
  if (e.target === slider) return;   // the slider handles its own arrow keys
  if (e.key === 'ArrowRight') go(+slider.value + 1);
  if (e.key === 'ArrowLeft') go(+slider.value - 1);
});
show(0);
document.body.dataset.ready = '1';
"""

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>__CSS__</style>
</head>
<body>
<header>
  <h1>__TITLE__</h1>
  <button id="prev" title="Previous snapshot (←)">◀</button>
  <button id="play" title="Play / pause">▶ Play</button>
  <button id="next" title="Next snapshot (→)">▶</button>
  <input id="slider" type="range" min="0" max="0" value="0" aria-label="Recorded snapshot">
  <span id="readout"></span>
  <span id="note"></span>
</header>
<main>
  <section class="panel"><h2>Network: weights at this step</h2><div id="network">
__NETWORK__
  </div></section>
  <aside>
    <section class="panel" id="boundary-panel"><h2>Decision boundary</h2>
      <canvas id="boundary" width="290" height="290"></canvas>
      <div class="hint" id="legend"></div></section>
    <section class="panel"><h2>Loss (every step; orange: this step)</h2>
__LOSS__
    </section>
    <section class="panel"><h2>Gradient norm per layer, first → last (log scale)</h2><div id="bars"></div></section>
  </aside>
</main>
<script type="application/json" id="tg-data">__DATA__</script>
<script>__JS__</script>
</body>
</html>
"""


def page(title: str, network_svg: str, loss_svg: str, data: str) -> str:
    """The whole page. `title` must be HTML-escaped and `data` script-safe JSON already."""
    return fill(PAGE, {"__TITLE__": title, "__CSS__": CSS, "__NETWORK__": network_svg, "__LOSS__": loss_svg,
                       "__DATA__": data, "__JS__": JS})
