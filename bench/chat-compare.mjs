#!/usr/bin/env node
// Side-by-side chat load generator: the same workload against ridewire (wrangler dev), the
// classic `ws` room hub (bench/peers/ws-hub.mjs), a Socket.IO hub (bench/peers/socketio-hub.mjs)
// the runtime's floor, a Durable Object room speaking the ws hub's protocol with nothing else
// in it (bench/floor/room-hub.mjs; targets do-room and do-room-workerd, same adapter as ws), or a
// partyserver room speaking the same protocol (bench/peers/partyserver/room.mjs; target partyserver).
//
//   node bench/chat-compare.mjs --target ws --url http://127.0.0.1:8901 --server-root <pid> \
//     --topologies 100x10,20x50,4x250 --rates 0.2,1,2 --json /tmp/ws.json
//
// Per topology (rooms x clients per room) it opens one WebSocket per client, then runs points:
// every client sends at a rate (Poisson arrivals) for a warm-up and a measured window; each
// message carries its point, sender, per-sender sequence number and send time, and every member
// of the room (the sender included) must receive it. Receivers record latency (hdr-histogram-js,
// microseconds), duplicates and per-sender order; what is still missing after the drain is loss.
// Server CPU and RSS come from /proc for the whole process tree under --server-root. The rate
// steps up until p99 > --p99-limit or delivery < --delivery-min, then a few probes narrow down
// the highest rate holding p99 <= --good-p99. Usually run by bench/run.mjs (`npm run bench`),
// which starts the servers pinned to one core and this generator on the other. See bench/README.md.
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import * as hdr from "hdr-histogram-js";
import WebSocket from "ws";
import {
  BenchError,
  CHAT_SERVERS,
  CLK_TCK,
  cpuTicks,
  describeProcesses,
  die,
  hostTicks,
  isLoopback,
  makeApi,
  now,
  numberOption,
  pool,
  processTree,
  rssBytes,
  runQueueWaitNs,
  sleep,
} from "./lib.mjs";

const HELP = `usage: node bench/chat-compare.mjs --target TARGET [options]

  --target TARGET        ${CHAT_SERVERS.join(" | ")}
  --url URL              server under test, loopback only (default http://127.0.0.1:8787)
  --server-root PID      measure CPU and RSS of this process and all its descendants
  --pid a,b              ... or of exactly these processes
  --topologies LIST      rooms x clients per room      (default 100x10,20x50,4x250)
  --rates LIST           msg/s per client, always tried (default 0.2,1,2)
  --fixed-deliveries N   also run the rate giving N deliveries/s (default 10000; 0: none)
  --step F               rate factor when stepping up or down (default 2)
  --max-up N             steps above the listed rates   (default 5)
  --max-down N           steps below them when the lowest fails (default 4)
  --refine N             probes between the best good point and the next one (default 2)
  --seconds S            measured window per point      (default 10)
  --warmup S             sending before the window      (default 3)
  --drain S              wait for stragglers after it   (default 3)
  --p99-limit MS         stop stepping above this p99   (default 100)
  --delivery-min R       ... or below this delivery ratio (default 0.999)
  --good-p99 MS          "holding p99 at or under"      (default 50)
  --gen-limit PCT        generator CPU above which a point is discarded (default 70)
  --abort-lag MS         end a point early when a message is this late (default 1000)
  --quiet-wait S         wait up to this long for the server to go idle between points (default 30)
  --sio-client KIND      raw (ws client speaking Engine.IO 4 / Socket.IO 5) | official (socket.io-client) (default raw)
  --read-marks           ridewire only: every client marks each message it receives read (a \`read\` frame), as the web
                         app does for the messages it shows; a client then sends more frames than the rate it is given
  --concurrency N        parallel HTTP calls and socket opens in setup (default 20)
  --json FILE            write every figure as JSON
  --help`;

const { values: opt } = parseArgs({
  options: {
    target: { type: "string" },
    url: { type: "string", default: "http://127.0.0.1:8787" },
    "server-root": { type: "string" },
    pid: { type: "string" },
    topologies: { type: "string", default: "100x10,20x50,4x250" },
    rates: { type: "string", default: "0.2,1,2" },
    "fixed-deliveries": { type: "string", default: "10000" },
    step: { type: "string", default: "2" },
    "max-up": { type: "string", default: "5" },
    "max-down": { type: "string", default: "4" },
    refine: { type: "string", default: "2" },
    seconds: { type: "string", default: "10" },
    warmup: { type: "string", default: "3" },
    drain: { type: "string", default: "3" },
    "p99-limit": { type: "string", default: "100" },
    "delivery-min": { type: "string", default: "0.999" },
    "good-p99": { type: "string", default: "50" },
    "gen-limit": { type: "string", default: "70" },
    "abort-lag": { type: "string", default: "1000" },
    "quiet-wait": { type: "string", default: "30" },
    "sio-client": { type: "string", default: "raw" },
    concurrency: { type: "string", default: "20" },
    "read-marks": { type: "boolean", default: false },
    json: { type: "string" },
    help: { type: "boolean", default: false },
  },
  strict: true,
});
if (opt.help) {
  console.log(HELP);
  process.exit(0);
}

const TARGET = opt.target;
if (!CHAT_SERVERS.includes(TARGET)) die(`--target must be one of ${CHAT_SERVERS.join(", ")}`);
if (!["raw", "official"].includes(opt["sio-client"])) die(`--sio-client must be raw or official`);
if (opt["read-marks"] && TARGET !== "ridewire")
  die("--read-marks is for --target ridewire only (no other server keeps read marks)");
const num = (name, range) => numberOption(opt, name, range);
const FIXED = num("fixed-deliveries", { min: 0, max: 1e7 });
const STEP = num("step", { min: 1.1, max: 10 });
const MAX_UP = num("max-up", { int: true, min: 0, max: 20 });
const MAX_DOWN = num("max-down", { int: true, min: 0, max: 20 });
const REFINE = num("refine", { int: true, min: 0, max: 10 });
const SECONDS = num("seconds", { min: 1, max: 600 });
const WARMUP = num("warmup", { min: 0, max: 120 });
const DRAIN = num("drain", { min: 0.5, max: 120 });
const P99_LIMIT = num("p99-limit", { min: 1, max: 60_000 });
const DELIVERY_MIN = num("delivery-min", { min: 0, max: 1 });
const GOOD_P99 = num("good-p99", { min: 1, max: 60_000 });
const GEN_LIMIT = num("gen-limit", { min: 1, max: 100 });
const ABORT_LAG = num("abort-lag", { min: 50, max: 600_000 });
const QUIET_WAIT = num("quiet-wait", { min: 0, max: 600 });
const CONCURRENCY = num("concurrency", { int: true, min: 1, max: 1000 });
const TOPOLOGIES = opt.topologies.split(",").map((t) => {
  const m = /^(\d+)x(\d+)$/.exec(t.trim());
  if (!m) die(`--topologies: "${t}" is not ROOMSxCLIENTS`);
  return { rooms: Number(m[1]), clients: Number(m[2]) };
});
const BASE_RATES = opt.rates.split(",").map(Number);
if (BASE_RATES.some((r) => !(r > 0))) die(`--rates must be positive numbers`);

const BASE = new URL(opt.url);
if (!isLoopback(BASE.hostname)) die(`refusing to target ${BASE.hostname}: only loopback addresses`);
const WS_BASE = `ws://${BASE.host}`;
const api = makeApi(BASE);
const runId = `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;

// ---- server processes -------------------------------------------------------------------------

const ROOT = opt["server-root"] ? Number(opt["server-root"]) : null;
const FIXED_PIDS = opt.pid ? opt.pid.split(",").map(Number) : null;
const serverPids = () => (FIXED_PIDS ? FIXED_PIDS : ROOT ? processTree(ROOT) : []);
if (!FIXED_PIDS && !ROOT)
  console.warn("chat-compare: WARNING no --server-root or --pid: server CPU and memory not measured");

function snapshot() {
  const pids = serverPids();
  return {
    t: now(),
    pids,
    server: cpuTicks(pids),
    rq: runQueueWaitNs(pids),
    host: hostTicks(),
    gen: process.cpuUsage(),
  };
}
/** CPU between two snapshots; only pids alive at both ends count. */
function cpuBetween(a, b) {
  const alive = a.pids.filter((p) => p in a.server.perPid && p in b.server.perPid);
  const perPid = Object.fromEntries(alive.map((p) => [p, (b.server.perPid[p] - a.server.perPid[p]) / CLK_TCK]));
  const serverS = Object.values(perPid).reduce((x, y) => x + y, 0);
  const genS = (b.gen.user + b.gen.system - a.gen.user - a.gen.system) / 1e6;
  const hostS = a.host && b.host ? (b.host.busy - a.host.busy) / CLK_TCK : null;
  const seconds = (b.t - a.t) / 1000;
  return {
    seconds,
    serverS,
    perPid,
    genS,
    hostS,
    otherS: hostS === null ? null : Math.max(0, hostS - serverS - genS),
    runQueueS: (b.rq - a.rq) / 1e9,
    changed: a.pids.join(",") !== b.pids.join(","),
  };
}

/** Waits until the server tree used under 10% of a core over 500 ms, or `maxS` passed; returns the seconds waited. */
async function waitQuiet(maxS) {
  const t0 = now();
  let prev = snapshot();
  while ((now() - t0) / 1000 < maxS) {
    await sleep(500);
    const cur = snapshot();
    const c = cpuBetween(prev, cur);
    prev = cur;
    if (c.serverS / c.seconds < 0.1) break;
  }
  return (now() - t0) / 1000;
}

// ---- state ------------------------------------------------------------------------------------

const newHist = () =>
  hdr.build({
    bitBucketSize: 32,
    autoResize: true,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
const errorsByCode = new Map();
const countError = (code) => errorsByCode.set(code, (errorsByCode.get(code) ?? 0) + 1);

let clients = []; // of the current topology
let clientsPerRoom = 0;
let phase = "idle"; // idle | warmup | measure | drain
let pointSeq = 0;
/** The point being run: its counters and histograms. */
let cur = null;
/** Messages of the current point not yet delivered to every member: `${sender}:${q}` -> entry. */
const inflight = new Map();
let closing = false;

function newPoint(rate) {
  return {
    id: ++pointSeq,
    rate,
    sent: 0,
    sentWarmup: 0,
    refused: 0,
    delivered: 0,
    deliveredWarmup: 0,
    duplicates: 0,
    outOfOrder: 0,
    late: 0,
    acked: 0,
    lat: newHist(),
    ack: newHist(),
    unexpectedCloses: 0,
    aborted: null,
  };
}

// ---- receiving (shared by the adapters) ----------------------------------------------------------

function onDelivery(c, text, t) {
  if (typeof text !== "string") return countError("foreign_message");
  const parts = text.split(":");
  if (parts.length !== 5) return countError("foreign_message");
  const p = Number(parts[0]);
  const s = Number(parts[1]);
  const q = Number(parts[2]);
  const ts = Number(parts[3]);
  const measured = parts[4] === "1";
  // Order and duplicates per (receiver, sender), over every message the receiver gets.
  let st = c.recv.get(s);
  if (!st) {
    st = { last: 0, gaps: null };
    c.recv.set(s, st);
  }
  let duplicate = false;
  let reordered = false;
  if (q > st.last) {
    if (q > st.last + 1) {
      st.gaps ??= new Set();
      for (let x = st.last + 1; x < q; x++) st.gaps.add(x);
    }
    st.last = q;
  } else if (st.gaps?.delete(q)) reordered = true;
  else duplicate = true;
  if (!cur || p !== cur.id) {
    if (cur) cur.late++;
    return;
  }
  if (duplicate) {
    if (measured) cur.duplicates++;
    return;
  }
  if (reordered && measured) cur.outOfOrder++;
  const key = `${s}:${q}`;
  const e = inflight.get(key);
  if (e && --e.left === 0 && (e.acked || !e.wantsAck)) inflight.delete(key);
  if (!measured) {
    cur.deliveredWarmup++;
    return;
  }
  cur.delivered++;
  cur.lat.recordValue(Math.max(1, Math.round((t - ts) * 1000)));
}

function onAck(id, t) {
  const key = id.replace(".", ":");
  const e = inflight.get(key);
  if (!e || e.acked) return;
  e.acked = true;
  if (e.measured && cur) {
    cur.acked++;
    cur.ack.recordValue(Math.max(1, Math.round((t - e.t) * 1000)));
  }
  if (e.left === 0) inflight.delete(key);
}

function onRefused(id, code) {
  countError(code ?? "error");
  if (id === undefined) return;
  const key = String(id).replace(".", ":");
  const e = inflight.get(key);
  if (!e) return;
  inflight.delete(key);
  if (e.measured && cur) cur.refused++;
}

function onUnexpectedClose(code) {
  if (closing) return;
  countError(`close_${code}`);
  if (cur) cur.unexpectedCloses++;
}

const parseJson = (text) => {
  try {
    return JSON.parse(text);
  } catch {
    countError("bad_server_frame");
    return null;
  }
};

// ---- adapters -----------------------------------------------------------------------------------

/** Opens a ws socket and resolves when `ready` says so; `onMessage(text, t)` gets every frame. */
function openSocket(c, url, options, handle) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 15_000, ...options });
    c.ws = ws;
    let ready = false;
    const timer = setTimeout(() => {
      if (ready) return;
      ws.terminate();
      reject(new BenchError(`client ${c.idx}: not ready within 15 s`));
    }, 15_000);
    const markReady = () => {
      if (ready) return;
      ready = true;
      clearTimeout(timer);
      resolve();
    };
    ws.on("unexpected-response", (_req, res) => {
      clearTimeout(timer);
      reject(new BenchError(`client ${c.idx}: upgrade refused ${res.statusCode}`));
    });
    ws.on("error", (err) => {
      if (!ready) {
        clearTimeout(timer);
        reject(new BenchError(`client ${c.idx}: ${err.message}`));
      } else countError("socket_error");
    });
    ws.on("close", (code) => onUnexpectedClose(code));
    ws.on("message", (data, isBinary) => {
      if (isBinary) return countError("binary_frame");
      handle(data.toString(), now(), markReady);
    });
  });
}

const adapters = {
  ridewire: {
    users: [],
    async prepare(n) {
      await api("GET", "/health");
      const password = `bench-${randomBytes(9).toString("base64url")}`;
      const need = Array.from({ length: Math.max(0, n - this.users.length) }, (_, i) => this.users.length + i);
      const made = await pool(need, CONCURRENCY, async (i) => {
        const res = await api("POST", "/v1/auth/register", {
          email: `cmp-${runId}-${i}@bench.example.com`,
          password,
          name: `cmp ${i}`,
          role: "rider",
        });
        return { userId: res.user.id, token: res.token };
      });
      this.users.push(...made);
    },
    async rooms(topo, label) {
      const ids = await pool([...Array(topo.rooms).keys()], CONCURRENCY, async (r) => {
        const creator = this.users[r * topo.clients];
        return (await api("POST", "/v1/rooms", { name: `cmp ${runId} ${label} ${r}` }, creator.token)).room.id;
      });
      for (const c of clients) Object.assign(c, this.users[c.idx], { roomId: ids[c.room] });
      await pool(
        clients.filter((c) => c.idx % topo.clients !== 0),
        CONCURRENCY,
        (c) => api("POST", `/v1/rooms/${encodeURIComponent(c.roomId)}/join`, undefined, c.token),
      );
    },
    connect(c) {
      const url = `${WS_BASE}/v1/rooms/${encodeURIComponent(c.roomId)}/ws?access_token=${encodeURIComponent(c.token)}`;
      return openSocket(c, url, {}, (text, t, ready) => {
        const f = parseJson(text);
        if (!f) return;
        switch (f.type) {
          case "message":
            onDelivery(c, f.message?.text, t);
            if (opt["read-marks"] && typeof f.seq === "number") c.ws.send(JSON.stringify({ type: "read", seq: f.seq }));
            return;
          case "ack":
            return onAck(f.id, t);
          case "error":
            return onRefused(f.id, f.code);
          case "welcome":
            return ready();
          default:
            return; // presence, typing, read, pong, synced
        }
      });
    },
    send(c, id, text) {
      c.ws.send(JSON.stringify({ type: "message", id, text }));
    },
    wantsAck: true,
  },
  ws: {
    async prepare() {
      const res = await fetch(new URL("/health", BASE));
      if (!res.ok) throw new BenchError(`${TARGET} /health -> ${res.status}`);
    },
    async rooms(_topo, label) {
      for (const c of clients) Object.assign(c, { userId: `u${c.idx}`, roomId: `${label}-${c.room}` });
    },
    connect(c) {
      return openSocket(
        c,
        `${WS_BASE}/rooms/${encodeURIComponent(c.roomId)}?user=${c.userId}`,
        {},
        (text, t, ready) => {
          const f = parseJson(text);
          if (!f) return;
          if (f.type === "message") return onDelivery(c, f.text, t);
          if (f.type === "welcome") return ready();
        },
      );
    },
    send(c, id, text) {
      c.ws.send(JSON.stringify({ type: "message", id, text }));
    },
    wantsAck: false,
  },
  socketio: {
    async prepare() {
      const res = await fetch(new URL("/health", BASE));
      if (!res.ok) throw new BenchError(`socket.io hub /health -> ${res.status}`);
    },
    async rooms(_topo, label) {
      for (const c of clients) Object.assign(c, { userId: `u${c.idx}`, roomId: `${label}-${c.room}` });
    },
    async connect(c) {
      if (opt["sio-client"] === "official") return connectOfficialSocketIo(c);
      // Engine.IO 4 over a plain WebSocket: "0{open}" -> we send "40" (connect to "/") -> "40{sid}";
      // events are "42[name, payload]"; the server pings with "2" and wants "3" back.
      const url =
        `${WS_BASE}/socket.io/?EIO=4&transport=websocket&room=${encodeURIComponent(c.roomId)}&user=` + `${c.userId}`;
      return openSocket(c, url, {}, (text, t, ready) => {
        if (text.startsWith("42")) {
          const packet = parseJson(text.slice(2));
          if (!Array.isArray(packet)) return;
          if (packet[0] === "message") return onDelivery(c, packet[1]?.text, t);
          if (packet[0] === "welcome") return ready();
          return;
        }
        if (text === "2") return c.ws.send("3");
        if (text[0] === "0") return c.ws.send("40");
        if (text.startsWith("44")) countError("socketio_connect_error");
      });
    },
    send(c, id, text) {
      if (c.sio) return c.sio.emit("message", { id, text });
      c.ws.send(`42${JSON.stringify(["message", { id, text }])}`);
    },
    wantsAck: false,
  },
};
// The floor's Durable Object room and the partyserver room speak the ws hub's protocol.
adapters["do-room"] = adapters["do-room-workerd"] = adapters.partyserver = adapters.ws;
// The durable floor (bench/floor/room-hub-durable.mjs) speaks it too, and acknowledges each message.
adapters["do-room-durable"] = {
  ...adapters.ws,
  connect(c) {
    return openSocket(c, `${WS_BASE}/rooms/${encodeURIComponent(c.roomId)}?user=${c.userId}`, {}, (text, t, ready) => {
      const f = parseJson(text);
      if (!f) return;
      if (f.type === "message") return onDelivery(c, f.text, t);
      if (f.type === "ack") return onAck(f.id, t);
      if (f.type === "welcome") return ready();
    });
  },
  wantsAck: true,
};
const adapter = adapters[TARGET];

let ioClient = null;
async function connectOfficialSocketIo(c) {
  ioClient ??= (await import("socket.io-client")).io;
  return new Promise((resolve, reject) => {
    const s = ioClient(BASE.origin, {
      transports: ["websocket"],
      query: { room: c.roomId, user: c.userId },
      forceNew: true,
      reconnection: false,
      timeout: 15_000,
    });
    c.sio = s;
    // A stand-in with the ws fields the generator reads.
    c.ws = {
      get readyState() {
        return s.connected ? 1 : 3;
      },
      close: () => s.close(),
      terminate: () => s.close(),
      once: (_ev, fn) => s.once("disconnect", fn),
    };
    s.once("welcome", () => resolve());
    s.once("connect_error", (err) => reject(new BenchError(`client ${c.idx}: ${err.message}`)));
    s.on("message", (m) => onDelivery(c, m?.text, now()));
    s.on("disconnect", (reason) => onUnexpectedClose(reason));
  });
}

// ---- sending ----------------------------------------------------------------------------------

function sendOne(c) {
  if (c.ws.readyState !== 1) {
    countError("send_on_closed_socket");
    return;
  }
  const q = ++c.q;
  const t = now();
  const measured = phase === "measure";
  const text = `${cur.id}:${c.idx}:${q}:${t.toFixed(3)}:${measured ? 1 : 0}`;
  inflight.set(`${c.idx}:${q}`, { t, left: clientsPerRoom, measured, wantsAck: adapter.wantsAck, acked: false });
  if (measured) cur.sent++;
  else cur.sentWarmup++;
  adapter.send(c, `${c.idx}.${q}`, text);
}

function startSending(rate) {
  const mean = 1000 / rate;
  for (const c of clients) {
    const tick = () => {
      if (phase !== "warmup" && phase !== "measure") return;
      sendOne(c);
      c.timer = setTimeout(tick, -Math.log(1 - Math.random()) * mean);
    };
    // A Poisson process from its start: the first gap is exponential too (a uniform first
    // send would add one extra message per client within the first mean gap).
    c.timer = setTimeout(tick, -Math.log(1 - Math.random()) * mean);
  }
}
const stopSending = () => {
  for (const c of clients) clearTimeout(c.timer);
};

/** The age (ms) of the oldest message of this point still missing somewhere, or 0. */
function oldestLagMs() {
  for (const e of inflight.values()) if (e.left > 0) return now() - e.t;
  return 0;
}

/** Waits `ms`, ending early (with a reason) when a message is ABORT_LAG late. */
async function waitOrAbort(ms) {
  const until = now() + ms;
  while (now() < until) {
    await sleep(Math.min(250, until - now()));
    const lag = oldestLagMs();
    if (lag > ABORT_LAG)
      return `a message still undelivered after ${Math.round(lag)} ms (server behind; stopped early)`;
  }
  return null;
}

// ---- one point ----------------------------------------------------------------------------------

const r3 = (x) => (x === null || x === undefined ? null : Math.round(x * 1000) / 1000);
const r1 = (x) => (x === null || x === undefined ? null : Math.round(x * 10) / 10);

function histSummaryMs(h) {
  if (h.totalCount === 0) return { count: 0, p50: null, p90: null, p99: null, p999: null, max: null, mean: null };
  const ms = (us) => r3(us / 1000);
  return {
    count: h.totalCount,
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
    mean: ms(h.mean),
  };
}

async function runPoint(topo, rate, why) {
  const quietS = await waitQuiet(QUIET_WAIT);
  inflight.clear();
  cur = newPoint(rate);
  const sockets = topo.rooms * topo.clients;
  const targetMsgs = sockets * rate;
  console.log(
    `chat-compare: ${TARGET} ${topo.rooms}x${topo.clients} @ ${rate} msg/s/client (${fmtN(targetMsgs)} msg/s ` +
      `-> ${fmtN(targetMsgs * topo.clients)} deliveries/s) [${why}]`,
  );
  phase = "warmup";
  startSending(rate);
  let aborted = await waitOrAbort(WARMUP * 1000);
  const a = snapshot();
  const load0 = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number);
  let sendEnd = a.t;
  if (!aborted) {
    phase = "measure";
    aborted = await waitOrAbort(SECONDS * 1000);
    sendEnd = now();
  }
  phase = "drain";
  stopSending();
  const drainUntil = now() + DRAIN * 1000;
  const measuredOutstanding = () => {
    for (const e of inflight.values()) if (e.measured && (e.left > 0 || (e.wantsAck && !e.acked))) return true;
    return false;
  };
  while (now() < drainUntil && measuredOutstanding()) await sleep(10);
  const b = snapshot();
  const c = cpuBetween(a, b);
  phase = "idle";
  // Stragglers of this point still count against loss until the rest of the drain.
  while (now() < drainUntil && measuredOutstanding()) await sleep(10);
  let lost = 0;
  let missingAcks = 0;
  for (const e of inflight.values()) {
    if (!e.measured) continue;
    lost += e.left;
    if (e.wantsAck && !e.acked) missingAcks++;
  }
  const p = cur;
  const expected = (p.sent - p.refused) * topo.clients;
  const lat = histSummaryMs(p.lat);
  const sendWindowS = (sendEnd - a.t) / 1000;
  const genPct = (c.genS / c.seconds) * 100;
  const serverPct = (c.serverS / c.seconds) * 100;
  const deliveryRatio = p.sent > 0 ? p.delivered / (p.sent * topo.clients) : null;
  const point = {
    id: p.id,
    why,
    ratePerClient: rate,
    targetMsgsPerS: r1(targetMsgs),
    targetDeliveriesPerS: r1(targetMsgs * topo.clients),
    sendWindowS: r3(sendWindowS),
    cpuWindowS: r3(c.seconds),
    sent: p.sent,
    sentPerS: sendWindowS > 0 ? r1(p.sent / sendWindowS) : null,
    refused: p.refused,
    expected,
    delivered: p.delivered,
    deliveredPerS: sendWindowS > 0 ? r1(p.delivered / sendWindowS) : null,
    lost: Math.max(lost, expected - p.delivered),
    deliveryRatio: deliveryRatio === null ? null : Math.round(deliveryRatio * 1e6) / 1e6,
    duplicates: p.duplicates,
    outOfOrder: p.outOfOrder,
    lateFromEarlierPoint: p.late,
    latencyMs: lat,
    ...(adapter.wantsAck ? { acked: p.acked, missingAcks, ackLatencyMs: histSummaryMs(p.ack) } : {}),
    unexpectedCloses: p.unexpectedCloses,
    server: {
      pids: c.changed ? { before: a.pids, after: b.pids } : a.pids,
      cpuS: r3(c.serverS),
      cpuPctOfCore: r1(serverPct),
      cpuPerPidS: Object.fromEntries(Object.entries(c.perPid).map(([k, v]) => [k, r3(v)])),
      cpuSPer100kDeliveries: p.delivered > 0 ? r3((c.serverS / p.delivered) * 100_000) : null,
      deliveriesPerCpuS: c.serverS > 0 ? Math.round(p.delivered / c.serverS) : null,
      runQueueWaitS: r3(c.runQueueS),
      rssBytes: rssBytes(b.pids),
      processesChanged: c.changed,
    },
    generator: { cpuS: r3(c.genS), cpuPctOfCore: r1(genPct) },
    host: {
      busyCpuS: r3(c.hostS),
      otherProcessesCpuS: r3(c.otherS),
      otherPctOfCore: c.otherS === null ? null : r1((c.otherS / c.seconds) * 100),
      loadavgAtStart: load0,
    },
    quietWaitBeforeS: r1(quietS),
    aborted,
  };
  // A point stopped during its warm-up has no measured window: it failed, whatever the generator did.
  point.discarded = !aborted && genPct > GEN_LIMIT;
  point.failed =
    Boolean(aborted) || p.sent === 0 || lat.p99 === null || lat.p99 > P99_LIMIT || deliveryRatio < DELIVERY_MIN;
  point.good = !point.discarded && !point.failed && lat.p99 <= GOOD_P99;
  point.verdict = point.discarded
    ? "discarded (generator-bound)"
    : point.failed
      ? "fail"
      : point.good
        ? "good"
        : "pass";
  console.log(
    `chat-compare:   -> ${point.verdict}: delivered ${fmtN(p.delivered)} (${fmtN(point.deliveredPerS)}/s) of ` +
      `${fmtN(expected)}, lost ${point.lost}, dup ${p.duplicates}, ooo ${p.outOfOrder}; ` +
      `p50 ${lat.p50} p99 ${lat.p99} max ${lat.max} ms; server ${point.server.cpuPctOfCore}% ` +
      `(${point.server.cpuSPer100kDeliveries} CPU-s/100k), generator ${point.generator.cpuPctOfCore}%, ` +
      `other ${point.host.otherPctOfCore}%${aborted ? `; ${aborted}` : ""}`,
  );
  cur = null;
  inflight.clear();
  return point;
}

const fmtN = (x) => (x === null || x === undefined ? "-" : Math.round(x).toLocaleString("en-US"));
const roundRate = (r) => Number(r.toPrecision(3));

// ---- one topology -------------------------------------------------------------------------------

async function runTopology(topo, index) {
  const label = `t${index}-${runId}`;
  const sockets = topo.rooms * topo.clients;
  clientsPerRoom = topo.clients;
  clients = Array.from({ length: sockets }, (_, k) => ({
    idx: k,
    room: Math.floor(k / topo.clients),
    q: 0,
    recv: new Map(),
    ws: null,
    timer: null,
  }));
  closing = false;
  const t0 = now();
  await adapter.prepare(sockets);
  const tPrepared = now();
  await adapter.rooms(topo, label);
  const tRooms = now();
  await waitQuiet(QUIET_WAIT);
  const rssBefore = rssBytes(serverPids());
  await pool(clients, CONCURRENCY, (c) => adapter.connect(c));
  const tConnected = now();
  await sleep(1000);
  await waitQuiet(QUIET_WAIT);
  const rssAfter = rssBytes(serverPids());
  const setup = {
    prepareS: r1((tPrepared - t0) / 1000),
    roomsS: r1((tRooms - tPrepared) / 1000),
    connectS: r1((tConnected - tRooms) / 1000),
  };
  const memory = {
    rssBeforeConnectBytes: rssBefore,
    rssConnectedBytes: rssAfter,
    perConnectionBytes: Math.round((rssAfter - rssBefore) / sockets),
  };
  console.log(
    `chat-compare: ${TARGET} ${topo.rooms}x${topo.clients}: ${sockets} sockets ready (setup ${setup.prepareS}` +
      `+${setup.roomsS}+${setup.connectS} s); RSS ${(rssBefore / 1048576).toFixed(1)} -> ` +
      `${(rssAfter / 1048576).toFixed(1)} MiB = ${(memory.perConnectionBytes / 1024).toFixed(1)} KiB per connection`,
  );

  const points = [];
  const run = async (rate, why) => {
    const p = await runPoint(topo, roundRate(rate), why);
    points.push(p);
    return p;
  };
  const fixedRate = FIXED > 0 ? roundRate(FIXED / (sockets * topo.clients)) : null;
  const ladder = [...new Set([...BASE_RATES, ...(fixedRate ? [fixedRate] : [])])].sort((a, b) => a - b);
  const skipped = [];
  // Up the listed rates, then beyond them, until a point fails or is generator-bound.
  let stopped = false;
  for (const rate of ladder) {
    if (stopped) {
      skipped.push({ ratePerClient: rate, reason: "not run: a lower rate already failed or was generator-bound" });
      continue;
    }
    const p = await run(rate, rate === fixedRate ? `fixed ${fmtN(FIXED)} deliveries/s` : "listed rate");
    if (p.failed || p.discarded) stopped = true;
  }
  let rate = ladder.at(-1);
  for (let i = 0; !stopped && i < MAX_UP; i++) {
    rate *= STEP;
    const p = await run(rate, "step up");
    if (p.failed || p.discarded) stopped = true;
  }
  // No point held p99 <= --good-p99 (the lowest failed, or only passed): step down until one does.
  const lowest = points.find((p) => p.ratePerClient === ladder[0]);
  if (lowest && !lowest.discarded && !points.some((p) => p.good)) {
    let r = ladder[0];
    for (let i = 0; i < MAX_DOWN; i++) {
      r /= STEP;
      const p = await run(r, "step down");
      if (p.good) break;
    }
  }
  // Narrow down the highest good rate: probes between it and the next point that was not good.
  for (let i = 0; i < REFINE; i++) {
    const sorted = [...points].sort((a, b) => a.ratePerClient - b.ratePerClient);
    const good = sorted.filter((p) => p.good);
    const lo = good.at(-1);
    if (!lo) break;
    const hi = sorted.find((p) => p.ratePerClient > lo.ratePerClient && !p.good);
    if (!hi || hi.ratePerClient / lo.ratePerClient < 1.3) break;
    await run(Math.sqrt(lo.ratePerClient * hi.ratePerClient), "refine");
  }

  closing = true;
  stopSending();
  await closeAll();
  points.sort((a, b) => a.ratePerClient - b.ratePerClient);
  const good = points.filter((p) => p.good);
  const best = good.sort((a, b) => b.deliveredPerS - a.deliveredPerS)[0] ?? null;
  const fixed = points.find((p) => p.ratePerClient === fixedRate) ?? null;
  const above = best ? points.filter((p) => p.ratePerClient > best.ratePerClient) : points;
  return {
    rooms: topo.rooms,
    clientsPerRoom: topo.clients,
    sockets,
    setup,
    memory,
    fixedRatePerClient: fixedRate,
    points,
    skipped,
    summary: {
      bestGood: best
        ? {
            ratePerClient: best.ratePerClient,
            deliveredPerS: best.deliveredPerS,
            p50: best.latencyMs.p50,
            p99: best.latencyMs.p99,
          }
        : null,
      // Why not higher: the next point up failed, or only generator-bound points were above.
      limitedBy: !best
        ? "no point held"
        : above.length === 0
          ? "highest point run"
          : above.every((p) => p.discarded)
            ? "generator"
            : "server",
      atFixed: fixed
        ? {
            ratePerClient: fixed.ratePerClient,
            deliveredPerS: fixed.deliveredPerS,
            p50: fixed.latencyMs.p50,
            p99: fixed.latencyMs.p99,
            verdict: fixed.verdict,
            cpuSPer100k: fixed.server.cpuSPer100kDeliveries,
            aborted: fixed.aborted,
          }
        : null,
      perConnectionBytes: memory.perConnectionBytes,
    },
  };
}

async function closeAll() {
  await Promise.all(
    clients.map(
      (c) =>
        new Promise((resolve) => {
          const ws = c.ws;
          if (!ws || ws.readyState === 3) return resolve();
          const t = setTimeout(() => {
            ws.terminate();
            resolve();
          }, 3000);
          ws.once("close", () => {
            clearTimeout(t);
            resolve();
          });
          try {
            ws.close(1000, "bench done");
          } catch {
            ws.terminate();
          }
        }),
    ),
  );
}

// ---- main ---------------------------------------------------------------------------------------

async function main() {
  const started = new Date().toISOString();
  const server = { root: ROOT, processesAtStart: describeProcesses(serverPids()) };
  console.log(
    `chat-compare: target ${TARGET} at ${BASE.origin}; server pids ${serverPids().join(",") || "-"}; run ${runId}`,
  );
  const topologies = [];
  for (const [i, topo] of TOPOLOGIES.entries()) {
    try {
      topologies.push(await runTopology(topo, i));
    } catch (err) {
      // One topology failing (say, sockets not welcomed in time) does not lose the others.
      console.error(`chat-compare: ${topo.rooms}x${topo.clients} failed: ${err.message}`);
      phase = "idle";
      cur = null;
      closing = true;
      stopSending();
      await closeAll();
      topologies.push({
        rooms: topo.rooms,
        clientsPerRoom: topo.clients,
        sockets: topo.rooms * topo.clients,
        error: err.message,
        points: [],
        skipped: [],
        memory: {},
        setup: {},
        summary: {},
      });
    }
  }
  const result = {
    target: TARGET,
    url: BASE.origin,
    started,
    finished: new Date().toISOString(),
    runId,
    config: {
      topologies: TOPOLOGIES,
      rates: BASE_RATES,
      fixedDeliveriesPerS: FIXED,
      step: STEP,
      maxUp: MAX_UP,
      maxDown: MAX_DOWN,
      refine: REFINE,
      warmupS: WARMUP,
      seconds: SECONDS,
      drainS: DRAIN,
      p99LimitMs: P99_LIMIT,
      deliveryMin: DELIVERY_MIN,
      goodP99Ms: GOOD_P99,
      generatorLimitPct: GEN_LIMIT,
      abortLagMs: ABORT_LAG,
      arrival: "poisson",
      socketIoClient: TARGET === "socketio" ? opt["sio-client"] : undefined,
    },
    server,
    topologies,
    errorsByCode: Object.fromEntries(errorsByCode),
  };
  if (opt.json) writeFileSync(opt.json, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`chat-compare: done${opt.json ? `, wrote ${opt.json}` : ""}`);
  process.exit(0);
}

main().catch(async (err) => {
  console.error(`chat-compare: ${err instanceof BenchError ? err.message : (err?.stack ?? err)}`);
  closing = true;
  stopSending();
  for (const c of clients) c.ws?.terminate?.();
  process.exit(1);
});
