// The node page: polls /api/status and /api/history every second and
// redraws without reloading. Every string from the scheduler (pod and
// program names come from clients) reaches the page through textContent
// or an attribute value, never as HTML. The data shown is also left in
// data-* attributes so that tests (and scripts) can read the rendered page.
"use strict";

const REFRESH_MS = 1000;
const GIB = 1024 * 1024 * 1024;
// Dash patterns and point shapes tell series apart without colour.
const DASHES = [[], [6, 3], [2, 2], [10, 3, 2, 3], [1, 4], [12, 6]];
const POINTS = ["circle", "rect", "triangle", "crossRot", "star", "rectRot"];
const COLOURS = ["#1f5fa8", "#c0392b", "#1e8449", "#7d3c98", "#b9770e",
  "#117a8b", "#515a5a"];

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) e.setAttribute(k, String(v));
  }
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function size(bytes) {
  if (bytes === null || bytes === undefined) return "-";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes, u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return (u ? v.toFixed(1) : String(v)) + " " + units[u];
}

function clock(ms) {
  return new Date(ms).toLocaleTimeString();
}

function who(c) {
  if (c.pod_name) {
    return c.pod_namespace + "/" + c.pod_name + (c.pod_verified ? "" : " (unverified)");
  }
  return c.comm + " (pid " + c.pid + ")";
}

// --- GPUs -------------------------------------------------------------------

function gpuCard(g, idx, st, byId) {
  const card = el("article", {
    class: "card gpu", "data-gpu": g.uuid,
    "data-capacity": g.capacity_bytes, "data-resident": g.resident_bytes,
  });
  card.appendChild(el("h3", {}, "GPU " + idx));
  card.appendChild(el("p", { class: "uuid" }, g.uuid));
  let swapped = 0;
  for (const c of st.clients) {
    for (const cg of c.gpus) if (cg.uuid === g.uuid) swapped += cg.swapped_bytes;
  }
  card.setAttribute("data-swapped", swapped);
  const cap = g.capacity_bytes || 1;
  const virt = st.host_swap_budget_bytes ? g.capacity_bytes + st.host_swap_budget_bytes : null;
  const scale = Math.max(cap, g.resident_bytes + swapped);
  const bar = el("div", {
    class: "membar", role: "img",
    "aria-label": size(g.resident_bytes) + " resident, " + size(swapped) +
      " swapped, of " + size(g.capacity_bytes),
  });
  const seg = (cls, bytes, label) => {
    if (bytes <= 0) return;
    const s = el("span", { class: "seg " + cls, title: label });
    s.style.width = (100 * bytes / scale).toFixed(2) + "%";
    bar.appendChild(s);
  };
  seg("resident", g.resident_bytes, "resident on the GPU");
  seg("swapped", swapped, "swapped out to the host");
  const cut = el("span", { class: "capacity-mark", title: "capacity" });
  cut.style.left = (100 * cap / scale).toFixed(2) + "%";
  bar.appendChild(cut);
  card.appendChild(bar);
  const legend = el("p", { class: "legend" });
  legend.appendChild(el("span", { class: "key resident" }));
  legend.appendChild(document.createTextNode(" resident " + size(g.resident_bytes) + "  "));
  legend.appendChild(el("span", { class: "key swapped" }));
  legend.appendChild(document.createTextNode(" swapped " + size(swapped) +
    "  | capacity " + size(g.capacity_bytes) +
    (virt ? "  | virtual capacity " + size(virt) : "")));
  card.appendChild(legend);
  if (g.resident_bytes + swapped > cap) {
    card.appendChild(el("p", { class: "warn" },
      "Oversubscribed: clients take turns, swapping."));
  }
  const running = (g.running || []).map((id) => byId.get(id));
  const runs = el("p", { class: "running", "data-running": (g.running || []).join(",") });
  runs.appendChild(el("strong", {}, "Runs now: "));
  runs.appendChild(document.createTextNode(running.length
    ? running.map((c) => c ? who(c) + " [" + c.id + "]" : "?").join(", ")
    : "nobody"));
  card.appendChild(runs);
  const q = el("p", { class: "queue", "data-queue": (g.queue || []).join(",") });
  q.appendChild(el("strong", {}, "Waiting: "));
  q.appendChild(document.createTextNode((g.queue || []).length
    ? g.queue.map((id) => {
      const c = byId.get(id);
      const cg = c && c.gpus.find((x) => x.uuid === g.uuid);
      return (c ? who(c) : "?") + " [" + id + "]" +
        (cg && cg.wait_reason ? " (" + cg.wait_reason + ")" : "");
    }).join(", ")
    : "nobody"));
  card.appendChild(q);
  card.appendChild(el("p", { class: "meta" },
    "mode " + g.mode + " · slice " + (g.time_slice_ms / 1000).toFixed(1) + " s (" +
    g.time_slice_reason + ") · grants " + g.lock_grants + " · swaps " + g.swaps +
    " · forced releases " + g.forced_releases + (g.metered ? " · metered" : "")));
  return card;
}

// --- clients ----------------------------------------------------------------

// Achieved share over the last SHARE_WINDOW seconds (a single second
// swings between 0 and 100% with time slices).
const SHARE_WINDOW = 5;

function recentShare(hist, id, uuid) {
  const key = id + " " + uuid;
  let sum = 0, n = 0;
  for (let i = hist.frames.length - 1; i >= 0 && i >= hist.frames.length - SHARE_WINDOW; i--) {
    const v = hist.frames[i].clients.get(key);
    if (v && v.share !== null) { sum += v.share; n++; }
  }
  return n ? sum / n : null;
}

function meter(value, max, text) {
  const wrap = el("span", { class: "meter" });
  const bar = el("span", { class: "meter-bar" });
  const fill = el("span", { class: "meter-fill" });
  fill.style.width = Math.min(100, max ? 100 * value / max : 0).toFixed(1) + "%";
  bar.appendChild(fill);
  wrap.appendChild(bar);
  wrap.appendChild(el("span", { class: "meter-text" }, text));
  return wrap;
}

function cell(tr, label, content) {
  const td = el("td", { "data-label": label });
  if (content instanceof Node) td.appendChild(content);
  else td.textContent = content;
  tr.appendChild(td);
  return td;
}

function clientRows(st, hist, gpuIdx) {
  const rows = [];
  for (const c of st.clients) {
    for (const cg of c.gpus) {
      const share = recentShare(hist, c.id, cg.uuid);
      const tr = el("tr", {
        class: "client state-" + cg.state,
        "data-client-id": c.id, "data-gpu": cg.uuid, "data-state": cg.state,
        "data-reason": cg.wait_reason || "", "data-pod": c.pod_name || "",
        "data-comm": c.comm, "data-share": share === null ? "" : share,
      });
      cell(tr, "Client", String(c.id));
      cell(tr, "Pod / program", who(c));
      cell(tr, "GPU", gpuIdx.has(cg.uuid) ? String(gpuIdx.get(cg.uuid)) : cg.uuid);
      cell(tr, "State", cg.state + (cg.state === "holding"
        ? " " + (cg.held_ms / 1000).toFixed(1) + " s" : ""));
      let why = "-";
      if (cg.state === "waiting") {
        why = (cg.wait_reason || "?") + ", " + (cg.wait_ms / 1000).toFixed(1) + " s";
      } else if (cg.growing) {
        why = "growing, " + (cg.grow_wait_ms / 1000).toFixed(1) + " s";
      } else if (cg.throttled) {
        why = "throttled by its core limit";
      }
      cell(tr, "Why waiting", why);
      const lim = c.memory_limit_bytes;
      // Against its limit, or the GPU's capacity without one.
      const gpu = st.gpus.find((g) => g.uuid === cg.uuid);
      cell(tr, "Memory / limit", meter(cg.memory_bytes,
        lim || (gpu && gpu.capacity_bytes) || cg.memory_bytes,
        size(cg.memory_bytes) + " / " + (lim ? size(lim) : "none") +
        (cg.over_memory_limit ? " (over!)" : "")));
      const core = c.core_limit_pct;
      const eff = cg.core_share_pct;
      const shareText = (share === null ? "-" : share.toFixed(1) + "%") + " / " +
        (core ? (eff && eff < core ? eff.toFixed(0) + "% (of " + core + "%)" : core + "%")
          : "none");
      cell(tr, "Share (5 s) / core limit", meter(share || 0, core || 100, shareText));
      cell(tr, "Swapped", size(cg.swapped_bytes));
      rows.push(tr);
    }
  }
  return rows;
}

// --- charts -----------------------------------------------------------------

const charts = {};

function style(i) {
  return {
    borderColor: COLOURS[i % COLOURS.length],
    backgroundColor: COLOURS[i % COLOURS.length],
    borderDash: DASHES[i % DASHES.length],
    pointStyle: POINTS[i % POINTS.length],
    pointRadius: 2, borderWidth: 2, spanGaps: false, tension: 0,
  };
}

// --- the history, kept here and extended with the frames since the last
// poll (/api/history?from=NEXT) --------------------------------------------

const MAX_FRAMES = 600;
// More lines than this make a chart unreadable (and slow to draw): the
// clients connected now come first, the largest last values first.
const MAX_SERIES = 12;

function ingest(store, h) {
  if (!store || h.epoch !== store.epoch || h.complete) {
    store = { epoch: h.epoch, next: 0, frames: [], labels: new Map() };
  }
  const fresh = h.t.map((t) => ({ t, gpus: new Map(), clients: new Map() }));
  for (const g of h.gpus) {
    for (let k = 0; k < g.resident_bytes.length; k++) {
      if (g.resident_bytes[k] === null) continue;
      fresh[g.start + k].gpus.set(g.uuid, {
        capacity: g.capacity_bytes[k], resident: g.resident_bytes[k],
        swapped: g.swapped_bytes[k], swaps: g.swaps[k],
        waiting: { turn: g.waiting_turn[k], memory: g.waiting_memory[k], host: g.waiting_host[k] },
      });
    }
  }
  for (const c of h.clients) {
    const key = c.id + " " + c.gpu;
    store.labels.set(key, { id: c.id, gpu: c.gpu, label: c.label });
    for (let k = 0; k < c.memory_bytes.length; k++) {
      if (c.memory_bytes[k] === null) continue;
      fresh[c.start + k].clients.set(key, {
        memory: c.memory_bytes[k], swapped: c.swapped_bytes[k], share: c.share_pct[k],
        state: c.state[k], reason: c.wait_reason[k],
      });
    }
  }
  store.frames = store.frames.concat(fresh).slice(-MAX_FRAMES);
  store.next = h.next;
  const live = new Set(keysOf(store.frames, "clients"));
  for (const k of [...store.labels.keys()]) if (!live.has(k)) store.labels.delete(k);
  return store;
}

// Keys of a kind of entry, in order of first appearance.
function keysOf(frames, kind) {
  const seen = new Set();
  for (const f of frames) for (const k of f[kind].keys()) seen.add(k);
  return [...seen];
}

function chartData(kind, hist, gpuIdx) {
  const frames = hist.frames;
  const sets = [];
  const gname = (u) => "GPU " + (gpuIdx.has(u) ? gpuIdx.get(u) : u);
  const series = (sub, key, f) => frames.map((fr) => {
    const v = fr[sub].get(key);
    return v === undefined ? null : f(v);
  });
  if (kind === "share" || kind === "memory") {
    const last = frames.length ? frames[frames.length - 1].clients : new Map();
    const size = (k) => { const v = last.get(k); return v ? 1 + (kind === "share" ? v.share || 0 : v.memory) : 0; };
    // Chosen by size; drawn in order of first appearance, each with the
    // same line style from one refresh to the next.
    const keys = keysOf(frames, "clients");
    const chosen = new Set([...keys].sort((a, b) => size(b) - size(a)).slice(0, MAX_SERIES));
    sets.hidden = keys.length - chosen.size;
    for (const [n, key] of keys.entries()) {
      if (!chosen.has(key)) continue;
      const m = hist.labels.get(key) || { id: key, gpu: "", label: "?" };
      sets.push({
        styleIndex: n,
        label: m.label + " [" + m.id + "] " + gname(m.gpu),
        data: kind === "share" ? series("clients", key, (v) => v.share)
          : series("clients", key, (v) => v.memory / GIB),
      });
    }
  } else if (kind === "swaps") {
    for (const u of keysOf(frames, "gpus")) {
      sets.push({ label: gname(u), data: series("gpus", u, (v) => v.swaps) });
    }
  } else {
    for (const u of keysOf(frames, "gpus")) {
      for (const r of ["turn", "memory", "host"]) {
        const d = series("gpus", u, (v) => v.waiting[r]);
        if (d.some((v) => v)) sets.push({ label: gname(u) + " waiting for " + r, data: d, stepped: true });
      }
    }
  }
  sets.hidden = sets.hidden || 0;
  return sets;
}

function drawCharts(hist, gpuIdx) {
  const haveLib = typeof window.Chart === "function";
  document.getElementById("chart-lib").textContent = haveLib ? ""
    : "Charts: chart library not installed (Debian package libjs-chart.js); tables only.";
  document.body.setAttribute("data-chart-lib", haveLib ? "loaded" : "missing");
  const t = hist.frames.map((f) => f.t);
  const labels = t.map(clock);
  for (const fig of document.querySelectorAll("figure.chart")) {
    const kind = fig.getAttribute("data-chart");
    const raw = chartData(kind, hist, gpuIdx);
    const sets = raw.map((s, i) => Object.assign(style(s.styleIndex === undefined ? i : s.styleIndex), s));
    let points = 0;
    for (const s of sets) points = Math.max(points, s.data.filter((v) => v !== null).length);
    fig.setAttribute("data-points", String(t.length));
    fig.setAttribute("data-series", String(sets.length));
    fig.setAttribute("data-last-t", t.length ? String(t[t.length - 1]) : "");
    fig.setAttribute("data-last-values", JSON.stringify(sets.map((s) => s.data[s.data.length - 1])));
    const status = fig.querySelector(".chart-status");
    status.textContent = (haveLib ? "" : "chart library not installed · ") +
      sets.length + " series" + (raw.hidden ? " (" + raw.hidden + " more not drawn)" : "") +
      ", " + points + " points" +
      (t.length ? ", " + clock(t[0]) + " to " + clock(t[t.length - 1]) : "");
    if (!haveLib) continue;
    const yTitle = { share: "%", memory: "GiB", swaps: "swaps/s", waits: "clients" }[kind];
    if (!charts[kind]) {
      charts[kind] = new window.Chart(fig.querySelector("canvas"), {
        type: "line",
        data: { labels, datasets: sets },
        options: {
          animation: false, responsive: true, maintainAspectRatio: false,
          interaction: { mode: "nearest", intersect: false },
          scales: {
            x: { ticks: { maxTicksLimit: 6, autoSkip: true } },
            y: { beginAtZero: true, title: { display: true, text: yTitle },
              suggestedMax: kind === "share" ? 100 : undefined },
          },
          plugins: { legend: { labels: { usePointStyle: true } } },
        },
      });
    } else {
      const ch = charts[kind];
      ch.data.labels = labels;
      ch.data.datasets = sets;
      ch.update("none");
    }
  }
}

// --- refresh ----------------------------------------------------------------

async function getJSON(url) {
  const r = await fetch(url, { cache: "no-store" });
  if (!r.ok) throw new Error(url + ": HTTP " + r.status);
  return r.json();
}

let store = null; // the history so far

async function refresh() {
  try {
    // One after the other: one HTTP connection per viewer.
    const st = await getJSON("/api/status");
    const h = await getJSON("/api/history" + (store ? "?from=" + store.next : ""));
    store = ingest(store, h);
    const hist = store;
    const byId = new Map(st.clients.map((c) => [c.id, c]));
    const gpuIdx = new Map(st.gpus.map((g, i) => [g.uuid, i]));
    const waiting = st.clients.reduce((n, c) => n + c.gpus.filter((g) => g.state === "waiting").length, 0);
    document.getElementById("summary").textContent =
      "scheduling " + (st.managed ? "on" : "OFF (clients run ungated)") + " · mode " + st.mode +
      " · " + st.gpus.length + " GPU" + (st.gpus.length === 1 ? "" : "s") +
      " · " + st.clients.length + " client" + (st.clients.length === 1 ? "" : "s") +
      " · " + waiting + " waiting";
    const now = Date.now();
    const up = document.getElementById("updated");
    up.textContent = "updated " + clock(now);
    up.setAttribute("data-updated", String(now));
    document.getElementById("gpus").replaceChildren(...st.gpus.map((g, i) => gpuCard(g, i, st, byId)));
    const rows = clientRows(st, hist, gpuIdx);
    document.querySelector("#clients tbody").replaceChildren(...rows);
    document.getElementById("no-clients").hidden = rows.length > 0;
    drawCharts(hist, gpuIdx);
    document.body.setAttribute("data-state", "ok");
  } catch (e) {
    document.body.setAttribute("data-state", "error");
    document.getElementById("summary").textContent = "cannot reach the scheduler: " + e.message +
      (store ? " (showing the last data)" : "");
  }
  setTimeout(refresh, REFRESH_MS);
}

refresh();
