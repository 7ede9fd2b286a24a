// The timeline, drawn in the browser on one canvas (a DOM element per op would not open at 100,000 ops):
// a lane per client slot, each op a bar from invoke to completion coloured by outcome, fault windows behind,
// anomalies marked on the ops that prove them. Wheel zooms around the pointer, drag pans, double-click resets.
// Plain ES2017, no imports; reads the same inlined #data as the charts.

export const timelineScript = String.raw`
(function () {
  var data = JSON.parse(document.getElementById('data').textContent);
  var tl = data.timeline, windows = data.figures.windows, anomalies = data.anomalies;
  var canvas = document.getElementById('timeline');
  if (!canvas || !tl) return;
  var t0ms = performance.now();
  var n = tl.start.length, lanes = tl.lanes.length;
  var colors = ['rgba(23,107,44,0.85)', 'rgba(176,0,32,0.9)', 'rgba(230,140,0,0.95)'];
  var gutter = 110, top = 20, laneH = Math.max(6, Math.min(16, Math.floor(560 / Math.max(1, lanes))));
  var dpr = window.devicePixelRatio || 1;
  var cssW = canvas.parentElement.clientWidth, cssH = top + lanes * laneH + 4;
  canvas.width = cssW * dpr; canvas.height = cssH * dpr;
  canvas.style.width = cssW + 'px'; canvas.style.height = cssH + 'px';
  var ctx = canvas.getContext('2d');
  ctx.scale(dpr, dpr);
  var full = { a: 0, b: Math.max(1, tl.durationMs) }, view = { a: full.a, b: full.b };
  // History index → op, so anomalies (which name history indexes) find their bars.
  var byIndex = new Map();
  for (var i = 0; i < n; i++) { byIndex.set(tl.invokeIndex[i], i); if (tl.completeIndex[i] >= 0) byIndex.set(tl.completeIndex[i], i); }
  var laneOps = [];
  for (var l = 0; l < lanes; l++) laneOps.push([]);
  for (i = 0; i < n; i++) laneOps[tl.lane[i]].push(i);
  var evidence = new Map(), selected = -1, selectedOps = new Set();
  anomalies.forEach(function (an, k) {
    an.ops.forEach(function (h) { var o = byIndex.get(h); if (o !== undefined && !evidence.has(o)) evidence.set(o, k); });
  });
  function xOf(ms) { return gutter + ((ms - view.a) / (view.b - view.a)) * (cssW - gutter - 4); }
  function msOf(x) { return view.a + ((x - gutter) / (cssW - gutter - 4)) * (view.b - view.a); }
  function draw() {
    ctx.clearRect(0, 0, cssW, cssH);
    ctx.save();
    ctx.beginPath(); ctx.rect(gutter, 0, cssW - gutter, cssH); ctx.clip();
    windows.forEach(function (w, k) {
      var a = Math.max(gutter, xOf(w.startS * 1000)), b = Math.min(cssW, xOf(w.endS * 1000));
      if (b <= a) return;
      // Behind the bars, and as a stronger band above the lanes, where dense bars cannot hide it.
      ctx.fillStyle = 'rgba(200,0,0,0.10)'; ctx.fillRect(a, top, b - a, cssH - top);
      ctx.fillStyle = 'rgba(200,0,0,0.25)'; ctx.fillRect(a, 0, b - a, top - 4);
      ctx.fillStyle = 'rgba(150,0,0,0.9)'; ctx.font = '11px sans-serif'; ctx.fillText('F' + (k + 1), a + 2, 12);
    });
    // One path per outcome: three fills instead of one per op.
    var h = Math.max(2, laneH - 3);
    for (var o = 0; o < 3; o++) {
      ctx.beginPath();
      for (var i = 0; i < n; i++) {
        if (tl.outcome[i] !== o || tl.end[i] < view.a || tl.start[i] > view.b) continue;
        var x = xOf(tl.start[i]);
        ctx.rect(x, top + tl.lane[i] * laneH + 1, Math.max(1, xOf(tl.end[i]) - x), h);
      }
      ctx.fillStyle = colors[o]; ctx.fill();
    }
    ctx.lineWidth = 1.5;
    evidence.forEach(function (k, i) {
      if (tl.end[i] < view.a || tl.start[i] > view.b) return;
      var x = xOf(tl.start[i]), y = top + tl.lane[i] * laneH;
      ctx.strokeStyle = selectedOps.has(i) ? '#000' : '#6a1b9a';
      ctx.strokeRect(x - 1, y, Math.max(3, xOf(tl.end[i]) - x + 2), laneH);
      ctx.fillStyle = '#6a1b9a';
      ctx.beginPath(); ctx.moveTo(x, y); ctx.lineTo(x - 4, y - 6); ctx.lineTo(x + 4, y - 6); ctx.fill();
    });
    ctx.restore();
    ctx.fillStyle = '#333'; ctx.font = '10px sans-serif';
    for (var l = 0; l < lanes; l++) if (laneH >= 9 || l % Math.ceil(9 / laneH) === 0) ctx.fillText(tl.lanes[l].slice(0, 18), 2, top + l * laneH + laneH - 2);
    ctx.fillText((view.a / 1000).toFixed(3) + ' s', 2, 12);
    var right = (view.b / 1000).toFixed(3) + ' s';
    ctx.fillText(right, cssW - 6 - ctx.measureText(right).width, 12);
    canvas.dataset.view = view.a.toFixed(3) + ',' + view.b.toFixed(3);
  }
  function setView(a, b) {
    var span = Math.max(0.01, b - a);
    a = Math.max(full.a - span * 0.05, a); view.a = a; view.b = a + span;
    draw();
  }
  canvas.addEventListener('wheel', function (e) {
    e.preventDefault();
    var r = canvas.getBoundingClientRect(), at = msOf(e.clientX - r.left), k = Math.pow(1.002, Math.max(-500, Math.min(500, e.deltaY)));
    setView(at - (at - view.a) * k, at + (view.b - at) * k);
  }, { passive: false });
  var drag = null;
  canvas.addEventListener('mousedown', function (e) { drag = { x: e.clientX, a: view.a, b: view.b, moved: false }; });
  window.addEventListener('mouseup', function () { setTimeout(function () { drag = null; }, 0); });
  canvas.addEventListener('dblclick', function () { setView(full.a, full.b); });
  var tip = document.getElementById('tl-tip'), detail = document.getElementById('tl-detail');
  function opAt(e) {
    var r = canvas.getBoundingClientRect(), x = e.clientX - r.left, y = e.clientY - r.top;
    var lane = Math.floor((y - top) / laneH);
    if (lane < 0 || lane >= lanes || x < gutter) return -1;
    var t = msOf(x), slack = (view.b - view.a) * 3 / (cssW - gutter), ops = laneOps[lane], lo = 0, hi = ops.length - 1, best = -1;
    while (lo <= hi) { var mid = (lo + hi) >> 1; if (tl.start[ops[mid]] <= t + slack) { best = mid; lo = mid + 1; } else hi = mid - 1; }
    for (var j = best; j >= 0 && j > best - 3; j--) if (tl.end[ops[j]] >= t - slack) return ops[j];
    return -1;
  }
  function describe(i) {
    var out = ['ok', 'fail', 'info'][tl.outcome[i]];
    return tl.fs[tl.f[i]] + (tl.key[i] >= 0 ? ' ' + tl.keys[tl.key[i]] : '') + ' → ' + out + '  (' + (tl.end[i] - tl.start[i]).toFixed(1) + ' ms from ' +
      (tl.start[i] / 1000).toFixed(3) + ' s, lane ' + tl.lanes[tl.lane[i]] + (tl.node[i] >= 0 ? ', node ' + tl.nodes[tl.node[i]] : '') + ', #' + tl.invokeIndex[i] + ')' +
      (evidence.has(i) ? '\n' + anomalies[evidence.get(i)].label + ': ' + anomalies[evidence.get(i)].words : '');
  }
  canvas.addEventListener('mousemove', function (e) {
    if (drag) {
      var dx = e.clientX - drag.x; if (Math.abs(dx) > 2) drag.moved = true;
      var shift = (dx / (cssW - gutter)) * (drag.b - drag.a); setView(drag.a - shift, drag.b - shift); return;
    }
    var i = opAt(e), r = canvas.getBoundingClientRect(), text = '';
    if (e.clientY - r.top < top) {
      // Over the band above the lanes: name the fault windows there.
      var at = msOf(e.clientX - r.left) / 1000;
      text = windows.map(function (w, k) { return at >= w.startS && at <= w.endS ? 'F' + (k + 1) + ': ' + (w.labels.length ? w.labels : w.faults).join('; ') : ''; }).filter(Boolean).join('\n');
    } else if (i >= 0) text = describe(i);
    if (text === '') { tip.hidden = true; return; }
    tip.textContent = text; tip.style.left = (e.clientX + 12) + 'px'; tip.style.top = (e.clientY + 12) + 'px'; tip.hidden = false;
  });
  canvas.addEventListener('mouseleave', function () { tip.hidden = true; });
  canvas.addEventListener('click', function (e) {
    if (drag && drag.moved) return;
    var i = opAt(e);
    if (i < 0) return;
    var link = document.getElementById('op-' + tl.invokeIndex[i]);
    detail.textContent = describe(i) + (link ? '  ' : '');
    if (link) { var a = document.createElement('a'); a.href = '#op-' + tl.invokeIndex[i]; a.textContent = 'in the drill-down'; detail.appendChild(a); }
  });
  // The anomaly list: each entry zooms to the ops proving it and outlines them.
  var list = document.getElementById('tl-anomalies');
  if (list) list.addEventListener('click', function (e) {
    var li = e.target.closest('[data-anomaly]');
    if (!li || e.target.tagName === 'A') return;
    var an = anomalies[Number(li.dataset.anomaly)], ops = an.ops.map(function (h) { return byIndex.get(h); }).filter(function (o) { return o !== undefined; });
    selectedOps = new Set(ops);
    if (ops.length === 0) return;
    var a = Math.min.apply(null, ops.map(function (o) { return tl.start[o]; })), b = Math.max.apply(null, ops.map(function (o) { return tl.end[o]; }));
    var pad = Math.max(50, (b - a) * 0.2);
    setView(a - pad, b + pad);
    canvas.scrollIntoView({ block: 'nearest' });
  });
  draw();
  canvas.dataset.renderMs = (performance.now() - t0ms).toFixed(1);
  canvas.dataset.ops = String(n);
})();
`;
