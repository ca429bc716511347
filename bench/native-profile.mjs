#!/usr/bin/env node
// Where a server's CPU goes by library, sampled from the kernel with `perf`: the runtime's C++
// (kj's event loop and I/O, WebSocket frames, the memory allocator), V8 (builtins and the
// interpreter, JIT code, garbage collection, its API), SQLite, the kernel (syscalls, loopback
// sockets) and libc. bench/profile.mjs sees only JavaScript, through a sampler that under load
// gets a fraction of its turns (bench/PROFILE.md, "The sampler was starved"); the kernel's timer
// does not, so these shares hold for comparing two servers, or two builds, at the same load.
//
//   node bench/native-profile.mjs --server-root <pid> --seconds 15 --out /tmp/ridewire.perf
//       # records the busiest workerd under <pid> (wrangler dev runs two) while a load runs
//   node bench/native-profile.mjs --report /tmp/ridewire.perf /tmp/durable.perf
//       # the categories of saved recordings, side by side
//
// Needs `perf` (Debian's linux-perf) and leave to sample another process of the same user
// (kernel.perf_event_paranoid <= 2, the default). JavaScript that V8 compiled shows as JIT code
// without names: which of ridewire's functions it is, bench/profile.mjs can say roughly.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { cpuTicks, die, numberOption, processTree } from "./lib.mjs";

const HELP = `usage: node bench/native-profile.mjs (--server-root PID | --pid PID) [options]
       node bench/native-profile.mjs --report FILE [FILE...]

  --server-root PID   record the busiest workerd process in this process tree
  --pid PID           ... or exactly this process
  --seconds S         how long to record (default 15)
  --frequency HZ      samples per second (default 499)
  --out FILE          where perf writes its recording (default a file in the temp directory)
  --top N             also list the N symbols with the most samples (default 15)
  --report            summarize recordings already made, given as arguments`;

const { values: opt, positionals } = parseArgs({
  options: {
    "server-root": { type: "string" },
    pid: { type: "string" },
    seconds: { type: "string", default: "15" },
    frequency: { type: "string", default: "499" },
    out: { type: "string" },
    top: { type: "string", default: "15" },
    report: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
  allowPositionals: true,
  strict: true,
});
if (opt.help) {
  console.log(HELP);
  process.exit(0);
}

/**
 * The category of one sampled symbol. Order matters: V8's garbage collector and SQLite are named
 * before the catch-alls of their libraries.
 */
const CATEGORIES = [
  ["kernel (syscalls, sockets)", (s) => s.kernel],
  ["JavaScript: JIT code", (s) => /JIT|perf-\d+\.map/.test(s.dso) || (s.dso === "[unknown]" && /^0x/.test(s.sym))],
  ["libc", (s) => /^libc[.-]|^libm[.-]|^libpthread/.test(s.dso)],
  ["V8: builtins and interpreter", (s) => /^Builtins_/.test(s.sym)],
  [
    "V8: garbage collection",
    (s) => /Heap::|Scavenge|MarkCompact|Sweeper|Marking|cppgc|GlobalHandles|HeapTracer/.test(s.sym),
  ],
  ["V8: runtime and API", (s) => /^v8::|^Runtime_/.test(s.sym)],
  [
    "SQLite (and workerd's storage glue)",
    (s) => /sqlite3|Sqlite|[Vv]dbe|[Bb]tree|^pager|^wal[A-Z]|^pcache|^unix[A-Z]/.test(s.sym),
  ],
  ["memory allocator", (s) => /tcmalloc|TCMalloc/.test(s.sym)],
  ["WebSocket frames", (s) => /WebSocket/.test(s.sym)],
  ["Rust I/O (hyper, tokio)", (s) => /tokio|hyper|kj_rs|\$rust\$|async_trace/.test(s.sym)],
  ["kj event loop and I/O", (s) => /\bkj::/.test(s.sym)],
  ["workerd (bindings, API glue)", (s) => /workerd::|capnp::/.test(s.sym)],
];
const OTHER = "other";

function categoryOf(sample) {
  for (const [name, matches] of CATEGORIES) if (matches(sample)) return name;
  return OTHER;
}

function perf(args, what) {
  const run = spawnSync("perf", args, { encoding: "utf8", maxBuffer: 1 << 28 });
  if (run.error?.code === "ENOENT") die("perf is not installed (Debian: apt-get install linux-perf)");
  if (run.status !== 0) {
    const said = (run.stderr || run.stdout || "").trim().slice(0, 400);
    die(`perf ${what} failed (exit ${run.status}): ${said || "no output; may this user sample that process?"}`);
  }
  return run.stdout;
}

/** Samples per (dso, symbol) of a recording, and the CPU time it covers. */
function readRecording(file) {
  const text = perf(["report", "-i", file, "--no-children", "--sort", "dso,sym", "--stdio", "-g", "none"], "report");
  const rows = [];
  let cpuNs = null;
  for (const line of text.split("\n")) {
    const count = /^# Event count \(approx\.\): (\d+)/.exec(line);
    if (count) cpuNs = Number(count[1]);
    const row = /^\s+([\d.]+)%\s+(\S.*?)\s+\[([k.])\]\s+(.*)$/.exec(line);
    if (row) rows.push({ share: Number(row[1]), dso: row[2], kernel: row[3] === "k", sym: row[4].trim() });
  }
  if (rows.length === 0) die(`${file}: perf recorded no samples (was the process busy?)`);
  return { rows, cpuS: cpuNs === null ? null : cpuNs / 1e9 };
}

function categories(rows) {
  const shares = new Map();
  for (const row of rows) {
    const name = categoryOf(row);
    shares.set(name, (shares.get(name) ?? 0) + row.share);
  }
  return shares;
}

function report(files) {
  const recordings = files.map((file) => ({ file, ...readRecording(file) }));
  const tables = recordings.map((r) => categories(r.rows));
  const names = [...new Set(tables.flatMap((t) => [...t.keys()]))].sort(
    (a, b) => (tables[0].get(b) ?? 0) - (tables[0].get(a) ?? 0),
  );
  const width = Math.max(...names.map((n) => n.length), 8);
  const heads = recordings.map((r) => r.file.split("/").pop().slice(0, 14).padStart(15));
  console.log(`${"share of samples".padEnd(width)}${heads.join("")}`);
  for (const name of names)
    console.log(`${name.padEnd(width)}${tables.map((t) => `${(t.get(name) ?? 0).toFixed(1)}%`.padStart(15)).join("")}`);
  const cpu = recordings.map((r) => (r.cpuS === null ? "?" : `${r.cpuS.toFixed(2)} s`).padStart(15));
  console.log(`${"CPU recorded".padEnd(width)}${cpu.join("")}`);
  const top = numberOption(opt, "top", { int: true, min: 0, max: 200 });
  for (const r of top > 0 ? recordings : []) {
    console.log(`\n${r.file}: top ${top} symbols`);
    for (const row of [...r.rows].sort((a, b) => b.share - a.share).slice(0, top))
      console.log(`${row.share.toFixed(2).padStart(6)}%  ${categoryOf(row).padEnd(width)}  ${row.sym.slice(0, 110)}`);
  }
}

/** The busiest workerd under `root` by CPU so far: the one running the Worker, not wrangler's proxy. */
function busiestWorkerd(root) {
  const pids = processTree(root).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "workerd";
    } catch {
      return false;
    }
  });
  if (pids.length === 0) die(`no workerd process under pid ${root}`);
  const { perPid } = cpuTicks(pids);
  return pids.sort((a, b) => (perPid[b] ?? 0) - (perPid[a] ?? 0))[0];
}

if (opt.report) {
  if (positionals.length === 0) die("--report needs the recordings to summarize");
  report(positionals);
} else {
  if (!opt["server-root"] && !opt.pid) die(`--server-root or --pid is required\n${HELP}`);
  const pid = opt.pid
    ? numberOption(opt, "pid", { int: true, min: 1 })
    : busiestWorkerd(numberOption(opt, "server-root", { int: true, min: 1 }));
  const seconds = numberOption(opt, "seconds", { min: 1, max: 600 });
  const frequency = numberOption(opt, "frequency", { int: true, min: 1, max: 10_000 });
  const out = opt.out ?? join(tmpdir(), `native-profile-${pid}-${Date.now()}.perf`);
  console.error(`native-profile: recording pid ${pid} at ${frequency} Hz for ${seconds} s into ${out}`);
  perf(["record", "-F", String(frequency), "-p", String(pid), "-o", out, "--", "sleep", String(seconds)], "record");
  report([out]);
}
