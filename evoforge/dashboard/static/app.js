// evoforge dashboard: charts (uPlot, vendored), live updates (server-sent events), lineage tree (SVG).
"use strict";
window.evoforge = { charts: {}, readyAt: null };  // readyAt: ms after navigation, when drawn

const view = document.body.dataset.view;
const run = document.body.dataset.run;
const api = (path) => fetch(path).then((r) => { if (!r.ok) throw new Error(path + ": " + r.status); return r.json(); });

// A colour from red (worst) to green (best) for a score within [lo, hi]; grey for a failed program.
function scoreColour(score, lo, hi) {
  if (score === null || score === undefined || Number.isNaN(score)) return "#bbb";
  const t = hi > lo ? (score - lo) / (hi - lo) : 1;
  return `hsl(${Math.round(120 * t)}, 65%, 45%)`;
}

function chartWidth() { return Math.max(400, Math.min(1100, document.body.clientWidth - 60)); }

// Running maximum of the valid scores, null until the first one.
function bestSoFar(scores) {
  const out = []; let best = null;
  for (const s of scores) { if (s !== null && (best === null || s > best)) best = s; out.push(best); }
  return out;
}

function markReady() { window.evoforge.readyAt = performance.now(); document.body.dataset.ready = "1"; }

async function runView() {
  const ids = [], scores = [], times = [];
  let last = -1;
  const append = (series) => {
    for (const [id, score, t] of series.points) { ids.push(id); scores.push(score); times.push(t); }
    last = series.last_id;
  };
  append(await api(`/api/runs/${run}/series`));
  const opts = (title, xLabel) => ({ title, width: chartWidth(), height: 320, scales: { x: { time: false } },
    axes: [{ label: xLabel }, { label: "score" }] });
  const scoreChart = new uPlot({ ...opts("score per program", "program id"),
    series: [{}, { label: "score", stroke: "#4a7fc1", width: 0, points: { show: true, size: 5, fill: "#4a7fc1" } },
             { label: "best so far", stroke: "#d2542d", width: 2, paths: uPlot.paths.stepped({ align: 1 }), points: { show: false } }] },
    [ids, scores, bestSoFar(scores)], document.getElementById("score-chart"));
  const timeChart = new uPlot({ ...opts("best score over wall time", "seconds since start"),
    series: [{}, { label: "best so far", stroke: "#d2542d", width: 2, paths: uPlot.paths.stepped({ align: 1 }), points: { show: false } }] },
    [times, bestSoFar(scores)], document.getElementById("time-chart"));
  window.evoforge.charts.score = scoreChart;
  window.evoforge.charts.time = timeChart;
  markReady();

  let fetching = false, summaryDue = 0;
  const refresh = async (lastId) => {
    if (fetching || lastId <= last) return;
    fetching = true;
    try {
      append(await api(`/api/runs/${run}/series?after=${last}`));
      const best = bestSoFar(scores);
      scoreChart.setData([ids, scores, best]);
      timeChart.setData([times, best]);
      if (Date.now() >= summaryDue) { summaryDue = Date.now() + 2000; await refreshSummary(); }
    } finally { fetching = false; }
  };
  const events = new EventSource(`/api/runs/${run}/stream`);
  events.addEventListener("progress", (e) => refresh(JSON.parse(e.data).last_id));
}

async function refreshSummary() {
  const s = await api(`/api/runs/${run}/summary`);
  const set = (field, text) => { const el = document.querySelector(`[data-field="${field}"]`); if (el) el.textContent = text; };
  set("evaluated", s.evaluated);
  set("best_score", s.best_score === null ? "–" : s.best_score);
  set("rate", (s.evaluated_per_s.recent || s.evaluated_per_s.overall || 0).toPrecision(3));
  set("elapsed", `${Math.round(s.elapsed_s)} s`);
  set("awaiting", s.awaiting_evaluation);
  set("tokens", `${s.tokens.prompt_tokens} + ${s.tokens.completion_tokens}`);
  const link = document.querySelector('[data-field="best_link"]');
  if (link && s.best_program_id !== null) { link.href = `/runs/${run}/programs/${s.best_program_id}`; link.textContent = `#${s.best_program_id}`; }
}

function archiveView() {
  const cells = [...document.querySelectorAll(".cell")];
  const scores = cells.map((c) => parseFloat(c.dataset.score)).filter((s) => !Number.isNaN(s));
  const lo = Math.min(...scores), hi = Math.max(...scores);
  for (const c of cells) c.style.background = scoreColour(parseFloat(c.dataset.score), lo, hi);
  markReady();
}

// The tree: depth is the distance from the oldest ancestor shown; leaves get one column each and a
// parent sits above the middle of its children. Wheel zooms and dragging pans (the SVG viewBox).
async function lineageView() {
  const box = document.getElementById("lineage");
  const data = await api(`/api/runs/${run}/lineage/${box.dataset.program}`);
  const byId = new Map(data.nodes.map((n) => [n.id, { ...n, kids: [] }]));
  const roots = [];
  for (const n of byId.values()) (byId.has(n.parent_id) ? byId.get(n.parent_id).kids : roots).push(n);
  let column = 0;
  const place = (n, depth) => {
    n.depth = depth;
    n.kids.sort((a, b) => a.id - b.id).forEach((k) => place(k, depth + 1));
    n.col = n.kids.length ? (n.kids[0].col + n.kids[n.kids.length - 1].col) / 2 : column++;
  };
  roots.forEach((r) => place(r, 0));
  const scores = data.nodes.map((n) => n.score).filter((s) => s !== null);
  const lo = Math.min(...scores), hi = Math.max(...scores);
  const X = 90, Y = 70, ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  const el = (tag, attrs, parent) => { const e = document.createElementNS(ns, tag); for (const k in attrs) e.setAttribute(k, attrs[k]); (parent || svg).appendChild(e); return e; };
  for (const n of byId.values()) for (const k of n.kids)
    el("line", { x1: n.col * X, y1: n.depth * Y, x2: k.col * X, y2: k.depth * Y, stroke: "#999" });
  for (const n of byId.values()) {
    const a = el("a", { href: `/runs/${run}/programs/${n.id}`, class: n.id === data.focus ? "node focus" : "node", "data-program": n.id });
    el("circle", { cx: n.col * X, cy: n.depth * Y, r: 9, fill: scoreColour(n.score, lo, hi) }, a).appendChild(
      Object.assign(document.createElementNS(ns, "title"), { textContent: `#${n.id} score ${n.score}` }));
    const label = el("text", { x: n.col * X + 12, y: n.depth * Y + 4 }, a);
    label.textContent = `#${n.id} ${n.mutator}${n.model ? " / " + n.model : ""}`;
  }
  const depth = Math.max(...[...byId.values()].map((n) => n.depth));
  const view = { x: -X, y: -Y / 2, w: Math.max(column, 12) * X + X, h: Math.max(depth + 1, 8) * Y + Y };
  const apply = () => svg.setAttribute("viewBox", `${view.x} ${view.y} ${view.w} ${view.h}`);
  apply();
  box.appendChild(svg);
  box.addEventListener("wheel", (e) => {
    e.preventDefault();
    const f = e.deltaY > 0 ? 1.15 : 1 / 1.15, r = box.getBoundingClientRect();
    const px = view.x + view.w * (e.clientX - r.left) / r.width, py = view.y + view.h * (e.clientY - r.top) / r.height;
    view.x = px - (px - view.x) * f; view.y = py - (py - view.y) * f; view.w *= f; view.h *= f; apply();
  }, { passive: false });
  let drag = null;
  box.addEventListener("mousedown", (e) => { drag = { x: e.clientX, y: e.clientY }; });
  window.addEventListener("mouseup", () => { drag = null; });
  box.addEventListener("mousemove", (e) => {
    if (!drag) return;
    const r = box.getBoundingClientRect();
    view.x -= (e.clientX - drag.x) * view.w / r.width; view.y -= (e.clientY - drag.y) * view.h / r.height;
    drag = { x: e.clientX, y: e.clientY }; apply();
  });
  if (data.truncated) box.insertAdjacentHTML("beforebegin", `<p>Descendants cut at ${data.nodes.length} nodes.</p>`);
  markReady();
}

async function compareView() {
  const form = document.getElementById("compare-runs");
  const target = document.getElementById("compare-chart");
  const draw = async () => {
    const names = [...form.querySelectorAll("input:checked")].map((i) => i.value);
    const query = names.map((n) => "run=" + encodeURIComponent(n)).join("&");
    const data = await api(`/api/compare?${query}`);
    // Each curve is its improvements, extended flat to the run's last program; uPlot.join aligns x.
    const tables = data.runs.map((c) => {
      const xs = c.points.map((p) => p[0]), ys = c.points.map((p) => p[1]);
      if (c.last_id !== null && xs.length && c.last_id > xs[xs.length - 1]) { xs.push(c.last_id); ys.push(ys[ys.length - 1]); }
      return [xs, ys];
    });
    target.innerHTML = "";
    const colours = ["#d2542d", "#4a7fc1", "#3a9a5b", "#9b59b6", "#c49a00", "#555"];
    const chart = new uPlot({ width: chartWidth(), height: 360, scales: { x: { time: false } },
      axes: [{ label: "program id" }, { label: "best score" }],
      series: [{}, ...data.runs.map((c, i) => ({ label: c.run, stroke: colours[i % colours.length], width: 2,
        spanGaps: true, paths: uPlot.paths.stepped({ align: 1 }) }))] },
      tables.length ? uPlot.join(tables) : [[]], target);
    window.evoforge.charts.compare = chart;
    markReady();
  };
  form.addEventListener("change", draw);
  await draw();
}

const views = { run: runView, archive: archiveView, lineage: lineageView, compare: compareView };
if (views[view]) views[view](); else markReady();
