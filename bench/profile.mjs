#!/usr/bin/env node
// CPU profile of ridewire's Worker under `wrangler dev`, through workerd's inspector (Chrome
// DevTools protocol): node --cpu-prof cannot reach inside workerd, this can.
//
//   npm run dev -- --port 8795 --inspector-port 9230 ...      # the server, with an inspector
//   node bench/profile.mjs --inspector 127.0.0.1:9230 --seconds 15 --out /tmp/chat.cpuprofile
//                                                             # while a load generator runs
//   node bench/profile.mjs --summarize /tmp/chat.cpuprofile   # again from a saved profile
//
// Prints self time by function (with file and line) and by source file, and the total
// (inclusive) time of the hottest frames, as % of the samples taken while the isolate was busy
// (idle excluded) and of all samples. The .cpuprofile opens in Chrome DevTools' Performance tab.
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import WebSocket from "ws";

const { values: opt } = parseArgs({
  options: {
    inspector: { type: "string", default: "127.0.0.1:9229" },
    seconds: { type: "string", default: "10" },
    interval: { type: "string", default: "200" },
    out: { type: "string" },
    summarize: { type: "string" },
    top: { type: "string", default: "30" },
    target: { type: "string" },
  },
  strict: true,
});
const TOP = Number(opt.top);

async function connect() {
  const list = await (await fetch(`http://${opt.inspector}/json/list`)).json();
  // wrangler's user Worker; workerd lists one target per service.
  const target =
    list.find((t) =>
      opt.target ? t.title?.includes(opt.target) || t.id === opt.target : !/^(core:|__)/.test(t.title ?? ""),
    ) ?? list[0];
  if (!target) throw new Error(`no inspector target at ${opt.inspector}`);
  console.error(
    `profile: target ${target.title ?? target.id} (${list.length} listed: ${list.map((t) => t.title).join(", ")})`,
  );
  const ws = new WebSocket(target.webSocketDebuggerUrl ?? `ws://${opt.inspector}/${target.id}`, {
    perMessageDeflate: false,
    maxPayload: 1 << 30,
  });
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  let nextId = 1;
  const pending = new Map();
  ws.on("message", (data) => {
    const msg = JSON.parse(data.toString());
    if (msg.id && pending.has(msg.id)) {
      const { resolve, reject } = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) reject(new Error(JSON.stringify(msg.error)));
      else resolve(msg.result);
    }
  });
  const call = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  return { call, close: () => ws.close() };
}

function summarize(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map();
  const deltas = profile.timeDeltas ?? [];
  for (const [i, id] of profile.samples.entries()) {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (deltas[i + 1] ?? deltas[i] ?? 0));
  }
  const name = (n) => {
    const f = n.callFrame;
    const file = (f.url || "").replace(/^.*\/(src|node_modules)\//, "$1/").replace(/^file:\/\//, "");
    return `${f.functionName || "(anonymous)"} ${file ? `${file}:${f.lineNumber + 1}` : ""}`.trim();
  };
  const fileOf = (n) =>
    (n.callFrame.url || n.callFrame.functionName || "?")
      .replace(/^.*\/(src|node_modules)\//, "$1/")
      .replace(/^(node_modules\/[^/]+)\/.*$/, "$1");
  let total = 0;
  let idle = 0;
  const self = new Map();
  const files = new Map();
  const inclusive = new Map();
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    total += us;
    if (n.callFrame.functionName === "(idle)") {
      idle += us;
      continue;
    }
    self.set(name(n), (self.get(name(n)) ?? 0) + us);
    files.set(fileOf(n), (files.get(fileOf(n)) ?? 0) + us);
    // Inclusive: every distinct frame on the stack gets the sample once.
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const k = name(byId.get(cur));
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + us);
    }
  }
  const busy = total - idle;
  const line = (k, us) =>
    `${((100 * us) / busy).toFixed(1).padStart(5)}% busy ${((100 * us) / total).toFixed(1).padStart(5)}% all  ${k}`;
  const out = [];
  out.push(
    `samples: ${profile.samples.length}, ${(total / 1e6).toFixed(2)} s profiled, isolate busy ` +
      `${(busy / 1e6).toFixed(2)} s (${((100 * busy) / total).toFixed(1)}%)`,
  );
  const starved = starvation(profile.samples.length, total, deltas);
  if (starved) out.push(starved);
  out.push(`\nself time by function (top ${TOP}):`);
  for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, TOP)) out.push(line(k, us));
  out.push(`\nself time by file:`);
  for (const [k, us] of [...files].sort((a, b) => b[1] - a[1]).slice(0, 20)) out.push(line(k, us));
  out.push(`\ntotal (inclusive) time, top ${TOP}:`);
  for (const [k, us] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, TOP)) out.push(line(k, us));
  return out.join("\n");
}

/**
 * A warning when the sampler took far fewer samples than asked. V8's sampler is a thread of the
 * server's own process, and under load it gets far fewer turns than asked (4-26k of the 125k asked
 * in 25 s, pinned to one core or not; bench/PROFILE.md, "The sampler was starved"). Each sample
 * then stands for the whole gap before it, so frames at which the sampler gets its turn (a socket
 * send, a storage call, an RPC) are over-counted, and the rest under-counted.
 */
function starvation(samples, totalUs, deltas) {
  const asked = Number(opt.interval);
  const expected = totalUs / asked;
  if (!(expected > 0) || samples >= expected / 4) return null;
  const sorted = [...deltas].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  return (
    `WARNING: ${samples} samples of the ~${Math.round(expected)} asked (median gap ${Math.round(median)} us, ` +
    `asked ${asked} us): the sampler was starved of CPU, so the shares below lean to frames that give up the CPU ` +
    `(sends, storage calls, RPCs). Trust only large differences; bench/native-profile.mjs samples from the kernel.`
  );
}

async function main() {
  if (opt.summarize) {
    console.log(summarize(JSON.parse(readFileSync(opt.summarize, "utf8"))));
    return;
  }
  const s = await connect();
  await s.call("Profiler.enable");
  await s.call("Profiler.setSamplingInterval", { interval: Number(opt.interval) });
  await s.call("Profiler.start");
  console.error(`profile: sampling every ${opt.interval} us for ${opt.seconds} s`);
  await new Promise((r) => setTimeout(r, Number(opt.seconds) * 1000));
  const { profile } = await s.call("Profiler.stop");
  s.close();
  if (opt.out) writeFileSync(opt.out, JSON.stringify(profile));
  console.log(summarize(profile));
}

main().catch((err) => {
  console.error(`profile: ${err?.stack ?? err}`);
  process.exit(1);
});
