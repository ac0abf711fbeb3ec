// Rosey dashboard: live updates over server-sent events, charts drawn as
// SVG by hand, admin actions with a token kept for this tab only.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const TOKEN_KEY = "rosey-dashboard-token";
const $ = (id) => document.getElementById(id);

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function svgEl(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

function fmtMs(v) {
  if (v === null || v === undefined) return "–";
  if (v === 0) return "0";
  if (v >= 1000) return (v / 1000).toFixed(v >= 10000 ? 0 : 1) + " s";
  if (v >= 10) return Math.round(v) + " ms";
  return v.toFixed(v >= 1 ? 1 : 2) + " ms";
}

function fmtTime(ms) {
  return new Date(ms).toLocaleTimeString([], { hour12: false });
}

// niceMax rounds a chart's top up to 1, 2 or 5 times a power of ten.
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

// Charts are drawn at the figure's own size in pixels, so that text is
// never stretched; W and H are set by frame.
let W = 600, H = 180;
const L = 52, R = 8, T = 10, B = 20;

// frame draws the axes and labels of a chart and returns its SVG.
function frame(fig, top, fmt, spanSec) {
  W = Math.max(200, fig.clientWidth || 600);
  H = Math.max(100, fig.clientHeight || 180);
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, "aria-hidden": "true" });
  for (const f of [0, 0.5, 1]) {
    const y = T + (H - T - B) * (1 - f);
    svg.appendChild(svgEl("line", { class: "axis", x1: L, x2: W - R, y1: y, y2: y }));
    const t = svgEl("text", { x: L - 4, y: y + 4, "text-anchor": "end" });
    t.textContent = fmt(top * f);
    svg.appendChild(t);
  }
  const left = svgEl("text", { x: L, y: H - 4 });
  left.textContent = `−${Math.round(spanSec / 60)} min`;
  const right = svgEl("text", { x: W - R, y: H - 4, "text-anchor": "end" });
  right.textContent = "now";
  svg.append(left, right);
  fig.replaceChildren(svg);
  return svg;
}

function drawRate(rate) {
  const fig = $("rate-chart");
  const n = rate.total.length;
  const top = niceMax(Math.max(1, ...rate.total));
  const svg = frame(fig, top, (v) => (Number.isInteger(v) ? v : v.toFixed(1)), n);
  const w = (W - L - R) / n, base = H - B, h = H - T - B;
  const bars = (values) => {
    let d = "";
    values.forEach((v, i) => {
      if (v > 0) {
        const y = base - (h * v) / top;
        d += `M${(L + i * w).toFixed(2)} ${base}V${y.toFixed(2)}h${Math.max(w, 1).toFixed(2)}V${base}Z`;
      }
    });
    return d;
  };
  svg.appendChild(svgEl("path", { class: "total", d: bars(rate.total) }));
  svg.appendChild(svgEl("path", { class: "errors", d: bars(rate.errors) }));
  const sum = rate.total.reduce((a, b) => a + b, 0);
  fig.dataset.commands = String(sum);
  fig.dataset.errors = String(rate.errors.reduce((a, b) => a + b, 0));
  fig.setAttribute("aria-label", `Commands per second over the last ${Math.round(n / 60)} minutes: ${sum} commands, at most ${Math.max(0, ...rate.total)} in one second`);
}

// line draws one series as a path broken where values are null (lone
// values as dots) and returns how many values it drew.
function line(svg, values, top, cls) {
  const h = H - T - B, step = (W - L - R) / Math.max(1, values.length - 1);
  let d = "", n = 0;
  values.forEach((v, i) => {
    if (v === null) return;
    const x = (L + i * step).toFixed(2), y = (H - B - (h * v) / top).toFixed(2);
    const joined = i > 0 && values[i - 1] !== null;
    d += `${joined ? "L" : "M"}${x} ${y}`;
    if (!joined && (i + 1 >= values.length || values[i + 1] === null)) {
      svg.appendChild(svgEl("circle", { class: `dot ${cls}`, cx: x, cy: y, r: 3 }));
    }
    n++;
  });
  svg.appendChild(svgEl("path", { class: `line ${cls}`, d }));
  return n;
}

function drawLatency(lat) {
  const fig = $("latency-chart");
  const n = lat.p99_ms.length;
  const top = niceMax(Math.max(0, ...lat.p99_ms.filter((v) => v !== null)));
  const svg = frame(fig, top, fmtMs, (n * lat.step) / 1000);
  line(svg, lat.p50_ms, top, "p50");
  line(svg, lat.p95_ms, top, "p95");
  const points = line(svg, lat.p99_ms, top, "p99");
  const last = [...lat.p99_ms].reverse().find((v) => v !== null);
  fig.dataset.points = String(points);
  fig.dataset.lastP99 = last === undefined ? "" : String(last);
  fig.setAttribute("aria-label", points
    ? `Command latency over the last ${Math.round((n * lat.step) / 60000)} minutes; latest p99 ${fmtMs(last)}`
    : "Command latency: no commands in the last minutes");
}

function drawMessages(series) {
  const fig = $("messages-chart");
  const section = fig.closest("section");
  section.hidden = !series.length;
  if (!series.length) return;
  const n = series[0].values.length;
  const top = niceMax(Math.max(1, ...series.flatMap((s) => s.values.filter((v) => v !== null))));
  const svg = frame(fig, top, (v) => (Number.isInteger(v) ? v : v.toFixed(1)), n);
  const legend = $("messages-legend");
  const keys = [];
  const summary = [];
  series.forEach((s, i) => {
    line(svg, s.values, top, `s${i % 4}`);
    const last = s.values.slice(-61, -1).filter((v) => v !== null);
    const avg = last.length ? last.reduce((a, b) => a + b, 0) / last.length : 0;
    keys.push(el("span", { class: `key s${i % 4}` }), document.createTextNode(`${s.name} `));
    summary.push(`${s.name} ${avg.toFixed(1)}/s`);
  });
  legend.replaceChildren(...keys);
  fig.dataset.total = String(series.reduce((a, s) => a + s.values.reduce((x, v) => x + (v || 0), 0), 0));
  fig.setAttribute("aria-label", `Messages per second over the last ${Math.round(n / 60)} minutes; last minute's average: ${summary.join(", ")}`);
}

function emptyRow(tbody, cols, text) {
  const tr = el("tr");
  tr.appendChild(el("td", { colspan: cols, class: "empty" }, text));
  tbody.replaceChildren(tr);
}

function drawConnectors(list) {
  const tbody = $("connectors").tBodies[0];
  if (!list.length) return emptyRow(tbody, 9, "No connector answers on the bus.");
  tbody.replaceChildren(...list.map((c) => {
    const tr = el("tr", { "data-channel": c.channel, "data-state": c.state, "data-out": c.messages_out });
    const st = el("td", { class: `state-${c.state}` }, c.state + (c.reason ? ` (${c.reason})` : ""));
    st.dataset.label = "State";
    const paced = c.paced ? `${c.paced} (${fmtMs(c.paced_ms)} each)` : "0";
    tr.append(el("th", { scope: "row" }, c.channel), st, el("td", { "data-label": "Users" }, c.users),
      el("td", { "data-label": "Lines in" }, c.messages_in), el("td", { "data-label": "Lines out" }, c.messages_out),
      el("td", { "data-label": "Queued" }, c.queued), el("td", { "data-label": "Paced" }, paced),
      el("td", { "data-label": "Cooldowns / refused" }, `${c.cooldowns} / ${c.refused}`),
      el("td", { "data-label": "Reconnects" }, c.reconnects));
    return tr;
  }));
}

function drawDatabase(db) {
  const section = $("db-h").closest("section");
  section.hidden = !db.operations.length;
  if (!db.operations.length) return;
  const fig = $("db-chart");
  const n = db.per_second.length;
  const top = niceMax(Math.max(1, ...db.per_second.filter((v) => v !== null)));
  const svg = frame(fig, top, (v) => (Number.isInteger(v) ? v : v.toFixed(1)), n);
  line(svg, db.per_second, top, "s0");
  const total = db.per_second.reduce((a, v) => a + (v || 0), 0);
  fig.dataset.total = String(total);
  fig.setAttribute("aria-label", `Database operations per second over the last ${Math.round(n / 60)} minutes: ${total} operations`);
  const tbody = $("database").tBodies[0];
  tbody.replaceChildren(...db.operations.map((o) => {
    const tr = el("tr", { "data-operation": o.operation, "data-requests": o.requests });
    tr.append(el("th", { scope: "row" }, o.operation), el("td", { "data-label": "Requests" }, o.requests),
      el("td", { "data-label": "Per second (1 min)" }, o.per_second_1m.toFixed(o.per_second_1m >= 10 ? 0 : 2)),
      el("td", { "data-label": "Mean time" }, o.requests ? fmtMs(o.mean_ms) : "–"),
      el("td", { "data-label": "Errors" }, o.errors));
    return tr;
  }));
}

// Plugin rows are updated in place, so a focused button keeps its focus.
const pluginRows = new Map();

function drawPlugins(list, admin) {
  const tbody = $("plugins").tBodies[0];
  document.querySelectorAll("#plugins .actions-col").forEach((th) => { th.hidden = !admin; });
  if (!list.length) { pluginRows.clear(); return emptyRow(tbody, 10, "No plugins."); }
  const seen = new Set();
  const rows = list.map((p) => {
    seen.add(p.name);
    let r = pluginRows.get(p.name);
    if (!r) {
      r = { tr: el("tr", { "data-plugin": p.name }), cells: [], buttons: {} };
      r.tr.appendChild(el("th", { scope: "row" }, p.name));
      for (const label of ["Where", "State", "Instances", "Requests", "Errors", "Commands (1 min)", "p95 (1 min)", "Last error"]) {
        r.cells.push(r.tr.appendChild(el("td", { "data-label": label })));
      }
      r.cells[7].className = "wrap";
      r.actions = r.tr.appendChild(el("td", { class: "actions" }));
      for (const verb of ["enable", "disable", "reload"]) {
        const b = el("button", { type: "button", "aria-label": `${verb[0].toUpperCase() + verb.slice(1)} ${p.name}`, "data-verb": verb },
          verb[0].toUpperCase() + verb.slice(1));
        b.addEventListener("click", () => act(p.name, verb, b));
        r.buttons[verb] = r.actions.appendChild(b);
      }
      pluginRows.set(p.name, r);
    }
    const [where, state, inst, req, errs, recent, p95, last] = r.cells;
    where.textContent = p.external ? (p.managed ? "own process (supervised)" : "own process") : "in-process";
    state.textContent = p.state;
    state.className = `state-${p.state}`;
    inst.textContent = p.instances;
    req.textContent = p.requests;
    errs.textContent = p.errors;
    recent.textContent = p.commands_1m;
    p95.textContent = p.commands_1m ? fmtMs(p.p95_ms_1m) : "–";
    last.textContent = p.last_error || "";
    last.hidden = !p.last_error && window.matchMedia("(max-width: 760px)").matches;
    r.actions.hidden = !admin;
    const managed = !p.external || p.managed;
    r.buttons.enable.disabled = !managed || p.state === "started";
    r.buttons.disable.disabled = !managed || p.state !== "started";
    r.buttons.reload.disabled = !managed || p.state !== "started";
    if (!managed) r.actions.title = "Runs in a process of its own: control it there.";
    return r.tr;
  });
  for (const name of [...pluginRows.keys()]) if (!seen.has(name)) pluginRows.delete(name);
  tbody.replaceChildren(...rows);
}

function drawCommands(id, list, none) {
  const tbody = $(id).tBodies[0];
  if (!list.length) return emptyRow(tbody, 4, none);
  // With several channels, each command says which.
  const several = new Set(list.map((c) => c.channel)).size > 1;
  tbody.replaceChildren(...list.map((c) => {
    const tr = el("tr");
    let what = c.plugin ? `${c.plugin}: ${c.command}` : "(unknown command)";
    if (several) what = `#${c.channel} ${what}`;
    tr.append(el("td", {}, fmtTime(c.at)), el("td", { title: c.channel }, what),
      el("td", { class: `result-${c.result}` }, c.result.replaceAll("_", " ")), el("td", {}, fmtMs(c.latency_ms)));
    return tr;
  }));
}

let admin = false;

function drawAdmin() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  $("login").hidden = !admin;
  $("readonly").hidden = admin;
  $("logout").hidden = !token;
  $("token").required = !token;
  $("token").placeholder = token ? "token saved for this tab" : "";
}

let lastView = null;

function render(v) {
  lastView = v;
  $("rate").textContent = v.per_second.toFixed(v.per_second >= 10 ? 0 : 2);
  $("p50").textContent = v.last_minute.samples ? fmtMs(v.last_minute.p50_ms) : "–";
  $("p95").textContent = v.last_minute.samples ? fmtMs(v.last_minute.p95_ms) : "–";
  $("p99").textContent = v.last_minute.samples ? fmtMs(v.last_minute.p99_ms) : "–";
  $("errcount").textContent = v.rate.errors.slice(-60).reduce((a, b) => a + b, 0);
  drawRate(v.rate);
  drawLatency(v.latency);
  drawMessages(v.messages);
  drawConnectors(v.connectors);
  drawDatabase(v.database);
  if (admin !== v.admin) { admin = v.admin; drawAdmin(); }
  drawPlugins(v.plugins, v.admin);
  drawCommands("recent", v.recent, "No commands yet.");
  drawCommands("errors", v.errors, "No errors.");
  const live = $("live");
  live.textContent = `Live · updated ${fmtTime(v.at)}`;
  live.className = "live on";
  announce("Live updates connected.");
  document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
}

async function act(name, verb, button) {
  const out = $("action-result");
  const token = sessionStorage.getItem(TOKEN_KEY) || "";
  button.disabled = true;
  out.textContent = `${verb} ${name}…`;
  try {
    const headers = {};
    if (token) headers.Authorization = `Bearer ${token}`;
    const res = await fetch(`/api/plugins/${encodeURIComponent(name)}/${verb}`, { method: "POST", headers, credentials: "omit" });
    const body = await res.json().catch(() => ({}));
    out.textContent = res.ok ? body.message : `Refused (${res.status}): ${body.error || res.statusText}`;
    out.dataset.status = String(res.status);
  } catch (e) {
    out.textContent = `Failed: ${e.message}`;
    out.dataset.status = "0";
  } finally {
    button.disabled = false;
  }
}

// announce tells screen readers when the connection changes, not at
// every update.
function announce(text) {
  const sr = $("live-sr");
  if (sr.textContent !== text) sr.textContent = text;
}

function connect() {
  const es = new EventSource("/events");
  es.addEventListener("update", (e) => render(JSON.parse(e.data)));
  es.onerror = () => {
    const live = $("live");
    live.textContent = "Disconnected · retrying…";
    live.className = "live off";
    announce("Live updates lost; retrying.");
  };
}

document.addEventListener("DOMContentLoaded", () => {
  $("login").addEventListener("submit", (e) => {
    e.preventDefault();
    const t = $("token").value.trim();
    if (t) sessionStorage.setItem(TOKEN_KEY, t);
    $("token").value = "";
    drawAdmin();
  });
  $("logout").addEventListener("click", () => { sessionStorage.removeItem(TOKEN_KEY); drawAdmin(); });
  drawAdmin();
  connect();
  // Charts are drawn at their size in pixels: draw again when it changes.
  let pending = 0;
  window.addEventListener("resize", () => {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(() => { if (lastView) { drawRate(lastView.rate); drawLatency(lastView.latency); drawMessages(lastView.messages); drawDatabase(lastView.database); drawPlugins(lastView.plugins, lastView.admin); } });
  });
});
