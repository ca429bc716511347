#!/usr/bin/env node
// Dispatch load benchmark for a RUNNING ridewire server (wrangler dev on loopback).
//
//   npm run bench:dispatch -- --url http://127.0.0.1:8787 --drivers 1000 --rate 10 --seconds 60
//
// A city of --drivers drivers, each online with an open driver channel and streaming a fix
// every 2 s (jittered) while moving at city speed; riders request --rate trips per second
// (Poisson arrivals), each from a quote; every driver accepts every offer, drives for
// --ride-seconds (arrived, start, complete) and is free again. Measures request-to-offer
// (POST /v1/trips sent -> the offer frame on a driver's channel), location-to-rider (a fix
// sent on the driver channel -> the `location` frame on the rider's trip socket), double
// assignments, trip outcomes, the fix rate into the busiest H3 cell, and server CPU from
// /proc. See bench/README.md.
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { latLngToCell } from "h3-js";
import WebSocket from "ws";
import { BenchError, die, numberOption, CLK_TCK, cpuCount, cpuTicks, findServerProcesses, Histogram, isLoopback, makeApi, now, pool, sleep } from "./lib.mjs";

const HELP = `usage: npm run bench:dispatch -- [options]

  --url URL          server under test, loopback only   (default http://127.0.0.1:8787)
  --drivers N        drivers online and streaming       (default 1000)
  --rate R           ride requests per second           (default 10)
  --seconds S        how long requests are made         (default 60)
  --warmup S         drivers stream this long before the first request (default 5)
  --ride-seconds S   accepted -> completed               (default 20)
  --fix-every S      seconds between a driver's fixes   (default 2)
  --speed KMH        drivers' speed                     (default 30)
  --concurrency N    parallel HTTP calls / socket opens during setup (default 20)
  --pid a,b          server pids to measure CPU of (default: wrangler dev's workerd processes)
  --json FILE        also write the raw figures as JSON
  --help`;

const { values: opt } = parseArgs({
  options: {
    url: { type: "string", default: "http://127.0.0.1:8787" },
    drivers: { type: "string", default: "1000" },
    rate: { type: "string", default: "10" },
    seconds: { type: "string", default: "60" },
    warmup: { type: "string", default: "5" },
    "ride-seconds": { type: "string", default: "20" },
    "fix-every": { type: "string", default: "2" },
    speed: { type: "string", default: "30" },
    concurrency: { type: "string", default: "20" },
    pid: { type: "string" },
    json: { type: "string" },
    help: { type: "boolean", default: false },
  },
  strict: true,
});
if (opt.help) {
  console.log(HELP);
  process.exit(0);
}

const num = (name, range) => numberOption(opt, name, range);
const DRIVERS = num("drivers", { int: true, min: 1, max: 20_000 });
const RATE = num("rate", { min: 0.01, max: 500 });
const SECONDS = num("seconds", { min: 1, max: 3600 });
const WARMUP = num("warmup", { min: 0, max: 600 });
const RIDE_S = num("ride-seconds", { min: 1, max: 3600 });
const FIX_EVERY_S = num("fix-every", { min: 0.5, max: 60 });
const SPEED_KMH = num("speed", { min: 0, max: 200 });
const CONCURRENCY = num("concurrency", { int: true, min: 1, max: 1000 });

const BASE = new URL(opt.url);
if (!["http:", "https:"].includes(BASE.protocol)) die(`--url must be http(s)://, got ${opt.url}`);
if (!isLoopback(BASE.hostname)) die(`refusing to target ${BASE.hostname}: only loopback addresses (127.0.0.0/8, ::1, localhost)`);
const PORT = Number(BASE.port || (BASE.protocol === "https:" ? 443 : 80));
const WS_BASE = `${BASE.protocol === "https:" ? "wss:" : "ws:"}//${BASE.host}`;
const api = makeApi(BASE);

/** The server's index settings, read from wrangler.toml's [vars] (the benchmark mirrors them client-side). */
function serverVar(name, fallback) {
  try {
    const m = new RegExp(`^${name}\\s*=\\s*"([^"]*)"`, "m").exec(readFileSync(new URL("../wrangler.toml", import.meta.url), "utf8"));
    return m ? Number(m[1]) : fallback;
  } catch {
    return fallback;
  }
}
const H3_RES = serverVar("H3_RESOLUTION", 7);
const CELL_REPORT_MS = serverVar("CELL_REPORT_INTERVAL_MS", 5000);

// San Francisco, roughly: where drivers roam and rides start and end.
const CITY = { south: 37.71, north: 37.8, west: -122.5, east: -122.39 };
const KM_PER_DEG_LAT = 111.32;
const kmPerDegLng = (lat) => KM_PER_DEG_LAT * Math.cos((lat * Math.PI) / 180);
const between = (a, b) => a + Math.random() * (b - a);
const randomPoint = () => ({ lat: between(CITY.south, CITY.north), lng: between(CITY.west, CITY.east) });
function near(point, maxKm) {
  const km = between(1, maxKm);
  const angle = Math.random() * 2 * Math.PI;
  const lat = Math.min(CITY.north, Math.max(CITY.south, point.lat + (km * Math.cos(angle)) / KM_PER_DEG_LAT));
  const lng = Math.min(CITY.east, Math.max(CITY.west, point.lng + (km * Math.sin(angle)) / kmPerDegLng(point.lat)));
  return { lat, lng };
}

// ---- state --------------------------------------------------------------------------------

const runId = `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
const password = `bench-${randomBytes(9).toString("base64url")}`;
const requestToOffer = new Histogram();
const locationToRider = new Histogram();
const errorsByCode = new Map();
const countError = (code) => errorsByCode.set(code, (errorsByCode.get(code) ?? 0) + 1);
const counts = { requested: 0, offered: 0, offerExpired: 0, accepted: 0, acceptRefused: 0, completed: 0, noDriver: 0, cancelled: 0, fixesSent: 0, fixErrors: 0 };
let doubleAssignments = 0;
/** POST /v1/trips send time by trip, until its first offer is seen. */
const requestSentAt = new Map();
/** First offer seen by trip, for offers that arrive before the POST answers. */
const offerSeenAt = new Map();
/** Which driver holds which trip (accept acked); a second holder is a double assignment. */
const tripDriver = new Map();
/** Send time of each fix a driver on a trip sent, by `${driverId}:${at}`, until the rider sees it. */
const fixSentAt = new Map();
/** Inbound fixes of available drivers per cell during the window, and the session->cell reports the server's rule implies. */
const fixesPerCell = new Map();
const reportsPerCell = new Map();
let measuring = false;
let stopping = false;

/** Requests slower than a second, for a look at the server's side of them (--json). */
const slowRequests = [];
const bump = (map, key) => map.set(key, (map.get(key) ?? 0) + 1);

// ---- drivers ------------------------------------------------------------------------------

function startDriver(d) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${WS_BASE}/v1/drivers/me/ws`, { headers: { authorization: `Bearer ${d.token}` } });
    d.ws = ws;
    const timer = setTimeout(() => reject(new BenchError(`driver ${d.id}: no welcome within 15 s`)), 15_000);
    ws.on("message", (data) => {
      const frame = parseJson(data.toString());
      if (!frame) return;
      if (frame.type === "welcome") {
        clearTimeout(timer);
        resolve();
      } else onDriverFrame(d, frame);
    });
    ws.on("error", (err) => {
      clearTimeout(timer);
      countError("driver_socket");
      reject(err);
    });
    ws.on("close", () => {
      if (!stopping) countError("driver_socket_closed");
    });
  });
}

function onDriverFrame(d, frame) {
  const t = now();
  switch (frame.type) {
    case "offer": {
      counts.offered++;
      // The server frees a driver only after the complete this generator sends: an offer
      // before that reached a driver who still holds a trip.
      if (d.tripId && !d.completeSent) doubleAssignments++;
      const sentAt = requestSentAt.get(frame.tripId);
      if (sentAt !== undefined) {
        requestToOffer.recordMs(t - sentAt);
        if (t - sentAt > 1000) slowRequests.push({ tripId: frame.tripId, stage: "offer after the answer", ms: Math.round(t - sentAt) });
        requestSentAt.delete(frame.tripId);
      } else if (!offerSeenAt.has(frame.tripId)) offerSeenAt.set(frame.tripId, t);
      d.ws.send(JSON.stringify({ type: "offer.accept", id: `acc-${frame.tripId}`, tripId: frame.tripId }));
      return;
    }
    case "ack":
      if (typeof frame.id === "string" && frame.id.startsWith("acc-")) onAccepted(d, frame.id.slice(4));
      return;
    case "offer.expired":
      counts.offerExpired++;
      return;
    case "error":
      if (typeof frame.id === "string" && frame.id.startsWith("acc-")) counts.acceptRefused++;
      else if (frame.code) counts.fixErrors++;
      countError(frame.code ?? "error_frame");
      return;
  }
}

function onAccepted(d, tripId) {
  counts.accepted++;
  const holder = tripDriver.get(tripId);
  if ((holder !== undefined && holder !== d.id) || (d.tripId && !d.completeSent)) doubleAssignments++;
  tripDriver.set(tripId, d.id);
  d.tripId = tripId;
  d.completeSent = false;
  drive(d, tripId).catch((err) => countError(err instanceof BenchError ? err.code : "drive"));
}

async function drive(d, tripId) {
  await sleep((RIDE_S * 1000) / 4);
  for (const step of ["arrived", "start"]) await tripCall(d, tripId, step);
  await sleep((RIDE_S * 3000) / 4);
  d.completeSent = true;
  await tripCall(d, tripId, "complete");
  if (d.tripId === tripId) d.tripId = null;
}

async function tripCall(d, tripId, step) {
  try {
    await api("POST", `/v1/trips/${tripId}/${step}`, undefined, d.token);
  } catch (err) {
    countError(err.code ?? step);
  }
}

/** Moves the driver one step and sends the fix; mirrors the session's cell-report rule to estimate reports per cell. */
function sendFix(d) {
  const dtS = d.lastFixAt ? (Date.now() - d.lastFixAt) / 1000 : FIX_EVERY_S;
  const km = (SPEED_KMH * dtS) / 3600;
  let lat = d.pos.lat + (km * Math.cos(d.heading)) / KM_PER_DEG_LAT;
  let lng = d.pos.lng + (km * Math.sin(d.heading)) / kmPerDegLng(d.pos.lat);
  if (lat < CITY.south || lat > CITY.north || lng < CITY.west || lng > CITY.east) {
    d.heading += Math.PI; // turn around at the city's edge
    lat = d.pos.lat;
    lng = d.pos.lng;
  } else if (Math.random() < 0.1) d.heading += between(-Math.PI / 2, Math.PI / 2);
  d.pos = { lat, lng };
  const at = Date.now();
  d.lastFixAt = at;
  if (d.ws.readyState !== WebSocket.OPEN) return;
  d.ws.send(JSON.stringify({ type: "location", lat, lng, at }));
  counts.fixesSent++;
  if (d.tripId) fixSentAt.set(`${d.id}:${at}`, now());
  else if (measuring) {
    const cell = latLngToCell(lat, lng, H3_RES);
    bump(fixesPerCell, cell);
    if (cell !== d.reportedCell || at - d.reportedAt >= CELL_REPORT_MS) {
      bump(reportsPerCell, cell);
      d.reportedCell = cell;
      d.reportedAt = at;
    }
  }
}

function streamFixes(d) {
  const tick = () => {
    if (stopping) return;
    sendFix(d);
    d.timer = setTimeout(tick, FIX_EVERY_S * 1000 * between(0.9, 1.1));
  };
  d.timer = setTimeout(tick, Math.random() * FIX_EVERY_S * 1000);
}

// ---- riders -------------------------------------------------------------------------------

async function requestRide(r) {
  r.busy = true;
  try {
    const pickup = randomPoint();
    const { quote } = await api("POST", "/v1/quotes", { pickup, dropoff: near(pickup, 5) }, r.token);
    const sentAt = now();
    counts.requested++;
    const res = await fetch(new URL("/v1/trips", BASE), {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${r.token}`, "idempotency-key": `${runId}-${counts.requested}` },
      body: JSON.stringify({ quoteId: quote.id }),
    });
    const body = parseJson(await res.text());
    if (res.status !== 201 || !body?.trip) {
      countError(body?.error?.code ?? `http_${res.status}`);
      r.busy = false;
      return;
    }
    const tripId = body.trip.id;
    const answeredMs = now() - sentAt;
    if (answeredMs > 1000) slowRequests.push({ tripId, stage: "POST /v1/trips answered", ms: Math.round(answeredMs) });
    const seen = offerSeenAt.get(tripId);
    if (seen !== undefined) {
      requestToOffer.recordMs(seen - sentAt);
      offerSeenAt.delete(tripId);
    } else requestSentAt.set(tripId, sentAt);
    watchTrip(r, tripId);
  } catch (err) {
    countError(err.code ?? "request");
    r.busy = false;
  }
}

/** The rider's trip socket: location latency, the assigned driver never changing, and the end of the trip. */
function watchTrip(r, tripId) {
  const ws = new WebSocket(`${WS_BASE}/v1/trips/${tripId}/ws`, { headers: { authorization: `Bearer ${r.token}` } });
  let driverId = null;
  const done = () => {
    r.busy = false;
    requestSentAt.delete(tripId);
    ws.close();
  };
  ws.on("message", (data) => {
    const frame = parseJson(data.toString());
    if (!frame) return;
    const trip = frame.trip;
    if (trip?.driverId) {
      if (driverId !== null && trip.driverId !== driverId && trip.status !== "matching") doubleAssignments++;
      driverId = trip.driverId;
    }
    if (frame.type === "location" && driverId) {
      const key = `${driverId}:${frame.at}`;
      const sentAt = fixSentAt.get(key);
      if (sentAt !== undefined) {
        locationToRider.recordMs(now() - sentAt);
        fixSentAt.delete(key);
      }
    }
    if (trip && ["completed", "no_driver", "cancelled"].includes(trip.status)) {
      if (trip.status === "completed") counts.completed++;
      else if (trip.status === "no_driver") counts.noDriver++;
      else counts.cancelled++;
      done();
    }
  });
  ws.on("error", () => countError("rider_socket"));
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    countError("non_json_frame");
    return null;
  }
}

// ---- run ----------------------------------------------------------------------------------

async function register(role, i) {
  const body = { email: `bench-${runId}-${role}-${i}@bench.invalid`, password, name: `${role} ${i}`, role };
  const { user, token } = await api("POST", "/v1/auth/register", body);
  return { id: user.id, token };
}

async function main() {
  await api("GET", "/health");
  const server = findServerProcesses(PORT, opt.pid, die);
  for (const w of server.warnings) console.warn(`bench: ${w}`);
  // Each rider holds one trip at a time: enough of them to cover a ride's length at --rate.
  const riderCount = Math.ceil(RATE * (RIDE_S + 20)) + 10;
  console.log(`bench: ${BASE.origin}  ${DRIVERS} drivers (fix every ${FIX_EVERY_S}s at ${SPEED_KMH} km/h)  ${RATE} requests/s for ${SECONDS}s  ride ${RIDE_S}s  H3 res ${H3_RES}`);
  const t0 = now();
  const drivers = await pool(Array.from({ length: DRIVERS }, (_, i) => i), CONCURRENCY, (i) => register("driver", i));
  const riders = await pool(Array.from({ length: riderCount }, (_, i) => i), CONCURRENCY, (i) => register("rider", i));
  const tRegistered = now();
  await pool(drivers, CONCURRENCY, async (d) => {
    d.pos = randomPoint();
    d.heading = Math.random() * 2 * Math.PI;
    d.reportedAt = 0;
    await api("POST", "/v1/drivers/me/online", { location: d.pos }, d.token);
    d.lastFixAt = Date.now();
    await startDriver(d);
  });
  console.log(`bench: setup ${((now() - t0) / 1000).toFixed(1)}s (register ${drivers.length}+${riders.length} users ${((tRegistered - t0) / 1000).toFixed(1)}s, online + channels ${((now() - tRegistered) / 1000).toFixed(1)}s)`);

  for (const d of drivers) streamFixes(d);
  await sleep(WARMUP * 1000);

  const cpu0 = cpuTicks(server.pids);
  const gen0 = process.cpuUsage();
  const started = now();
  measuring = true;
  let skipped = 0;
  while (now() - started < SECONDS * 1000) {
    const idle = riders.find((r) => !r.busy);
    if (idle) requestRide(idle);
    else skipped++;
    await sleep(-Math.log(1 - Math.random()) * (1000 / RATE));
  }
  measuring = false;
  const windowS = (now() - started) / 1000;
  const cpuWindow = cpuTicks(server.pids);
  // Let the rides in flight finish (matching waits up to MATCH_TIMEOUT_MS; rides take RIDE_S).
  const drainUntil = now() + (RIDE_S + 15) * 1000;
  while (riders.some((r) => r.busy) && now() < drainUntil) await sleep(200);
  const cpu1 = cpuTicks(server.pids);
  const gen1 = process.cpuUsage(gen0);
  stopping = true;
  for (const d of drivers) clearTimeout(d.timer);
  for (const d of drivers) if (d.tripId) countError("ride_unfinished");
  // Sign the drivers off as an app would: a driver who just vanishes stays matchable until
  // their fix goes stale, and the next run's first offers would wait on them.
  await pool(drivers, CONCURRENCY, (d) => api("POST", "/v1/drivers/me/offline", undefined, d.token).catch(() => countError("offline")));
  for (const d of drivers) d.ws.close();

  const busiest = [...fixesPerCell.entries()].sort((a, b) => b[1] - a[1])[0] ?? [null, 0];
  const result = {
    config: { url: BASE.origin, drivers: DRIVERS, rate: RATE, seconds: SECONDS, rideSeconds: RIDE_S, fixEverySeconds: FIX_EVERY_S, h3Resolution: H3_RES },
    windowSeconds: windowS,
    trips: { ...counts, stillOpen: riders.filter((r) => r.busy).length, requestsSkippedNoIdleRider: skipped },
    doubleAssignments,
    requestToOfferMs: requestToOffer.summary(),
    locationToRiderMs: locationToRider.summary(),
    busiestCell: { cell: busiest[0], fixesPerSecond: busiest[1] / windowS, reportsPerSecond: (reportsPerCell.get(busiest[0]) ?? 0) / windowS, cellsSeen: fixesPerCell.size },
    serverCpuSeconds: server.pids.length > 0 ? (cpu1.total - cpu0.total) / CLK_TCK : null,
    serverCpuSecondsInWindow: server.pids.length > 0 ? (cpuWindow.total - cpu0.total) / CLK_TCK : null,
    serverPids: server.pids,
    generatorCpuSeconds: (gen1.user + gen1.system) / 1e6,
    errorsByCode: Object.fromEntries(errorsByCode),
    slowRequests: slowRequests.slice(0, 50),
    cpus: cpuCount(),
  };
  printSummary(result);
  if (opt.json) writeFileSync(opt.json, `${JSON.stringify(result, null, 2)}\n`);
  process.exit(doubleAssignments > 0 ? 1 : 0);
}

const fmt = (x) => (x === null || x === undefined ? "-" : x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0));
const pct = (h) => `p50 ${fmt(h.p50)}  p99 ${fmt(h.p99)}  max ${fmt(h.max)}  (n=${h.count})`;

function printSummary(r) {
  const line = "-".repeat(100);
  const t = r.trips;
  const rows = [
    ["drivers", `${r.config.drivers}, a fix every ${r.config.fixEverySeconds}s (${t.fixesSent.toLocaleString("en-US")} sent, ${t.fixErrors} refused)`],
    ["requests", `${t.requested} in ${r.windowSeconds.toFixed(1)}s (${(t.requested / r.windowSeconds).toFixed(1)}/s)${t.requestsSkippedNoIdleRider ? `, ${t.requestsSkippedNoIdleRider} skipped: no idle rider` : ""}`],
    ["outcomes", `offered ${t.offered}, accepted ${t.accepted} (refused ${t.acceptRefused}), completed ${t.completed}, no_driver ${t.noDriver}, cancelled ${t.cancelled}, still open ${t.stillOpen}, offers expired ${t.offerExpired}`],
    ["request -> offer ms", pct(r.requestToOfferMs)],
    ["location -> rider ms", pct(r.locationToRiderMs)],
    ["double assignments", String(r.doubleAssignments)],
    ["busiest cell", `${r.busiestCell.cell}: ${r.busiestCell.fixesPerSecond.toFixed(1)} fixes/s from available drivers, ~${r.busiestCell.reportsPerSecond.toFixed(1)} cell reports/s (${r.busiestCell.cellsSeen} cells)`],
    ["server CPU", r.serverCpuSeconds === null ? "not measured" : `${r.serverCpuSecondsInWindow.toFixed(2)} s in the request window (${((100 * r.serverCpuSecondsInWindow) / r.windowSeconds).toFixed(0)}% of a core), ${r.serverCpuSeconds.toFixed(2)} s with the rides' end; pids ${r.serverPids.join(",")}`],
    ["generator CPU", `${r.generatorCpuSeconds.toFixed(2)} s`],
    ["errors by code", Object.keys(r.errorsByCode).length ? Object.entries(r.errorsByCode).map(([k, v]) => `${k} ${v}`).join(", ") : "none"],
  ];
  console.log(`\n${line}`);
  for (const [k, v] of rows) console.log(`${k.padEnd(22)}| ${v}`);
  console.log(line);
  console.log(r.doubleAssignments === 0 ? "bench: OK - no double assignments" : `bench: FAIL - ${r.doubleAssignments} double assignments`);
}

main().catch((err) => {
  console.error(`bench: ${err.stack ?? err}`);
  process.exit(1);
});
