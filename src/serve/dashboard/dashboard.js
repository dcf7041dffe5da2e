// gpupool dashboard: draws the server's live snapshots (GET /v1/events, server-sent events).
// Plain DOM, no build step. Text from the server (errors, names) only ever goes through
// textContent, never innerHTML.
(() => {
  'use strict';

  const COLORS = ['#2f6fde', '#1f9d55', '#d68a00', '#8e44ad', '#d64541', '#16a2b8', '#6d4c41'];
  const token = new URLSearchParams(location.search).get('access_token');
  const withToken = (url) => (token ? `${url}${url.includes('?') ? '&' : '?'}access_token=${encodeURIComponent(token)}` : url);
  const $ = (id) => document.getElementById(id);
  let last = null;

  // ---- formatting -------------------------------------------------------------------------
  const nf = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
  const rate = (n) => (n >= 100 ? nf.format(n) : n >= 10 ? n.toFixed(1) : n.toFixed(n === 0 ? 0 : 2));
  function bytes(n) {
    if (n == null) return '–';
    if (n === 0) return '0';
    if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
    if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(0)} MiB`;
    return `${(n / 1024).toFixed(0)} KiB`;
  }
  function duration(s) {
    if (s < 60) return `${s}s`;
    if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
    return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  }
  const clock = (t) => new Date(t).toLocaleTimeString([], { hour12: false });

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k === 'style') e.style.cssText = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) if (c != null) e.append(c);
    return e;
  }

  // ---- header -----------------------------------------------------------------------------
  function renderHeader(s) {
    const status = $('status');
    status.className = `status ${s.ready ? 'ready' : 'not-ready'}`;
    status.querySelector('.label').textContent = s.ready ? 'ready' : s.phase === 'ready' ? 'not ready' : s.phase;
    let total = 0, queued = 0, inflight = 0;
    for (const m of s.models) { total += m.itemsPerSecond; queued += m.queued; inflight += m.inflight; }
    $('kpi-rate').textContent = `${rate(total)}/s`;
    $('kpi-queued').textContent = nf.format(queued);
    $('kpi-inflight').textContent = nf.format(inflight);
    const ready = s.workers.filter((w) => w.state === 'ready' || w.state === 'busy').length;
    $('kpi-workers').textContent = `${ready} / ${s.workers.length}`;
    $('kpi-jobs').textContent = s.jobs.running ? `${s.jobs.running} running` : s.jobs.queued ? `${s.jobs.queued} queued` : `${s.jobs.done} done`;
    $('kpi-uptime').textContent = duration(s.uptimeSeconds);
    document.title = `gpupool · ${rate(total)}/s`;
  }

  // ---- devices, with their workers ----------------------------------------------------------
  function workerRow(w, memory) {
    const limit = w.limit == null ? '–' : `${w.limit}`;
    const limitTitle = w.limit == null ? '' : `live batch limit ${w.limit}, ceiling ${w.maxLimit}` + (w.learnedLimit != null ? `, remembered ${w.learnedLimit}` : '');
    return el('tr', { 'data-test': 'worker-row', 'data-worker': w.id },
      el('td', { class: 'id', text: w.id }),
      el('td', {}, el('span', { class: `pill ${w.state}`, text: w.state })),
      el('td', { title: limitTitle }, limit, el('span', { class: 'dim', text: w.maxLimit != null ? ` / ${w.maxLimit}` : '' }),
        w.learnedLimit != null && w.learnedLimit !== w.limit ? el('span', { class: 'dim', text: ` · learned ${w.learnedLimit}` }) : null),
      el('td', { class: 'num', text: bytes(memory) }),
      el('td', { class: 'num rate', text: rate(w.itemsPerSecond) }),
      el('td', { class: `num${w.restarts ? '' : ' dim'}`, text: String(w.restarts) }),
    );
  }

  function deviceCard(d, workers) {
    const m = d.memory;
    const pct = (x) => (m.total > 0 ? `${Math.max(0, Math.min(100, (x / m.total) * 100)).toFixed(2)}%` : '0%');
    const util = d.utilization == null ? null : Math.round(d.utilization);
    // Device memory of each worker (its processes on this device), and who else holds memory here.
    const held = new Map();
    for (const p of d.processes) if (p.worker && p.memory != null) held.set(p.worker, (held.get(p.worker) || 0) + p.memory);
    const rows = workers.length ? workers.map((w) => workerRow(w, held.get(w.id))) : [el('tr', { class: 'none' }, el('td', { colspan: '6', text: 'no gpupool worker on this device' }))];
    const strangers = d.processes.filter((p) => !p.ours && p.memory).sort((a, b) => b.memory - a.memory);
    const others = strangers.length
      ? el('div', { class: 'others-list', 'data-test': 'other-processes' }, 'other processes: ',
        strangers.slice(0, 4).map((p) => `PID ${p.pid}${p.worker ? ` (${p.worker})` : ''} ${bytes(p.memory)}`).join(', ') + (strangers.length > 4 ? `, +${strangers.length - 4} more` : ''))
      : null;
    return el('div', { class: `device${d.inUse ? '' : ' idle'}`, 'data-test': 'device-card', 'data-device': d.key },
      el('div', { class: 'device-head' },
        el('span', { class: 'device-key', text: d.key }),
        el('span', { class: 'device-name', text: d.name, title: d.uuid }),
        util == null ? null : el('span', { class: 'util', title: 'utilisation' }, `${util}%`, el('span', { class: 'bar' }, el('i', { style: `width:${util}%` })))),
      el('div', { class: 'mem' },
        el('div', { class: 'membar', 'data-test': 'membar', title: `${bytes(m.used)} used of ${bytes(m.total)}` },
          el('div', { class: 'ours', style: `width:${pct(m.workers)}` }),
          el('div', { class: 'others', style: `width:${pct(m.others)}` })),
        el('div', { class: 'memtext' },
          el('span', {}, el('b', { text: bytes(m.used) }), ` / ${bytes(m.total)} used`),
          el('span', {}, `workers ${bytes(m.workers)} · others ${bytes(m.others)} · free ${bytes(m.free)}`)),
        others),
      el('table', { class: 'workers' },
        el('thead', {}, el('tr', {}, el('th', { text: 'worker' }), el('th', { text: 'state' }), el('th', { text: 'batch limit / max' }), el('th', { class: 'num', text: 'memory' }), el('th', { class: 'num', text: 'items/s' }), el('th', { class: 'num', text: 'restarts' }))),
        el('tbody', {}, ...rows)),
    );
  }

  function renderDevices(s) {
    const byDevice = new Map();
    for (const w of s.workers) {
      const key = w.device.split('+')[0];
      if (!byDevice.has(key)) byDevice.set(key, []);
      byDevice.get(key).push(w);
    }
    const cards = s.devices.map((d) => deviceCard(d, byDevice.get(d.key) || []));
    // Devices in use first: those are what a person came to look at.
    cards.sort((a, b) => (b.classList.contains('idle') ? 0 : 1) - (a.classList.contains('idle') ? 0 : 1));
    $('devices').replaceChildren(...cards);
  }

  // ---- models and errors -------------------------------------------------------------------
  function renderModels(s) {
    $('models').replaceChildren(...s.models.map((m) => {
      const state = m.ready ? 'ready' : m.workers > 0 && m.readyWorkers === 0 && s.phase === 'ready' ? 'down' : 'starting';
      return el('tr', { 'data-test': 'model-row' },
        el('td', { text: m.name }),
        el('td', {}, el('span', { class: `pill ${state}`, text: m.ready ? 'ready' : state === 'down' ? 'no worker ready' : 'starting' })),
        el('td', { class: 'num', text: `${m.readyWorkers} / ${m.workers}` }),
        el('td', { class: 'num', text: nf.format(m.queued) }),
        el('td', { class: 'num', text: nf.format(m.inflight) }),
        el('td', { class: 'num', text: rate(m.itemsPerSecond) }));
    }));
  }

  function renderErrors(s) {
    const rows = s.errors.slice(0, 12).map((e) =>
      el('tr', {},
        el('td', { class: 'when', text: clock(e.time) }),
        el('td', { class: 'where', text: e.source }),
        el('td', { class: 'code', text: e.code }),
        el('td', { class: 'msg' }, e.message, e.count > 1 ? el('span', { class: 'count', text: `×${nf.format(e.count)}` }) : null)));
    $('errors').replaceChildren(...(rows.length ? rows : [el('tr', { class: 'empty' }, el('td', { colspan: '4', text: 'none' }))]));
  }

  // ---- throughput chart (canvas) -------------------------------------------------------------
  function niceMax(v) {
    if (v <= 0) return 10;
    const p = 10 ** Math.floor(Math.log10(v));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  function renderChart(s) {
    const canvas = $('chart');
    const wrap = $('chart-wrap');
    const dpr = window.devicePixelRatio || 1;
    const W = wrap.clientWidth, H = wrap.clientHeight;
    canvas.width = Math.round(W * dpr);
    canvas.height = Math.round(H * dpr);
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);

    const names = Object.keys(s.throughput.series);
    // Since the server started (at least a minute), up to the whole history kept.
    const full = names.length ? s.throughput.series[names[0]].length : 0;
    const shown = Math.min(full, Math.max(60, Math.ceil(s.uptimeSeconds / s.throughput.intervalSeconds)));
    const series = names.map((n) => s.throughput.series[n].slice(full - shown));
    const n = shown;
    const total = Array.from({ length: n }, (_, i) => series.reduce((a, xs) => a + xs[i], 0));
    const max = niceMax(Math.max(1, ...total));
    const padL = 56, padR = 12, padT = 10, padB = 24;
    const x = (i) => padL + (i / Math.max(1, n - 1)) * (W - padL - padR);
    const y = (v) => padT + (1 - v / max) * (H - padT - padB);

    ctx.font = '11px system-ui, sans-serif';
    ctx.fillStyle = '#687085';
    ctx.strokeStyle = '#e2e5eb';
    ctx.lineWidth = 1;
    for (let k = 0; k <= 4; k++) {
      const v = (max * k) / 4;
      const yy = Math.round(y(v)) + 0.5;
      ctx.beginPath(); ctx.moveTo(padL, yy); ctx.lineTo(W - padR, yy); ctx.stroke();
      ctx.textAlign = 'right'; ctx.textBaseline = 'middle';
      ctx.fillText(Number.isInteger(v) ? nf.format(v) : rate(v), padL - 6, yy);
    }
    // Time ticks at round ages (every 10 s … 1 min), counted back from the newest point.
    const dt = s.throughput.intervalSeconds;
    const span = n * dt;
    const step = [10, 15, 30, 60, 120].find((t) => span / t <= 6) || 300;
    ctx.textAlign = 'center'; ctx.textBaseline = 'top';
    for (let ago = 0; ago < span; ago += step) {
      const i = n - 1 - Math.round(ago / dt);
      const label = ago === 0 ? 'now' : ago >= 60 ? `-${ago / 60}m` : `-${ago}s`;
      ctx.fillText(label, Math.max(padL + 10, x(i)), H - padB + 6);
    }

    const draw = (xs, color, fill) => {
      ctx.beginPath();
      xs.forEach((v, i) => (i ? ctx.lineTo(x(i), y(v)) : ctx.moveTo(x(i), y(v))));
      ctx.strokeStyle = color; ctx.lineWidth = 2; ctx.stroke();
      if (fill) {
        ctx.lineTo(x(n - 1), y(0)); ctx.lineTo(x(0), y(0)); ctx.closePath();
        ctx.fillStyle = `${color}22`; ctx.fill();
      }
    };
    series.forEach((xs, k) => draw(xs, COLORS[k % COLORS.length], series.length === 1));

    const latest = total.length ? total[total.length - 1] : 0;
    wrap.dataset.latest = String(latest);
    const spanText = span >= 120 ? `${Math.round(span / 60)} minutes` : `${Math.round(span)} s`;
    $('chart-span').textContent = `items/s, last ${spanText}`;
    wrap.dataset.points = String(n);
    $('chart-legend').replaceChildren(...names.map((name, k) =>
      el('span', {}, el('i', { class: 'swatch', style: `background:${COLORS[k % COLORS.length]}` }), `${name} `, el('b', { text: `${rate(series[k][n - 1] || 0)}/s` }))));
  }

  // ---- wiring ------------------------------------------------------------------------------
  function render(s) {
    last = s;
    renderHeader(s);
    renderDevices(s);
    renderModels(s);
    renderErrors(s);
    renderChart(s);
    document.body.dataset.updated = String(s.time);
  }

  $('host').textContent = location.host;
  const source = new EventSource(withToken('/v1/events'));
  source.addEventListener('snapshot', (e) => render(JSON.parse(e.data)));
  source.onerror = () => {
    const status = $('status');
    status.className = 'status not-ready';
    status.querySelector('.label').textContent = 'reconnecting…';
  };
  window.addEventListener('resize', () => last && renderChart(last));
})();
