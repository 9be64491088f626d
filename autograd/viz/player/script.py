"""The player page's script: frames, step text, inspector, heatmaps, zoom that follows the step."""

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
  var frame = 0, selected = null, timer = null, zoom = 1, chosen = 1;  // chosen: the reader's zoom
  var MAX_LINES = 6;    // a step with more lines shows MAX_LINES - 1 and "… and n more"
  var READABLE = 0.6;   // below this zoom the 11 pt numbers are under 9 px: open bigger and follow

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
    // the done frame: every gradient is final, nothing is still receiving
    if (cur && cur.kind === "backward" && k < N) for (key in cur.grads) if (key !== cur.node) recv[key] = true;
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
    return { cls: cls, texts: texts, hot: hot, grads: grads, full: full, values: values, cur: cur, done: done,
             recv: recv };
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
    follow(st);
  }

  function nameOf(id) { var n = byId[id]; return n ? n.name : id; }

  function explain(st, k) {
    var title = $("step-title"), box = $("step-text"), root = byId[D.root];
    box.textContent = "";
    if (!st.cur) {
      title.textContent = N ? "Start: nothing computed yet" : "Nothing to step through";
      addLine(box, steps.length && steps[0].kind === "forward"
        ? "Press Next (or →) to compute each value in order, then send gradients back from the loss."
        : "Every gradient starts at 0 (shown ·). Press Next (or →): the loss starts with " + root.dname +
          " = 1, then each node passes its gradient to its inputs by the chain rule.", false);
      return;
    }
    var c = st.cur, n = byId[c.node];
    if (c.kind === "forward") {
      title.textContent = "Step " + k + " of " + N + " · forward: compute " + n.name +
        (n.op_label ? " (" + n.op_label + ")" : "");
    } else {
      title.textContent = "Step " + k + " of " + N + " · backward through " + n.name +
        (n.op_label ? " (" + n.op_label + ")" : "") + ": " + n.dname +
        " = " + (st.grads[c.node] || "?") + " flows to its inputs";
    }
    var lines = c.text.split("\n"), shown = lines.length > MAX_LINES ? MAX_LINES - 1 : lines.length;
    lines.slice(0, shown).forEach(function (line) { addLine(box, line, c.kind === "forward"); });
    if (shown < lines.length) {
      var more = document.createElement("button");
      more.className = "more"; more.id = "more-lines";
      more.textContent = "… and " + (lines.length - shown) + " more";
      more.addEventListener("click", function () {
        box.removeChild(more);
        lines.slice(shown).forEach(function (line) { addLine(box, line, c.kind === "forward"); });
      });
      box.appendChild(more);
    }
    if (k === N) addLine(box, "Done: every gradient is final; these are exactly what " + root.name +
      ".backward() adds to each .grad.", false);
    var pics = document.createElement("div"); pics.className = "heats";
    if (c.kind === "forward" && n.heat !== null) pics.appendChild(heatmap(n.heat, "value of " + n.name, c.node));
    if (c.kind === "backward") Object.keys(c.heat).slice(0, 3).forEach(function (id) {
      pics.appendChild(heatmap(c.heat[id], byId[id].dname + " now", id));
    });
    if (pics.firstChild) box.appendChild(pics);
  }

  // A heatmap of D.arrays[a]: one image per channel, one row per sample; blue < 0 < red.
  function heatmap(a, caption, id) {
    var h = D.arrays[a], g = h.grid, S = g[0], C = g[1], H = g[2], W = g[3], m = h.absmax;  // the whole tensor's
    var px = Math.max(2, Math.min(14, Math.floor(150 / Math.max(H, W)))), gap = 4;
    var wrap = document.createElement("figure"); wrap.className = "heatmap"; wrap.setAttribute("data-node", id);
    var cap = document.createElement("figcaption");
    cap.textContent = caption + " · shape (" + h.shape.join(", ") + ")" + (h.cut ? " · " + h.cut : "");
    var cv = document.createElement("canvas");
    cv.width = C * (W * px + gap) - gap; cv.height = S * (H * px + gap) - gap;
    var ctx = cv.getContext("2d"), k = 0;
    for (var s = 0; s < S; s++) for (var ch = 0; ch < C; ch++) for (var r = 0; r < H; r++)
      for (var col = 0; col < W; col++) {
        ctx.fillStyle = colour(m ? h.v[k++] / m : (k++, 0));
        ctx.fillRect(ch * (W * px + gap) + col * px, s * (H * px + gap) + r * px, px, px);
      }
    var scale = document.createElement("div"); scale.className = "scale";
    var bar = document.createElement("span"); bar.className = "bar";
    var lo = document.createElement("span"), hi = document.createElement("span");
    lo.textContent = m ? "-" + fmt(m) : "0"; hi.textContent = m ? "+" + fmt(m) : "all 0";
    scale.appendChild(lo); scale.appendChild(bar); scale.appendChild(hi);
    wrap.appendChild(cap); wrap.appendChild(cv); wrap.appendChild(scale);
    return wrap;
  }
  function colour(t) {  // -1 blue, 0 white, +1 red
    var u = Math.min(1, Math.abs(t)), r, gr, b;
    if (t >= 0) { r = 255 - 35 * u; gr = 255 - 217 * u; b = 255 - 217 * u; }
    else { r = 255 - 218 * u; gr = 255 - 156 * u; b = 255 - 20 * u; }
    return "rgb(" + Math.round(r) + "," + Math.round(gr) + "," + Math.round(b) + ")";
  }
  function fmt(x) { return Number(x.toPrecision(3)).toString(); }

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
    if (known && n.heat !== null) body.appendChild(heatmap(n.heat, "value", id));
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
    var latest = null;
    for (i = 0; i < frame; i++) if (has(steps[i].heat, id)) latest = steps[i].heat[id];
    if (latest !== null) body.appendChild(heatmap(latest, "gradient now", id));
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

  // Keep the current node (and its op) and every node receiving its gradient in the pane:
  // zoom out just enough when they do not fit, then scroll them to the middle.
  function follow(st) {
    var ids = st.cur ? [st.cur.node].concat(Object.keys(st.recv)) : [D.root], els = [];
    ids.forEach(function (id) {
      var e = groupsEl[byId[id] ? byId[id].drawn : id];
      if (e && els.indexOf(e) < 0) els.push(e);
    });
    if (st.cur && groupsEl[st.cur.node + "_op"]) els.push(groupsEl[st.cur.node + "_op"]);
    if (!els.length) return;
    // at the zoom the reader chose, unless the step does not fit in it: then just small enough
    var r = union(els), room = { w: pane.clientWidth - 24, h: pane.clientHeight - 24 };
    var want = Math.min(chosen, zoom * Math.min(room.w / r.w, room.h / r.h));
    if (Math.abs(want - zoom) > 0.005) { setZoom(want); r = union(els); }
    var p = pane.getBoundingClientRect();
    var left = p.left + pane.clientLeft, top = p.top + pane.clientTop;
    if (r.left < left + 4 || r.right > left + pane.clientWidth - 4)
      pane.scrollLeft += (r.left + r.right) / 2 - (left + pane.clientWidth / 2);
    if (r.top < top + 4 || r.bottom > top + pane.clientHeight - 4)
      pane.scrollTop += (r.top + r.bottom) / 2 - (top + pane.clientHeight / 2);
  }
  function union(els) {
    var u = { left: Infinity, top: Infinity, right: -Infinity, bottom: -Infinity };
    els.forEach(function (e) {
      var b = e.getBoundingClientRect();
      u.left = Math.min(u.left, b.left); u.top = Math.min(u.top, b.top);
      u.right = Math.max(u.right, b.right); u.bottom = Math.max(u.bottom, b.bottom);
    });
    u.w = u.right - u.left; u.h = u.bottom - u.top;
    return u;
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
  function choose(z) { setZoom(z); chosen = zoom; }
  $("zoom-in").addEventListener("click", function () { choose(zoom * 1.25); });
  $("zoom-out").addEventListener("click", function () { choose(zoom / 1.25); });
  $("zoom-fit").addEventListener("click", function () { choose(fitZoom()); });
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
  choose(Math.max(fit, READABLE));  // fitted unless that is too small to read; the pane follows the step
  show(0);
  document.body.setAttribute("data-ready", "1");
})();
"""
