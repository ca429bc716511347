#!/usr/bin/env node
// Renders bench/RESULTS.md from one run of bench/run.mjs (which calls renderReport), or again
// from its saved JSON:  node bench/report.mjs bench/results > bench/RESULTS.md
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CHAT_SERVERS } from "./lib.mjs";

const NAMES = {
  ridewire: "ridewire (wrangler dev)",
  ws: "ws hub",
  socketio: "Socket.IO",
  "do-room": "bare Durable Object room (wrangler dev)",
  "do-room-workerd": "bare Durable Object room (plain workerd)",
  "do-room-durable": "durable room in ridewire's shape (wrangler dev, assets in front)",
  partyserver: "partyserver room (wrangler dev)",
  ref: "Node reference",
};
/** The chat servers in the order the tables list them: ridewire, then the rest as they run. */
const CHAT_ORDER = ["ridewire", ...CHAT_SERVERS.filter((t) => t !== "ridewire")];
const n0 = (x) => (x === null || x === undefined || Number.isNaN(x) ? "–" : Math.round(x).toLocaleString("en-US"));
const ms = (x) =>
  x === null || x === undefined
    ? "–"
    : x < 10
      ? x.toFixed(2)
      : x < 100
        ? x.toFixed(1)
        : Math.round(x).toLocaleString("en-US");
const f2 = (x) => (x === null || x === undefined ? "–" : x < 1 ? x.toFixed(3) : x < 10 ? x.toFixed(2) : x.toFixed(1));
const kib = (b) => (b === null || b === undefined ? "–" : `${(b / 1024).toFixed(1)} KiB`);
const pct = (x) => (x === null || x === undefined ? "–" : `${Math.round(x)}%`);
const ratio = (a, b) => (a && b ? `${(a / b).toFixed(2)}×` : "–");

function chatTargets(info) {
  return CHAT_ORDER.filter((t) => info.chat?.[t]?.result);
}

/** The fixed-load point, if it was run and delivered (nearly) everything. */
function fixedPoint(topo) {
  return topo.points.find((p) => p.ratePerClient === topo.fixedRatePerClient) ?? null;
}

function bestGood(topo) {
  return topo.points.filter((p) => p.good).sort((a, b) => b.deliveredPerS - a.deliveredPerS)[0] ?? null;
}

/**
 * RSS per connection, from the first topology only: it is the one measured on a fresh server
 * process (later ones reuse a heap that grew for the first and does not shrink back).
 */
function memoryPerConnection(result, topo) {
  const first = result.topologies.find((x) => !x.error);
  return first === topo ? topo.memory.perConnectionBytes : null;
}
function firstMemory(result) {
  const first = result?.topologies.find((x) => !x.error);
  return first ? { bytes: first.memory.perConnectionBytes, key: `${first.rooms} × ${first.clientsPerRoom}` } : null;
}

/** CPU-s per 100k deliveries at the fixed point when it held, else at the best good point. */
function cpuPer100k(topo) {
  const f = fixedPoint(topo);
  if (f && !f.discarded && f.deliveryRatio >= 0.999 && !f.aborted)
    return { value: f.server.cpuSPer100kDeliveries, where: `at ${n0(f.deliveredPerS)}/s` };
  const b = bestGood(topo);
  if (b)
    return {
      value: b.server.cpuSPer100kDeliveries,
      where: `at ${n0(b.deliveredPerS)}/s${f ? " (10k/s did not hold)" : ""}`,
    };
  return { value: null, where: "" };
}

// ---- the lead: ratios to the runtime's floor, and dispatch against issue 20's targets ----------

/** Issue 20's targets. */
const TARGETS = {
  perCpuVsFloor: 0.9,
  bestVsFloor: 0.9,
  memoryVsFloor: 1.1,
  perCpuVsPartyserver: 1.0,
  tripCpuMs: 25,
  requestToOfferP99Ms: 100,
  locationToRiderP99Ms: 50,
};
const topoKey = (x) => `${x.rooms}x${x.clientsPerRoom}`;
const topoLabel = (key) => key.replace("x", " × ");
const findTopo = (info, target, key) =>
  info.chat?.[target]?.result?.topologies.find((x) => topoKey(x) === key && !x.error) ?? null;
/** A point whose figures stand: not generator-bound, not stopped early, ≥ 99.9% delivered, CPU measured. */
const held = (p) => !p.discarded && !p.aborted && p.deliveryRatio >= 0.999 && p.server.deliveriesPerCpuS > 0;
const mark = (ok) => (ok ? " ✓" : " ✗");
const x2 = (r) => `${r.toFixed(2)}×`;

/**
 * Deliveries per server CPU-s of `mine` ÷ `theirs`, at the same offered rate: the highest rate
 * per client at which both held (CPU per delivery falls as the rate rises, so figures from
 * different rates would not compare). Null when they share no such rate.
 */
function perCpuAtSameRate(mine, theirs) {
  const theirsHeld = new Map(theirs.points.filter(held).map((p) => [p.ratePerClient, p]));
  const both = mine.points.filter((p) => held(p) && theirsHeld.has(p.ratePerClient));
  if (both.length === 0) return null;
  const m = both.sort((a, b) => b.ratePerClient - a.ratePerClient)[0];
  const t = theirsHeld.get(m.ratePerClient);
  return { ratio: m.server.deliveriesPerCpuS / t.server.deliveriesPerCpuS, mine: m, theirs: t };
}

/** One cell: deliveries per CPU-s ratio, with both figures and the rate they were read at. */
function perCpuCell(mine, theirs, target) {
  if (!mine || !theirs) return "–";
  const r = perCpuAtSameRate(mine, theirs);
  if (!r) return "no rate held by both";
  return (
    `**${x2(r.ratio)}**${target ? mark(r.ratio >= target) : ""} (${n0(r.mine.server.deliveriesPerCpuS)} ÷ ` +
    `${n0(r.theirs.server.deliveriesPerCpuS)} at ${n0(r.mine.targetDeliveriesPerS)}/s offered)`
  );
}

/** One cell: highest delivered rate with p99 ≤ 50 ms, ratio and both figures. */
function bestCell(mine, theirs, target) {
  if (!mine || !theirs) return "–";
  const a = bestGood(mine);
  const b = bestGood(theirs);
  if (!a || !b) return `${a ? n0(a.deliveredPerS) : "none held"} ÷ ${b ? n0(b.deliveredPerS) : "none held"}`;
  const r = a.deliveredPerS / b.deliveredPerS;
  // A run that stopped before the server failed gives a lower bound: then the ratio is a bound too,
  // and the target's verdict is known only on the side the bound allows ("?" otherwise).
  const lower = (t) => t.summary.limitedBy === "generator" || t.summary.limitedBy === "highest point run";
  const bound = (t) => (lower(t) ? "≥ " : "");
  let verdict = "";
  if (target) {
    if (!lower(mine) && !lower(theirs)) verdict = mark(r >= target);
    else if (lower(mine) && !lower(theirs) && r >= target) verdict = mark(true);
    else if (!lower(mine) && lower(theirs) && r < target) verdict = mark(false);
    else verdict = " ?";
  }
  return `**${x2(r)}**${verdict} (${bound(mine)}${n0(a.deliveredPerS)} ÷ ${bound(theirs)}${n0(b.deliveredPerS)}/s)`;
}

/**
 * One cell: RSS per connection ratio of `who` to `against` (first workloads, fresh processes), on
 * the first workload's row.
 */
function memoryCell(info, who, key, target, against = "do-room") {
  const mine = firstMemory(info.chat?.[who]?.result);
  const floor = firstMemory(info.chat?.[against]?.result);
  if (!mine || !floor) return "–";
  if (key !== floor.key.replace(" × ", "x")) return `see ${floor.key}`;
  if (!(mine.bytes > 0 && floor.bytes > 0)) return `${kib(mine.bytes)} ÷ ${kib(floor.bytes)}`;
  const r = mine.bytes / floor.bytes;
  const note = mine.key === floor.key ? "" : `, ${mine.key} ÷ ${floor.key}`;
  return `**${x2(r)}**${target ? mark(r <= target) : ""} (${kib(mine.bytes)} ÷ ${kib(floor.bytes)}${note})`;
}

function floorRatios(info) {
  const floor = info.chat?.["do-room"]?.result;
  const who = ["ridewire", "partyserver"].filter((t) => info.chat?.[t]?.result);
  if (!floor || who.length === 0)
    return (
      "Not in this run: the ratios need the bare room under `wrangler dev` (target `do-room`) and ridewire or " +
      "partyserver (`--targets do-room,partyserver,ridewire`)."
    );
  const keys = [
    ...new Set(
      ["do-room", "partyserver", "ridewire"].flatMap(
        (t) => info.chat?.[t]?.result?.topologies.filter((x) => !x.error).map(topoKey) ?? [],
      ),
    ),
  ];
  const rows = [
    `| workload (rooms × clients) | ridewire ÷ bare room: deliveries per CPU-s (target ≥ ${TARGETS.perCpuVsFloor}×) ` +
      `| ridewire ÷ bare room: highest rate with p99 ≤ 50 ms (≥ ${TARGETS.bestVsFloor}×) | ridewire ÷ bare room: ` +
      `memory per connection (≤ ${TARGETS.memoryVsFloor}×) | partyserver ÷ bare room: deliveries per CPU-s | ` +
      `partyserver ÷ bare room: highest rate with p99 ≤ 50 ms | partyserver ÷ bare room: memory per connection | ` +
      `ridewire ÷ partyserver: deliveries per CPU-s (≥ ${TARGETS.perCpuVsPartyserver.toFixed(1)}×) |`,
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const key of keys) {
    const f = findTopo(info, "do-room", key);
    const rw = findTopo(info, "ridewire", key);
    const ps = findTopo(info, "partyserver", key);
    const missing = (t, x) => (info.chat?.[t]?.result ? (x ? null : "not run at this workload") : "not run");
    const cell = (t, x, fn) => missing(t, x) ?? (f ? fn() : "bare room not run at this workload");
    rows.push(
      `| ${topoLabel(key)} | ${cell("ridewire", rw, () => perCpuCell(rw, f, TARGETS.perCpuVsFloor))} | ` +
        `${cell("ridewire", rw, () => bestCell(rw, f, TARGETS.bestVsFloor))} | ` +
        `${info.chat?.ridewire?.result ? memoryCell(info, "ridewire", key, TARGETS.memoryVsFloor) : "not run"} | ` +
        `${cell("partyserver", ps, () => perCpuCell(ps, f))} | ${cell("partyserver", ps, () => bestCell(ps, f))} | ` +
        `${info.chat?.partyserver?.result ? memoryCell(info, "partyserver", key) : "not run"} | ` +
        `${missing("ridewire", rw) ?? missing("partyserver", ps) ?? perCpuCell(rw, ps, TARGETS.perCpuVsPartyserver)} |`,
    );
  }
  return (
    `${rows.join("\n")}\n\n${durableRatios(info, keys)}` +
    `The bare room (\`do-room\`, bench/floor/room-hub.mjs) is a Durable Object room on the same runtime as ridewire ` +
    `(\`wrangler dev\`, \`X_LOCAL_OBSERVABILITY=false\`) doing only parse, re-serialise once and send to every ` +
    `member: no room in ridewire's place gets below it. The partyserver room (bench/peers/partyserver/room.mjs) is ` +
    `the same room as a partyserver user writes it, on the same runtime. Neither stores, acknowledges, dedupes, ` +
    `sequences or resumes a message (Guarantees, below); ridewire does all of that in its figures. ` +
    `Each cell is the ratio, then the two figures (mine ÷ theirs). **Deliveries per CPU-s** are compared at the ` +
    `same offered rate, the highest at which both servers held (≥ 99.9% delivered, not stopped early, generator ` +
    `under its limit); **highest rate** is the best point with p99 ≤ 50 ms (≥: the run stopped before that ` +
    `server failed, a lower bound, and ? where the bounds leave the target undecided); **memory per ` +
    `connection** is read on the first workload (the most sockets). Every workload runs on a fresh server ` +
    `process of its own. ✓ / ✗: issue 20's target met ` +
    `or not, in this one run.`
  );
}

/**
 * ridewire against the durable room (bench/floor/room-hub-durable.mjs): the bare room plus the
 * least storage and acks that ridewire's guarantees need, so that what the guarantees cost on
 * this runtime and what ridewire's own code costs above them read apart.
 */
function durableRatios(info, keys) {
  const durable = info.chat?.["do-room-durable"]?.result;
  const floor = info.chat?.["do-room"]?.result;
  if (!durable || !floor) return "";
  const rows = [
    "| workload (rooms × clients) | durable room ÷ bare room: deliveries per CPU-s (what the guarantees cost) | " +
      "durable room ÷ bare room: memory per connection | ridewire ÷ durable room: deliveries per CPU-s " +
      "(ridewire's own work) | ridewire ÷ durable room: highest rate with p99 ≤ 50 ms | ridewire ÷ durable " +
      "room: memory per connection |",
    "|---|---|---|---|---|---|",
  ];
  for (const key of keys) {
    const f = findTopo(info, "do-room", key);
    const d = findTopo(info, "do-room-durable", key);
    const rw = findTopo(info, "ridewire", key);
    if (!d) continue;
    rows.push(
      `| ${topoLabel(key)} | ${f ? perCpuCell(d, f) : "–"} | ${memoryCell(info, "do-room-durable", key)} | ` +
        `${rw ? perCpuCell(rw, d) : "–"} | ${rw ? bestCell(rw, d) : "–"} | ` +
        `${info.chat?.ridewire?.result ? memoryCell(info, "ridewire", key, undefined, "do-room-durable") : "–"} |`,
    );
  }
  if (rows.length === 2) return "";
  return (
    `${rows.join("\n")}\n\n` +
    "The durable room (`do-room-durable`, bench/floor/room-hub-durable.mjs) is the bare room plus the least " +
    "that ridewire's guarantees cost (per message one INSERT claiming the (user, id) pair, one INSERT into a " +
    "sequenced log in the object's SQLite, an `ack` to the sender, the runtime's output gate holding the ack " +
    "and the frames until the write commits) and served in ridewire's shape: static assets in front of the " +
    "Worker, so that wrangler's asset router carries every socket as it carries ridewire's. Its ratio to the " +
    "bare room is the price of the guarantees and of that shape on this runtime; ridewire's ratio to it is " +
    "what ridewire's own code (auth, limits, presence, write-behind to D1, resume, notifications) costs above " +
    "that price.\n\n"
  );
}

/** Server CPU per completed trip, net of the city's idle cost (drivers streaming, no requests), in ms. */
function tripCpu(result, w) {
  const e = w.cpu.withRidesEnd;
  const idle = result.idleCity ?? w.idleCity;
  const done = w.trips.completed;
  if (!e || e.serverCpuS === null || !(done > 0)) return null;
  const idleRate = idle && idle.seconds > 0 ? idle.serverCpuS / idle.seconds : 0;
  return {
    netMs: ((e.serverCpuS - idleRate * e.seconds) / done) * 1000,
    grossMs: (e.serverCpuS / done) * 1000,
    idlePct: idleRate * 100,
  };
}

/**
 * The net CPU per trip, or why there is none: when the idle city's estimate (read over the
 * warm-up) exceeds what the window used, the difference is noise, not a negative cost.
 */
function tripCpuCell(c) {
  if (!c) return "–";
  if (c.netMs < 0) return `– (the idle city's estimate exceeds the window's CPU: noise; gross ${ms(c.grossMs)} ms)`;
  return `${ms(c.netMs)} ms${mark(c.netMs <= TARGETS.tripCpuMs)}`;
}

function dispatchTargets(info) {
  const runs = (info.dispatch ?? []).filter((d) => d.target === "ridewire" && d.result);
  if (runs.length === 0) return "Not in this run: no ridewire dispatch run.";
  const rows = [
    `| drivers | requests/s asked (made) | trips completed | server CPU per completed trip, net of the idle city ` +
      `(target ≤ ${TARGETS.tripCpuMs} ms) | request → offer p99 (< ${TARGETS.requestToOfferP99Ms} ms) | location → ` +
      `rider p99 (< ${TARGETS.locationToRiderP99Ms} ms) | notes |`,
    "|---|---|---|---|---|---|---|",
  ];
  for (const d of runs) {
    for (const w of d.result.windows ?? []) {
      const c = tripCpu(d.result, w);
      const rto = w.requestToOfferMs.p99;
      const ltr = w.locationToRiderMs.p99;
      const point = d.drivers === 1000 && w.config.rate === 10;
      const b = (x) => (point ? `**${x}**` : x);
      const notes = [
        point ? "issue 20's point" : null,
        w.overloaded ? `overloaded: ${w.overloaded}` : null,
        w.doubleAssignments ? `${w.doubleAssignments} double assignments` : null,
        w.generatorBound ? "generator-bound" : null,
        c ? `gross ${ms(c.grossMs)} ms; the city alone took ${pct(c.idlePct)} of a core` : null,
      ].filter(Boolean);
      rows.push(
        `| ${b(n0(d.drivers))} | ${b(`${w.config.rate} (${w.trips.requestsPerS})`)} | ${w.trips.completed} | ` +
          `${tripCpuCell(c)} | ` +
          `${rto === null ? "–" : `${ms(rto)} ms${mark(rto < TARGETS.requestToOfferP99Ms)}`} | ` +
          `${ltr === null ? "–" : `${ms(ltr)} ms${mark(ltr < TARGETS.locationToRiderP99Ms)}`} | ${notes.join("; ")} |`,
      );
    }
  }
  return (
    `${rows.join("\n")}\n\n` +
    `Issue 20's targets are read at 1,000 drivers and 10 requests/s (in bold), in 5 of 5 runs: this is one run. ` +
    `Server CPU per completed trip: the server tree's CPU from the start of the window's requests until its rides ` +
    `ended, less what the city alone costs over as long (drivers streaming fixes, no requests, measured over the ` +
    `warm-up), ÷ trips completed; "gross" does not take the city off.`
  );
}

function method(info) {
  const m = info.machine;
  const nice = (info.dispatch ?? []).find((d) => d.result)?.result?.config?.generatorNice;
  const observabilityOn = info.servers.some((s) => s.command.includes("X_LOCAL_OBSERVABILITY=true"));
  const load = info.loadWait
    ? `before each server the run waited up to ${info.loadWait} s for the 1-minute load average to fall under ` +
      `${info.maxLoad}`
    : "before each server the run waited (up to --load-wait s) for the 1-minute load average to fall under --max-load";
  return [
    `- **Pinning**: ${m.pinning}. Each server runs alone (one after another), started afresh for ` +
      `each workload, with its whole process tree on its core; server CPU is utime+stime of that tree, ` +
      `memory its summed RSS.`,
    `- **Generator niceness**: the chat generator (bench/chat-compare.mjs) runs at the niceness it was started ` +
      `with (not reniced); the dispatch generator (bench/dispatch.mjs) at nice ` +
      `${nice ?? 10}${nice === undefined ? " (its default)" : ""}, so on a shared host the server's busy thread wins ` +
      `the CPU over it.`,
    info.stateDir
      ? `- **State directory**: every server with state (ridewire under \`wrangler dev\`, the bare rooms, the ` +
        `partyserver room) gets a fresh directory in \`${info.stateDir}\` (\`--state-dir\`; tmpfs by default, so ` +
        `disk stalls do not stand in for the server's work), removed after its workload. ridewire runs from a ` +
        `snapshot of HEAD (\`git archive\`), so edits do not reload it.`
      : `- **State directory**: not recorded in this run's JSON. Runs before issue 20's changes gave ridewire a ` +
        `fresh \`--persist-to\` directory in \`/dev/shm\` (tmpfs, the default \`--state-dir\`) and the bare ` +
        `rooms a fresh directory in the system's temporary directory. ridewire runs from a snapshot of HEAD.`,
    `- **\`X_LOCAL_OBSERVABILITY=false\`**: wrangler's local observability (a trace of every invocation and ` +
      `storage call) is off for ridewire (\`npm run dev\`, scripts/dev.mjs) and set the same way for the bare room ` +
      `and the partyserver room under \`wrangler dev\`${
        observabilityOn ? " (**this run had it on**: `X_LOCAL_OBSERVABILITY=true`)" : ""
      }.`,
    `- **Load**: ${load}; every point records the CPU other processes used while it ran.`,
  ].join("\n");
}

function chatSummary(info) {
  const targets = chatTargets(info);
  if (targets.length === 0) return "";
  const topoKeys = [
    ...new Set(targets.flatMap((t) => info.chat[t].result.topologies.map((x) => `${x.rooms}x${x.clientsPerRoom}`))),
  ];
  const lines = [
    "| workload (rooms × clients) | server | highest delivered rate with p99 ≤ 50 ms | p50 / p99 at 10,000 " +
      "deliveries/s | server CPU-s per 100,000 deliveries | RSS per connection |",
    "|---|---|---|---|---|---|",
  ];
  for (const key of topoKeys) {
    for (const t of targets) {
      const topo = info.chat[t].result.topologies.find((x) => `${x.rooms}x${x.clientsPerRoom}` === key);
      if (!topo) continue;
      if (topo.error) {
        lines.push(`| ${key.replace("x", " × ")} | ${NAMES[t]} | **failed**: ${topo.error} | | | |`);
        continue;
      }
      const b = bestGood(topo);
      const lim = topo.summary.limitedBy;
      const best = b
        ? `${n0(b.deliveredPerS)}/s (${b.ratePerClient} msg/s/client; p99 ${ms(b.latencyMs.p99)} ` +
          `ms)${
            lim === "generator"
              ? " – **generator-bound above**, a lower bound"
              : lim === "highest point run"
                ? " " + "– highest point run"
                : ""
          }`
        : "none held (even the lowest rate tried)";
      const f = fixedPoint(topo);
      const fixed = !f
        ? topo.skipped?.some((x) => x.ratePerClient === topo.fixedRatePerClient)
          ? "not run: a lower rate already failed"
          : "not run"
        : f.discarded
          ? "discarded (generator-bound)"
          : f.aborted || f.deliveryRatio < 0.999
            ? `**did not hold**: ${
                f.aborted ? "stopped early, server behind" : `delivered ${(f.deliveryRatio * 100).toFixed(2)}%`
              }; p50 ${ms(f.latencyMs.p50)} / p99 ≥ ${ms(f.latencyMs.p99)} ms`
            : `${ms(f.latencyMs.p50)} / ${ms(f.latencyMs.p99)} ms`;
      const cpu = cpuPer100k(topo);
      const mem = memoryPerConnection(info.chat[t].result, topo);
      lines.push(
        `| ${key.replace("x", " × ")} | ${NAMES[t]} | ${best} | ${fixed} | ` +
          `${cpu.value === null ? "–" : `${f2(cpu.value)} ${cpu.where}`} | ${
            mem === null ? `see ${firstMemory(info.chat[t].result)?.key}` : kib(mem)
          } |`,
      );
    }
  }
  return lines.join("\n");
}

/** "deliveries per CPU-s a×, highest rate at p99 ≤ 50 ms b×" of `mine` against `theirs` (one topology each). */
function versus(mine, theirs) {
  const bestMine = bestGood(mine)?.deliveredPerS;
  const bestTheirs = bestGood(theirs)?.deliveredPerS;
  return (
    `deliveries per CPU-s ${ratio(cpuPer100k(theirs).value, cpuPer100k(mine).value)}, highest rate at ` +
    `p99 ≤ 50 ms ${ratio(bestMine, bestTheirs)}${
      theirs.summary.limitedBy === "generator" ? " (theirs a lower " + "bound)" : ""
    }`
  );
}

/** One line per topology: `who`'s figures divided by each of `peers`'. */
function ratioLines(info, who, peers) {
  const r = info.chat?.[who]?.result;
  if (!r) return [];
  const out = [];
  for (const topo of r.topologies.filter((x) => !x.error)) {
    const key = `${topo.rooms}x${topo.clientsPerRoom}`;
    const parts = [];
    for (const peer of peers) {
      const p = info.chat?.[peer]?.result?.topologies.find((x) => `${x.rooms}x${x.clientsPerRoom}` === key);
      if (p && !p.error) parts.push(`÷ ${NAMES[peer]}: ${versus(topo, p)}`);
    }
    if (parts.length) out.push(`- ${key.replace("x", " × ")}: ${NAMES[who]} ${parts.join(`; ${NAMES[who]} `)}.`);
  }
  const mem = firstMemory(r);
  const memParts = peers.map((p) => [p, firstMemory(info.chat?.[p]?.result)]).filter(([, m]) => m && mem);
  if (memParts.length)
    out.push(
      `- Memory per connection (${mem.key}, fresh processes): ` +
        `${NAMES[who]} ${memParts.map(([p, m]) => `${ratio(mem.bytes, m.bytes)} the ${NAMES[p]}'s`).join(", ")}.`,
    );
  return out;
}

function chatRatios(info) {
  const out = [];
  const mine = ratioLines(info, "ridewire", ["ws", "socketio", "do-room", "do-room-durable", "partyserver"]);
  if (mine.length) {
    out.push(
      `Ratios (ridewire's figure divided by the other server's; the issue's targets are ≥ 1.0× the ws hub's ` +
        `and ≥ 1.5× Socket.IO's deliveries per CPU-s, and memory within 2×; against the bare room, ridewire's own ` +
        `runtime with nothing in it, 1× would mean ridewire's work costs nothing):\n\n${mine.join("\n")}`,
    );
  }
  const floor = ["do-room", "do-room-workerd"].flatMap((t) => ratioLines(info, t, ["ws"]));
  if (floor.length) {
    out.push(
      `The runtime's floor (the bare room's figure divided by the ws hub's): a bare Durable Object room ` +
        `(bench/floor/room-hub.mjs) speaks the ws hub's protocol and does only what the ws hub does (parse, ` +
        `re-serialise once, send to every member), with no storage, acks or auth, under the same generator and ` +
        `workload. Under \`wrangler dev\` (run as \`npm run dev\` runs ridewire) it is a lower bound for any room in ` +
        `ridewire's place on this benchmark: no change to ridewire's \`src/\` gets below it. ` +
        `(The bound is a little loose: the fixture has no asset router or bindings, which cost per HTTP request, ` +
        `not per WebSocket frame.) Under plain \`workerd serve\` (the same runtime build without wrangler's entry ` +
        `proxy) it is what such a room costs on the runtime itself:\n\n${floor.join("\n")}`,
    );
  }
  return out.join("\n\n");
}

function chatRaw(info) {
  const out = [];
  for (const t of chatTargets(info)) {
    const r = info.chat[t].result;
    out.push(`### ${NAMES[t]}\n`);
    for (const topo of r.topologies) {
      if (topo.error) {
        out.push(`**${topo.rooms} rooms × ${topo.clientsPerRoom} clients: failed** (${topo.error}).\n`);
        continue;
      }
      out.push(
        `**${topo.rooms} rooms × ${topo.clientsPerRoom} clients = ${n0(topo.sockets)} sockets.** Setup ` +
          `${topo.setup.prepareS} s (users) + ${topo.setup.roomsS} s (rooms, joins) + ${topo.setup.connectS} s ` +
          `(sockets). Server RSS ${(topo.memory.rssBeforeConnectBytes / 2 ** 20).toFixed(1)} MiB before the sockets, ` +
          `${(topo.memory.rssConnectedBytes / 2 ** 20).toFixed(1)} MiB with them: ` +
          `${kib(topo.memory.perConnectionBytes)} per connection.\n`,
      );
      out.push(
        "| msg/s per client | target deliveries/s | delivered/s | delivered of expected | lost | dup | out " +
          "of order | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | server CPU (% of its core) | CPU-s / 100k | " +
          "generator CPU | other processes | verdict |",
      );
      out.push("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
      for (const p of topo.points) {
        const l = p.latencyMs;
        const verdict = `${p.verdict}${
          p.aborted ? ` (stopped after ${p.sendWindowS.toFixed(1)} s: server behind)` : ""
        }${p.why === "refine" ? " [probe]" : ""}${
          p.ackLatencyMs
            ? `; ack p50/p99 ${ms(p.ackLatencyMs.p50)}/${ms(p.ackLatencyMs.p99)} ms, ${p.missingAcks} missing`
            : ""
        }${p.refused ? `; ${p.refused} refused` : ""}${
          p.unexpectedCloses ? `; ${p.unexpectedCloses} sockets closed` : ""
        }`;
        out.push(
          `| ${p.ratePerClient} | ${n0(p.targetDeliveriesPerS)} | ${n0(p.deliveredPerS)} | ${n0(p.delivered)}` +
            ` / ${n0(p.expected)} | ${n0(p.lost)} | ${p.duplicates} | ${p.outOfOrder} | ${ms(l.p50)} | ` +
            `${ms(l.p90)} | ` +
            `${ms(l.p99)} | ${ms(l.p999)} | ${ms(l.max)} | ${pct(p.server.cpuPctOfCore)} | ` +
            `${f2(p.server.cpuSPer100kDeliveries)} | ${pct(p.generator.cpuPctOfCore)} | ` +
            `${pct(p.host.otherPctOfCore)} | ` +
            `${verdict} |`,
        );
      }
      for (const s of topo.skipped ?? [])
        out.push(`| ${s.ratePerClient} | | | | | | | | | | | | | | | | ${s.reason} |`);
      out.push("");
    }
    const errs = Object.entries(r.errorsByCode ?? {});
    if (errs.length) out.push(`Errors by code: ${errs.map(([k, v]) => `${k} ${v}`).join(", ")}.\n`);
  }
  return out.join("\n");
}

function dispatchSummary(info) {
  const rows = [
    "| server | drivers | requests/s asked (made) | request → offer p50 / p99 ms | location → rider p50 / " +
      "p99 ms | server CPU, % of its core | outcome |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const d of info.dispatch ?? []) {
    if (!d.result) {
      rows.push(`| ${NAMES[d.target]} | ${n0(d.drivers)} | | | | | no result (see the log) |`);
      continue;
    }
    for (const w of d.result.windows ?? []) {
      const c = w.cpu.requestWindow;
      const t = w.trips;
      const out = [
        w.overloaded ? `**overloaded**: ${w.overloaded}` : null,
        `${t.matched} matched, ${t.completed} completed${t.noDriver ? `, ${t.noDriver} no_driver` : ""}` +
          `${t.neverOffered ? `, ${t.neverOffered} never offered` : ""}`,
        w.doubleAssignments ? `**${w.doubleAssignments} double assignments**` : null,
        w.generatorBound ? "generator-bound" : null,
      ].filter(Boolean);
      rows.push(
        `| ${NAMES[d.target]} | ${n0(d.drivers)} | ${w.config.rate} (${t.requestsPerS}) | ` +
          `${ms(w.requestToOfferMs.p50)} / ${ms(w.requestToOfferMs.p99)} | ${ms(w.locationToRiderMs.p50)} / ` +
          `${ms(w.locationToRiderMs.p99)} | ${pct((c.serverCpuS / c.seconds) * 100)} | ${out.join("; ")} |`,
      );
    }
  }
  return rows.join("\n");
}

function dispatchRaw(info) {
  const out = [];
  for (const d of info.dispatch ?? []) {
    const r = d.result;
    if (!r) continue;
    const s = r.setup;
    const idle = r.idleCity;
    out.push(`### ${NAMES[d.target]}, ${n0(d.drivers)} drivers\n`);
    out.push(
      `Setup ${(s.totalMs / 1000).toFixed(1)} s (${n0(s.users)} users registered in ` +
        `${(s.registerMs / 1000).toFixed(1)} s, ${s.registerPerS}/s; ` +
        `online + driver channels ${(s.onlineAndChannelsMs / 1000).toFixed(1)} s). ` +
        (idle
          ? `The city alone (every driver streaming, no requests, ${idle.seconds.toFixed(1)} s): ` +
            `server ${pct((idle.serverCpuS / idle.seconds) * 100)} of its core. `
          : "") +
        `Server RSS after setup ${(s.serverRssBytes / 2 ** 20).toFixed(0)} MiB.\n`,
    );
    out.push(
      "| requests/s | made | created | matched | completed | no_driver | never offered | skipped (no idle " +
        "rider) | POST /v1/trips p50/p99 ms | request → offer p50/p90/p99/max ms | accept → ack p50/p99 ms | " +
        "location → rider p50/p90/p99/max ms (n) | server CPU | run-queue wait | generator CPU | other processes | " +
        "RSS after | notes |",
    );
    out.push("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (const w of r.windows ?? []) {
      const t = w.trips;
      const c = w.cpu.requestWindow;
      const rto = w.requestToOfferMs;
      const ltr = w.locationToRiderMs;
      const notes = [
        w.overloaded ? `overloaded: ${w.overloaded}` : null,
        w.openTripsAtStart ? `${w.openTripsAtStart} trips of the previous window still open at the start` : null,
        w.doubleAssignments ? `${w.doubleAssignments} double assignments` : null,
        Object.keys(w.errorsByCode).length
          ? `errors: ${Object.entries(w.errorsByCode)
              .map(([k, v]) => `${k} ${v}`)
              .join(", ")}`
          : null,
      ]
        .filter(Boolean)
        .join("; ");
      out.push(
        `| ${w.config.rate} | ${t.requested} | ${t.created} | ${t.matched} | ${t.completed} | ${t.noDriver} ` +
          `| ${t.neverOffered} | ${t.skippedNoIdleRider} | ${ms(w.tripPostMs.p50)} / ${ms(w.tripPostMs.p99)} | ` +
          `${ms(rto.p50)} / ${ms(rto.p90)} / ${ms(rto.p99)} / ${ms(rto.max)} | ${ms(w.acceptAckMs.p50)} / ` +
          `${ms(w.acceptAckMs.p99)} | ${ms(ltr.p50)} / ${ms(ltr.p90)} / ${ms(ltr.p99)} / ${ms(ltr.max)} ` +
          `(${n0(ltr.count)}) | ${c.serverCpuS.toFixed(2)} s = ${pct((c.serverCpuS / c.seconds) * 100)} | ` +
          `${c.serverRunQueueWaitS.toFixed(2)} s | ${pct((c.generatorCpuS / c.seconds) * 100)} | ` +
          `${pct((c.otherProcessesCpuS / c.seconds) * 100)} | ${(w.cpu.serverRssBytes / 2 ** 20).toFixed(0)} ` +
          `MiB | ${notes} |`,
      );
    }
    out.push("");
  }
  return out.join("\n");
}

function fiveThousandNote(info) {
  const rw = (info.dispatch ?? []).filter((d) => d.target === "ridewire" && d.result);
  if (rw.length === 0 || rw.some((d) => d.drivers >= 5000)) return "";
  const d = rw.sort((a, b) => b.drivers - a.drivers)[0];
  const idle = d.result.idleCity;
  if (!idle) return "";
  const share = idle.serverCpuS / idle.seconds;
  return (
    `**5,000 drivers on ridewire were not run.** Under \`wrangler dev\` the Worker and every Durable ` +
    `Object share one JavaScript thread (in production each driver, trip and cell object runs on its own), ` +
    `and the server here has one core. The ${n0(d.drivers)}-driver city alone, before any request, ` +
    `took ${pct(share * 100)} of that core (${n0(d.drivers / 2 / share)} fixes/s per core at most); ` +
    `5,000 drivers send 2,500 fixes/s, about ${((share * 5000) / d.drivers).toFixed(1)} cores' worth, ` +
    `so the run would measure a saturated thread and nothing about dispatch. Registering 5,000 drivers (PBKDF2, ` +
    `~40/s on one core) would also take over two minutes. The Node reference was run with 5,000.`
  );
}

export function renderReport(info) {
  const m = info.machine;
  const generators = info.generators
    .map((g) => `# ${g.name} (${g.seconds} s, exit ${g.exit})\n${g.command}`)
    .join("\n");
  const servers = info.servers.map((s) => `# ${s.name}\n${s.command}`).join("\n");
  const chatCfg = info.chat?.ridewire?.result?.config ?? info.chat?.ws?.result?.config ?? null;
  return (
    `# Benchmarks: ridewire side by side with its peers

${info.quick ? "**A `--quick` run: a subset, for a smoke test only.**\n\n" : ""}One run of \`npm run bench\` ` +
    `(bench/run.mjs), ${info.started.slice(0, 16).replace("T", " ")} UTC, ${info.minutes} minutes; ` +
    `every number below comes from it. ridewire is HEAD ${info.commit.slice(0, 12)} ("${info.commitSubject}")` +
    `${
      info.dirtySrc && !info.dirtySrc.startsWith("(")
        ? ", run from a snapshot of that commit (the working tree " +
          "had uncommitted changes in src/ that were not measured)"
        : ", run from a snapshot of that commit"
    }. ` +
    `How to read it and how it works: [bench/README.md](README.md); where ridewire's CPU goes and what to ` +
    `change: [bench/PROFILE.md](PROFILE.md). Raw JSON of every point: ` +
    `\`${(
      Object.values(info.chat ?? {}).find((c) => c.json)?.json ?? info.dispatch?.[0]?.json ?? "bench/results/x"
    ).replace(/\/[^/]+$/, "/")}\`.

## Ratios to the runtime's floor (issue 20)

${floorRatios(info)}

## Dispatch against issue 20's targets

${dispatchTargets(info)}

## Method

${method(info)}

## Machine

| | |
|---|---|
| CPU | ${m.cpuModel}, ${m.cpus} vCPUs (${m.threadsPerCore} thread per core, ${m.hypervisor} guest) |
| memory | ${m.memTotalGiB} GiB |
| kernel | ${m.kernel} |
| pinning | ${m.pinning} |
| load average (1, 5, 15 min) | ${info.loadAtStart.join(", ")} at the start, ${info.loadAtEnd.join(", ")} at the end |

The machine is shared: other work (test suites, a simulator) ran at times. Every point records the CPU that ` +
    `processes other than the server and the generator used during it ("other processes", in % of one core); ` +
    `latency at points where that is high includes contention for the server's core.

## Versions

| | |
|---|---|
${Object.entries(m.versions)
  .map(([k, v]) => `| ${k} | ${v} |`)
  .join("\n")}

## Commands

Servers (each started by bench/run.mjs, pinned with taskset, stopped after its workload):

\`\`\`sh
${servers}
\`\`\`

Load generators:

\`\`\`sh
${generators}
\`\`\`

${
  chatCfg
    ? `Chat points: ${chatCfg.warmupS} s warm-up, ${chatCfg.seconds} s measured, ` +
      `up to ${chatCfg.drainS} s drain; Poisson arrivals; rates ${chatCfg.rates.join(", ")} msg/s per ` +
      `client${
        chatCfg.fixedDeliveriesPerS ? ` plus the rate giving ${n0(chatCfg.fixedDeliveriesPerS)} deliveries/s` : ""
      }, then ×${chatCfg.step} steps until p99 > ${chatCfg.p99LimitMs} ms or delivery < ` +
      `${chatCfg.deliveryMin * 100}% (down from the lowest while none held p99 ≤ ${chatCfg.goodP99Ms} ms), ` +
      `then up to ${chatCfg.refine} probes between the best point holding p99 ≤ ${chatCfg.goodP99Ms} ms and the ` +
      `next. A point where the generator used more than ${chatCfg.generatorLimitPct}% of its core is ` +
      `**discarded**; a point where a message was still undelivered after ${chatCfg.abortLagMs} ms is stopped ` +
      `early (the server is behind, the point fails, and its p99 is a lower bound).`
    : ""
}

## Summary

### Chat

${chatSummary(info)}

${chatRatios(info)}

"Highest delivered rate" is deliveries per second (a message to a room of N is N deliveries, the sender's ` +
    `own copy included) at the best point with p99 ≤ 50 ms and ≥ 99.9% delivered. RSS per connection is the ` +
    `growth of the server's resident memory (every process of it) from before the sockets opened to after they ` +
    `all were welcomed, divided by the sockets, read on the first workload, the one with the most sockets (every ` +
    `workload has a fresh server process; the smaller ones measure the growth over fewer sockets, and the raw ` +
    `tables still show theirs).

### Dispatch

${dispatchSummary(info)}

${fiveThousandNote(info)}

Request → offer: \`POST /v1/trips\` sent → the offer frame on a driver's channel. Location → rider: ` +
    `a fix sent on the channel of the trip's driver → the \`location\` frame on the rider's trip socket. ` +
    `The reference speaks the same HTTP and WebSocket subset as ridewire, so the same generator ` +
    `(bench/dispatch.mjs) drives both; ridewire also prices a quote before each request and holds the fare on ` +
    `the rider's wallet, which the reference does not.

## Guarantees

What each peer lacks that ridewire gives. The peers are what a team would otherwise deploy first; ` +
    `each missing row is work (and CPU) they would add.

| | ridewire | ws hub | Socket.IO hub | partyserver room | dispatch reference |
|---|---|---|---|---|---|
| persistence before ack | every message is committed to the room's SQLite (one transaction with its dedupe ` +
    `record) before it is broadcast and acknowledged; copied to D1 behind | none: memory only, a restart loses ` +
    `everything | none (same) | none: messages are only broadcast (partyserver itself stores one name ` +
    `record per room) | none: trips, offers and drivers in memory only |
| gapless sequence | per-room \`seq\`, no gaps, in every frame | none | none | none | none (per-trip counter, ` +
    `not stored) |
| resume | \`?since=N\` replays what was missed, or \`reset\` when older than the room keeps; ` +
    `SSE \`Last-Event-ID\` and long-poll too | messages sent while a client is away are lost | lost (Socket.IO's ` +
    `optional connection-state recovery is off here; it is in-memory only) | lost | a reconnecting driver or ` +
    `rider gets the current state, not what happened meanwhile |
| dedupe of client ids | a frame's \`id\` is applied once; a resend after a reconnect gets the same \`seq\` ` +
    `| none: a resend is a second message | none | none | in-memory Idempotency-Key for trip requests only |
| acks | \`ack {id, seq}\` after the message is stored | none | none (acks exist as an option; ` +
    `not used, and would not mean "stored") | none | ack of offer answers only |
| auth | JWT (HS256, iss/aud/exp) on every request and socket; room membership checked | none | none | ` +
    `none (\`onBeforeConnect\` is the place for it; not used) | none: ` +
    `a token is a lookup key, no signature |
| rate limits and abuse | 10 frames/s per socket (burst 20), 20 bad frames in 10 s close the socket, ` +
    `64 KiB frames, login throttling | none | 1 MB max payload, no rate limit | the runtime's frame size ` +
    `limit only | 2 fixes/s per driver, ` +
    `speed/time checks (as ridewire) |
| hibernation | idle rooms hibernate: sockets stay open without the object in memory | every socket held in ` +
    `process memory | same | hibernates (\`static options = { hibernate: true }\`) | same |
| offline delivery | notifications (webhooks, Web Push) to members with no socket | none | none | none | none |
| scale-out | one object per room / trip / driver / cell, anywhere on the edge | one process | one process ` +
    `(adapters exist for more) | one object per room | one process |

## Raw numbers: chat

${chatRaw(info)}
## Raw numbers: dispatch

${dispatchRaw(info)}
## Caveats

- \`wrangler dev\` is not production. Every frame to or from a ridewire client crosses two workerd processes ` +
    `(the entry proxy and the Worker); the Worker and every Durable Object share one JavaScript thread; ` +
    `Durable Object storage is local SQLite. The peers are single Node processes doing far less per message (see ` +
    `Guarantees); the bare rooms run on ridewire's runtime and do as little as the ws hub. ` +
    `Use the ratios to track ridewire's own progress on this machine, not to size a deployment.
- ridewire copies chat messages to D1 behind, on a 5 s beat (\`MESSAGE_ARCHIVE_DELAY_MS\`). ` +
    `A point's CPU window holds the copies of the warm-up's messages and misses those of its last seconds, ` +
    `so its CPU per delivery may be off by part of one copy. The effect is small: ` +
    `at 100 × 10 and 5,000 deliveries/s, an 8 s and a 40 s window gave 15.9 and 15.6 CPU-s per 100,000 ` +
    `(bench/PROFILE.md).
- Two cores: the server gets one, the generator the other. The generator's own ceiling (one Node process ` +
    `receiving every delivery) caps what can be measured for the faster servers; such points are discarded and ` +
    `the rate above the last kept point is reported as a lower bound.
- ridewire's chat setup registers real users over HTTP (PBKDF2 with 100,000 iterations per password, ` +
    `about 40 per second on one core), so its setup takes longer; it is not part of any measured window.
`
  );
}

// CLI: re-render from a results directory.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = process.argv[2] ?? "bench/results";
  const info = JSON.parse(readFileSync(join(dir, "run.json"), "utf8"));
  const root = fileURLToPath(new URL("..", import.meta.url));
  for (const [, v] of Object.entries(info.chat ?? {}))
    if (v.json) v.result = JSON.parse(readFileSync(join(root, v.json), "utf8"));
  for (const d of info.dispatch ?? []) if (d.json) d.result = JSON.parse(readFileSync(join(root, d.json), "utf8"));
  process.stdout.write(renderReport(info));
}
