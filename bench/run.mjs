#!/usr/bin/env node
// `npm run bench`: ridewire side by side with its peers, on this machine, in one run.
//
//   npm run bench                 # the whole suite (~30 min), writes bench/RESULTS.md and bench/results/*.json
//   npm run bench -- --quick      # a 4-5 minute subset, writes bench/out/RESULTS-quick.md
//   npm run bench -- --only chat  # or dispatch; --targets do-room,partyserver,ridewire picks the chat servers
//
// Starts every server itself, pinned to core 0 with taskset (ridewire: `npm run dev` from a
// snapshot of HEAD on a fresh --persist-to directory; the peers: bench/peers/*.mjs; the runtime's
// floor: bench/floor/room-hub.mjs, a Durable Object room with nothing in it, under wrangler dev
// as "do-room" and under plain workerd as "do-room-workerd"; the same room with the least storage
// that ridewire's guarantees need, bench/floor/room-hub-durable.mjs, as "do-room-durable"; the partyserver room,
// bench/peers/partyserver/room.mjs, under wrangler dev as "partyserver"), runs the
// load generators pinned to core 1 (bench/chat-compare.mjs, bench/dispatch.mjs), stops every
// server, and renders the report (bench/report.mjs). See bench/README.md.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  closeSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir, totalmem } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { prepareFloorServer, workerdBinary } from "./floor-servers.mjs";
import { CHAT_SERVERS, devServerArgs, processTree, sleep, stopProcessTree, freePort, loadavg } from "./lib.mjs";
import { renderReport } from "./report.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const { values: opt } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    targets: { type: "string", default: CHAT_SERVERS.join(",") },
    out: { type: "string" },
    "json-dir": { type: "string" },
    "max-load": { type: "string", default: "1.0" },
    "load-wait": { type: "string", default: "120" },
    // Every wrangler dev server's state (ridewire's Durable Objects and D1, the bare rooms' and the
    // partyserver room's directories): in memory (tmpfs) by default, so that the shared machine's
    // disk stalls (seconds, seen in IO pressure) do not stand in for the server's work.
    "state-dir": { type: "string", default: existsSync("/dev/shm") ? "/dev/shm" : tmpdir() },
    "ridewire-drivers": { type: "string" },
    "ref-drivers": { type: "string" },
    help: { type: "boolean", default: false },
  },
  strict: true,
});
if (opt.help) {
  console.log(
    `usage: npm run bench -- [--quick] [--only chat|dispatch] [--targets ` +
      `${CHAT_SERVERS.join(",")}]
  [--out FILE] [--json-dir DIR] [--max-load 1.0] [--load-wait 120]
  [--ridewire-drivers 1000] [--ref-drivers 1000,5000] [--state-dir /dev/shm]`,
  );
  process.exit(0);
}
const QUICK = opt.quick;
const ONLY = opt.only ? new Set(opt.only.split(",")) : new Set(["chat", "dispatch"]);
const TARGETS = opt.targets.split(",");
for (const t of TARGETS)
  if (!CHAT_SERVERS.includes(t)) {
    console.error(`bench: --targets: unknown chat server ${JSON.stringify(t)} (one of ${CHAT_SERVERS.join(", ")})`);
    process.exit(2);
  }
const OUT = opt.out ?? join(ROOT, QUICK ? "bench/out/RESULTS-quick.md" : "bench/RESULTS.md");
const JSON_DIR = opt["json-dir"] ?? join(ROOT, QUICK ? "bench/out/quick" : "bench/results");
mkdirSync(JSON_DIR, { recursive: true });
const LOG_DIR = join(ROOT, "bench/out/logs");
mkdirSync(LOG_DIR, { recursive: true });
const NODE = process.execPath;

// ---- the plan ---------------------------------------------------------------------------------

const plan = QUICK
  ? {
      chat: {
        topologies: {
          ws: "100x10,10x20",
          socketio: "100x10,10x20",
          "do-room": "100x10,10x20",
          "do-room-workerd": "100x10,10x20",
          "do-room-durable": "100x10,10x20",
          partyserver: "100x10,10x20",
          ridewire: "50x10,10x20",
        },
        rates: "0.2,1",
        extra: [
          "--max-up",
          "0",
          "--max-down",
          "1",
          "--refine",
          "0",
          "--seconds",
          "5",
          "--warmup",
          "2",
          "--drain",
          "2",
          "--fixed-deliveries",
          "0",
        ],
      },
      dispatch: {
        ref: [300],
        ridewire: [300],
        rates: "5",
        extra: [
          "--seconds",
          "8",
          "--warmup",
          "3",
          "--ride-seconds",
          "6",
          "--rider-slack",
          "4",
          "--overload-after",
          "5",
          "--drain",
          "20",
        ],
      },
    }
  : {
      chat: {
        // Issue 20's four workloads, each on a fresh server. 100 x 10 stays first: memory per
        // connection is compared on the first workload, and 1,000 sockets measure it better than 200.
        topologies: Object.fromEntries(CHAT_SERVERS.map((t) => [t, "100x10,10x20,20x50,4x250"])),
        rates: "0.2,1,2",
        extra: ["--seconds", "8", "--warmup", "2", "--drain", "3"],
      },
      dispatch: {
        ref: [1000, 5000],
        ridewire: [300, 1000],
        // 10/s at 1,000 drivers is issue 20's dispatch point (its targets are read there).
        rates: "5,10,20,50",
        extra: [
          "--seconds",
          "10",
          "--warmup",
          "5",
          "--ride-seconds",
          "8",
          "--rider-slack",
          "6",
          "--overload-after",
          "5",
          "--drain",
          "30",
        ],
      },
    };
if (opt["ridewire-drivers"]) plan.dispatch.ridewire = opt["ridewire-drivers"].split(",").map(Number);
if (opt["ref-drivers"]) plan.dispatch.ref = opt["ref-drivers"].split(",").map(Number);

// ---- helpers ------------------------------------------------------------------------------------

const sh = (cmd, args, o = {}) => {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], ...o }).trim();
  } catch (err) {
    return `(${cmd} failed: ${err.message.split("\n")[0]})`;
  }
};
const cores = Number(sh("nproc", ["--all"])) || 1;
const PIN = cores >= 2;
const SERVER_CORE = "0";
const GEN_CORE = String(cores - 1);
const pinned = (core, cmd, args) => (PIN ? ["taskset", ["-c", core, cmd, ...args]] : [cmd, args]);
const stamp = () => new Date().toISOString().replace("T", " ").slice(0, 19);
const log = (msg) => console.log(`[bench ${stamp()}] ${msg}`);

/** Every process we started and have not stopped yet, to stop them all on the way out. */
const running = new Set();

async function startServer(name, cmd, args, { cwd = ROOT, env = process.env, url, readyTimeoutMs = 90_000 }) {
  const logPath = join(LOG_DIR, `${name}.log`);
  const fd = openSync(logPath, "w");
  const [c, a] = pinned(SERVER_CORE, cmd, args);
  // detached: its own process group, so one signal reaches it and everything it started.
  const proc = spawn(c, a, { cwd, env, detached: true, stdio: ["ignore", fd, fd] });
  closeSync(fd);
  const server = { name, proc, pid: proc.pid, url, logPath, command: [c, ...a].join(" "), cwd };
  running.add(server);
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${name} exited with ${proc.exitCode}; see ${logPath}`);
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline)
      throw new Error(`${name} did not answer ${url}/health within ${readyTimeoutMs / 1000} s; see ${logPath}`);
    await sleep(200);
  }
  server.pids = processTree(proc.pid);
  log(`${name} up at ${url} (pids ${server.pids.join(",")})`);
  return server;
}

async function stopServer(server) {
  await stopProcessTree(server.proc);
  running.delete(server);
  log(`${server.name} stopped`);
}

async function stopAll() {
  for (const s of [...running]) await stopServer(s);
}
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, async () => {
    console.error(`bench: ${sig}: stopping the servers`);
    await stopAll();
    process.exit(130);
  });
}

function runGenerator(name, script, args) {
  const [c, a] = pinned(GEN_CORE, NODE, [join(ROOT, script), ...args]);
  const command = [c, ...a].join(" ");
  log(`${name}: ${command}`);
  const t0 = Date.now();
  return new Promise((resolve) => {
    const proc = spawn(c, a, { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] });
    proc.on("exit", (code) => resolve({ code, command, seconds: Math.round((Date.now() - t0) / 1000) }));
  });
}

const readJson = (path) => {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return null;
  }
};

/**
 * The runs of one chat server, one topology each (each on a fresh server), as one result in the
 * shape bench/chat-compare.mjs writes for a run of several topologies: the first run's header, every
 * run's topologies in order, error counts summed. Null when no run wrote a result.
 */
function mergeChatRuns(runs) {
  const done = runs.filter(Boolean);
  if (done.length === 0) return null;
  const errorsByCode = {};
  for (const r of done)
    for (const [code, n] of Object.entries(r.errorsByCode ?? {})) errorsByCode[code] = (errorsByCode[code] ?? 0) + n;
  return {
    ...done[0],
    finished: done.at(-1).finished,
    config: { ...done[0].config, topologies: done.flatMap((r) => r.config.topologies), freshServerPerTopology: true },
    servers: done.map((r) => r.server),
    topologies: done.flatMap((r) => r.topologies),
    errorsByCode,
  };
}

/** Waits (up to --load-wait s) for the 1-minute load average to fall under --max-load. */
async function waitForQuietHost(what) {
  const max = Number(opt["max-load"]);
  const until = Date.now() + Number(opt["load-wait"]) * 1000;
  let l = loadavg();
  if (l[0] > max)
    log(`load average ${l.join(" ")} > ${max} before ${what}: waiting up to ${opt["load-wait"]} s for a quieter host`);
  while (l[0] > max && Date.now() < until) {
    await sleep(5000);
    l = loadavg();
  }
  return l;
}

// ---- machine and versions -----------------------------------------------------------------------

/** The workerd that wrangler dev runs (and do-room-workerd), or "" when none is installed. */
function workerdBinaryOrNothing() {
  try {
    return workerdBinary();
  } catch {
    return "";
  }
}

function machine() {
  const lscpu = sh("lscpu", []);
  const field = (k) => new RegExp(`^${k}:\\s+(.+)$`, "m").exec(lscpu)?.[1] ?? "?";
  const pkg = (name) => readJson(join(ROOT, "node_modules", name, "package.json"))?.version ?? "?";
  const wranglerPkg = readJson(join(ROOT, "node_modules/wrangler/package.json"));
  const workerd = workerdBinaryOrNothing();
  return {
    cpuModel: field("Model name"),
    cpus: field("CPU\\(s\\)"),
    threadsPerCore: field("Thread\\(s\\) per core"),
    hypervisor: field("Hypervisor vendor"),
    memTotalGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: sh("uname", ["-sr"]),
    nodeVersion: process.version,
    versions: {
      node: process.version,
      wrangler: wranglerPkg?.version ?? "?",
      workerd:
        (workerd ? sh(workerd, ["--version"]) : "not installed").replace(/^workerd\s*/, "") +
        ` (npm workerd ${wranglerPkg?.dependencies?.workerd ?? "?"})`,
      ws: pkg("ws"),
      "socket.io": pkg("socket.io"),
      "socket.io-client": pkg("socket.io-client"),
      "hdr-histogram-js": pkg("hdr-histogram-js"),
      "h3-js": pkg("h3-js"),
      partyserver: pkg("partyserver"),
    },
    pinning: PIN
      ? `servers on CPU ${SERVER_CORE}, load generators on CPU ${GEN_CORE} (taskset -c)`
      : "not pinned: fewer than 2 CPUs",
  };
}

/** HEAD as a tree of its own, so edits in the working tree (and wrangler's reloads on them) stay out. */
function snapshotTree() {
  const dir = mkdtempSync(join(tmpdir(), "ridewire-bench-tree-"));
  const archive = spawnSync("sh", ["-c", `git archive HEAD | tar -x -C '${dir}'`], { cwd: ROOT, encoding: "utf8" });
  if (archive.status !== 0) throw new Error(`git archive failed: ${archive.stderr}`);
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  return dir;
}

// ---- the run ------------------------------------------------------------------------------------

async function main() {
  if (PIN) sh("taskset", ["-pc", GEN_CORE, String(process.pid)]);
  const started = new Date();
  const info = {
    quick: QUICK,
    started: started.toISOString(),
    commit: sh("git", ["rev-parse", "HEAD"], { cwd: ROOT }),
    commitSubject: sh("git", ["log", "-1", "--format=%s"], { cwd: ROOT }),
    dirtySrc: sh("git", ["status", "--porcelain", "src", "wrangler.toml"], { cwd: ROOT }),
    machine: machine(),
    loadAtStart: loadavg(),
    stateDir: opt["state-dir"],
    maxLoad: Number(opt["max-load"]),
    loadWait: Number(opt["load-wait"]),
    plan,
    servers: [],
    generators: [],
    chat: {},
    dispatch: [],
  };
  log(
    `machine: ${info.machine.cpuModel}, ${info.machine.cpus} CPUs, ${info.machine.memTotalGiB} GiB; ` +
      `${info.machine.pinning}; load ${info.loadAtStart.join(" ")}`,
  );
  const tree = snapshotTree();
  log(`ridewire from a snapshot of HEAD ${info.commit.slice(0, 12)} in ${tree}`);
  const ridewireEnv = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1", NO_COLOR: "1", FORCE_COLOR: "0" };
  const states = [];
  const startRidewire = async (name) => {
    const port = await freePort();
    const state = mkdtempSync(join(opt["state-dir"], `ridewire-bench-state-`));
    states.push(state);
    const args = ["run", "dev", "--", ...devServerArgs(port, state)];
    const s = await startServer(name, "npm", args, {
      cwd: tree,
      env: ridewireEnv,
      url: `http://127.0.0.1:${port}`,
      readyTimeoutMs: 180_000,
    });
    s.stateDir = state;
    info.servers.push({
      name,
      command: `(cd <snapshot of HEAD>; ${s.command
        .replace(state, `<fresh dir in ${opt["state-dir"]}>`)
        .replace(`--port ${port}`, "--port PORT")})`,
      pids: s.pids,
    });
    return s;
  };
  const startPeer = async (name, script) => {
    const port = await freePort();
    const s = await startServer(name, NODE, [join(ROOT, script), String(port)], { url: `http://127.0.0.1:${port}` });
    info.servers.push({ name, command: s.command.replaceAll(ROOT, "").replace(` ${port}`, " PORT"), pids: s.pids });
    return s;
  };
  /**
   * The runtime's floor for a chat room, under wrangler dev (as `npm run dev` runs it) or plain
   * workerd; or (`fixture`) another Worker served the same way, the partyserver room.
   */
  const startFloorRoom = async (name, runtime, fixture = { hub: "room-hub.mjs" }) => {
    const port = await freePort();
    // Local observability as ridewire gets it from scripts/dev.mjs: off unless the caller asks for it.
    const observability = (process.env.X_LOCAL_OBSERVABILITY ?? "false") !== "false";
    const { dir, cmd, args, env } = prepareFloorServer({
      ...fixture,
      runtime,
      port,
      observability,
      prefix: `ridewire-bench-${name}-`,
      base: opt["state-dir"],
    });
    states.push(dir);
    const s = await startServer(name, cmd, args, {
      cwd: dir,
      env: { ...ridewireEnv, ...env },
      url: `http://127.0.0.1:${port}`,
    });
    s.stateDir = dir;
    const shown = s.command
      .replaceAll(dir, `<fresh dir in ${opt["state-dir"]}>`)
      .replaceAll(ROOT, "")
      .replace(`--port ${port}`, "--port PORT")
      .replace(`127.0.0.1:${port}`, "127.0.0.1:PORT");
    info.servers.push({
      name,
      command: runtime === "wrangler" ? `X_LOCAL_OBSERVABILITY=${env.X_LOCAL_OBSERVABILITY} ${shown}` : shown,
      pids: s.pids,
    });
    return s;
  };
  const startChatServer = (target) => {
    if (target === "ridewire") return startRidewire("ridewire-chat");
    if (target === "do-room") return startFloorRoom("do-room", "wrangler");
    if (target === "do-room-workerd") return startFloorRoom("do-room-workerd", "workerd");
    if (target === "do-room-durable")
      return startFloorRoom("do-room-durable", "wrangler", { hub: "room-hub-durable.mjs", assets: true });
    if (target === "partyserver")
      return startFloorRoom("partyserver", "wrangler", {
        hub: "room.mjs",
        fixtures: join(ROOT, "bench/peers/partyserver"),
        nodeModules: true,
      });
    return startPeer(`${target}-hub`, target === "ws" ? "bench/peers/ws-hub.mjs" : "bench/peers/socketio-hub.mjs");
  };
  const rel = (p) => relative(ROOT, p);
  /** A generator's run for run.json, its command as anyone can repeat it: no paths of this machine, ports or pids. */
  const generatorRecord = (name, g, server, jsonPath, shownPath) => ({
    name,
    exit: g.code,
    seconds: g.seconds,
    command: g.command
      .replace(jsonPath, shownPath)
      .replaceAll(ROOT, "")
      .replace(server.url, "http://127.0.0.1:PORT")
      .replace(`--server-root ${server.pid}`, "--server-root PID"),
  });

  try {
    if (ONLY.has("chat")) {
      for (const target of TARGETS) {
        info.chat[target] = { loadBefore: await waitForQuietHost(`chat ${target}`) };
        // One fresh server per topology, for every target alike: a server that has carried 1,000
        // sockets keeps their heap and caches, and measured later topologies with that load behind it
        // (PROFILE.md, "10 x 20 on a server that served nothing else").
        const parts = [];
        for (const topology of plan.chat.topologies[target].split(",")) {
          const server = await startChatServer(target);
          const partPath = join(JSON_DIR, `chat-${target}-${topology}.json`);
          rmSync(partPath, { force: true });
          const args = [
            "--target",
            target,
            "--url",
            server.url,
            "--server-root",
            String(server.pid),
            "--topologies",
            topology,
            "--rates",
            plan.chat.rates,
            ...plan.chat.extra,
            "--json",
            partPath,
          ];
          const g = await runGenerator(`chat ${target} ${topology}`, "bench/chat-compare.mjs", args);
          const shownPath = rel(partPath).replace(`-${topology}.json`, "-TOPOLOGY.json");
          info.generators.push(generatorRecord(`chat ${target} ${topology}`, g, server, partPath, shownPath));
          parts.push(readJson(partPath));
          rmSync(partPath, { force: true });
          await stopServer(server);
          if (server.stateDir) rmSync(server.stateDir, { recursive: true, force: true });
          // Let the stopped server's pages go back before the next one starts.
          await sleep(3000);
        }
        const jsonPath = join(JSON_DIR, `chat-${target}.json`);
        const result = mergeChatRuns(parts);
        if (result) writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
        else rmSync(jsonPath, { force: true });
        info.chat[target].result = result;
        info.chat[target].json = rel(jsonPath);
      }
    }
    if (ONLY.has("dispatch")) {
      const runs = [...plan.dispatch.ref.map((d) => ["ref", d]), ...plan.dispatch.ridewire.map((d) => ["ridewire", d])];
      for (const [target, drivers] of runs) {
        const loadBefore = await waitForQuietHost(`dispatch ${target} ${drivers}`);
        const server =
          target === "ridewire"
            ? await startRidewire(`ridewire-dispatch-${drivers}`)
            : await startPeer(`dispatch-ref-${drivers}`, "bench/peers/dispatch-ref.mjs");
        const jsonPath = join(JSON_DIR, `dispatch-${target}-${drivers}.json`);
        rmSync(jsonPath, { force: true });
        const args = [
          "--url",
          server.url,
          "--server-root",
          String(server.pid),
          "--drivers",
          String(drivers),
          "--rates",
          plan.dispatch.rates,
          ...plan.dispatch.extra,
          "--json",
          jsonPath,
        ];
        const g = await runGenerator(`dispatch ${target} ${drivers}`, "bench/dispatch.mjs", args);
        info.generators.push(
          generatorRecord(`dispatch ${target} ${drivers} drivers`, g, server, jsonPath, rel(jsonPath)),
        );
        info.dispatch.push({ target, drivers, loadBefore, json: rel(jsonPath), result: readJson(jsonPath) });
        await stopServer(server);
      }
    }
  } finally {
    await stopAll();
    for (const s of states) rmSync(s, { recursive: true, force: true });
    rmSync(tree, { recursive: true, force: true });
  }
  info.finished = new Date().toISOString();
  info.minutes = Math.round(((Date.now() - started.getTime()) / 60_000) * 10) / 10;
  info.loadAtEnd = loadavg();
  const infoPath = join(JSON_DIR, "run.json");
  writeFileSync(
    infoPath,
    `${JSON.stringify(
      {
        ...info,
        chat: Object.fromEntries(Object.entries(info.chat).map(([k, v]) => [k, { ...v, result: undefined }])),
        dispatch: info.dispatch.map((d) => ({ ...d, result: undefined })),
      },
      null,
      2,
    )}\n`,
  );
  writeFileSync(OUT, renderReport(info));
  log(`done in ${info.minutes} min: wrote ${rel(OUT)} and ${rel(JSON_DIR)}/*.json`);
}

main().catch(async (err) => {
  console.error(`bench: ${err?.stack ?? err}`);
  await stopAll();
  process.exit(1);
});
