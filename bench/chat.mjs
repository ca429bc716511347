#!/usr/bin/env node
// Chat load benchmark for a RUNNING ridewire server (wrangler dev on loopback).
//
//   npm run bench:chat -- --url http://127.0.0.1:8787 --rooms 10 --clients 20 --rate 1 --seconds 30
//
// Registers rooms x clients users, creates the rooms, joins the members, opens one WebSocket
// per client, then every client sends `message` frames at --rate per second (Poisson arrivals
// by default). Every receiver checks per-sender order, duplicates and losses and records
// end-to-end latency; senders record ack latency. Server CPU is read from /proc/<pid>/stat
// of the wrangler dev's workerd processes. See bench/README.md.
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import {
  BenchError,
  die,
  numberOption,
  CLK_TCK,
  cpuCount,
  cpuTicks,
  findServerProcesses,
  Histogram,
  hostTicks,
  isLoopback,
  makeApi,
  now,
  pool,
  runQueueWaitNs,
  sleep,
} from "./lib.mjs";

// ---- options ------------------------------------------------------------------------------

const HELP = `usage: npm run bench:chat -- [options]

  --url URL          server under test, loopback only   (default http://127.0.0.1:8787)
  --rooms N          chat rooms                         (default 10)
  --clients N        clients (users, one socket each) per room (default 20)
  --rate R           messages per second per client     (default 1)
  --seconds S        measured window                    (default 30)
  --warmup S         sending before the measured window (default 5)
  --drain S          wait after the last send for deliveries and acks (default 2)
  --arrival KIND     poisson | uniform (even spacing +-50% jitter) (default poisson)
  --pad N            extra characters of filler per message text (default 0)
  --concurrency N    parallel HTTP calls / socket opens during setup (default 20)
  --pid a,b          server pids to measure CPU of (default: the workerd processes of the
                     wrangler dev listening on --url's port; else every workerd)
  --json FILE        also write the raw figures as JSON
  --timeline         also print latency and CPU per interval of the measured window
  --help`;

const { values: opt } = parseArgs({
  options: {
    url: { type: "string", default: "http://127.0.0.1:8787" },
    rooms: { type: "string", default: "10" },
    clients: { type: "string", default: "20" },
    rate: { type: "string", default: "1" },
    seconds: { type: "string", default: "30" },
    warmup: { type: "string", default: "5" },
    drain: { type: "string", default: "2" },
    arrival: { type: "string", default: "poisson" },
    pad: { type: "string", default: "0" },
    concurrency: { type: "string", default: "20" },
    pid: { type: "string" },
    json: { type: "string" },
    timeline: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
  strict: true,
});
if (opt.help) {
  console.log(HELP);
  process.exit(0);
}

const num = (name, range) => numberOption(opt, name, range);
const ROOMS = num("rooms", { int: true, min: 1, max: 1000 });
const CLIENTS = num("clients", { int: true, min: 1, max: 1000 });
const RATE = num("rate", { min: 0.001, max: 1000 });
const SECONDS = num("seconds", { min: 0.1, max: 3600 });
const WARMUP = num("warmup", { min: 0, max: 600 });
const DRAIN = num("drain", { min: 0, max: 600 });
const PAD = num("pad", { int: true, min: 0, max: 3900 });
const CONCURRENCY = num("concurrency", { int: true, min: 1, max: 1000 });
if (!["poisson", "uniform"].includes(opt.arrival)) die(`--arrival must be poisson or uniform`);
if (ROOMS * CLIENTS > 20_000) die("more than 20,000 sockets is not supported");

const BASE = new URL(opt.url);
if (!["http:", "https:"].includes(BASE.protocol)) die(`--url must be http(s)://, got ${opt.url}`);
if (!isLoopback(BASE.hostname))
  die(`refusing to target ${BASE.hostname}: only loopback addresses (127.0.0.0/8, ::1, localhost)`);
const PORT = Number(BASE.port || (BASE.protocol === "https:" ? 443 : 80));
const WS_BASE = `${BASE.protocol === "https:" ? "wss:" : "ws:"}//${BASE.host}`;

const api = makeApi(BASE);

const runId = `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
const errorsByCode = new Map(); // code -> count
const countError = (code, n = 1) => errorsByCode.set(code, (errorsByCode.get(code) ?? 0) + n);

const latency = new Histogram(); // end-to-end, measured messages only
/** An interval is "quiet" when processes other than server and generator used less than this % of a core. */
const QUIET_OTHER_PCT = 25;
const latencyByRoom = Array.from({ length: ROOMS }, () => new Histogram());
/** Per-interval latency of measured deliveries, by receive time since the window opened. */
const timeline = { startAt: null, stepS: 1, buckets: [] };
function timelineRecord(t, ms) {
  if (timeline.startAt === null) return;
  const i = Math.max(0, Math.floor((t - timeline.startAt) / 1000 / timeline.stepS));
  timeline.buckets[i] ??= new Histogram();
  timeline.buckets[i].recordMs(ms);
}
const ackLatency = new Histogram(); // measured messages only
const stats = {
  sent: 0, // measured-window frames sent
  sentWarmup: 0,
  refused: 0, // measured messages answered with an error frame
  acked: 0,
  duplicateAcks: 0,
  unknownAcks: 0,
  ackAfterError: 0,
  delivered: 0, // unique measured deliveries
  deliveredWarmup: 0,
  duplicates: 0,
  outOfOrder: 0,
  roomSeqRegressions: 0, // a receiver saw the room seq go backwards or repeat
  foreignMessages: 0, // message frames whose text is not ours
  deliveredRefused: 0, // deliveries of a message that was refused with an error
  unexpectedCloses: 0,
  sendFailures: 0,
  backpressureMaxBytes: 0,
};

/** clients[k]: { idx, room, userId, token, ws, seq, pending: Map(id -> {t, measured, seq}), ... } */
const clients = [];
let server_ = null; // the server processes, for the CPU sampler
let phase = "setup"; // setup | warmup | measure | drain | closing
let stopping = false;
/** Why the run stopped early (SIGINT, every socket closed), or null. */
let abortReason = null;
let abortWait = null;
function abortRun(reason) {
  if (abortReason !== null) return;
  abortReason = reason;
  console.error(`bench: stopping early: ${reason}`);
  abortWait?.();
}

// ---- setup ----------------------------------------------------------------------------------

async function setup() {
  const t0 = now();
  const total = ROOMS * CLIENTS;
  const password = `bench-${randomBytes(9).toString("base64url")}`;
  await api("GET", "/health").catch((err) => {
    throw new BenchError(`server not reachable at ${BASE.href}: ${err.message}`);
  });

  for (let k = 0; k < total; k++) {
    clients.push({
      idx: k,
      room: Math.floor(k / CLIENTS),
      seq: 0,
      pending: new Map(),
      lastFromSender: new Map(), // sender idx -> highest seq seen
      seenFromSender: new Map(), // sender idx -> Set of seqs seen
      lastRoomSeq: -1,
      ws: null,
      timer: null,
    });
  }

  await pool(clients, CONCURRENCY, async (c) => {
    const email = `bench-${runId}-${c.idx}@bench.example.com`;
    const res = await api("POST", "/v1/auth/register", { email, password, name: `bench ${c.idx}`, role: "rider" });
    c.userId = res.user.id;
    c.token = res.token;
  });
  const tRegistered = now();

  const rooms = new Array(ROOMS);
  await pool([...Array(ROOMS).keys()], CONCURRENCY, async (r) => {
    const creator = clients[r * CLIENTS];
    const res = await api("POST", "/v1/rooms", { name: `bench ${runId} ${r}` }, creator.token);
    rooms[r] = res.room.id;
  });
  for (const c of clients) c.roomId = rooms[c.room];
  await pool(
    clients.filter((c) => c.idx % CLIENTS !== 0),
    CONCURRENCY,
    (c) => api("POST", `/v1/rooms/${encodeURIComponent(c.roomId)}/join`, undefined, c.token),
  );
  const tJoined = now();

  await pool(clients, CONCURRENCY, (c) => connect(c));
  const tConnected = now();
  return {
    registerMs: tRegistered - t0,
    roomsAndJoinMs: tJoined - tRegistered,
    connectMs: tConnected - tJoined,
    totalMs: tConnected - t0,
    rooms,
  };
}

function connect(c) {
  return new Promise((resolve, reject) => {
    const url = `${WS_BASE}/v1/rooms/${encodeURIComponent(c.roomId)}/ws?access_token=${encodeURIComponent(c.token)}`;
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 15_000 });
    c.ws = ws;
    let welcomed = false;
    const timeout = setTimeout(() => {
      if (!welcomed) {
        ws.terminate();
        reject(new BenchError(`client ${c.idx}: no welcome within 15 s`));
      }
    }, 15_000);
    ws.on("unexpected-response", (_req, res) => {
      clearTimeout(timeout);
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () =>
        reject(new BenchError(`client ${c.idx}: upgrade refused ${res.statusCode}: ${body.slice(0, 200)}`)),
      );
    });
    ws.on("error", (err) => {
      if (!welcomed) {
        clearTimeout(timeout);
        reject(new BenchError(`client ${c.idx}: ${err.message}`));
      } else {
        countError("socket_error");
      }
    });
    ws.on("close", (code) => {
      if (!stopping) {
        stats.unexpectedCloses++;
        countError(`close_${code}`);
        if (welcomed && clients.every((x) => x.ws?.readyState === WebSocket.CLOSED))
          abortRun(`every socket closed (last close code ${code}); did wrangler reload?`);
      }
    });
    ws.on("message", (data, isBinary) => {
      if (isBinary) return countError("binary_frame");
      const frame = parseJson(data.toString());
      if (!frame) return countError("bad_server_frame");
      if (frame.type === "welcome") {
        if (!welcomed) {
          welcomed = true;
          clearTimeout(timeout);
          resolve();
        }
        return;
      }
      onFrame(c, frame);
    });
  });
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

// ---- receiving ------------------------------------------------------------------------------

function onFrame(c, frame) {
  const t = now();
  switch (frame.type) {
    case "message":
      return onMessage(c, frame, t);
    case "ack":
      return onAck(c, frame, t);
    case "error": {
      countError(frame.code ?? "error_without_code");
      const p = frame.id !== undefined ? c.pending.get(frame.id) : undefined;
      if (p && !p.settled) {
        p.settled = "error";
        p.errorCode = frame.code;
        if (p.measured) stats.refused++;
      }
      return;
    }
    default:
      return; // presence, typing, read, pong
  }
}

function onMessage(c, frame, t) {
  const seq = frame.seq;
  if (typeof seq === "number") {
    if (seq <= c.lastRoomSeq) stats.roomSeqRegressions++;
    else c.lastRoomSeq = seq;
  }
  const body = typeof frame.message?.text === "string" ? parseJson(frame.message.text) : null;
  if (!body || body.r !== runId || typeof body.s !== "number" || typeof body.q !== "number") {
    stats.foreignMessages++;
    return;
  }
  const sender = clients[body.s];
  if (!sender || sender.room !== c.room) {
    stats.foreignMessages++;
    return;
  }
  let seen = c.seenFromSender.get(body.s);
  if (!seen) {
    seen = new Set();
    c.seenFromSender.set(body.s, seen);
  }
  if (seen.has(body.q)) {
    stats.duplicates++;
    return;
  }
  seen.add(body.q);
  const last = c.lastFromSender.get(body.s) ?? 0;
  if (body.q < last) stats.outOfOrder++;
  else c.lastFromSender.set(body.s, body.q);

  const p = sender.pending.get(body.id);
  if (p?.settled === "error") stats.deliveredRefused++;
  if (body.w) {
    stats.deliveredWarmup++;
    return;
  }
  stats.delivered++;
  latency.recordMs(t - body.t);
  latencyByRoom[c.room].recordMs(t - body.t);
  timelineRecord(t, t - body.t);
}

function onAck(c, frame, t) {
  const p = c.pending.get(frame.id);
  if (!p) {
    stats.unknownAcks++;
    return;
  }
  if (p.settled === "ack") {
    stats.duplicateAcks++;
    return;
  }
  if (p.settled === "error") {
    stats.ackAfterError++;
    return;
  }
  p.settled = "ack";
  if (p.measured) {
    stats.acked++;
    ackLatency.recordMs(t - p.t);
  }
}

// ---- sending --------------------------------------------------------------------------------

const filler = PAD > 0 ? "x".repeat(PAD) : undefined;
const meanGapMs = 1000 / RATE;
function nextGap() {
  if (opt.arrival === "poisson") return -Math.log(1 - Math.random()) * meanGapMs;
  return meanGapMs * (0.5 + Math.random());
}

function sendOne(c) {
  if (c.ws.readyState !== WebSocket.OPEN) {
    stats.sendFailures++;
    return;
  }
  const measured = phase === "measure";
  const q = ++c.seq;
  const id = `${c.idx}.${q}`;
  const t = now();
  const body = { r: runId, s: c.idx, q, id, t: Math.round(t * 1000) / 1000 };
  if (!measured) body.w = 1;
  if (filler) body.pad = filler;
  c.pending.set(id, { t, measured, settled: null, seq: q });
  c.ws.send(JSON.stringify({ type: "message", id, text: JSON.stringify(body) }));
  if (measured) stats.sent++;
  else stats.sentWarmup++;
  if (c.ws.bufferedAmount > stats.backpressureMaxBytes) stats.backpressureMaxBytes = c.ws.bufferedAmount;
}

function startSending(c) {
  const tick = () => {
    if (phase !== "warmup" && phase !== "measure") return;
    sendOne(c);
    c.timer = setTimeout(tick, nextGap());
  };
  // Spread the first sends over one mean gap so clients do not fire in lockstep.
  c.timer = setTimeout(tick, Math.random() * meanGapMs);
}

function stopSending() {
  for (const c of clients) clearTimeout(c.timer);
}

// ---- run ------------------------------------------------------------------------------------

function expectedDeliveries() {
  // Every measured message the server did not refuse goes to every member's socket,
  // the sender's own included. All sockets are open before the first send.
  return (stats.sent - stats.refused) * CLIENTS;
}

function unsettledMeasured() {
  return stats.sent - stats.acked - stats.refused;
}

async function closeAll() {
  stopping = true;
  phase = "closing";
  await Promise.all(
    clients.map(
      (c) =>
        new Promise((resolve) => {
          const ws = c.ws;
          if (!ws || ws.readyState === WebSocket.CLOSED) return resolve();
          const t = setTimeout(() => {
            ws.terminate();
            resolve();
          }, 3_000);
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

async function main() {
  // A hard bound on the whole run, whatever happens.
  const setupBudgetS = 60 + (ROOMS * CLIENTS) / 5;
  const hardLimitMs = (setupBudgetS + WARMUP + SECONDS + DRAIN + 30) * 1000;
  const hardTimer = setTimeout(() => {
    console.error(`bench: hard time limit of ${Math.round(hardLimitMs / 1000)} s reached; exiting`);
    for (const c of clients) c.ws?.terminate();
    process.exit(3);
  }, hardLimitMs);
  hardTimer.unref();

  process.once("SIGINT", () => abortRun("interrupted"));
  const wait = (ms) =>
    abortReason !== null
      ? Promise.resolve()
      : new Promise((resolve) => {
          const t = setTimeout(resolve, ms);
          abortWait = () => {
            clearTimeout(t);
            resolve();
          };
        });

  const server = findServerProcesses(PORT, opt.pid, die);
  server_ = server;
  console.log(
    `bench: ${BASE.origin}  ${ROOMS} rooms x ${CLIENTS} clients  ${RATE}/s per client (${opt.arrival})  ` +
      `warmup ${WARMUP}s  measure ${SECONDS}s  drain ${DRAIN}s`,
  );
  console.log(`bench: server CPU from pids [${server.pids.join(", ")}] (${server.how})`);
  for (const w of server.warnings) console.warn(`bench: WARNING ${w}`);

  let setupTimes;
  try {
    setupTimes = await setup();
  } catch (err) {
    console.error(`bench: setup failed: ${err.message}`);
    await closeAll();
    process.exit(1);
  }
  console.log(
    `bench: setup ${fmtS(setupTimes.totalMs)} (register ${fmtS(setupTimes.registerMs)}, ` +
      `rooms+join ${fmtS(setupTimes.roomsAndJoinMs)}, ${clients.length} sockets welcomed ` +
      `${fmtS(setupTimes.connectMs)})`,
  );

  phase = "warmup";
  for (const c of clients) startSending(c);
  if (WARMUP > 0) await wait(WARMUP * 1000);

  // Measured window.
  phase = "measure";
  const cpu0 = cpuTicks(server.pids);
  const rq0 = runQueueWaitNs(server.pids);
  const host0 = hostTicks();
  const wr0 = server.wrangler ? cpuTicks([server.wrangler]) : null;
  const gen0 = process.cpuUsage();
  const t0 = now();
  timeline.startAt = t0;
  timeline.stepS = Math.max(1, Math.ceil(SECONDS / 300));
  // CPU samples per timeline step, to line latency spikes up with server and host load.
  const cpuSamples = [];
  let lastSample = { server: cpu0.total, host: host0, gen: gen0, rq: rq0 };
  const sampler = setInterval(() => {
    const server = cpuTicks(server_.pids).total;
    const host = hostTicks();
    const gen = process.cpuUsage();
    const rq = runQueueWaitNs(server_.pids);
    const stepTicks = timeline.stepS * CLK_TCK;
    cpuSamples.push({
      serverPct: r1(((server - lastSample.server) / stepTicks) * 100),
      hostBusyPct: host && lastSample.host ? r1(((host.busy - lastSample.host.busy) / stepTicks) * 100) : null,
      serverRunQueueMs: Math.round((rq - lastSample.rq) / 1e6),
      otherPct: null,
      generatorPct: r1(
        ((gen.user + gen.system - lastSample.gen.user - lastSample.gen.system) / 1e6 / timeline.stepS) * 100,
      ),
    });
    const sample = cpuSamples.at(-1);
    if (sample.hostBusyPct !== null)
      sample.otherPct = r1(Math.max(0, sample.hostBusyPct - sample.serverPct - sample.generatorPct));
    lastSample = { server, host, gen, rq };
  }, timeline.stepS * 1000);
  await wait(SECONDS * 1000);
  phase = "drain";
  stopSending();
  clearInterval(sampler);
  const tSendEnd = now();

  // Drain: until every measured message is delivered everywhere and settled, or the timeout.
  const drainUntil = tSendEnd + DRAIN * 1000;
  while (abortReason === null && now() < drainUntil) {
    if (stats.delivered >= expectedDeliveries() && unsettledMeasured() === 0) break;
    await sleep(10);
  }
  const tEnd = now();
  const cpu1 = cpuTicks(server.pids);
  const rq1 = runQueueWaitNs(server.pids);
  const host1 = hostTicks();
  const wr1 = server.wrangler ? cpuTicks([server.wrangler]) : null;
  const gen = process.cpuUsage(gen0);
  const serverAfter = opt.pid ? server : findServerProcesses(PORT, opt.pid, die);
  const serverChanged = serverAfter.pids.slice().sort().join(",") !== server.pids.slice().sort().join(",");
  const settleWaitMs = tEnd - tSendEnd;
  // Late arrivals after the CPU window still count for loss; give stragglers the rest of the drain.
  while (abortReason === null && now() < drainUntil && stats.delivered < expectedDeliveries()) await sleep(10);

  const expected = expectedDeliveries();
  const missingAcks = unsettledMeasured();
  await closeAll();

  const windowS = (tEnd - t0) / 1000;
  const sendWindowS = (tSendEnd - t0) / 1000;
  // Only pids alive at both ends count; a pid that exited (wrangler reload) makes the figure unreliable.
  const bothEnds = server.pids.filter((p) => p in cpu0.perPid && p in cpu1.perPid);
  const serverCpuS =
    server.pids.length > 0 ? bothEnds.reduce((a, p) => a + cpu1.perPid[p] - cpu0.perPid[p], 0) / CLK_TCK : null;
  const serverCpuReliable = server.pids.length > 0 && !serverChanged && cpu1.missing === 0;
  const wranglerCpuS = wr0 && wr1 ? (wr1.total - wr0.total) / CLK_TCK : null;
  const genCpuS = (gen.user + gen.system) / 1e6;
  const genCpuPct = (genCpuS / windowS) * 100;
  const loss = Math.max(0, expected - stats.delivered);
  const lat = latency.summary();
  const ack = ackLatency.summary();
  const errors = Object.fromEntries([...errorsByCode].sort((a, b) => b[1] - a[1]));
  const hostBusyS = host0 && host1 ? (host1.busy - host0.busy) / CLK_TCK : null;
  const cores = cpuCount();
  const otherCpuS =
    hostBusyS === null || serverCpuS === null
      ? null
      : Math.max(0, hostBusyS - serverCpuS - genCpuS - (wranglerCpuS ?? 0));
  // Latency over the seconds in which other processes left the host nearly alone.
  const quiet = new Histogram();
  let quietSeconds = 0;
  timeline.buckets.forEach((h, i) => {
    const other = cpuSamples[i]?.otherPct;
    if (h && other !== null && other !== undefined && other < QUIET_OTHER_PCT) {
      quiet.merge(h);
      quietSeconds++;
    }
  });
  const timelineRows = Array.from(timeline.buckets, (h, i) => ({
    atS: i * timeline.stepS,
    ...(h ? h.summary() : { count: 0 }),
    ...(cpuSamples[i] ?? {}),
  }));

  const result = {
    config: {
      url: BASE.origin,
      rooms: ROOMS,
      clientsPerRoom: CLIENTS,
      sockets: ROOMS * CLIENTS,
      ratePerClient: RATE,
      arrival: opt.arrival,
      warmupS: WARMUP,
      seconds: SECONDS,
      drainS: DRAIN,
      padChars: PAD,
      runId,
    },
    setupMs: {
      register: r1(setupTimes.registerMs),
      roomsAndJoin: r1(setupTimes.roomsAndJoinMs),
      connect: r1(setupTimes.connectMs),
    },
    targetMessagesPerS: ROOMS * CLIENTS * RATE,
    targetDeliveriesPerS: ROOMS * CLIENTS * RATE * CLIENTS,
    sendWindowS: r3(sendWindowS),
    cpuWindowS: r3(windowS),
    settleAfterLastSendMs: r1(settleWaitMs),
    sent: stats.sent,
    sentPerS: r1(stats.sent / sendWindowS),
    refused: stats.refused,
    acked: stats.acked,
    missingAcks,
    duplicateAcks: stats.duplicateAcks,
    unknownAcks: stats.unknownAcks,
    ackAfterError: stats.ackAfterError,
    expectedDeliveries: expected,
    delivered: stats.delivered,
    deliveredPerS: r1(stats.delivered / sendWindowS),
    loss,
    duplicates: stats.duplicates,
    outOfOrder: stats.outOfOrder,
    roomSeqRegressions: stats.roomSeqRegressions,
    deliveredRefused: stats.deliveredRefused,
    foreignMessages: stats.foreignMessages,
    warmup: { sent: stats.sentWarmup, delivered: stats.deliveredWarmup },
    latencyMs: lat,
    quietLatencyMs: {
      otherCpuBelowPct: QUIET_OTHER_PCT,
      intervals: quietSeconds,
      of: cpuSamples.length,
      stepS: timeline.stepS,
      ...quiet.summary(),
    },
    latencyByRoomMs: latencyByRoom.map((h) => h.summary()),
    ackLatencyMs: ack,
    errors,
    unexpectedCloses: stats.unexpectedCloses,
    sendFailures: stats.sendFailures,
    maxSocketBufferedBytes: stats.backpressureMaxBytes,
    server: {
      pids: server.pids,
      how: server.how,
      clkTck: CLK_TCK,
      cpuS: serverCpuS === null ? null : r3(serverCpuS),
      cpuReliable: serverCpuReliable,
      cpuPerPidS: Object.fromEntries(bothEnds.map((p) => [p, r3((cpu1.perPid[p] - cpu0.perPid[p]) / CLK_TCK)])),
      cpuPctOfOneCore: serverCpuS === null ? null : r1((serverCpuS / windowS) * 100),
      deliveriesPerCpuS: serverCpuS ? r1(stats.delivered / serverCpuS) : null,
      processesGone: cpu1.missing,
      wranglerNodePid: server.wrangler,
      wranglerNodeCpuS: wranglerCpuS === null ? null : r3(wranglerCpuS),
      runQueueWaitS: serverCpuReliable ? r3((rq1 - rq0) / 1e9) : null,
      processesChanged: serverChanged ? { before: server.pids, after: serverAfter.pids } : null,
    },
    host: {
      cores,
      busyCpuS: hostBusyS === null ? null : r3(hostBusyS),
      otherProcessesCpuS: otherCpuS === null ? null : r3(otherCpuS),
      loadavg: readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number),
    },
    timeline: { stepS: timeline.stepS, rows: timelineRows },
    generator: { cpuS: r3(genCpuS), cpuPctOfOneCore: r1(genCpuPct), generatorBound: genCpuPct > 70 },
    stoppedEarly: abortReason,
  };

  printSummary(result);
  if (opt.json) {
    writeFileSync(opt.json, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`bench: wrote ${opt.json}`);
  }
  clearTimeout(hardTimer);
  const ok =
    loss === 0 && stats.duplicates === 0 && stats.outOfOrder === 0 && missingAcks === 0 && abortReason === null;
  process.exitCode = ok ? 0 : 1;
}

// ---- output -----------------------------------------------------------------------------------

const r1 = (x) => Math.round(x * 10) / 10;
const r3 = (x) => Math.round(x * 1000) / 1000;
const fmtS = (ms) => `${(ms / 1000).toFixed(1)}s`;
const fmtMs = (x) =>
  x === null || x === undefined ? "-" : x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0);
const fmtInt = (x) => (x === null || x === undefined ? "-" : Math.round(x).toLocaleString("en-US"));

function printSummary(r) {
  const rows = [
    ["rooms x clients", `${r.config.rooms} x ${r.config.clientsPerRoom} = ${r.config.sockets} sockets`],
    [
      "target rate",
      `${r.config.ratePerClient} msg/s/client = ${fmtInt(r.targetMessagesPerS)} msg/s -> ` +
        `${fmtInt(r.targetDeliveriesPerS)} deliveries/s`,
    ],
    [
      "measured window",
      `${r.sendWindowS.toFixed(1)} s sending (+${fmtMs(r.settleAfterLastSendMs)} ms to settle), ` +
        `after ${r.config.warmupS} s warmup`,
    ],
    ["sent", `${fmtInt(r.sent)} (${fmtInt(r.sentPerS)}/s)  refused ${fmtInt(r.refused)}`],
    ["acks", `${fmtInt(r.acked)} acked, ${fmtInt(r.missingAcks)} missing, ${fmtInt(r.duplicateAcks)} duplicate`],
    ["expected deliveries", fmtInt(r.expectedDeliveries)],
    ["delivered", `${fmtInt(r.delivered)} (${fmtInt(r.deliveredPerS)}/s)`],
    ["loss", fmtInt(r.loss)],
    ["duplicates", fmtInt(r.duplicates)],
    ["out-of-order", `${fmtInt(r.outOfOrder)} per sender; room seq regressions ${fmtInt(r.roomSeqRegressions)}`],
    [
      "latency ms (e2e)",
      `p50 ${fmtMs(r.latencyMs.p50)}  p90 ${fmtMs(r.latencyMs.p90)}  p99 ${fmtMs(r.latencyMs.p99)}  max ` +
        `${fmtMs(r.latencyMs.max)}  (n=${fmtInt(r.latencyMs.count)})`,
    ],
    [
      "latency, quiet host",
      r.quietLatencyMs.count === 0
        ? `no interval with other processes under ${r.quietLatencyMs.otherCpuBelowPct}% of a core`
        : `p50 ${fmtMs(r.quietLatencyMs.p50)}  p90 ${fmtMs(r.quietLatencyMs.p90)}  p99 ` +
          `${fmtMs(r.quietLatencyMs.p99)}  max ${fmtMs(r.quietLatencyMs.max)}  (${r.quietLatencyMs.intervals} of ` +
          `${r.quietLatencyMs.of} intervals with other processes < ${r.quietLatencyMs.otherCpuBelowPct}% of a core)`,
    ],
    [
      "ack latency ms",
      `p50 ${fmtMs(r.ackLatencyMs.p50)}  p99 ${fmtMs(r.ackLatencyMs.p99)}  max ${fmtMs(r.ackLatencyMs.max)}`,
    ],
    [
      "errors by code",
      Object.keys(r.errors).length === 0
        ? "none"
        : Object.entries(r.errors)
            .map(([k, v]) => `${k}=${fmtInt(v)}`)
            .join(", "),
    ],
    [
      "server CPU",
      r.server.cpuS === null
        ? "not measured"
        : `${r.server.cpuS.toFixed(2)} s over ${r.cpuWindowS.toFixed(1)} s (${r.server.cpuPctOfOneCore}% of ` +
          `a core), workerd pids ${r.server.pids.join(",")}${
            r.server.cpuReliable ? "" : "  (UNRELIABLE: " + "a server process exited)"
          }`,
    ],
    ["deliveries / CPU-s", r.server.deliveriesPerCpuS === null ? "-" : fmtInt(r.server.deliveriesPerCpuS)],
    [
      "generator CPU",
      `${r.generator.cpuPctOfOneCore}% of one core${r.generator.generatorBound ? "  (GENERATOR-BOUND)" : ""}`,
    ],
  ];
  if (r.server.runQueueWaitS !== null)
    rows.push(["server run-queue wait", `${r.server.runQueueWaitS.toFixed(2)} s (runnable but waiting for a CPU)`]);
  if (r.host.busyCpuS !== null) {
    rows.push([
      "host",
      `${r.host.cores ?? "?"} cores, ${r.host.busyCpuS.toFixed(1)} CPU-s busy in window, of which other ` +
        `processes ${r.host.otherProcessesCpuS?.toFixed(1) ?? "?"} s; loadavg ${r.host.loadavg.join(" ")}`,
    ]);
  }
  const worst = r.timeline.rows.filter((x) => x.count > 0).sort((a, b) => b.p99 - a.p99)[0];
  if (worst)
    rows.push([
      "worst interval",
      `t=${worst.atS}s: p99 ${fmtMs(worst.p99)} ms, max ${fmtMs(worst.max)} ms (n=${fmtInt(worst.count)}); ` +
        `per-interval p99s in --json timeline`,
    ]);
  if (r.server.wranglerNodeCpuS !== null)
    rows.push([
      "wrangler node CPU",
      `${r.server.wranglerNodeCpuS.toFixed(2)} s (pid ${r.server.wranglerNodePid}, not included above)`,
    ]);
  if (r.unexpectedCloses || r.sendFailures)
    rows.push(["socket trouble", `${r.unexpectedCloses} unexpected closes, ${r.sendFailures} sends on closed sockets`]);
  if (r.deliveredRefused || r.foreignMessages || r.unknownAcks || r.ackAfterError) {
    rows.push([
      "oddities",
      `delivered-but-refused ${r.deliveredRefused}, foreign messages ${r.foreignMessages}, unknown acks ` +
        `${r.unknownAcks}, ack after error ${r.ackAfterError}`,
    ]);
  }
  if (opt.timeline) {
    console.log(`\n  t(s)  deliveries   p50 ms   p99 ms   max ms  server%  srv-runq-ms  host%  other%  gen%`);
    for (const x of r.timeline.rows) {
      const cells = [
        String(x.atS).padStart(6),
        fmtInt(x.count).padStart(11),
        fmtMs(x.p50).padStart(8),
        fmtMs(x.p99).padStart(8),
        fmtMs(x.max).padStart(8),
        String(x.serverPct ?? "-").padStart(8),
        String(x.serverRunQueueMs ?? "-").padStart(12),
        String(x.hostBusyPct ?? "-").padStart(6),
        String(x.otherPct ?? "-").padStart(7),
        String(x.generatorPct ?? "-").padStart(5),
      ];
      console.log(cells.join(" "));
    }
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  const line = "-".repeat(width + 3 + Math.max(...rows.map(([, v]) => v.length)));
  console.log(`\n${line}`);
  for (const [k, v] of rows) console.log(`${k.padEnd(width)} | ${v}`);
  console.log(line);
  const verdict = [];
  if (r.loss > 0) verdict.push(`LOSS ${r.loss}`);
  if (r.duplicates > 0) verdict.push(`DUPLICATES ${r.duplicates}`);
  if (r.outOfOrder > 0) verdict.push(`OUT-OF-ORDER ${r.outOfOrder}`);
  if (r.missingAcks > 0) verdict.push(`MISSING ACKS ${r.missingAcks}`);
  if (r.refused > 0) verdict.push(`REFUSED ${r.refused}`);
  if (r.stoppedEarly) verdict.push(`STOPPED EARLY (${r.stoppedEarly})`);
  console.log(
    verdict.length === 0
      ? "bench: OK - no loss, duplicates, reordering or missing acks"
      : `bench: PROBLEMS - ${verdict.join(", ")}`,
  );
  if (r.server.processesChanged) {
    console.warn(
      `bench: WARNING the server's workerd processes changed during the run ` +
        `(${r.server.processesChanged.before} -> ${r.server.processesChanged.after}): wrangler reloaded (a source ` +
        `edit?); CPU figures are unreliable`,
    );
  }
  if (
    r.host.cores &&
    r.host.otherProcessesCpuS !== null &&
    r.host.otherProcessesCpuS / r.cpuWindowS > 0.25 * r.host.cores
  ) {
    console.warn(
      `bench: WARNING other processes used ${((r.host.otherProcessesCpuS / r.cpuWindowS) * 100).toFixed(0)}% ` +
        `of a core during the window: latency figures include CPU contention`,
    );
  }
  if (r.generator.generatorBound) {
    console.warn(
      `bench: WARNING generator used ${r.generator.cpuPctOfOneCore}% of a core (> 70%): ` +
        `the figures are generator-bound`,
    );
  }
}

main().catch(async (err) => {
  console.error(`bench: ${err instanceof BenchError ? err.message : (err?.stack ?? err)}`);
  try {
    await closeAll();
  } catch {
    // ignore
  }
  process.exit(1);
});
