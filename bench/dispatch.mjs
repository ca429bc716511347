#!/usr/bin/env node
// Dispatch load benchmark for a RUNNING ridewire server (wrangler dev on loopback).
//
//   npm run bench:dispatch -- --url http://127.0.0.1:8787 --drivers 1000 --rate 10 --seconds 60
//
// A city of --drivers drivers, each online with an open driver channel and streaming a fix
// every 2 s (jittered) while moving at city speed; riders request --rate trips per second
// (Poisson arrivals), each from a quote; a driver answers every offer after --answer-delay
// (at once by default), declining with --decline's probability and accepting otherwise, drives
// for --ride-seconds (arrived, start, complete) and is free again. Measures request-to-offer
// (POST /v1/trips sent -> the offer frame on a driver's channel), request-to-accepted (-> the
// ack of the accept that won the trip), location-to-rider (a fix
// sent on the driver channel -> the `location` frame on the rider's trip socket), double
// assignments, trip outcomes, the fix rate into the busiest H3 cell, and server CPU from
// /proc. See bench/README.md.
import { randomBytes } from "node:crypto";
import { createWriteStream, readFileSync, writeFileSync } from "node:fs";
import { setPriority } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { latLngToCell } from "h3-js";
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
  processTree,
  rssBytes,
  runQueueWaitNs,
  sleep,
} from "./lib.mjs";

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
  --server-root PID  ... or this process and every descendant (bench/run.mjs passes it)
  --rates LIST       several windows in turn on the same city, e.g. 5,20,50 (overrides --rate)
  --rider-slack S    riders = ceil(max rate x (ride + S)) + 10  (default 20)
  --overload-after S stop a window's requests once a trip waited S s for its first offer
                     or its POST (the window is then reported as overloaded; default 0 = never)
  --drain S          after a window, wait up to S s for the rides in flight (default ride + 15)
  --answer-delay S  how long a driver takes to answer an offer: seconds, or MIN-MAX for
                     uniform in [MIN, MAX] (e.g. 0.3-8; default 0 = at once). An offer
                     withdrawn meanwhile (offer.expired) is not answered
  --decline P        probability that a driver declines an offer instead of accepting (default 0)
  --batch K          the OFFER_BATCH_SIZE the server under test runs with, for the report; a trip
                     offered to more than K drivers at once counts as an error (default 1)
  --moves WAY        how drivers send arrived/start/complete: "channel" (frames on the
                     driver socket, acked; default) or "http" (POST /v1/trips/:id/<move>)
  --nice N           run the generator at this niceness (default 10; 0 = as started): on a
                     shared host the server's busy thread then wins the CPU over the
                     generator, whose own lag is reported ("generator loop delay")
  --json FILE        also write the raw figures as JSON
  --trace FILE       also write every latency sample as CSV (ms since start, kind, latency
                     ms): shows whether a tail is spread out or one stall that hit everything
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
    "server-root": { type: "string" },
    rates: { type: "string" },
    "rider-slack": { type: "string", default: "20" },
    "overload-after": { type: "string", default: "0" },
    drain: { type: "string" },
    json: { type: "string" },
    trace: { type: "string" },
    moves: { type: "string", default: "channel" },
    "answer-delay": { type: "string", default: "0" },
    decline: { type: "string", default: "0" },
    batch: { type: "string", default: "1" },
    nice: { type: "string", default: "10" },
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
// The server takes at most LOCATIONS_PER_SECOND (2) fixes per second from a driver.
const FIX_EVERY_S = num("fix-every", { min: 0.6, max: 60 });
// The server drops a fix that implies 250 km/h or more.
const SPEED_KMH = num("speed", { min: 0, max: 200 });
const CONCURRENCY = num("concurrency", { int: true, min: 1, max: 1000 });
const RATES = opt.rates ? opt.rates.split(",").map(Number) : [RATE];
if (RATES.some((r) => !(r >= 0.01 && r <= 500))) die(`--rates must be numbers in [0.01, 500], got ${opt.rates}`);
const RIDER_SLACK_S = num("rider-slack", { min: 0, max: 3600 });
const OVERLOAD_AFTER_S = num("overload-after", { min: 0, max: 3600 });
const DRAIN_S = opt.drain === undefined ? RIDE_S + 15 : num("drain", { min: 0, max: 3600 });
if (!["channel", "http"].includes(opt.moves)) die(`--moves must be channel or http, got ${opt.moves}`);
const MOVES = opt.moves;
const ANSWER_DELAY_S = (() => {
  const m = /^(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?$/.exec(opt["answer-delay"]);
  const min = Number(m?.[1]);
  const max = m?.[2] === undefined ? min : Number(m[2]);
  if (!m || !(min <= max) || max > 600)
    die(`--answer-delay must be S or MIN-MAX seconds (<= 600), got ${opt["answer-delay"]}`);
  return { min, max };
})();
const DECLINE_P = num("decline", { min: 0, max: 1 });
const BATCH = num("batch", { int: true, min: 1, max: 10 });
/** How long this driver takes to answer an offer (ms): uniform in --answer-delay. */
const answerDelayMs = () => 1000 * (ANSWER_DELAY_S.min + Math.random() * (ANSWER_DELAY_S.max - ANSWER_DELAY_S.min));
// The generator stands in for clients on other machines: it should take as little of the
// server's CPU as it can. Lowering its own priority needs no privileges.
const NICE = num("nice", { int: true, min: 0, max: 19 });
if (NICE > 0) setPriority(NICE);
const SERVER_ROOT = opt["server-root"] === undefined ? null : num("server-root", { int: true, min: 1 });

const BASE = new URL(opt.url);
if (!["http:", "https:"].includes(BASE.protocol)) die(`--url must be http(s)://, got ${opt.url}`);
if (!isLoopback(BASE.hostname))
  die(`refusing to target ${BASE.hostname}: only loopback addresses (127.0.0.0/8, ::1, localhost)`);
const PORT = Number(BASE.port || (BASE.protocol === "https:" ? 443 : 80));
const WS_BASE = `${BASE.protocol === "https:" ? "wss:" : "ws:"}//${BASE.host}`;
const api = makeApi(BASE);

/** The server's index settings, read from wrangler.toml's [vars] (the benchmark mirrors them client-side). */
/** Metres between two points (haversine), for the estimate of the server's cell reports. */
function distanceM(a, b) {
  const rad = Math.PI / 180;
  const h =
    Math.sin(((b.lat - a.lat) * rad) / 2) ** 2 +
    Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(((b.lng - a.lng) * rad) / 2) ** 2;
  return 2 * 6_371_008.8 * Math.asin(Math.min(1, Math.sqrt(h)));
}

function serverVar(name, fallback) {
  try {
    const toml = readFileSync(new URL("../wrangler.toml", import.meta.url), "utf8");
    const vars = toml.slice(toml.search(/^\[vars\]/m)).split(/^\[(?!vars\])/m)[0];
    const m = new RegExp(`^${name}\\s*=\\s*"?([^"\\s]*)"?`, "m").exec(vars);
    const v = m ? Number(m[1]) : NaN;
    return Number.isFinite(v) ? v : fallback;
  } catch {
    return fallback;
  }
}
const H3_RES = serverVar("H3_RESOLUTION", 7);
const CELL_REPORT_MS = serverVar("CELL_REPORT_INTERVAL_MS", 20000);
const CELL_REPORT_M = serverVar("CELL_REPORT_DISTANCE_M", 100);
const RIDER_FUNDS_MINOR = serverVar("TOP_UP_MAX_MINOR", 50_000);

// San Francisco, roughly: where drivers roam and rides start and end.
const CITY = { south: 37.7, north: 37.81, west: -122.51, east: -122.38 };
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
/**
 * The figures of one measured window (one request rate; `--rates` runs several in turn on the
 * same city). A trip's own figures (request -> offer, its outcome) go to the window it was
 * requested in, even when they arrive during the next one.
 */
function newWindow(index, rate) {
  return {
    index,
    rate,
    requestToOffer: new Histogram(),
    requestToAccepted: new Histogram(),
    tripPostMs: new Histogram(),
    acceptAckMs: new Histogram(),
    locationToRider: new Histogram(),
    errorsByCode: new Map(),
    counts: {
      requested: 0, // POST /v1/trips sent
      created: 0, // answered 201
      offered: 0, // offer frames received (a trip may be offered more than once)
      offerExpired: 0,
      acceptsSent: 0,
      accepted: 0, // acks of an accept
      acceptRefused: 0, // error frames answering an accept (with K > 1, another driver of the batch won)
      declinesSent: 0,
      offersUnanswered: 0, // offers withdrawn (offer.expired) before the driver's answer was due
      overBatch: 0, // offer frames that made a trip's live offers more than --batch
      completed: 0,
      noDriver: 0,
      cancelled: 0,
      fixesSent: 0,
      fixErrors: 0,
      fixesOnTrip: 0, // fixes sent by a driver holding an accepted trip (before its complete)
      riderSocketLost: 0,
    },
    /**
     * Inbound fixes per cell during the window (all drivers, and available drivers only), and the session->cell reports
     * the server's rule implies.
     */
    fixesPerCell: new Map(),
    availableFixesPerCell: new Map(),
    reportsPerCell: new Map(),
    /** Requests slower than a second, for a look at the server's side of them (--json). */
    slowRequests: [],
    /**
     * Requests (quote + POST /v1/trips) not answered yet, and trips created and not offered yet: the overload guard
     * reads the oldest.
     */
    postsPending: new Map(),
    unoffered: new Map(),
    doubles: 0,
  };
}
let W = newWindow(0, 0);

// --trace: every latency sample with when it was taken, on the monotonic clock that
// `perf record -k CLOCK_MONOTONIC` also uses, so a tail can be matched to what the server did.
const trace = opt.trace ? createWriteStream(opt.trace) : null;
const monotonicOriginMs = Number(process.hrtime.bigint()) / 1e6 - now();
trace?.write("monotonic_ms,kind,latency_ms\n");
/** Records one latency sample in its histogram, and in the trace when there is one. */
function sample(histogram, kind, ms) {
  histogram.recordMs(ms);
  trace?.write(`${(monotonicOriginMs + now()).toFixed(1)},${kind},${ms.toFixed(2)}\n`);
}
const countError = (code, win = W) => win.errorsByCode.set(code, (win.errorsByCode.get(code) ?? 0) + 1);
/** Each double assignment seen, with how it was seen. */
const doubles = [];
function doubleAssignment(kind, detail) {
  doubles.push({ kind, window: W.index, ...detail });
  W.doubles++;
  console.error(`bench: DOUBLE ASSIGNMENT (${kind}) ${JSON.stringify(detail)}`);
}
/** Drivers whose offer of a trip is live (offered, not yet answered nor expired), by trip id: checks --batch. */
const liveOffers = new Map();
/** Trips created: { sentAt, offeredAt, offers, acceptedBy, status } by trip id. */
const trips = new Map();
/** First offer seen by trip, for offers that arrive before the POST answers. */
const offerSeenAt = new Map();
/** Accepts acknowledged before the POST that created the trip answered: driver ids by trip. */
const earlyAccepts = new Map();
/** Each trip's PIN as its rider sees it in the answer to POST /v1/trips, until its driver starts the ride. */
const tripPins = new Map();

/** Send time of each fix a driver on a trip sent, by `${tripId}:${at}`, until the rider sees it. */
const fixSentAt = new Map();
let measuring = false;
let stopping = false;
let abortReason = null;

const bump = (map, key) => map.set(key, (map.get(key) ?? 0) + 1);

// ---- drivers ------------------------------------------------------------------------------

function startDriver(d) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${WS_BASE}/v1/drivers/me/ws`, {
      headers: { authorization: `Bearer ${d.token}` },
      perMessageDeflate: false,
      handshakeTimeout: 15_000,
    });
    d.ws = ws;
    let welcomed = false;
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new BenchError(`driver ${d.idx}: no welcome within 15 s`));
    }, 15_000);
    ws.on("unexpected-response", (_req, res) => {
      clearTimeout(timer);
      reject(new BenchError(`driver ${d.idx}: upgrade refused ${res.statusCode}`));
    });
    ws.on("message", (data) => {
      const frame = parseJson(data.toString());
      if (!frame) return;
      if (frame.type === "welcome") {
        welcomed = true;
        clearTimeout(timer);
        resolve();
      } else onDriverFrame(d, frame);
    });
    ws.on("error", (err) => {
      if (welcomed) return countError("driver_socket_error");
      clearTimeout(timer);
      reject(new BenchError(`driver ${d.idx}: ${err.message}`));
    });
    ws.on("close", (code) => {
      if (!stopping) countError(`driver_socket_closed_${code}`);
    });
  });
}

/** The driver holds an accepted trip whose complete this generator has not sent yet. */
const onTrip = (d) => d.tripId !== null && !d.completeSent;

function onDriverFrame(d, frame) {
  const t = now();
  switch (frame.type) {
    case "offer": {
      W.counts.offered++;
      // The server frees a driver only after the complete this generator sends: an offer
      // before that reached a driver who still holds a trip.
      if (onTrip(d))
        doubleAssignment("offer to a driver on a trip", { driver: d.id, holds: d.tripId, offered: frame.tripId });
      d.offerTripId = frame.tripId;
      d.reportedCell = null; // an offered driver leaves the cell; the next report is a move
      const trip = trips.get(frame.tripId);
      if (trip) {
        trip.offers++;
        if (trip.offeredAt === null) {
          trip.offeredAt = t;
          sample(trip.win.requestToOffer, "request_to_offer", t - trip.sentAt);
          trip.win.unoffered.delete(frame.tripId);
          if (t - trip.sentAt > 1000)
            trip.win.slowRequests.push({ tripId: frame.tripId, stage: "offer", ms: Math.round(t - trip.sentAt) });
        }
      } else if (!offerSeenAt.has(frame.tripId)) offerSeenAt.set(frame.tripId, t);
      const live = liveOffers.get(frame.tripId) ?? new Set();
      live.add(d.id);
      liveOffers.set(frame.tripId, live);
      if (live.size > BATCH) {
        W.counts.overBatch++;
        countError("offers_over_batch");
      }
      const tripId = frame.tripId;
      const delay = answerDelayMs();
      if (delay <= 0) answerOffer(d, tripId);
      else setTimeout(() => answerOffer(d, tripId), delay);
      return;
    }
    case "ack": {
      if (settleMove(d, frame)) return;
      if (d.declines.delete(frame.id)) return;
      const a = d.accepts.get(frame.id);
      if (!a) return;
      d.accepts.delete(frame.id);
      sample(W.acceptAckMs, "accept_ack", t - a.t);
      onAccepted(d, a.tripId);
      return;
    }
    case "offer.expired":
      W.counts.offerExpired++;
      forgetLiveOffer(d, frame.tripId);
      if (d.offerTripId === frame.tripId) d.offerTripId = null;
      return;
    case "trip": {
      // A trip this driver holds changed: it must be the one trip it holds.
      const trip = frame.trip;
      if (
        trip?.driverId === d.id &&
        ["accepted", "arrived", "in_progress"].includes(trip.status) &&
        onTrip(d) &&
        trip.id !== d.tripId
      ) {
        doubleAssignment("driver channel shows a second active trip", {
          driver: d.id,
          holds: d.tripId,
          other: trip.id,
          status: trip.status,
        });
      }
      return;
    }
    case "error": {
      if (settleMove(d, frame)) return;
      if (d.declines.delete(frame.id)) {
        countError(`offer.decline:${frame.code ?? "error"}`);
        return;
      }
      const a = frame.id !== undefined ? d.accepts.get(frame.id) : undefined;
      if (a) {
        d.accepts.delete(frame.id);
        W.counts.acceptRefused++;
        if (d.offerTripId === a.tripId) d.offerTripId = null;
        countError(`offer.accept:${frame.code ?? "error"}`);
      } else {
        W.counts.fixErrors++;
        countError(`driver_frame:${frame.code ?? "error"}`);
      }
      return;
    }
  }
}

/** The driver no longer holds a live offer of the trip (answered or withdrawn); a trip with none is forgotten. */
function forgetLiveOffer(d, tripId) {
  const live = liveOffers.get(tripId);
  live?.delete(d.id);
  if (live?.size === 0) liveOffers.delete(tripId);
}

/** The driver's answer to an offer, once their --answer-delay is up: nothing if it was withdrawn meanwhile. */
function answerOffer(d, tripId) {
  forgetLiveOffer(d, tripId);
  if (d.offerTripId !== tripId || d.ws?.readyState !== WebSocket.OPEN) {
    W.counts.offersUnanswered++;
    return;
  }
  if (Math.random() < DECLINE_P) {
    const id = `dec-${d.idx}-${++d.seq}`;
    d.declines.add(id);
    d.offerTripId = null;
    W.counts.declinesSent++;
    d.ws.send(JSON.stringify({ type: "offer.decline", id, tripId }));
    return;
  }
  const id = `acc-${d.idx}-${++d.seq}`;
  d.accepts.set(id, { tripId, t: now() });
  W.counts.acceptsSent++;
  d.ws.send(JSON.stringify({ type: "offer.accept", id, tripId }));
}

function onAccepted(d, tripId) {
  W.counts.accepted++;
  if (d.offerTripId === tripId) d.offerTripId = null;
  const trip = trips.get(tripId);
  if (trip) {
    if (trip.acceptedBy !== null && trip.acceptedBy !== d.id)
      doubleAssignment("trip acknowledged to two drivers", { trip: tripId, first: trip.acceptedBy, second: d.id });
    if (trip.acceptedBy === null) sample(trip.win.requestToAccepted, "request_to_accepted", now() - trip.sentAt);
    trip.acceptedBy ??= d.id;
  } else {
    if (!earlyAccepts.has(tripId)) earlyAccepts.set(tripId, []);
    earlyAccepts.get(tripId).push({ driverId: d.id, at: now() });
  }
  if (onTrip(d))
    doubleAssignment("driver acknowledged a second trip", { driver: d.id, holds: d.tripId, accepted: tripId });
  d.tripId = tripId;
  d.completeSent = false;
  drive(d, tripId).catch((err) => countError(err instanceof BenchError ? err.code : "drive"));
}
async function drive(d, tripId) {
  await sleep((RIDE_S * 1000) / 4);
  await tripCall(d, tripId, "arrived");
  // The rider reads the trip's PIN out to the driver (TRIP_PIN_REQUIRED); the driver types it into start.
  await tripCall(d, tripId, "start", { pin: tripPins.get(tripId) });
  tripPins.delete(tripId);
  await sleep((RIDE_S * 3000) / 4);
  d.completeSent = true;
  await tripCall(d, tripId, "complete");
  if (d.tripId === tripId) d.tripId = null;
  d.reportedCell = null;
}

/**
 * A driver's move on their trip: a frame on the channel (as a driver app with its socket open sends it), or the HTTP
 * route.
 */
async function tripCall(d, tripId, step, body = {}) {
  try {
    if (MOVES === "channel" && d.ws?.readyState === WebSocket.OPEN) await channelMove(d, tripId, step, body);
    else await api("POST", `/v1/trips/${tripId}/${step}`, body, d.token);
  } catch (err) {
    countError(`${step}:${err.code ?? "network"}`);
  }
}

/** Sends `trip.<step>` and waits for its ack (or error frame), at most 30 s like an HTTP call. */
function channelMove(d, tripId, step, body) {
  const id = `mv-${d.idx}-${++d.seq}`;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      d.moves.delete(id);
      reject(new BenchError(`trip.${step} got no answer in 30 s`, "timeout"));
    }, 30_000);
    d.moves.set(id, (frame) => {
      clearTimeout(timer);
      if (frame.type === "ack") resolve();
      else reject(new BenchError(`trip.${step}: ${frame.code}: ${frame.message}`, frame.code ?? "error"));
    });
    d.ws.send(JSON.stringify({ type: `trip.${step}`, id, tripId, ...body }));
  });
}

/** The answer to a move sent on the channel, if this frame is one; true when it was. */
function settleMove(d, frame) {
  const settle = frame.id !== undefined ? d.moves.get(frame.id) : undefined;
  if (!settle) return false;
  d.moves.delete(frame.id);
  settle(frame);
  return true;
}

/** Moves the driver one step and sends the fix; mirrors the session's cell-report rule to estimate reports per cell. */
function sendFix(d) {
  const at = Date.now();
  const dtS = (at - d.lastFixAt) / 1000;
  const km = (SPEED_KMH * dtS) / 3600;
  let lat = d.pos.lat + (km * Math.cos(d.heading)) / KM_PER_DEG_LAT;
  let lng = d.pos.lng + (km * Math.sin(d.heading)) / kmPerDegLng(d.pos.lat);
  if (lat < CITY.south || lat > CITY.north || lng < CITY.west || lng > CITY.east) {
    d.heading += Math.PI; // turn around at the city's edge (and stand still for this fix)
    lat = d.pos.lat;
    lng = d.pos.lng;
  } else if (Math.random() < 0.1) d.heading += between(-Math.PI / 2, Math.PI / 2);
  if (d.ws.readyState !== WebSocket.OPEN) return;
  d.pos = { lat, lng };
  d.lastFixAt = at;
  d.ws.send(JSON.stringify({ type: "location", lat, lng, at }));
  W.counts.fixesSent++;
  if (onTrip(d)) {
    W.counts.fixesOnTrip++;
    fixSentAt.set(`${d.tripId}:${at}`, now());
  }
  if (!measuring) return;
  const cell = latLngToCell(lat, lng, H3_RES);
  bump(W.fixesPerCell, cell);
  if (d.tripId === null && d.offerTripId === null) {
    // Only an available driver's fixes go on to the cell, and only on a change of cell, after
    // CELL_REPORT_DISTANCE_M of movement, or when the last report is CELL_REPORT_INTERVAL_MS old.
    bump(W.availableFixesPerCell, cell);
    const far = !d.reportedPos || distanceM(d.reportedPos, d.pos) >= CELL_REPORT_M;
    if (cell !== d.reportedCell || far || at - d.reportedAt >= CELL_REPORT_MS) {
      bump(W.reportsPerCell, cell);
      d.reportedCell = cell;
      d.reportedAt = at;
      d.reportedPos = { ...d.pos };
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

/**
 * The idle rider who has waited longest since their last ride (`idleSince`, 0 before the first):
 * as in a city, where the rider whose trip has just ended rarely books again within the second.
 * Taking the first idle rider in the list gave each new request to the rider just done, whose
 * active-trip slot the ended trip had not yet released, so a third of requests took the claim's
 * slow path (bench/PROFILE.md, "The trip's D1 round trips by statement").
 */
function longestIdle(riders) {
  let best = null;
  for (const r of riders) if (!r.busy && (best === null || (r.idleSince ?? 0) < (best.idleSince ?? 0))) best = r;
  return best;
}

/** The rider is free to ask for another ride; `longestIdle` puts them last in line. */
function riderFree(r) {
  r.busy = false;
  r.idleSince = now();
}

async function requestRide(r) {
  r.busy = true;
  const win = W;
  const key = `${r.idx}-${r.seq + 1}`;
  // The overload guard counts from the rider's intent: the quote is part of the wait.
  win.postsPending.set(key, now());
  try {
    const pickup = randomPoint();
    const { quote } = await api("POST", "/v1/quotes", { pickup, dropoff: near(pickup, 5) }, r.token);
    const sentAt = now();
    win.counts.requested++;
    const res = await fetch(new URL("/v1/trips", BASE), {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${r.token}`,
        "idempotency-key": `${runId}-${r.idx}-${++r.seq}`,
      },
      body: JSON.stringify({ quoteId: quote.id }),
      signal: AbortSignal.timeout(30_000),
    }).finally(() => win.postsPending.delete(key));
    const body = parseJson(await res.text());
    const answeredMs = now() - sentAt;
    if (res.status !== 201 || !body?.trip) {
      countError(`POST /v1/trips:${body?.error?.code ?? `http_${res.status}`}`, win);
      riderFree(r);
      return;
    }
    win.counts.created++;
    sample(win.tripPostMs, "trip_post", answeredMs);
    const tripId = body.trip.id;
    if (body.trip.pin !== undefined) tripPins.set(tripId, body.trip.pin);
    if (answeredMs > 1000)
      win.slowRequests.push({ tripId, stage: "POST /v1/trips answered", ms: Math.round(answeredMs) });
    const trip = { sentAt, offeredAt: null, offers: 0, acceptedBy: null, status: body.trip.status, rider: r.idx, win };
    trips.set(tripId, trip);
    const seen = offerSeenAt.get(tripId);
    if (seen !== undefined) {
      trip.offeredAt = seen;
      trip.offers++;
      sample(win.requestToOffer, "request_to_offer", seen - sentAt);
      offerSeenAt.delete(tripId);
    } else win.unoffered.set(tripId, sentAt);
    for (const { driverId, at } of earlyAccepts.get(tripId) ?? []) {
      if (trip.acceptedBy === null) sample(win.requestToAccepted, "request_to_accepted", at - sentAt);
      if (trip.acceptedBy !== null && trip.acceptedBy !== driverId)
        doubleAssignment("trip acknowledged to two drivers", {
          trip: tripId,
          first: trip.acceptedBy,
          second: driverId,
        });
      trip.acceptedBy ??= driverId;
    }
    earlyAccepts.delete(tripId);
    watchTrip(r, tripId, trip);
  } catch (err) {
    win.postsPending.delete(key);
    countError(`request:${err.code ?? err.name ?? "network"}`, win);
    riderFree(r);
  }
}

const TERMINAL = ["completed", "no_driver", "cancelled"];

/** The rider's trip socket: location latency, the assigned driver never changing, and the end of the trip. */
function watchTrip(r, tripId, trip) {
  const ws = new WebSocket(`${WS_BASE}/v1/trips/${tripId}/ws`, {
    headers: { authorization: `Bearer ${r.token}` },
    perMessageDeflate: false,
    handshakeTimeout: 15_000,
  });
  r.ws = ws;
  let driverId = null;
  let ended = false;
  const end = (status) => {
    if (ended) return;
    ended = true;
    trip.status = status;
    if (status === "completed") trip.win.counts.completed++;
    else if (status === "no_driver") trip.win.counts.noDriver++;
    else trip.win.counts.cancelled++;
    trip.win.unoffered.delete(tripId);
    riderFree(r);
    r.ws = null;
    ws.close();
  };
  const onTripSnapshot = (snap) => {
    if (!snap) return;
    if (snap.status === "matching")
      driverId = null; // a driver's cancel sends it back to matching
    else if (snap.driverId) {
      if (driverId !== null && snap.driverId !== driverId)
        doubleAssignment("rider saw the trip's driver change", {
          trip: tripId,
          from: driverId,
          to: snap.driverId,
          status: snap.status,
        });
      driverId = snap.driverId;
    }
    if (trip.acceptedBy !== null && snap.driverId && snap.driverId !== trip.acceptedBy && snap.status !== "matching") {
      doubleAssignment("rider's trip driver is not the driver whose accept was acknowledged", {
        trip: tripId,
        acked: trip.acceptedBy,
        rider: snap.driverId,
      });
    }
    trip.status = snap.status;
    if (TERMINAL.includes(snap.status)) end(snap.status);
  };
  ws.on("message", (data) => {
    const frame = parseJson(data.toString());
    if (!frame) return;
    if (frame.type === "location") {
      const key = `${tripId}:${frame.at}`;
      const sentAt = fixSentAt.get(key);
      if (sentAt !== undefined) {
        sample(W.locationToRider, "location_to_rider", now() - sentAt);
        fixSentAt.delete(key);
      }
      return;
    }
    onTripSnapshot(frame.trip);
  });
  ws.on("error", () => countError("rider_socket_error"));
  ws.on("close", () => {
    if (ended || stopping) return;
    // Lost the trip socket: follow the trip over HTTP so the rider frees up at its end.
    W.counts.riderSocketLost++;
    (async () => {
      while (!ended && !stopping) {
        await sleep(2000);
        try {
          onTripSnapshot((await api("GET", `/v1/trips/${tripId}`, undefined, r.token)).trip);
        } catch (err) {
          countError(`GET /v1/trips/:id:${err.code ?? "network"}`);
        }
      }
    })();
  });
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
  // Trip requests hold their fare on the wallet (402 without funds): riders pay in first, through
  // the sandbox provider that `npm run dev` uses (the largest top-up it takes covers dozens of rides).
  if (role === "rider")
    await api("POST", "/v1/wallet/top-ups", { amount: { amount: RIDER_FUNDS_MINOR, currency: "USD" } }, token, {
      "idempotency-key": `bench-${runId}-${i}`,
    });
  return { idx: i, id: user.id, token, seq: 0 };
}

/** The server processes now: the tree under --server-root, or the pids found at the start. */
let serverPidsNow = () => [];

function cpuSnapshot() {
  const pids = serverPidsNow();
  return {
    pids,
    server: cpuTicks(pids),
    rq: runQueueWaitNs(pids),
    host: hostTicks(),
    gen: process.cpuUsage(),
    t: now(),
  };
}

/** CPU between two snapshots, in seconds; only processes alive at both ends count. */
function cpuBetween(a, b) {
  const alive = a.pids.filter((p) => p in a.server.perPid && p in b.server.perPid);
  const serverS = alive.reduce((s, p) => s + b.server.perPid[p] - a.server.perPid[p], 0) / CLK_TCK;
  const genS = (b.gen.user + b.gen.system - a.gen.user - a.gen.system) / 1e6;
  const hostS = a.host && b.host ? (b.host.busy - a.host.busy) / CLK_TCK : null;
  return {
    seconds: r3((b.t - a.t) / 1000),
    serverCpuS: a.pids.length > 0 ? r3(serverS) : null,
    serverReliable: a.pids.length > 0 && b.server.missing === 0 && a.pids.join(",") === b.pids.join(","),
    serverRunQueueWaitS: r3((b.rq - a.rq) / 1e9),
    generatorCpuS: r3(genS),
    hostBusyS: hostS === null ? null : r3(hostS),
    otherProcessesCpuS: hostS === null ? null : r3(Math.max(0, hostS - serverS - genS)),
  };
}

/** The oldest wait (ms) of a request of this window: a POST not answered, or a trip not offered yet. */
function oldestWaitMs(win) {
  let oldest = Infinity;
  for (const t of win.postsPending.values()) {
    oldest = Math.min(oldest, t);
    break;
  }
  for (const t of win.unoffered.values()) {
    oldest = Math.min(oldest, t);
    break;
  }
  return oldest === Infinity ? 0 : now() - oldest;
}

async function main() {
  await api("GET", "/health").catch((err) => {
    throw new BenchError(`server not reachable at ${BASE.href}: ${err.message}`);
  });
  const server =
    SERVER_ROOT !== null
      ? { pids: processTree(SERVER_ROOT), how: `process tree of pid ${SERVER_ROOT}`, warnings: [] }
      : findServerProcesses(PORT, opt.pid, die);
  serverPidsNow = SERVER_ROOT !== null ? () => processTree(SERVER_ROOT) : () => server.pids;
  for (const w of server.warnings) console.warn(`bench: WARNING ${w}`);
  // Each rider holds one trip at a time: enough of them to cover a ride's length (plus
  // matching and slack) at the highest rate.
  const maxRate = Math.max(...RATES);
  const riderCount = Math.ceil(maxRate * (RIDE_S + RIDER_SLACK_S)) + 10;
  console.log(
    `bench: ${BASE.origin}  ${DRIVERS} drivers (fix every ${FIX_EVERY_S}s at ${SPEED_KMH} km/h)  ` +
      `${RATES.join(", ")} requests/s for ${SECONDS}s each  ride ${RIDE_S}s  H3 res ${H3_RES}  run ${runId}`,
  );
  console.log(`bench: server pids ${server.pids.join(",") || "-"} (${server.how})`);

  // A hard bound on the whole run, whatever happens.
  const hardLimitMs = (120 + (DRIVERS + riderCount) / 5 + WARMUP + RATES.length * (SECONDS + DRAIN_S + 5) + 60) * 1000;
  setTimeout(() => {
    console.error(`bench: hard time limit of ${Math.round(hardLimitMs / 1000)} s reached; exiting`);
    process.exit(3);
  }, hardLimitMs).unref();
  process.on("SIGINT", () => {
    if (abortReason !== null) process.exit(130);
    abortReason = "interrupted (SIGINT)";
    console.error("bench: stopping early (Ctrl-C again to quit at once)");
  });

  const t0 = now();
  const setupCpu0 = cpuSnapshot();
  const drivers = await pool(
    Array.from({ length: DRIVERS }, (_, i) => i),
    CONCURRENCY,
    (i) => register("driver", i),
  );
  const riders = await pool(
    Array.from({ length: riderCount }, (_, i) => i),
    CONCURRENCY,
    (i) => register("rider", i),
  );
  const tRegistered = now();
  await pool(drivers, CONCURRENCY, async (d) => {
    Object.assign(d, {
      pos: randomPoint(),
      heading: Math.random() * 2 * Math.PI,
      tripId: null,
      offerTripId: null,
      completeSent: false,
      accepts: new Map(),
      declines: new Set(),
      moves: new Map(),
      reportedCell: null,
      reportedAt: 0,
    });
    await api("POST", "/v1/drivers/me/online", { location: d.pos }, d.token);
    d.lastFixAt = Date.now();
    await startDriver(d);
  });
  const tSetup = now();
  const setupCpu = cpuBetween(setupCpu0, cpuSnapshot());
  const setup = {
    totalMs: Math.round(tSetup - t0),
    registerMs: Math.round(tRegistered - t0),
    users: drivers.length + riders.length,
    registerPerS: r1((drivers.length + riders.length) / ((tRegistered - t0) / 1000)),
    onlineAndChannelsMs: Math.round(tSetup - tRegistered),
    serverCpuS: setupCpu.serverCpuS,
    serverRssBytes: rssBytes(serverPidsNow()),
  };
  console.log(
    `bench: setup ${fmtS(setup.totalMs)}: registered ${drivers.length} drivers + ${riders.length} riders in ` +
      `${fmtS(setup.registerMs)} (${setup.registerPerS}/s, concurrency ${CONCURRENCY}), ${DRIVERS} online + ` +
      `channels ${fmtS(setup.onlineAndChannelsMs)}; server CPU ${setup.serverCpuS?.toFixed(1) ?? "-"} s`,
  );

  for (const d of drivers) streamFixes(d);
  // Prune fixes whose location never reached a rider (socket not open yet, trip over).
  const pruner = setInterval(() => {
    const old = now() - 60_000;
    for (const [k, t] of fixSentAt) if (t < old) fixSentAt.delete(k);
  }, 10_000);
  const warmupUntil = now() + WARMUP * 1000;
  // The city alone (drivers streaming, no requests): the cost of the fixes.
  const idle0 = cpuSnapshot();
  while (abortReason === null && now() < warmupUntil) await sleep(100);
  const idleCity = WARMUP > 0 ? cpuBetween(idle0, cpuSnapshot()) : null;

  const windows = [];
  for (const [wi, rate] of RATES.entries()) {
    if (abortReason !== null) break;
    W = newWindow(wi, rate);
    const openAtStart = riders.filter((r) => r.busy).length;
    const cpu0 = cpuSnapshot();
    // The generator's own event-loop delay: a fix or frame that waits in this loop waits inside
    // every latency measured here, so a large figure means the generator, not the server, added it.
    const loopDelay = monitorEventLoopDelay({ resolution: 5 });
    loopDelay.enable();
    const started = now();
    measuring = true;
    let skipped = 0;
    let overloaded = null;
    let next = started;
    // Poisson arrivals on a fixed schedule, so a slow event loop does not lower the rate.
    while (abortReason === null && now() - started < SECONDS * 1000) {
      const idle = longestIdle(riders);
      if (idle) requestRide(idle);
      else skipped++;
      if (OVERLOAD_AFTER_S > 0) {
        const waited = oldestWaitMs(W);
        if (waited > OVERLOAD_AFTER_S * 1000) {
          overloaded =
            `a request waited ${(waited / 1000).toFixed(1)} s (for its POST or first offer) after ` +
            `${((now() - started) / 1000).toFixed(1)} s: requests stopped`;
          console.warn(`bench: window ${rate}/s overloaded: ${overloaded}`);
          break;
        }
      }
      next += -Math.log(1 - Math.random()) * (1000 / rate);
      const wait = next - now();
      if (wait > 0) await sleep(Math.min(wait, started + SECONDS * 1000 - now()));
    }
    measuring = false;
    loopDelay.disable();
    const cpuWindow = cpuSnapshot();
    // Let the rides in flight finish (matching waits up to MATCH_TIMEOUT_MS; rides take RIDE_S).
    const drainUntil = now() + DRAIN_S * 1000;
    while (abortReason === null && riders.some((r) => r.busy) && now() < drainUntil) await sleep(200);
    const cpu1 = cpuSnapshot();
    const result = windowResult(W, {
      rate,
      skipped,
      overloaded,
      openAtStart,
      cpu0,
      cpuWindow,
      cpu1,
      drivers,
      riders,
      setup,
      server,
      idleCity,
      loopDelay,
    });
    windows.push(result);
    printSummary(result);
  }

  stopping = true;
  clearInterval(pruner);
  for (const d of drivers) clearTimeout(d.timer);
  // Sign the drivers off as an app would: a driver who just vanishes stays matchable until
  // their fix goes stale, and the next run's first offers would wait on them.
  await pool(drivers, CONCURRENCY, (d) =>
    api("POST", "/v1/drivers/me/offline", undefined, d.token).catch((err) =>
      countError(`offline:${err.code ?? "network"}`),
    ),
  );
  for (const d of drivers) d.ws?.close();
  for (const r of riders) r.ws?.close();

  if (opt.json) {
    const out =
      RATES.length === 1 && !opt.rates ? windows[0] : { config: windows[0]?.config, setup, idleCity, windows };
    writeFileSync(opt.json, `${JSON.stringify(out, null, 2)}\n`);
    console.log(`bench: wrote ${opt.json}`);
  }
  if (trace) {
    await new Promise((resolve) => trace.end(resolve));
    console.log(`bench: wrote ${opt.trace}`);
  }
  process.exit(doubles.length > 0 ? 1 : 0);
}

function windowResult(
  win,
  {
    rate,
    skipped,
    overloaded,
    openAtStart,
    cpu0,
    cpuWindow,
    cpu1,
    drivers,
    riders,
    setup,
    server,
    idleCity,
    loopDelay,
  },
) {
  const windowS = (cpuWindow.t - cpu0.t) / 1000;
  const created = [...trips.entries()].filter(([, t]) => t.win === win);
  const neverOffered = created.filter(([, t]) => t.offeredAt === null);
  const busiest = (map) => [...map.entries()].sort((a, b) => b[1] - a[1])[0] ?? [null, 0];
  const [fixCell, fixCellN] = busiest(win.fixesPerCell);
  const [reportCell, reportCellN] = busiest(win.reportsPerCell);
  const counts = win.counts;
  const window = cpuBetween(cpu0, cpuWindow);
  return {
    config: {
      url: BASE.origin,
      drivers: DRIVERS,
      riders: riders.length,
      rate,
      rates: RATES,
      seconds: SECONDS,
      warmupS: WARMUP,
      rideSeconds: RIDE_S,
      fixEverySeconds: FIX_EVERY_S,
      speedKmh: SPEED_KMH,
      concurrency: CONCURRENCY,
      h3Resolution: H3_RES,
      cellReportIntervalMs: CELL_REPORT_MS,
      cellReportDistanceM: CELL_REPORT_M,
      city: CITY,
      runId,
      overloadAfterS: OVERLOAD_AFTER_S,
      drainS: DRAIN_S,
      moves: MOVES,
      answerDelayS: ANSWER_DELAY_S,
      declineProbability: DECLINE_P,
      offerBatchSize: BATCH,
      generatorNice: NICE,
    },
    setup,
    idleCity,
    windowIndex: win.index,
    windowSeconds: r3(windowS),
    overloaded,
    openTripsAtStart: openAtStart,
    trips: {
      ...counts,
      requestsPerS: r1(counts.requested / windowS),
      skippedNoIdleRider: skipped,
      matched: created.filter(([, t]) => t.acceptedBy !== null).length,
      neverOffered: neverOffered.length,
      neverOfferedByStatus: Object.fromEntries(neverOffered.reduce((m, [, t]) => bump(m, t.status), new Map())),
      reoffered: created.filter(([, t]) => t.offers > 1).length,
      stillOpen: riders.filter((r) => r.busy).length,
      ridesUnfinished: drivers.filter((d) => onTrip(d)).length,
      missingAcceptAcks: drivers.reduce((s, d) => s + d.accepts.size, 0),
    },
    doubleAssignments: win.doubles,
    doubleAssignmentList: doubles.filter((d) => d.window === win.index).slice(0, 100),
    tripPostMs: win.tripPostMs.summary(),
    requestToOfferMs: win.requestToOffer.summary(),
    requestToAcceptedMs: win.requestToAccepted.summary(),
    acceptAckMs: win.acceptAckMs.summary(),
    locationToRiderMs: win.locationToRider.summary(),
    busiestCell: {
      note:
        "inbound fix rate per cell: fixes the generator sent from inside the cell (client-side h3-js); " +
        "the server routes only available drivers' fixes to a cell, on a change of cell, " +
        "after CELL_REPORT_DISTANCE_M of movement, or every CELL_REPORT_INTERVAL_MS (reportsPerSecond estimates that)",
      cell: fixCell,
      fixesPerSecond: r1(fixCellN / windowS),
      availableFixesPerSecond: r1((win.availableFixesPerCell.get(fixCell) ?? 0) / windowS),
      reportCell,
      reportsPerSecond: r1(reportCellN / windowS),
      cellsSeen: win.fixesPerCell.size,
      allFixesPerSecond: r1([...win.fixesPerCell.values()].reduce((a, b) => a + b, 0) / windowS),
      allReportsPerSecond: r1([...win.reportsPerCell.values()].reduce((a, b) => a + b, 0) / windowS),
    },
    cpu: {
      serverPids: cpu0.pids,
      serverProcessesChanged:
        cpu0.pids.join(",") !== cpu1.pids.join(",") ? { before: cpu0.pids, after: cpu1.pids } : null,
      how: server.how,
      cores: cpuCount(),
      requestWindow: window,
      withRidesEnd: cpuBetween(cpu0, cpu1),
      serverRssBytes: rssBytes(cpu1.pids),
    },
    generatorBound: window.generatorCpuS / window.seconds > 0.7,
    // monitorEventLoopDelay samples every 5 ms, so its floor is ~5 ms; the excess is the lag.
    generatorLoopDelayMs: {
      p50: r3(loopDelay.percentile(50) / 1e6),
      p99: r3(loopDelay.percentile(99) / 1e6),
      max: r3(loopDelay.max / 1e6),
    },
    errorsByCode: Object.fromEntries([...win.errorsByCode].sort((a, b) => b[1] - a[1])),
    slowRequests: win.slowRequests.slice(0, 50),
    stoppedEarly: abortReason,
  };
}

// ---- output -------------------------------------------------------------------------------

const r1 = (x) => Math.round(x * 10) / 10;
const r3 = (x) => Math.round(x * 1000) / 1000;
const fmtS = (ms) => `${(ms / 1000).toFixed(1)}s`;
const fmt = (x) =>
  x === null || x === undefined ? "-" : x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0);
const fmtInt = (x) => (x === null || x === undefined ? "-" : Math.round(x).toLocaleString("en-US"));
const pct = (h) => `p50 ${fmt(h.p50)}  p90 ${fmt(h.p90)}  p99 ${fmt(h.p99)}  max ${fmt(h.max)}  (n=${fmtInt(h.count)})`;
const ofCore = (s, w) => `${((100 * s) / w).toFixed(0)}% of a core`;

function printSummary(r) {
  const t = r.trips;
  const c = r.busiestCell;
  const w = r.cpu.requestWindow;
  const e = r.cpu.withRidesEnd;
  const rows = [
    [
      "drivers",
      `${fmtInt(r.config.drivers)} online, a fix every ${r.config.fixEverySeconds}s ±10% at ` +
        `${r.config.speedKmh} km/h (${fmtInt(t.fixesSent)} fixes sent, ${fmtInt(t.fixErrors)} refused); ` +
        `trip moves over ${r.config.moves === "http" ? "HTTP" : "the channel"}`,
    ],
    [
      "setup",
      `${fmtS(r.setup.totalMs)}: register ${r.setup.users} users ${fmtS(r.setup.registerMs)} ` +
        `(${r.setup.registerPerS}/s), online + channels ${fmtS(r.setup.onlineAndChannelsMs)}`,
    ],
    [
      "requests",
      `${fmtInt(t.requested)} in ${r.windowSeconds.toFixed(1)}s (${t.requestsPerS}/s of ${r.config.rate}/s), ` +
        `${fmtInt(t.created)} created${t.skippedNoIdleRider ? `, ${t.skippedNoIdleRider} skipped: no idle rider` : ""}`,
    ],
    [
      "trips",
      `matched ${fmtInt(t.matched)}, completed ${fmtInt(t.completed)}, no_driver ${fmtInt(t.noDriver)}, ` +
        `cancelled ${fmtInt(t.cancelled)}, still open ${t.stillOpen}, never offered ${t.neverOffered}` +
        `${t.neverOffered ? ` ${JSON.stringify(t.neverOfferedByStatus)}` : ""}`,
    ],
    [
      "offers",
      `${fmtInt(t.offered)} received (${t.reoffered} trips offered more than once), accepts acked ` +
        `${fmtInt(t.accepted)}, refused ${t.acceptRefused}, unanswered ${t.missingAcceptAcks}, ` +
        `expired ${t.offerExpired}`,
    ],
    [
      "answers",
      `after ${r.config.answerDelayS.min}-${r.config.answerDelayS.max}s, declining ${r.config.declineProbability}; ` +
        `K = ${r.config.offerBatchSize}: ${fmtInt(t.declinesSent)} declines, ${fmtInt(t.offersUnanswered)} offers ` +
        `withdrawn before the answer, ${t.overBatch} over K`,
    ],
    ...(r.overloaded ? [["OVERLOADED", r.overloaded]] : []),
    ...(r.openTripsAtStart
      ? [["open at start", `${r.openTripsAtStart} trips of earlier windows still open when this one began`]]
      : []),
    ["POST /v1/trips ms", pct(r.tripPostMs)],
    ["request -> offer ms", pct(r.requestToOfferMs)],
    ["request -> accepted ms", pct(r.requestToAcceptedMs)],
    ["accept -> ack ms", pct(r.acceptAckMs)],
    ["location -> rider ms", `${pct(r.locationToRiderMs)}, of ${fmtInt(t.fixesOnTrip)} fixes sent on trips`],
    ["double assignments", String(r.doubleAssignments)],
    [
      "busiest cell (fixes)",
      `${c.cell}: ${c.fixesPerSecond} inbound fixes/s (${c.availableFixesPerSecond}/s from available ` +
        `drivers), res ${r.config.h3Resolution}, ${c.cellsSeen} cells, ${c.allFixesPerSecond} fixes/s in all`,
    ],
    [
      "cell reports (est.)",
      `~${c.reportsPerSecond}/s into the busiest (${c.reportCell}), ~${c.allReportsPerSecond}/s in all: ` +
        `on a change of cell, every ${r.config.cellReportDistanceM ?? "?"} m or every ` +
        `${r.config.cellReportIntervalMs} ms`,
    ],
    [
      "server CPU",
      w.serverCpuS === null
        ? "not measured"
        : `${w.serverCpuS.toFixed(2)} s in the ${w.seconds.toFixed(1)} s request window ` +
          `(${ofCore(w.serverCpuS, w.seconds)}), ${e.serverCpuS.toFixed(2)} s until the rides ended ` +
          `(${e.seconds.toFixed(1)} s); setup ${r.setup.serverCpuS?.toFixed(1)} s; ` +
          `pids ${r.cpu.serverPids.join(",")}` +
          `${
            w.serverReliable && e.serverReliable && !r.cpu.serverProcessesChanged
              ? ""
              : "  (UNRELIABLE: " + "server processes changed)"
          }`,
    ],
    [
      "server run-queue wait",
      `${w.serverRunQueueWaitS.toFixed(2)} s in the request window (runnable but waiting for a CPU)`,
    ],
    [
      "generator CPU",
      `${w.generatorCpuS.toFixed(2)} s in the request window (${ofCore(w.generatorCpuS, w.seconds)}), ` +
        `at nice ${r.config.generatorNice}`,
    ],
    [
      "generator loop delay",
      `p50 ${fmt(r.generatorLoopDelayMs.p50)}  p99 ${fmt(r.generatorLoopDelayMs.p99)}  max ` +
        `${fmt(r.generatorLoopDelayMs.max)} ms (sampled every 5 ms; lag in the generator is inside every ` +
        `latency above)`,
    ],
    [
      "host",
      w.hostBusyS === null
        ? "-"
        : `${r.cpu.cores ?? "?"} cores, ${w.hostBusyS.toFixed(1)} CPU-s busy in the request window, ` +
          `of which other processes ${w.otherProcessesCpuS.toFixed(1)} s`,
    ],
    [
      "errors by code",
      Object.keys(r.errorsByCode).length
        ? Object.entries(r.errorsByCode)
            .map(([k, v]) => `${k}=${v}`)
            .join(", ")
        : "none",
    ],
  ];
  if (t.riderSocketLost || t.ridesUnfinished)
    rows.push([
      "trouble",
      `${t.riderSocketLost} rider trip sockets lost (followed over HTTP), ${t.ridesUnfinished} rides ` +
        `unfinished at the end`,
    ]);
  const width = Math.max(...rows.map(([k]) => k.length));
  const line = "-".repeat(width + 3 + Math.max(...rows.map(([, v]) => v.length)));
  console.log(`\n${line}`);
  for (const [k, v] of rows) console.log(`${k.padEnd(width)} | ${v}`);
  console.log(line);
  const verdict = [];
  if (r.doubleAssignments > 0) verdict.push(`DOUBLE ASSIGNMENTS ${r.doubleAssignments}`);
  if (t.neverOffered > 0) verdict.push(`NEVER OFFERED ${t.neverOffered}`);
  if (t.missingAcceptAcks > 0) verdict.push(`UNANSWERED ACCEPTS ${t.missingAcceptAcks}`);
  if (t.stillOpen > 0) verdict.push(`STILL OPEN ${t.stillOpen}`);
  if (t.overBatch > 0) verdict.push(`MORE THAN K OFFERS AT ONCE ${t.overBatch}`);
  if (r.stoppedEarly) verdict.push(`STOPPED EARLY (${r.stoppedEarly})`);
  if (r.overloaded) verdict.push("OVERLOADED");
  console.log(
    verdict.length === 0
      ? "bench: OK - no double assignments, every trip offered, every accept answered"
      : `bench: PROBLEMS - ${verdict.join(", ")}`,
  );
  if (r.cpu.serverProcessesChanged)
    console.warn(
      `bench: WARNING the server's workerd processes changed during the run (wrangler reloaded?); ` +
        `CPU figures are unreliable`,
    );
  if (w.generatorCpuS / w.seconds > 0.7)
    console.warn(
      `bench: WARNING the generator used ${ofCore(w.generatorCpuS, w.seconds)}: the figures may be generator-bound`,
    );
  if (r.cpu.cores && w.otherProcessesCpuS !== null && w.otherProcessesCpuS / w.seconds > 0.25 * r.cpu.cores) {
    console.warn(
      `bench: WARNING other processes used ${ofCore(w.otherProcessesCpuS, w.seconds)} during the window: ` +
        `latency figures include CPU contention`,
    );
  }
}

main().catch((err) => {
  console.error(`bench: ${err instanceof BenchError ? err.message : (err?.stack ?? err)}`);
  process.exit(1);
});
