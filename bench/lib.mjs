// Shared by the benchmarks: the loopback guard, an HDR-like latency histogram, a JSON API
// client, a bounded-concurrency pool, and server CPU accounting from /proc (which processes
// serve a port under wrangler dev, their CPU ticks, run-queue wait and host-wide ticks).
import { createServer } from "node:net";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { performance } from "node:perf_hooks";

/**
 * The chat servers `npm run bench` runs, in order: the peers, the runtime's floor (a bare
 * Durable Object room under wrangler dev and under plain workerd, bench/floor/room-hub.mjs), the
 * partyserver room under wrangler dev (bench/peers/partyserver/room.mjs), ridewire.
 */
export const CHAT_SERVERS = [
  "ws",
  "socketio",
  "do-room",
  "do-room-workerd",
  "do-room-durable",
  "partyserver",
  "ridewire",
];

/** Stops the run on a bad option or setup: exit code 2. */
export function die(msg) {
  console.error(`bench: ${msg}`);
  process.exit(2);
}

/** The numeric option `name` of `opt`, checked against a range. */
export function numberOption(opt, name, { int = false, min = 0, max = Infinity } = {}) {
  const v = Number(opt[name]);
  if (!Number.isFinite(v) || v < min || v > max || (int && !Number.isInteger(v))) {
    die(`--${name} must be ${int ? "an integer" : "a number"} in [${min}, ${max}], got ${JSON.stringify(opt[name])}`);
  }
  return v;
}

export function isLoopback(host) {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  return m?.slice(1).every((p) => Number(p) <= 255) ?? false;
}

// ---- histogram ----------------------------------------------------------------------------

/**
 * HDR-like log-linear histogram of non-negative values in microseconds: values under 128 us
 * get exact buckets, above that every power of two is split into 64 linear sub-buckets
 * (relative error < 1.6%). Exact min, max, count and sum are kept alongside.
 */
export class Histogram {
  static SUB = 64;
  constructor() {
    this.counts = new Uint32Array(64 * 40);
    this.count = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = -Infinity;
  }
  static index(us) {
    const v = Math.max(0, Math.floor(us));
    if (v < 2 * Histogram.SUB) return v;
    const e = Math.floor(Math.log2(v)) - 6; // v >> e is in [64, 128)
    const sub = Math.floor(v / 2 ** e) - Histogram.SUB; // 0..63
    return Histogram.SUB * (e + 1) + sub;
  }
  /** The middle of a bucket, in microseconds. */
  static valueOf(index) {
    if (index < 2 * Histogram.SUB) return index;
    const e = Math.floor(index / Histogram.SUB) - 1;
    const sub = index % Histogram.SUB;
    const lo = (Histogram.SUB + sub) * 2 ** e;
    return lo + (2 ** e - 1) / 2;
  }
  recordMs(ms) {
    const us = ms * 1000;
    const i = Math.min(Histogram.index(us), this.counts.length - 1);
    this.counts[i]++;
    this.count++;
    this.sum += ms;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
  }
  merge(other) {
    for (let i = 0; i < this.counts.length; i++) this.counts[i] += other.counts[i];
    this.count += other.count;
    this.sum += other.sum;
    this.min = Math.min(this.min, other.min);
    this.max = Math.max(this.max, other.max);
    return this;
  }
  /** The q-quantile in ms (0 < q <= 1), clamped to the exact min and max. */
  quantileMs(q) {
    if (this.count === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(this.max, Math.max(this.min, Histogram.valueOf(i) / 1000));
    }
    return this.max;
  }
  summary() {
    if (this.count === 0)
      return { count: 0, p50: null, p90: null, p99: null, p999: null, max: null, min: null, mean: null };
    const r = (x) => Math.round(x * 1000) / 1000;
    return {
      count: this.count,
      min: r(this.min),
      mean: r(this.sum / this.count),
      p50: r(this.quantileMs(0.5)),
      p90: r(this.quantileMs(0.9)),
      p99: r(this.quantileMs(0.99)),
      p999: r(this.quantileMs(0.999)),
      max: r(this.max),
    };
  }
}

// ---- small helpers ------------------------------------------------------------------------

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export const now = () => performance.now();

export class BenchError extends Error {
  /** The API's error code (or http_<status>), when the error is an API answer. */
  constructor(message, code = undefined) {
    super(message);
    this.code = code;
  }
}

/**
 * Sign-up is rate-limited per client IP (RL_ACCOUNT, 500 per 10 s), and a benchmark signs up
 * every client from one address: setup waits out the window (Retry-After) rather than fail.
 * Setup only: no measured request is retried.
 */
const SETUP_PATHS_RETRIED_ON_429 = new Set(["/v1/auth/register"]);
const SETUP_RETRIES = 8;

/** A JSON client of the server under test; failures throw BenchError with the API error code. */
export function makeApi(BASE) {
  return async function api(method, path, body, token, extraHeaders = {}) {
    for (let attempt = 0; ; attempt++) {
      try {
        return await apiOnce(method, path, body, token, extraHeaders);
      } catch (err) {
        const retry = err instanceof BenchError && err.retryAfterS !== undefined && attempt < SETUP_RETRIES;
        if (!retry || !SETUP_PATHS_RETRIED_ON_429.has(path)) throw err;
        await sleep(err.retryAfterS * 1000 + Math.random() * 500);
      }
    }
  };

  async function apiOnce(method, path, body, token, extraHeaders) {
    const headers = { "content-type": "application/json", ...extraHeaders };
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await fetch(new URL(path, BASE), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      // not JSON
    }
    if (!res.ok) {
      const code = data?.error?.code ?? `http_${res.status}`;
      const error = new BenchError(
        `${method} ${path} -> ${res.status} ${code}: ${data?.error?.message ?? text.slice(0, 200)}`,
        code,
      );
      if (res.status === 429) error.retryAfterS = Number(res.headers.get("retry-after")) || 10;
      throw error;
    }
    return data;
  }
}

/** Runs fn over items with at most `limit` in flight; rejects on the first failure. */
export async function pool(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  let failed = null;
  const worker = async () => {
    while (failed === null && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i], i);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed) throw failed;
  return results;
}

// ---- server CPU via /proc -----------------------------------------------------------------

function clockTicks() {
  try {
    const v = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    if (Number.isFinite(v) && v > 0) return v;
  } catch {
    // fall through
  }
  return 100;
}
export const CLK_TCK = clockTicks();

function procStat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = text.slice(text.lastIndexOf(")") + 2).split(" "); // rest[0] is field 3 (state)
    return { ppid: Number(rest[1]), utime: Number(rest[11]), stime: Number(rest[12]) };
  } catch {
    return null;
  }
}
const procComm = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return null;
  }
};
const procCmdline = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return [];
  }
};
const allPids = () =>
  readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map(Number);

/** Inodes of TCP sockets listening on `port`, from /proc/net/tcp{,6}. */
function listeningInodes(port) {
  const inodes = new Set();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const localPort = parseInt(f[1].split(":").pop(), 16);
      if (localPort === port && f[3] === "0A") inodes.add(f[9]);
    }
  }
  return inodes;
}

function pidsOwningInodes(inodes) {
  const owners = new Set();
  if (inodes.size === 0) return owners;
  for (const pid of allPids()) {
    let fds = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m && inodes.has(m[1])) owners.add(pid);
      } catch {
        // fd went away
      }
    }
  }
  return owners;
}

/**
 * The processes to charge server CPU to. wrangler dev runs a node process (wrangler's CLI)
 * with two workerd children: the entry proxy listening on the port and the user Worker with
 * its Durable Objects. We find the workerd that serves --url's port (by its
 * `--socket-addr=entry=HOST:PORT` argument or by owning the listening socket), then take every
 * workerd child of the same wrangler process. Fallback: every process named workerd.
 */
export function findServerProcesses(PORT, pidOption, die) {
  if (pidOption) {
    const pids = pidOption.split(",").map((p) => Number(p.trim()));
    if (pids.some((p) => !Number.isInteger(p) || p <= 0)) die(`--pid must be a comma-separated list of pids`);
    for (const p of pids) if (!procStat(p)) die(`--pid ${p}: no such process (or /proc unreadable)`);
    return { pids, how: "--pid", wrangler: null, warnings: [] };
  }
  const workerds = allPids().filter((p) => procComm(p) === "workerd");
  const warnings = [];
  if (workerds.length === 0) {
    return {
      pids: [],
      how: "none found",
      wrangler: null,
      warnings: ["no workerd process found: server CPU not measured (pass --pid)"],
    };
  }
  let entry = workerds.filter((p) =>
    procCmdline(p).some((a) => a.startsWith("--socket-addr=entry=") && a.endsWith(`:${PORT}`)),
  );
  if (entry.length === 0) {
    const owners = pidsOwningInodes(listeningInodes(PORT));
    entry = workerds.filter((p) => owners.has(p));
  }
  if (entry.length === 1) {
    const parent = procStat(entry[0])?.ppid;
    const siblings = workerds.filter((p) => procStat(p)?.ppid === parent);
    const parentIsNode = parent && procComm(parent) === "node";
    return {
      pids: siblings.length > 0 ? siblings : entry,
      how: `workerd children of wrangler pid ${parent} (entry socket on port ${PORT})`,
      wrangler: parentIsNode ? parent : null,
      warnings,
    };
  }
  warnings.push(
    `could not tell which workerd serves port ${PORT}; charging ALL ${workerds.length} workerd processes (other ` +
      `servers on this host inflate the figure; pass --pid)`,
  );
  return { pids: workerds, how: "every process named workerd", wrangler: null, warnings };
}

export function cpuTicks(pids) {
  const perPid = {};
  let total = 0;
  let missing = 0;
  for (const pid of pids) {
    const s = procStat(pid);
    if (!s) {
      missing++;
      continue;
    }
    perPid[pid] = s.utime + s.stime;
    total += s.utime + s.stime;
  }
  return { total, perPid, missing };
}

/** Run-queue wait (ns) summed over every thread of the pids: time runnable but not running. */
export function runQueueWaitNs(pids) {
  let total = 0;
  for (const pid of pids) {
    let tasks = [];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      try {
        total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[1]) || 0;
      } catch {
        // thread gone
      }
    }
  }
  return total;
}

/** Host-wide CPU ticks (busy, total) from /proc/stat. */
export function hostTicks() {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0); // guest time is already in user
    const idle = f[3] + (f[4] || 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

export function cpuCount() {
  try {
    return Number(execFileSync("nproc", ["--all"], { encoding: "utf8" }).trim()) || null;
  } catch {
    return null;
  }
}

// ---- process trees and memory (the side-by-side benchmarks) -------------------------------

export { procComm, procCmdline };

/** `root` and every live descendant of it (children by ppid from /proc/<pid>/stat). */
export function processTree(root) {
  if (!procStat(root)) return [];
  const children = new Map();
  for (const pid of allPids()) {
    const s = procStat(pid);
    if (!s) continue;
    if (!children.has(s.ppid)) children.set(s.ppid, []);
    children.get(s.ppid).push(pid);
  }
  const out = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop();
    out.push(pid);
    for (const c of children.get(pid) ?? []) stack.push(c);
  }
  return out.sort((a, b) => a - b);
}

/** Resident set size in bytes (VmRSS of /proc/<pid>/status), summed over the pids that still exist. */
export function rssBytes(pids) {
  let total = 0;
  for (const pid of pids) {
    try {
      const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (m) total += Number(m[1]) * 1024;
    } catch {
      // gone
    }
  }
  return total;
}

/** One line per pid: pid, name and the first arguments, for reports. */
export function describeProcesses(pids) {
  return pids.map((pid) => {
    const args = procCmdline(pid);
    const name = procComm(pid) ?? "?";
    const hint = args
      .slice(0, 4)
      .map((a) => (a.length > 60 ? `${a.slice(0, 57)}...` : a))
      .join(" ");
    return { pid, name, cmd: hint };
  });
}

/**
 * Stops a server started as the leader of its own process group: SIGTERM to the group, up to
 * `graceMs` for it to exit, then SIGKILL to anything of its tree still there (including a
 * child that left the group) and to the group.
 */
export async function stopProcessTree(proc, { graceMs = 10_000 } = {}) {
  const tree = processTree(proc.pid);
  const exited = new Promise((resolve) =>
    proc.exitCode !== null || proc.signalCode !== null ? resolve() : proc.once("exit", resolve),
  );
  const group = (sig) => {
    try {
      process.kill(-proc.pid, sig);
    } catch {
      // group gone
    }
  };
  group("SIGTERM");
  await Promise.race([exited, sleep(graceMs)]);
  await sleep(500);
  for (const pid of tree) {
    try {
      process.kill(pid, 0);
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  group("SIGKILL");
}

/** The 1-, 5- and 15-minute load averages of the host. */
export const loadavg = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number);

/** A TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it). */
/** Arguments of `wrangler dev` for a benchmark server: a port on loopback, its own state, no prompts, warnings only. */
export function devServerArgs(port, stateDir) {
  return [
    ...["--port", String(port), "--ip", "127.0.0.1", "--persist-to", stateDir],
    ...["--show-interactive-dev-session=false", "--log-level", "warn"],
  ];
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}
