#!/usr/bin/env node
// The runtime's floor: what the dev runtime costs per WebSocket frame with no ridewire code.
//
// For each server, a null Durable Object (one per socket) that only JSON.parses each frame:
//   hib-wrangler    bench/floor/hub-hib.mjs (ctx.acceptWebSocket, webSocketMessage) under `wrangler dev`
//   hib-wrangler-quiet  the same with X_LOCAL_OBSERVABILITY=false, as `npm run dev` runs it
//                   (wrangler's local observability traces every event to a collector Worker)
//   hib-workerd     the same file under plain `workerd serve` (generated capnp, SQLite DO storage)
//   plain-wrangler  bench/floor/hub-plain.mjs (server.accept() + addEventListener) under `wrangler dev`
// the server is started pinned to CPU 0 (its own process group, fresh port, fresh temp dir);
// this process (the generator) pins itself to CPU 1, opens --sockets sockets (one DO each),
// sends {"type":"location","lat","lng","at"} on every socket every --every s (jittered start),
// warms up for --warmup s, then measures --seconds s: utime+stime from /proc of every process
// of the server's tree (the pid we spawned and its descendants, nothing found by name), the
// frames sent in the window, and the echoes (every 100th frame carries "echo":n, which the DO
// answers) that prove the frames arrive.
//
//   npm run bench:floor
//   npm run bench:floor -- --sockets 1000 --seconds 15 --only hib-wrangler,hib-workerd --json out.json
import { spawn, execFileSync } from "node:child_process";
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { prepareFloorServer, workerdBinary } from "./floor-servers.mjs";
import {
  CLK_TCK,
  cpuTicks,
  die,
  hostTicks,
  numberOption,
  processTree,
  procComm,
  procCmdline,
  sleep,
  stopProcessTree,
  freePort,
  loadavg,
} from "./lib.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(HERE);
const SERVERS = ["hib-wrangler", "hib-wrangler-quiet", "hib-workerd", "plain-wrangler"];

const { values: opt } = parseArgs({
  options: {
    sockets: { type: "string", default: "1000" },
    every: { type: "string", default: "2" },
    warmup: { type: "string", default: "10" },
    seconds: { type: "string", default: "15" },
    "echo-every": { type: "string", default: "100" },
    concurrency: { type: "string", default: "50" },
    "ready-timeout": { type: "string", default: "60" },
    only: { type: "string", default: SERVERS.join(",") },
    json: { type: "string" },
    "keep-logs": { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (opt.help) {
  console.log(
    readFileSync(fileURLToPath(import.meta.url), "utf8")
      .split("\n")
      .slice(1, 18)
      .map((l) => l.replace(/^\/\/ ?/, ""))
      .join("\n"),
  );
  process.exit(0);
}
const N = numberOption(opt, "sockets", { int: true, min: 1, max: 20000 });
const EVERY_MS = numberOption(opt, "every", { min: 0.05, max: 60 }) * 1000;
const WARMUP_MS = numberOption(opt, "warmup", { min: 0, max: 600 }) * 1000;
const WINDOW_MS = numberOption(opt, "seconds", { min: 1, max: 3600 }) * 1000;
const ECHO_EVERY = numberOption(opt, "echo-every", { int: true, min: 0, max: 1e9 });
const CONCURRENCY = numberOption(opt, "concurrency", { int: true, min: 1, max: 1000 });
const READY_MS = numberOption(opt, "ready-timeout", { min: 1, max: 600 }) * 1000;
const ONLY = opt.only
  .split(",")
  .map((s) => s.trim())
  .filter(Boolean);
for (const s of ONLY)
  if (!SERVERS.includes(s)) die(`--only: unknown server ${JSON.stringify(s)} (one of ${SERVERS.join(", ")})`);

// ---- binaries -----------------------------------------------------------------------------

let WORKERD;
try {
  WORKERD = workerdBinary();
} catch (err) {
  die(err.message);
}
const sh = (cmd, args) => {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  } catch {
    return "";
  }
};
const WORKERD_VERSION = sh(WORKERD, ["--version"]);
const WRANGLER_VERSION = JSON.parse(readFileSync(join(ROOT, "node_modules/wrangler/package.json"), "utf8")).version;

// ---- pinning ------------------------------------------------------------------------------

const CORES = Number(sh("nproc", ["--all"])) || 1;
const PIN = CORES >= 2 && sh("sh", ["-c", "command -v taskset"]) !== "";
const SERVER_CORE = "0";
const GEN_CORE = "1";
if (PIN) sh("taskset", ["-a", "-pc", GEN_CORE, String(process.pid)]); // every thread of the generator
const pinned = (cmd, args) => (PIN ? ["taskset", ["-c", SERVER_CORE, cmd, ...args]] : [cmd, args]);

const log = (msg) => console.log(`[floor ${new Date().toISOString().slice(11, 19)}] ${msg}`);

// ---- servers ------------------------------------------------------------------------------

/** Started and not yet stopped: stopped (and their temp dirs removed) on any way out. */
const running = new Set();

async function prepare(name, port) {
  return prepareFloorServer({
    hub: name === "plain-wrangler" ? "hub-plain.mjs" : "hub-hib.mjs",
    runtime: name === "hib-workerd" ? "workerd" : "wrangler",
    port,
    inspectorPort: name === "hib-workerd" ? undefined : await freePort(),
    observability: name !== "hib-wrangler-quiet",
    prefix: `ridewire-floor-${name}-`,
  });
}

async function startServer(name) {
  const port = await freePort();
  const { dir, cmd, args, env = {} } = await prepare(name, port);
  const logPath = join(dir, "server.log");
  const fd = openSync(logPath, "w");
  const [c, a] = pinned(cmd, args);
  // detached: its own process group, so one signal reaches it and everything it started.
  const proc = spawn(c, a, {
    cwd: dir,
    detached: true,
    stdio: ["ignore", fd, fd],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", FORCE_COLOR: "0", ...env },
  });
  closeSync(fd);
  const server = { name, proc, pid: proc.pid, port, dir, logPath, command: [c, ...a].join(" ") };
  running.add(server);
  const tail = () => {
    try {
      return readFileSync(logPath, "utf8").split("\n").slice(-20).join("\n");
    } catch {
      return "";
    }
  };
  const deadline = Date.now() + READY_MS;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(
        `${name} exited (${proc.exitCode ?? proc.signalCode}) before answering on port ${port}:\n${tail()}`,
      );
    }
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) });
      if (res.ok && (await res.text()) === "ok") break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline)
      throw new Error(
        `${name} did not answer http://127.0.0.1:${port}/health within ${READY_MS / 1000} s; ` +
          `last lines of its log:\n${tail()}`,
      );
    await sleep(200);
  }
  log(`${name} up on port ${port} (pid ${proc.pid}, tree ${processTree(proc.pid).join(",")})`);
  return server;
}

async function stopServer(server) {
  await stopProcessTree(server.proc);
  running.delete(server);
  if (opt["keep-logs"]) log(`${server.name} stopped; kept ${server.dir}`);
  else rmSync(server.dir, { recursive: true, force: true });
}

async function stopAll() {
  for (const s of [...running]) await stopServer(s);
}
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, async () => {
    console.error(`floor: ${sig}: stopping the servers`);
    await stopAll();
    process.exit(130);
  });
}

// ---- CPU of a process tree ----------------------------------------------------------------

/** CPU ticks (utime + stime) of every process of the tree under `root`, by pid. */
const treeTicks = (root) =>
  new Map(Object.entries(cpuTicks(processTree(root)).perPid).map(([pid, t]) => [Number(pid), t]));
/** A short role for a process of the tree, for the per-process breakdown. */
function role(pid, port) {
  const comm = procComm(pid) ?? "?";
  const args = procCmdline(pid);
  if (comm === "workerd") {
    // wrangler dev: the entry proxy listens on --port, the Worker's workerd on 127.0.0.1:0.
    if (args.includes(`--socket-addr=entry=127.0.0.1:${port}`)) return "workerd (entry proxy)";
    if (args.some((a) => a.startsWith("--socket-addr=entry="))) return "workerd (Worker)";
    return args[1] === "serve" && !args.includes("--binary") ? "workerd (serve: the Worker)" : "workerd";
  }
  if (comm === "node" || /node/.test(comm)) return args.some((a) => /wrangler/.test(a)) ? "node (wrangler)" : "node";
  return comm;
}

// ---- the generator ------------------------------------------------------------------------

function openSocket(port, i) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?id=d${i}`, { perMessageDeflate: false });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`socket ${i} did not open within 30 s`));
    }, 30_000);
    ws.once("open", () => {
      clearTimeout(timer);
      resolve(ws);
    });
    ws.once("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`socket ${i}: ${err.message}`));
    });
  });
}

async function measure(name) {
  const load = loadavg();
  log(`${name}: load average ${load.join(" ")}; starting`);
  const server = await startServer(name);
  const sockets = [];
  const timers = [];
  try {
    const t0 = Date.now();
    let next = 0;
    const opener = async () => {
      while (next < N) {
        const i = next++;
        sockets[i] = await openSocket(server.port, i);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, N) }, opener));
    log(`${name}: ${N} sockets open in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    let phase = "warmup"; // warmup → measure → drain
    const c = { sent: 0, sentWarm: 0, echoSent: 0, echoBack: 0, closed: 0, errors: 0, sendErrors: 0 };
    let seq = 0;
    const echoSentAt = new Map();
    for (const ws of sockets) {
      ws.on("message", (data) => {
        const m = JSON.parse(String(data));
        if (typeof m.echo === "number" && echoSentAt.delete(m.echo)) c.echoBack++;
      });
      ws.on("close", () => c.closed++);
      ws.on("error", () => c.errors++);
    }
    const send = (ws) => {
      if (phase === "drain" || ws.readyState !== WebSocket.OPEN) return;
      const frame = {
        type: "location",
        lat: 37.7 + Math.random() * 0.1,
        lng: -122.45 + Math.random() * 0.1,
        at: Date.now(),
      };
      seq++;
      const echo = phase === "measure" && ECHO_EVERY > 0 && seq % ECHO_EVERY === 0;
      if (echo) {
        frame.echo = seq;
        echoSentAt.set(seq, Date.now());
        c.echoSent++;
      }
      ws.send(JSON.stringify(frame), (err) => err && c.sendErrors++);
      if (phase === "measure") c.sent++;
      else c.sentWarm++;
    };
    for (const ws of sockets) {
      timers.push(
        setTimeout(() => {
          send(ws);
          timers.push(setInterval(() => send(ws), EVERY_MS));
        }, Math.random() * EVERY_MS),
      );
    }
    await sleep(WARMUP_MS);

    const a = { t: performance.now(), ticks: treeTicks(server.pid), host: hostTicks(), gen: process.cpuUsage() };
    phase = "measure";
    await sleep(WINDOW_MS);
    phase = "drain";
    const b = { t: performance.now(), ticks: treeTicks(server.pid), host: hostTicks(), gen: process.cpuUsage(a.gen) };
    await sleep(2000); // late echoes
    for (const t of timers) clearTimeout(t);

    const seconds = (b.t - a.t) / 1000;
    const perProcess = [];
    let serverTicks = 0;
    for (const [pid, tb] of b.ticks) {
      const d = tb - (a.ticks.get(pid) ?? 0);
      serverTicks += d;
      perProcess.push({ pid, role: role(pid, server.port), cpuPct: round((d / CLK_TCK / seconds) * 100, 1) });
    }
    const gone = [...a.ticks.keys()].filter((p) => !b.ticks.has(p));
    perProcess.sort((x, y) => y.cpuPct - x.cpuPct);
    // The Worker's process: the one running the Durable Objects (wrangler dev's second workerd, or
    // plain workerd itself); else the busiest workerd of the tree.
    const workerProcess =
      perProcess.find((p) => /Worker/.test(p.role)) ?? perProcess.find((p) => p.role.startsWith("workerd")) ?? null;
    const serverCpuS = serverTicks / CLK_TCK;
    const genCpuS = (b.gen.user + b.gen.system) / 1e6;
    const hostBusyS = a.host && b.host ? (b.host.busy - a.host.busy) / CLK_TCK : null;
    const r = {
      server: name,
      command: server.command,
      loadavgBefore: load,
      sockets: N,
      everySeconds: EVERY_MS / 1000,
      windowSeconds: round(seconds, 2),
      sent: c.sent,
      msgPerS: round(c.sent / seconds, 1),
      echoSent: c.echoSent,
      echoBack: c.echoBack,
      socketsClosed: c.closed,
      socketErrors: c.errors + c.sendErrors,
      serverCpuPct: round((serverCpuS / seconds) * 100, 1),
      serverUsPerMsg: c.sent ? round((serverCpuS * 1e6) / c.sent, 0) : null,
      workerProcess,
      workerdUsPerMsg:
        workerProcess && c.sent ? round(((workerProcess.cpuPct / 100) * seconds * 1e6) / c.sent, 0) : null,
      generatorCpuPct: round((genCpuS / seconds) * 100, 1),
      otherHostCpuPct: hostBusyS === null ? null : round(((hostBusyS - serverCpuS - genCpuS) / seconds) * 100, 1),
      perProcess,
      processesGoneDuringWindow: gone.length,
    };
    log(
      `${name}: ${r.msgPerS} msg/s, server ${r.serverCpuPct}% (${r.serverUsPerMsg} us/msg), Worker process ` +
        `${workerProcess?.cpuPct}%, ` +
        `echoes ${c.echoBack}/${c.echoSent}, generator ${r.generatorCpuPct}%`,
    );
    if (c.closed || c.errors || c.sendErrors)
      log(`${name}: WARNING ${c.closed} sockets closed, ${c.errors + c.sendErrors} errors during the run`);
    if (c.echoSent && c.echoBack < c.echoSent)
      log(`${name}: WARNING only ${c.echoBack} of ${c.echoSent} echo frames answered`);
    return r;
  } finally {
    for (const t of timers) clearTimeout(t);
    for (const ws of sockets) ws?.close(1000);
    await sleep(500);
    for (const ws of sockets) ws?.terminate();
    await stopServer(server);
  }
}

const round = (x, d) => Math.round(x * 10 ** d) / 10 ** d;

// ---- run ----------------------------------------------------------------------------------

const startedAt = new Date().toISOString();
const loadAtStart = loadavg();
log(
  `load average ${loadAtStart.join(" ")}; ${CORES} CPUs; ${
    PIN ? `servers on CPU ${SERVER_CORE}, ` + `generator on CPU ${GEN_CORE}` : "NOT pinned"
  }`,
);
log(
  `wrangler ${WRANGLER_VERSION}, ${WORKERD_VERSION} (${WORKERD}); ${N} sockets, one frame each every ` +
    `${EVERY_MS / 1000} s, warm-up ${WARMUP_MS / 1000} s, window ${WINDOW_MS / 1000} s`,
);
const results = [];
let failed = false;
for (const name of ONLY) {
  try {
    results.push(await measure(name));
  } catch (err) {
    failed = true;
    console.error(`floor: ${name}: ${err.message}`);
    results.push({ server: name, error: err.message });
  }
}
await stopAll();

const LABEL = {
  "hib-wrangler": "wrangler dev, hibernatable (ctx.acceptWebSocket)",
  "hib-wrangler-quiet": "wrangler dev, X_LOCAL_OBSERVABILITY=false, hibernatable",
  "hib-workerd": "workerd serve, hibernatable (ctx.acceptWebSocket)",
  "plain-wrangler": "wrangler dev, not hibernatable (server.accept)",
};
const rows = [
  [
    "server",
    "sockets",
    "msg/s",
    "echoes",
    "server CPU % of a core",
    "Worker process %",
    "server CPU us/msg",
    "Worker process us/msg",
    "generator %",
    "other host %",
  ],
];
for (const r of results) {
  if (r.error) rows.push([LABEL[r.server], "failed", "", "", "", "", "", "", "", ""]);
  else {
    rows.push([
      LABEL[r.server],
      String(r.sockets),
      r.msgPerS.toFixed(1),
      `${r.echoBack}/${r.echoSent}`,
      r.serverCpuPct.toFixed(1),
      r.workerProcess ? r.workerProcess.cpuPct.toFixed(1) : "-",
      String(r.serverUsPerMsg),
      String(r.workerdUsPerMsg ?? "-"),
      r.generatorCpuPct.toFixed(1),
      r.otherHostCpuPct === null ? "-" : r.otherHostCpuPct.toFixed(1),
    ]);
  }
}
console.log("");
console.log(
  rows
    .map((r) => `| ${r.join(" | ")} |`)
    .join("\n")
    .replace(/\n/, `\n|${rows[0].map(() => "---").join("|")}|\n`),
);
console.log("");
console.log(
  "server CPU = utime+stime of every process of the server's tree; Worker process = the workerd process " +
    "running the Durable Objects (under wrangler dev the other workerd is the entry proxy).",
);

if (opt.json) {
  writeFileSync(
    opt.json,
    `${JSON.stringify(
      {
        startedAt,
        loadAtStart,
        loadAtEnd: loadavg(),
        cpus: CORES,
        pinned: PIN,
        wrangler: WRANGLER_VERSION,
        workerd: WORKERD_VERSION,
        options: {
          sockets: N,
          everySeconds: EVERY_MS / 1000,
          warmupSeconds: WARMUP_MS / 1000,
          windowSeconds: WINDOW_MS / 1000,
          echoEvery: ECHO_EVERY,
        },
        results,
      },
      null,
      2,
    )}\n`,
  );
  log(`wrote ${opt.json}`);
}
process.exit(failed ? 1 : 0);
