// The report's charts, drawn in the browser by chart.js from the inlined data. Plain ES2017, no imports.

/** Runs in the browser: builds the charts from the inlined data. Plain ES2017, no imports. */
export const chartsScript = String.raw`
(function () {
  var data = JSON.parse(document.getElementById('data').textContent);
  var f = data.figures;
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  var outcomeColor = { ok: 'rgba(23,107,44,0.6)', fail: 'rgba(176,0,32,0.7)', info: 'rgba(230,140,0,0.8)' };
  var shapes = ['circle', 'triangle', 'rect', 'crossRot', 'star', 'rectRot'];
  // Shades the fault windows behind the data on any chart with a linear x axis in seconds.
  var tip = document.getElementById('fault-tip');
  function windowLabel(i) { var w = f.windows[i]; return 'F' + (i + 1) + ' ' + w.startS.toFixed(1) + '–' + w.endS.toFixed(1) + ' s: ' + (w.labels.length ? w.labels : w.faults).join('; '); }
  // Shades the fault windows behind the data on any chart with a linear x axis in seconds, numbers them as in
  // the Faults legend, and names the window under the pointer.
  var windowsPlugin = {
    id: 'faultWindows',
    beforeDatasetsDraw: function (chart) {
      var x = chart.scales.x, area = chart.chartArea, ctx = chart.ctx;
      ctx.save();
      f.windows.forEach(function (w, i) {
        var a = Math.max(area.left, x.getPixelForValue(w.startS)), b = Math.min(area.right, x.getPixelForValue(w.endS));
        if (b <= a) return;
        ctx.fillStyle = 'rgba(200,0,0,0.08)';
        ctx.fillRect(a, area.top, b - a, area.bottom - area.top);
        ctx.fillStyle = 'rgba(150,0,0,0.8)';
        ctx.font = '11px sans-serif';
        ctx.fillText('F' + (i + 1), a + 2, area.top + 11);
      });
      ctx.restore();
    },
    afterEvent: function (chart, args) {
      var e = args.event;
      if (!tip) return;
      if (e.type === 'mouseout') { tip.hidden = true; return; }
      if (e.type !== 'mousemove') return;
      var s = chart.scales.x.getValueForPixel(e.x), hit = [];
      f.windows.forEach(function (w, i) { if (s >= w.startS && s <= w.endS) hit.push(windowLabel(i)); });
      if (hit.length === 0 || e.y < chart.chartArea.top || e.y > chart.chartArea.bottom) { tip.hidden = true; return; }
      var r = chart.canvas.getBoundingClientRect();
      tip.textContent = hit.join('\n');
      tip.style.left = (r.left + e.x + 12) + 'px';
      tip.style.top = (r.top + e.y + 12) + 'px';
      tip.hidden = false;
    }
  };
  var fs = {};
  Object.keys(f.latency).forEach(function (k) { fs[k.split(' ')[0]] = true; });
  var fNames = Object.keys(fs).sort();
  var latencySets = Object.keys(f.latency).sort().map(function (k) {
    var parts = k.split(' ');
    return { label: k, data: f.latency[k], backgroundColor: outcomeColor[parts[1]] || 'gray', borderColor: outcomeColor[parts[1]] || 'gray',
      pointStyle: shapes[fNames.indexOf(parts[0]) % shapes.length], pointRadius: 2.5 };
  });
  var xMax = Math.max(1, f.durationS);
  new Chart(document.getElementById('latency'), {
    type: 'scatter', data: { datasets: latencySets }, plugins: [windowsPlugin],
    options: { plugins: { title: { display: true, text: 'Latency by op and outcome (shaded: faults in force)' } },
      scales: { x: { type: 'linear', min: 0, max: xMax, title: { display: true, text: 'time (s)' } },
                y: { type: 'logarithmic', title: { display: true, text: 'latency (ms)' } } } }
  });
  function series(values) { return f.throughput.seconds.map(function (s, i) { return { x: s, y: values[i] }; }); }
  new Chart(document.getElementById('throughput'), {
    type: 'line', plugins: [windowsPlugin],
    data: { datasets: [
      { label: 'ok/s', data: series(f.throughput.ok), borderColor: outcomeColor.ok, backgroundColor: outcomeColor.ok, stepped: true, pointRadius: 0 },
      { label: 'fail/s', data: series(f.throughput.fail), borderColor: outcomeColor.fail, backgroundColor: outcomeColor.fail, stepped: true, pointRadius: 0 },
      { label: 'info/s', data: series(f.throughput.info), borderColor: outcomeColor.info, backgroundColor: outcomeColor.info, stepped: true, pointRadius: 0 } ] },
    options: { plugins: { title: { display: true, text: 'Throughput (completions per second)' } },
      scales: { x: { type: 'linear', min: 0, max: xMax, title: { display: true, text: 'time (s)' } }, y: { beginAtZero: true } } }
  });
  var av = f.availability;
  new Chart(document.getElementById('availability'), {
    type: 'bar',
    data: { labels: ['outside faults (' + av.outside.total + ' ops)', 'inside faults (' + av.inside.total + ' ops)'],
      datasets: [{ label: 'share of ops ok', data: [av.outside.rate, av.inside.rate], backgroundColor: ['rgba(23,107,44,0.6)', 'rgba(176,0,32,0.5)'] }] },
    options: { plugins: { title: { display: true, text: 'Availability inside vs outside faults' } }, scales: { y: { min: 0, max: 1 } } }
  });
  var vis = f.visibility.map(function (v) { return { x: v.targetMs, y: v.probability }; });
  var maxT = vis.length > 0 ? vis[vis.length - 1].x : 100;
  var visSets = [
    { label: 'measured P(read sees the write)', data: vis, borderColor: '#1f4e9c', backgroundColor: '#1f4e9c', showLine: true },
    { label: 'PBS worst case at t=0 (no propagation): 1 − C(N−W,R)/C(N,R)', data: [{ x: 0, y: data.pbs.intersection }, { x: maxT, y: data.pbs.intersection }],
      borderColor: '#999', borderDash: [6, 4], pointRadius: 0, showLine: true }
  ];
  if (data.pbs.table4) {
    Object.keys(data.pbs.table4).forEach(function (fit, i) {
      var t = data.pbs.table4[fit];
      visSets.push({ label: 'PBS ' + fit + ': 99.9% at ' + t + ' ms', data: [{ x: t, y: 0.999 }], pointStyle: 'triangle', pointRadius: 6,
        backgroundColor: ['#d62728', '#9467bd', '#8c564b', '#e377c2'][i % 4] });
    });
  }
  if (document.getElementById('visibility')) new Chart(document.getElementById('visibility'), {
    type: 'scatter', data: { datasets: visSets },
    options: { plugins: { title: { display: true, text: 't-visibility (pbs workload) beside PBS, VLDB 2012' } },
      scales: { x: { type: 'linear', min: 0, title: { display: true, text: 'ms after the write was acknowledged' } }, y: { min: 0, max: 1.02 } } }
  });
  var sibKeys = Object.keys(f.siblings).sort(function (a, b) { return a - b; });
  if (document.getElementById('siblings')) new Chart(document.getElementById('siblings'), {
    type: 'bar',
    data: { labels: sibKeys.length ? sibKeys : ['(no register reads)'], datasets: [{ label: 'reads', data: sibKeys.map(function (k) { return f.siblings[k]; }), backgroundColor: '#1f4e9c' }] },
    options: { plugins: { title: { display: true, text: 'Versions returned per read (siblings); Dynamo saw 1 version in 99.94% of reads' } },
      scales: { x: { title: { display: true, text: 'siblings' } }, y: { beginAtZero: true } } }
  });
  if (f.cart) {
    // Every attempted add ends in exactly one fate (stacked in the first bar); stale is a part of stable, and
    // resurrections and duplications count reads, so they stand apart.
    var c = f.cart, labels = ['adds by fate', 'acknowledged adds', 'stale (of stable)', 'reads showing removed items', 'reads showing extra items', 'stale final reads'];
    function one(i, v) { return labels.map(function (_, j) { return j === i ? v : null; }); }
    new Chart(document.getElementById('cart'), {
      type: 'bar',
      data: { labels: labels, datasets: [
        { label: 'stable', data: one(0, c.stable), backgroundColor: '#176b2c', stack: 'a' },
        { label: 'removed', data: one(0, c.removed), backgroundColor: '#7f7f7f', stack: 'a' },
        { label: 'never read', data: one(0, c.neverRead), backgroundColor: '#c7c7c7', stack: 'a' },
        { label: 'lost', data: one(0, c.lost), backgroundColor: '#b00020', stack: 'a' },
        { label: 'acknowledged', data: one(1, c.acknowledged), backgroundColor: '#1f4e9c', stack: 'a' },
        { label: 'stale', data: one(2, c.stale), backgroundColor: '#e68c00', stack: 'a' },
        { label: 'resurrected (final reads)', data: one(3, c.resurrected), backgroundColor: '#9467bd', stack: 'a' },
        { label: 'resurrected (transient)', data: one(3, c.resurrectedTransient), backgroundColor: '#c5b0d5', stack: 'a' },
        { label: 'duplicated', data: one(4, c.duplicated), backgroundColor: '#8c564b', stack: 'a' },
        { label: 'stale final reads', data: one(5, c.staleFinalReads), backgroundColor: '#17becf', stack: 'a' } ] },
      options: { plugins: { title: { display: true, text: 'Cart: ' + c.attempted + ' attempted adds by fate, and anomalies' } },
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } }
    });
  }
  var note = 'PBS reference for N=' + data.config.n + ' R=' + data.config.r + ' W=' + data.config.w + ': quorum intersection without propagation ' +
    (data.pbs.intersection * 100).toFixed(1) + '%.';
  if (data.pbs.t0) note += ' Published P(consistent at t=0), N=3 R=W=1: ' + Object.keys(data.pbs.t0).map(function (k) { return k + ' ' + data.pbs.t0[k]; }).join(', ') + '.';
  if (data.pbs.table4) note += ' Table 4 (ms to 99.9% consistency): ' + Object.keys(data.pbs.table4).map(function (k) { return k + ' ' + data.pbs.table4[k]; }).join(', ') + '.';
  document.getElementById('pbs-note').textContent = note;
})();
`;
