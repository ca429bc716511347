#!/usr/bin/env node
// What one trip must cost this runtime, and what it costs: issue 20's dispatch arithmetic.
//
//   npm run bench:trip-floor                       # 1,000 drivers, 10 requests/s (issue 20's point)
//   npm run bench:trip-floor -- --drivers 300 --rate 5 --json out.json
//
// Three measurements in one run, each server pinned to CPU 0 and the generator to CPU 1, state
// on tmpfs (--state-dir), wrangler's local observability off (as `npm run dev` runs):
//   1. Unit costs. bench/floor/event-costs/events.mjs, a Worker of ridewire's shape (static
//      assets in front, a SQLite-backed object class, D1, a queue) with none of ridewire's code,
//      makes one kind of event at a time: an HTTP request, a D1 round trip, an RPC call, an
//      object's first start, a queue message sent and consumed, an alarm, a socket opened and
//      closed, a frame in, a frame out. Server CPU per event, net of the idle server, median of
//      --rounds rounds.
//   2. Events per trip. ridewire served from bench/event-count/entry.mjs (its Worker with each
//      binding and entry point tallied) runs bench/dispatch.mjs twice on one city: --rate for
//      --seconds, then --base-rate for as long. The difference of the tallies over the
//      difference of completed trips is what a trip adds (the city's own fixes cancel out).
//   3. ridewire's CPU per trip. ridewire as `npm run dev` serves it runs bench/dispatch.mjs once
//      at --rate; server CPU per completed trip, net of the idle city (as bench/report.mjs).
// The floor is the sum over kinds of events per trip x unit cost. ridewire's figure over the
// floor is what its own code costs above the runtime's events.
import { spawn, execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { writeFileSync } from "node:fs";
import WebSocket from "ws";
import { NODE, prepareFloorServer } from "./floor-servers.mjs";
import {
  CLK_TCK,
  cpuTicks,
  devServerArgs,
  die,
  freePort,
  numberOption,
  pool,
  processTree,
  sleep,
  stopProcessTree,
} from "./lib.mjs";

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

const { values: opt } = parseArgs({
  options: {
    drivers: { type: "string", default: "1000" },
    rate: { type: "string", default: "10" },
    "base-rate": { type: "string", default: "0.2" },
    seconds: { type: "string", default: "30" },
    "ride-seconds": { type: "string", default: "8" },
    rounds: { type: "string", default: "3" },
    requests: { type: "string", default: "300" },
    "state-dir": { type: "string", default: "/dev/shm" },
    only: { type: "string", default: "units,counts,trip" },
    json: { type: "string" },
    help: { type: "boolean", default: false },
  },
  strict: true,
});
if (opt.help) {
  console.log(readFileSync(fileURLToPath(import.meta.url), "utf8").split("\nimport ")[0]);
  process.exit(0);
}
const DRIVERS = numberOption(opt, "drivers", { int: true, min: 10, max: 5000 });
const RATE = numberOption(opt, "rate", { min: 0.1, max: 100 });
const BASE_RATE = numberOption(opt, "base-rate", { min: 0.05, max: RATE / 2 });
const SECONDS = numberOption(opt, "seconds", { min: 5, max: 600 });
const RIDE_SECONDS = numberOption(opt, "ride-seconds", { min: 1, max: 120 });
const ROUNDS = numberOption(opt, "rounds", { int: true, min: 1, max: 9 });
const REQUESTS = numberOption(opt, "requests", { int: true, min: 40, max: 5000 });
const ONLY = new Set(opt.only.split(","));

const log = (msg) => console.error(`trip-floor: ${msg}`);
const PIN = (() => {
  try {
    return (
      Number(execFileSync("nproc", { encoding: "utf8" })) >= 2 && !!execFileSync("sh", ["-c", "command -v taskset"])
    );
  } catch {
    return false;
  }
})();
if (PIN) execFileSync("taskset", ["-a", "-pc", "1", String(process.pid)]);
const pinned = (cmd, args, core) => (PIN ? ["taskset", ["-c", core, cmd, ...args]] : [cmd, args]);

// ---- servers -------------------------------------------------------------------------------

const running = new Set();

async function startServer(name, { cmd, args, cwd, env = {} }, logDir) {
  const logPath = join(logDir, `${name}.log`);
  const fd = openSync(logPath, "w");
  const [c, a] = pinned(cmd, args, "0");
  const proc = spawn(c, a, {
    cwd,
    detached: true,
    stdio: ["ignore", fd, fd],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", X_LOCAL_OBSERVABILITY: "false", ...env },
  });
  closeSync(fd);
  running.add(proc);
  const port = Number(args[args.indexOf("--port") + 1]);
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${name} exited before answering; see ${logPath}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) })).ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${name} did not answer /health in 120 s; see ${logPath}`);
    await sleep(300);
  }
  log(`${name} up on port ${port} (pid ${proc.pid})`);
  return {
    proc,
    port,
    url: `http://127.0.0.1:${port}`,
    stop: () => stopProcessTree(proc).then(() => running.delete(proc)),
  };
}

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, async () => {
    for (const proc of running) await stopProcessTree(proc);
    process.exit(130);
  });
}

/** Server CPU seconds (utime + stime of the whole process tree) spent while `work` runs. */
async function cpuOf(server, work) {
  const ticks = () => cpuTicks(processTree(server.proc.pid)).total;
  const t0 = performance.now();
  const c0 = ticks();
  await work();
  return { cpuS: (ticks() - c0) / CLK_TCK, seconds: (performance.now() - t0) / 1000 };
}

// ---- 1. unit costs ---------------------------------------------------------------------------

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function get(url) {
  const res = await fetch(url);
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`GET ${url} -> ${res.status}`);
}

function openSocket(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

/** Sends `frames` frames over `sockets` at `perSecond`; with `reply`, waits for every answer. */
async function sendFrames(sockets, frames, perSecond, reply) {
  let answered = 0;
  const done = new Promise((resolve) => {
    if (!reply) return resolve();
    for (const ws of sockets)
      ws.on("message", () => {
        if (++answered === frames) resolve();
      });
  });
  const body = JSON.stringify({ type: "location", lat: 37.77, lng: -122.42, at: 0, reply });
  const t0 = performance.now();
  for (let i = 0; i < frames; i++) {
    sockets[i % sockets.length].send(body);
    const due = t0 + ((i + 1) * 1000) / perSecond;
    if (due > performance.now() + 2) await sleep(due - performance.now());
  }
  await Promise.race([done, sleep(10_000)]);
  await sleep(300);
  for (const ws of sockets) ws.removeAllListeners("message");
}

async function measureUnitCosts(stateDir) {
  const port = await freePort();
  const fixture = prepareFloorServer({
    hub: "events.mjs",
    fixtures: join(ROOT, "bench/floor/event-costs"),
    runtime: "wrangler",
    port,
    assets: true,
    workerFirst: ["/noop", "/d1", "/rpc", "/queue", "/alarm", "/ws", "/health"],
    base: stateDir,
    prefix: "ridewire-event-costs-",
  });
  const server = await startServer("event-costs", { ...fixture, cwd: fixture.dir }, fixture.dir);
  try {
    const base = server.url;
    const wsBase = base.replace("http", "ws");
    const n = REQUESTS;
    const many = (count, url) => () =>
      pool(
        Array.from({ length: count }, (_, i) => i),
        4,
        (i) => get(url(i)),
      );
    // Warm every path once, so no round pays for a first compile or an object's first start.
    await many(40, (i) => base + ["/noop", "/d1?n=1", "/rpc?n=1", "/queue?n=1", "/alarm?id=warm"][i % 5])();
    await sleep(1500);
    const idle = await cpuOf(server, () => sleep(3000));
    const idleRate = idle.cpuS / idle.seconds;
    const net = (m) => m.cpuS - idleRate * m.seconds;
    const per = {
      http: [],
      d1: [],
      rpc: [],
      objectStart: [],
      queueMessage: [],
      alarm: [],
      socket: [],
      frameIn: [],
      frameOut: [],
    };
    for (let round = 0; round < ROUNDS; round++) {
      const http =
        net(
          await cpuOf(
            server,
            many(n, () => `${base}/noop`),
          ),
        ) / n;
      const d1 =
        (net(
          await cpuOf(
            server,
            many(n / 2, () => `${base}/d1?n=4`),
          ),
        ) /
          (n / 2) -
          http) /
        4;
      const rpc =
        (net(
          await cpuOf(
            server,
            many(n / 2, () => `${base}/rpc?n=4`),
          ),
        ) /
          (n / 2) -
          http) /
        4;
      const fresh =
        net(
          await cpuOf(
            server,
            many(n / 4, (i) => `${base}/rpc?n=1&id=cold-${round}-${i}`),
          ),
        ) /
        (n / 4);
      const queued = await cpuOf(server, async () => {
        await many(n, () => `${base}/queue?n=1`)();
        await sleep(2500); // the consumer's batches (max_batch_timeout 1 s)
      });
      const alarms = await cpuOf(server, async () => {
        await many(n / 2, (i) => `${base}/alarm?id=alarm-${i % 40}`)();
        await sleep(1000);
      });
      const sockets = await cpuOf(server, () =>
        pool(
          Array.from({ length: n / 4 }, (_, i) => i),
          4,
          async (i) => {
            const ws = await openSocket(`${wsBase}/ws?id=sock-${i % 10}`);
            await new Promise((resolve) => {
              ws.once("close", resolve);
              ws.close();
            });
          },
        ),
      );
      const open = await Promise.all(Array.from({ length: 20 }, (_, i) => openSocket(`${wsBase}/ws?id=frames-${i}`)));
      const frames = n * 5;
      const frameIn = net(await cpuOf(server, () => sendFrames(open, frames, 1000, false))) / frames;
      const frameBoth = net(await cpuOf(server, () => sendFrames(open, frames, 1000, true))) / frames;
      for (const ws of open) ws.close();
      per.http.push(http);
      per.d1.push(d1);
      per.rpc.push(rpc);
      per.objectStart.push(fresh - http - rpc);
      per.queueMessage.push(net(queued) / n - http);
      per.alarm.push(net(alarms) / (n / 2) - http - rpc);
      per.socket.push(net(sockets) / (n / 4));
      per.frameIn.push(frameIn);
      per.frameOut.push(frameBoth - frameIn);
      log(
        `unit costs round ${round + 1}/${ROUNDS}: ${Object.entries(per)
          .map(([k, v]) => `${k} ${us(v.at(-1))}`)
          .join(", ")}`,
      );
    }
    return Object.fromEntries(Object.entries(per).map(([k, v]) => [k, { medianS: median(v), roundsS: v }]));
  } finally {
    await server.stop();
    rmSync(fixture.dir, { recursive: true, force: true });
  }
}

// ---- 2 and 3. ridewire: events per trip, CPU per trip -----------------------------------------

async function startRidewire(name, stateDir, entry) {
  const port = await freePort();
  const dir = mkdtempSync(join(stateDir, `ridewire-${name}-`));
  const args = ["scripts/dev.mjs", ...(entry ? [entry] : []), ...devServerArgs(port, join(dir, "state"))];
  const server = await startServer(name, { cmd: NODE, args, cwd: ROOT }, dir);
  return { ...server, dir };
}

// bench/dispatch.mjs registers ceil(rate x (ride + slack)) + 10 riders (slack 20 s by default).
// The quiet window of the count gets as many riders as the busy one, so that the two setups make
// the same events and cancel out.
const RIDERS = Math.ceil(RATE * (RIDE_SECONDS + 20)) + 10;
const slackFor = (rate) => (RIDERS - 10) / rate - RIDE_SECONDS;

/** One bench/dispatch.mjs window against `server`; its JSON result. */
async function dispatchRun(server, rate, label) {
  const out = join(server.dir, `${label}.json`);
  const args = [
    join(ROOT, "bench/dispatch.mjs"),
    ...["--url", server.url, "--server-root", String(server.proc.pid), "--drivers", String(DRIVERS)],
    ...["--rate", String(rate), "--seconds", String(SECONDS), "--warmup", "10", "--ride-seconds", String(RIDE_SECONDS)],
    ...["--rider-slack", String(slackFor(rate)), "--drain", String(RIDE_SECONDS + 20), "--json", out],
  ];
  const proc = spawn(NODE, args, { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
  const code = await new Promise((resolve) => proc.on("exit", resolve));
  if (code !== 0) throw new Error(`bench/dispatch.mjs (${label}) exited ${code}`);
  const result = JSON.parse(readFileSync(out, "utf8"));
  return result.windows?.[0] ?? result;
}

const eventCounts = async (server, query = "") => (await fetch(`${server.url}/v1/__event-counts${query}`)).json();

/** What each key added per trip: the busy window's growth less the quiet window's, over the extra trips. */
function perTripOf(c0, c1, c2, trips) {
  const perTrip = {};
  for (const key of new Set([...Object.keys(c1), ...Object.keys(c2)])) {
    const added = (c1[key] ?? 0) - (c0[key] ?? 0) - ((c2[key] ?? 0) - (c1[key] ?? 0));
    perTrip[key] = added / trips;
  }
  return perTrip;
}

async function countTripEvents(stateDir) {
  const server = await startRidewire("counted", stateDir, "bench/event-count/entry.mjs");
  try {
    const tally = async () => [
      await eventCounts(server),
      await eventCounts(server, "?d1=1"),
      await eventCounts(server, "?sql=1"),
    ];
    const [c0, d0, s0] = await tally();
    const busy = await dispatchRun(server, RATE, "counted-busy");
    const [c1, d1, s1] = await tally();
    const quiet = await dispatchRun(server, BASE_RATE, "counted-quiet");
    const [c2, d2, s2] = await tally();
    const trips = busy.trips.completed - quiet.trips.completed;
    if (trips <= 0) throw new Error("the busy window completed no more trips than the quiet one");
    return {
      trips,
      busyTrips: busy.trips.completed,
      quietTrips: quiet.trips.completed,
      perTrip: perTripOf(c0, c1, c2, trips),
      d1PerTrip: perTripOf(d0, d1, d2, trips),
      sqlPerTrip: perTripOf(s0, s1, s2, trips),
    };
  } finally {
    await server.stop();
    rmSync(server.dir, { recursive: true, force: true });
  }
}

async function measureTripCpu(stateDir) {
  const server = await startRidewire("plain", stateDir, null);
  try {
    const w = await dispatchRun(server, RATE, "plain");
    const e = w.cpu.withRidesEnd;
    const idle = w.idleCity;
    const idleRate = idle && idle.seconds > 0 ? idle.serverCpuS / idle.seconds : 0;
    return {
      trips: w.trips.completed,
      netS: (e.serverCpuS - idleRate * e.seconds) / w.trips.completed,
      requestToOfferP99Ms: w.requestToOfferMs.p99,
      locationToRiderP99Ms: w.locationToRiderMs.p99,
    };
  } finally {
    await server.stop();
    rmSync(server.dir, { recursive: true, force: true });
  }
}

// ---- the arithmetic ----------------------------------------------------------------------------

const us = (s) => `${(s * 1e6).toFixed(0)} µs`;
const msOf = (s) => `${(s * 1e3).toFixed(1)} ms`;

/** Which unit cost each tallied kind of event pays. */
function unitOf(key) {
  if (key === "http request") return "http";
  if (key === "d1 round trip") return "d1";
  if (key === "rpc") return "rpc";
  if (key.startsWith("object started")) return "objectStart";
  if (key.startsWith("queue message sent")) return "queueMessage";
  if (key.startsWith("alarm (")) return "alarm";
  if (key.startsWith("webSocketMessage (")) return "frameIn";
  // A socket's unit cost covers its upgrade request, the object's fetch that accepts it and its close.
  if (key === "socket opened") return "socket";
  if (key === "frame sent") return "frameOut";
  return null;
}

function report({ units, counts, trip }) {
  const lines = [];
  if (units) {
    lines.push("Unit costs (server CPU per event, median of rounds):");
    for (const [k, v] of Object.entries(units))
      lines.push(`  ${k.padEnd(14)} ${us(v.medianS).padStart(9)}   rounds ${v.roundsS.map(us).join(", ")}`);
  }
  if (counts) {
    lines.push("", `Events per trip (${counts.busyTrips} − ${counts.quietTrips} = ${counts.trips} trips):`);
    for (const [k, v] of Object.entries(counts.perTrip).sort())
      if (Math.abs(v) >= 0.05) lines.push(`  ${k.padEnd(40)} ${v.toFixed(2).padStart(7)}`);
    lines.push("", "D1 round trips per trip, by database and statement (largest first):");
    for (const [k, v] of Object.entries(counts.d1PerTrip ?? {}).sort((a, b) => b[1] - a[1]))
      if (Math.abs(v) >= 0.05) lines.push(`  ${v.toFixed(2).padStart(6)}  ${k}`);
    lines.push("", "SQLite statements per trip on the objects' own storage, by object and statement (largest first):");
    for (const [k, v] of Object.entries(counts.sqlPerTrip ?? {}).sort((a, b) => b[1] - a[1]))
      if (Math.abs(v) >= 0.05) lines.push(`  ${v.toFixed(2).padStart(6)}  ${k}`);
  }
  let floorS = null;
  if (units && counts) {
    lines.push("", "The floor: events per trip x unit cost:");
    floorS = 0;
    for (const [k, v] of Object.entries(counts.perTrip).sort()) {
      const unit = unitOf(k);
      if (!unit || Math.abs(v) < 0.05) continue;
      const s = v * units[unit].medianS;
      floorS += s;
      const each = us(units[unit].medianS).padStart(8);
      lines.push(`  ${k.padEnd(40)} ${v.toFixed(2).padStart(7)} x ${each} = ${msOf(s).padStart(8)}`);
    }
    lines.push(`  ${"floor per trip".padEnd(40)} ${msOf(floorS).padStart(30)}`);
  }
  if (trip) {
    lines.push(
      "",
      `ridewire at ${DRIVERS} drivers, ${RATE} requests/s: ${msOf(trip.netS)} of server CPU per completed trip ` +
        `(net of the idle city, ${trip.trips} trips); request → offer p99 ${trip.requestToOfferP99Ms.toFixed(0)} ms, ` +
        `location → rider p99 ${trip.locationToRiderP99Ms.toFixed(0)} ms`,
    );
    if (floorS)
      lines.push(
        `ridewire ÷ floor: ${(trip.netS / floorS).toFixed(2)} (ridewire's own code: ${msOf(trip.netS - floorS)})`,
      );
  }
  return lines.join("\n");
}

const stateDir = opt["state-dir"];
const results = {};
try {
  if (ONLY.has("units")) results.units = await measureUnitCosts(stateDir);
  if (ONLY.has("counts")) results.counts = await countTripEvents(stateDir);
  if (ONLY.has("trip")) results.trip = await measureTripCpu(stateDir);
} catch (err) {
  for (const proc of running) await stopProcessTree(proc);
  die(err.stack ?? String(err));
}
console.log(report(results));
const config = { DRIVERS, RATE, BASE_RATE, SECONDS, RIDE_SECONDS, ROUNDS, pinned: PIN };
if (opt.json) writeFileSync(opt.json, `${JSON.stringify({ config, ...results })}\n`);
