#!/usr/bin/env node
// A Node reference for ridewire's dispatch path, a peer for the dispatch benchmark:
//
//   node bench/peers/dispatch-ref.mjs PORT
//
// One process, everything in memory: an H3 index of available drivers (h3-js, resolution 7,
// like ridewire's H3_RESOLUTION), quotes, trips and the two kinds of socket. It speaks the
// subset of ridewire's API that bench/dispatch.mjs drives, with the same frames, so the same
// generator runs against both (paths and frames per /work/shared/API.md):
//
//   POST /v1/auth/register            -> { user: { id, role }, token }   (no password hashing)
//   POST /v1/wallet/top-ups           -> 200 (no ledger)
//   POST /v1/drivers/me/online|offline
//   GET  /v1/drivers/me/ws            driver channel: location -> ; <- offer, offer.expired, trip;
//                                     offer.accept / offer.decline / trip.arrived|start|complete
//                                     {id, tripId} -> ack {id} | error
//   POST /v1/quotes {pickup,dropoff}  -> 201 { quote }   (nearest driver's pickup ETA in the ring)
//   POST /v1/trips {quoteId}          -> 201 { trip }    (one active trip per rider, Idempotency-Key)
//   GET  /v1/trips/:id, GET /v1/trips/:id/ws (welcome {trip}, status {trip}, location {lat,lng,at,etaSec})
//   POST /v1/trips/:id/arrived|start|complete
//
// Matching follows ridewire's rules: the pickup cell and its ring 1 (then ring 2 once), only
// available drivers with a fix under 60 s old, ranked by estimated pickup time (haversine x
// 1.3 at 25 km/h, rounded up), then rating, acceptance and id; one offer at a time per trip
// and per driver, 15 s to answer, a decline or timeout moves on to the next driver, retry every
// 5 s, no_driver after 120 s; a driver holds at most one trip. Location fixes are checked like
// ridewire's (2/s, newer than the last, under 250 km/h, not from the future) and a fix of a
// driver on a trip goes to the rider's trip socket. Nothing is persisted, authenticated
// (a token is just a lookup key) or replayed: bench/RESULTS.md, "Guarantees".
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { gridDisk, latLngToCell } from "h3-js";
import { WebSocketServer } from "ws";

const port = Number(process.argv[2] ?? 8903);
if (!Number.isInteger(port) || port <= 0) {
  console.error("usage: node bench/peers/dispatch-ref.mjs PORT");
  process.exit(2);
}

const CFG = {
  H3_RESOLUTION: 7,
  SEARCH_RING: 1,
  WIDE_SEARCH_RING: 2,
  DRIVER_STALE_MS: 60_000,
  LOCATIONS_PER_SECOND: 2,
  MAX_SPEED_KMH: 250,
  OFFER_TIMEOUT_MS: 15_000,
  MATCH_TIMEOUT_MS: 120_000,
  MATCH_RETRY_MS: 5_000,
  DETOUR_FACTOR: 1.3,
  CITY_SPEED_KMH: 25,
  QUOTE_TTL_MS: 300_000,
};

// ---- geometry (as src/domain/geo.ts) --------------------------------------------------------

const EARTH_RADIUS_KM = 6371.0088;
const toRad = (d) => (d * Math.PI) / 180;
function haversineKm(a, b) {
  const dLat = toRad(b.lat - a.lat);
  const dLng = toRad(b.lng - a.lng);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(toRad(a.lat)) * Math.cos(toRad(b.lat)) * Math.sin(dLng / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}
const etaSec = (from, to) =>
  Math.max(0, Math.ceil(((haversineKm(from, to) * CFG.DETOUR_FACTOR) / CFG.CITY_SPEED_KMH) * 3600 - 1e-9));
const cellOf = (p) => latLngToCell(p.lat, p.lng, CFG.H3_RESOLUTION);
function ringOnly(cell, k) {
  const inner = new Set(gridDisk(cell, k - 1));
  return gridDisk(cell, k).filter((c) => !inner.has(c));
}

// ---- state ------------------------------------------------------------------------------------

const newId = (prefix) => `${prefix}_${randomBytes(10).toString("hex")}`;
/** token -> user */
const users = new Map();
/** driver id -> driver */
const drivers = new Map();
/** H3 cell -> Set of available driver ids */
const index = new Map();
const quotes = new Map();
const trips = new Map();
/** rider id -> active trip id */
const activeTripOf = new Map();
/** `${riderId}:${key}` -> trip id */
const idempotency = new Map();

function indexAdd(d) {
  const cell = cellOf(d);
  if (d.cell === cell) return;
  indexRemove(d);
  let set = index.get(cell);
  if (!set) {
    set = new Set();
    index.set(cell, set);
  }
  set.add(d.id);
  d.cell = cell;
}
function indexRemove(d) {
  if (!d.cell) return;
  const set = index.get(d.cell);
  set?.delete(d.id);
  if (set && set.size === 0) index.delete(d.cell);
  d.cell = null;
}

const send = (ws, frame) => {
  if (ws && ws.readyState === 1) ws.send(JSON.stringify(frame));
};

function tripView(t) {
  return {
    id: t.id,
    riderId: t.riderId,
    driverId: t.driverId,
    status: t.status,
    pickup: t.pickup,
    dropoff: t.dropoff,
    quote: t.quote,
    fare: null,
    driverLocation: t.driverLocation,
    etaSec: t.etaSec,
    createdAt: t.createdAt,
    updatedAt: t.updatedAt,
  };
}

/** A status change: the rider's trip sockets and the driver's channel hear of it. */
function tripChanged(t) {
  t.updatedAt = Date.now();
  t.seq++;
  const view = tripView(t);
  for (const ws of t.sockets) send(ws, { type: "status", seq: t.seq, trip: view });
  if (t.driverId) {
    const d = drivers.get(t.driverId);
    for (const ws of d?.sockets ?? []) send(ws, { type: "trip", trip: view });
  }
}

// ---- matching ---------------------------------------------------------------------------------

/** Available, fresh, not excluded drivers in `cells`, best first. */
function rank(cells, pickup, exclude, now) {
  const scored = [];
  for (const cell of cells) {
    for (const id of index.get(cell) ?? []) {
      if (exclude.has(id)) continue;
      const d = drivers.get(id);
      if (d?.status !== "available" || now - d.at > CFG.DRIVER_STALE_MS) continue;
      scored.push({
        id,
        eta: etaSec(d, pickup),
        rating: d.rating ?? 4.5,
        acceptance: d.offersMade > 0 ? d.offersAccepted / d.offersMade : 0.8,
      });
    }
  }
  scored.sort(
    (a, b) =>
      a.eta - b.eta || b.rating - a.rating || b.acceptance - a.acceptance || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  return scored;
}

function dispatch(t) {
  if (t.status !== "matching" || t.offer) return;
  const now = Date.now();
  if (now - t.matchingStartedAt >= CFG.MATCH_TIMEOUT_MS) {
    t.status = "no_driver";
    t.endedAt = now;
    activeTripOf.delete(t.riderId);
    return tripChanged(t);
  }
  const center = cellOf(t.pickup);
  let ranked = rank(gridDisk(center, CFG.SEARCH_RING), t.pickup, t.excluded, now);
  if (ranked.length === 0) {
    const wider = [];
    for (let k = CFG.SEARCH_RING + 1; k <= CFG.WIDE_SEARCH_RING; k++) wider.push(...ringOnly(center, k));
    ranked = rank(wider, t.pickup, t.excluded, now);
  }
  const best = ranked[0];
  if (!best) {
    clearTimeout(t.timer);
    t.timer = setTimeout(() => dispatch(t), CFG.MATCH_RETRY_MS);
    return;
  }
  const d = drivers.get(best.id);
  // The reservation: the driver holds this offer and nothing else until it is answered.
  d.status = "offered";
  d.offerTripId = t.id;
  d.offersMade++;
  indexRemove(d);
  const offer = {
    tripId: t.id,
    pickup: t.pickup,
    dropoff: t.dropoff,
    fare: t.quote.fare,
    pickupEtaSec: best.eta,
    expiresAt: now + CFG.OFFER_TIMEOUT_MS,
  };
  t.offer = { driverId: d.id, expiresAt: offer.expiresAt };
  for (const ws of d.sockets) send(ws, { type: "offer", ...offer });
  clearTimeout(t.timer);
  t.timer = setTimeout(() => offerGone(t, d, "expired"), CFG.OFFER_TIMEOUT_MS);
}

/** The offer was declined or timed out: the driver is free again and the trip tries the next one. */
function offerGone(t, d, why) {
  if (t.offer?.driverId !== d.id) return;
  clearTimeout(t.timer);
  t.offer = null;
  t.excluded.add(d.id);
  if (d.offerTripId === t.id) {
    d.offerTripId = null;
    d.status = "available";
    indexAdd(d);
    if (why === "expired") for (const ws of d.sockets) send(ws, { type: "offer.expired", tripId: t.id });
  }
  dispatch(t);
}

function accept(d, tripId) {
  const t = trips.get(tripId);
  if (t?.status !== "matching" || t.offer?.driverId !== d.id || d.offerTripId !== tripId) return "conflict";
  clearTimeout(t.timer);
  t.offer = null;
  t.status = "accepted";
  t.driverId = d.id;
  d.status = "on_trip";
  d.offerTripId = null;
  d.tripId = t.id;
  d.offersAccepted++;
  tripChanged(t);
  return null;
}

// ---- driver channel ---------------------------------------------------------------------------

function onLocation(d, f) {
  const now = Date.now();
  if (
    typeof f.lat !== "number" ||
    typeof f.lng !== "number" ||
    typeof f.at !== "number" ||
    Math.abs(f.lat) > 90 ||
    Math.abs(f.lng) > 180
  )
    return "invalid_request";
  if (f.at > now + 30_000 || f.at < now - 120_000) return "invalid_request";
  // Token bucket, LOCATIONS_PER_SECOND with a burst of as many.
  d.tokens = Math.min(CFG.LOCATIONS_PER_SECOND, d.tokens + ((now - d.refilledAt) / 1000) * CFG.LOCATIONS_PER_SECOND);
  d.refilledAt = now;
  if (d.tokens < 1) return "rate_limited";
  d.tokens -= 1;
  if (d.at !== null) {
    if (f.at <= d.at) return "invalid_request";
    const kmh = haversineKm(d, f) / ((f.at - d.at) / 3_600_000);
    if (kmh > CFG.MAX_SPEED_KMH) return "invalid_request";
  }
  d.lat = f.lat;
  d.lng = f.lng;
  d.at = f.at;
  if (d.status === "available") indexAdd(d);
  if (d.status === "on_trip" && d.tripId) {
    const t = trips.get(d.tripId);
    if (t && ["accepted", "arrived", "in_progress"].includes(t.status)) {
      t.driverLocation = { lat: f.lat, lng: f.lng };
      const target = t.status === "in_progress" ? t.dropoff : t.pickup;
      t.etaSec = etaSec(f, target);
      // Exact positions go to the rider only.
      const frame = JSON.stringify({ type: "location", lat: f.lat, lng: f.lng, at: f.at, etaSec: t.etaSec });
      for (const ws of t.sockets) if (ws.readyState === 1) ws.send(frame);
    }
  }
  return null;
}

function onDriverFrame(d, ws, text) {
  let f;
  try {
    f = JSON.parse(text);
  } catch {
    return send(ws, { type: "error", code: "invalid_request", message: "frame is not JSON" });
  }
  switch (f?.type) {
    case "location": {
      const err = onLocation(d, f);
      if (err) send(ws, { type: "error", ...(f.id ? { id: f.id } : {}), code: err, message: err });
      return;
    }
    case "offer.accept":
    case "offer.decline": {
      if (f.type === "offer.accept") {
        const err = accept(d, f.tripId);
        if (err) return send(ws, { type: "error", id: f.id, code: err, message: "no open offer for this trip" });
      } else {
        const t = trips.get(f.tripId);
        if (!t || t.offer?.driverId !== d.id)
          return send(ws, { type: "error", id: f.id, code: "conflict", message: "no open offer for this trip" });
        offerGone(t, d, "declined");
      }
      return send(ws, { type: "ack", id: f.id });
    }
    case "trip.arrived":
    case "trip.start":
    case "trip.complete": {
      // The same move as its HTTP route, answered on the channel (ridewire's driver channel does this too).
      const t = trips.get(f.tripId);
      if (!t) return send(ws, { type: "error", id: f.id, code: "not_found", message: "trip not found" });
      const [status, out] = tripStep(t, d, f.type.slice("trip.".length));
      return send(
        ws,
        status === 200
          ? { type: "ack", id: f.id }
          : { type: "error", id: f.id, code: out.error.code, message: out.error.message },
      );
    }
    case "ping":
      return send(ws, { type: "pong" });
    default:
      return send(ws, { type: "error", id: f?.id, code: "invalid_request", message: "unknown frame type" });
  }
}

// ---- HTTP ---------------------------------------------------------------------------------------

const json = (res, status, body) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
};
const errorBody = (code, message) => ({ error: { code, message } });
function userOf(req) {
  const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? "");
  return m ? users.get(m[1]) : undefined;
}
function readBody(req) {
  return new Promise((resolve) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (c) => (text += c));
    req.on("end", () => {
      try {
        resolve(text ? JSON.parse(text) : {});
      } catch {
        resolve(null);
      }
    });
  });
}

function newDriver(id) {
  return {
    id,
    status: "offline",
    lat: null,
    lng: null,
    at: null,
    cell: null,
    rating: null,
    offersMade: 0,
    offersAccepted: 0,
    offerTripId: null,
    tripId: null,
    sockets: new Set(),
    tokens: CFG.LOCATIONS_PER_SECOND,
    refilledAt: Date.now(),
  };
}

function tripStep(t, d, step) {
  const now = Date.now();
  if (!t || t.driverId !== d?.id) return [403, errorBody("forbidden", "not your trip")];
  const from = { arrived: "accepted", start: "arrived", complete: "in_progress" }[step];
  if (t.status !== from) return [409, errorBody("conflict", `cannot ${step} a trip that is ${t.status}`)];
  t.status = { arrived: "arrived", start: "in_progress", complete: "completed" }[step];
  if (step === "complete") {
    activeTripOf.delete(t.riderId);
    d.tripId = null;
    d.status = "available";
    if (d.at !== null) indexAdd(d);
    t.endedAt = now;
  }
  tripChanged(t);
  return [200, { trip: tripView(t) }];
}

async function route(req, res) {
  const url = new URL(req.url, "http://ref");
  const path = url.pathname;
  if (req.method === "GET" && path === "/health")
    return json(res, 200, { ok: true, drivers: drivers.size, trips: trips.size, cells: index.size });
  if (req.method === "POST" && path === "/v1/auth/register") {
    const body = await readBody(req);
    if (!body || typeof body.email !== "string" || !["rider", "driver"].includes(body.role))
      return json(res, 400, errorBody("invalid_request", "invalid body"));
    const user = { id: newId("usr"), email: body.email, name: body.name ?? "", role: body.role, createdAt: Date.now() };
    const token = randomBytes(24).toString("base64url");
    users.set(token, user);
    if (user.role === "driver") drivers.set(user.id, newDriver(user.id));
    return json(res, 201, { user, token });
  }
  const user = userOf(req);
  if (!user) return json(res, 401, errorBody("unauthorized", "missing or invalid token"));
  const body = req.method === "POST" ? await readBody(req) : {};
  if (body === null) return json(res, 400, errorBody("invalid_request", "body is not JSON"));
  if (req.method === "POST" && path === "/v1/wallet/top-ups") return json(res, 201, { topUp: { status: "succeeded" } });
  if (req.method === "POST" && (path === "/v1/drivers/me/online" || path === "/v1/drivers/me/offline")) {
    const d = drivers.get(user.id);
    if (!d) return json(res, 403, errorBody("forbidden", "drivers only"));
    if (path.endsWith("online")) {
      const loc = body.location;
      if (typeof loc?.lat !== "number" || typeof loc?.lng !== "number")
        return json(res, 400, errorBody("invalid_request", "location required"));
      Object.assign(d, { lat: loc.lat, lng: loc.lng, at: Date.now() });
      if (d.status === "offline") d.status = "available";
      if (d.status === "available") indexAdd(d);
    } else {
      if (d.status === "on_trip" || d.status === "offered")
        return json(res, 409, errorBody("conflict", "finish the trip or answer the offer first"));
      d.status = "offline";
      indexRemove(d);
    }
    return json(res, 200, { driver: { id: d.id, status: d.status } });
  }
  if (req.method === "POST" && path === "/v1/quotes") {
    const { pickup, dropoff } = body;
    if (typeof pickup?.lat !== "number" || typeof dropoff?.lat !== "number")
      return json(res, 400, errorBody("invalid_request", "pickup and dropoff required"));
    const now = Date.now();
    const nearest = rank(gridDisk(cellOf(pickup), CFG.SEARCH_RING), pickup, new Set(), now)[0];
    const distanceKm = haversineKm(pickup, dropoff) * CFG.DETOUR_FACTOR;
    const durationMin = (distanceKm / CFG.CITY_SPEED_KMH) * 60;
    const fare = { amount: Math.max(700, Math.round(250 + 120 * distanceKm + 30 * durationMin)), currency: "USD" };
    const quote = {
      id: newId("qt"),
      pickup,
      dropoff,
      distanceKm,
      durationMin,
      fare,
      surge: 1,
      pickupEtaSec: nearest?.eta ?? null,
      expiresAt: now + CFG.QUOTE_TTL_MS,
    };
    quotes.set(quote.id, { quote, riderId: user.id });
    return json(res, 201, { quote });
  }
  if (req.method === "POST" && path === "/v1/trips") {
    const key = req.headers["idempotency-key"];
    if (key && idempotency.has(`${user.id}:${key}`))
      return json(res, 201, { trip: tripView(trips.get(idempotency.get(`${user.id}:${key}`))) });
    const q = quotes.get(body.quoteId);
    if (!q || q.riderId !== user.id || q.quote.expiresAt < Date.now())
      return json(res, 404, errorBody("not_found", "quote not found or expired"));
    if (activeTripOf.has(user.id)) return json(res, 409, errorBody("conflict", "you already have an active trip"));
    const now = Date.now();
    const t = {
      id: newId("trp"),
      riderId: user.id,
      driverId: null,
      status: "matching",
      pickup: q.quote.pickup,
      dropoff: q.quote.dropoff,
      quote: q.quote,
      driverLocation: null,
      etaSec: null,
      createdAt: now,
      updatedAt: now,
      matchingStartedAt: now,
      excluded: new Set(),
      offer: null,
      timer: null,
      sockets: new Set(),
      seq: 1,
    };
    trips.set(t.id, t);
    quotes.delete(body.quoteId);
    activeTripOf.set(user.id, t.id);
    if (key) idempotency.set(`${user.id}:${key}`, t.id);
    json(res, 201, { trip: tripView(t) });
    // As ridewire: the rider gets the trip at once, the first offer follows.
    setImmediate(() => dispatch(t));
    return;
  }
  const m = /^\/v1\/trips\/([^/]+)(?:\/(arrived|start|complete))?$/.exec(path);
  if (m) {
    const t = trips.get(m[1]);
    if (!t) return json(res, 404, errorBody("not_found", "trip not found"));
    if (!m[2] && req.method === "GET") {
      if (user.id !== t.riderId && user.id !== t.driverId)
        return json(res, 403, errorBody("forbidden", "not your trip"));
      return json(res, 200, { trip: tripView(t) });
    }
    if (m[2] && req.method === "POST") {
      const [status, out] = tripStep(t, drivers.get(user.id), m[2]);
      return json(res, status, out);
    }
  }
  return json(res, 404, errorBody("not_found", "no such route"));
}

const http = createServer((req, res) => {
  route(req, res).catch((err) => {
    console.error(err);
    if (!res.headersSent) json(res, 500, errorBody("internal", "internal error"));
  });
});
http.keepAliveTimeout = 60_000;

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
http.on("upgrade", (req, socket, head) => {
  const url = new URL(req.url, "http://ref");
  const user = userOf(req) ?? users.get(url.searchParams.get("access_token") ?? "");
  const refuse = (status, text) => socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Length: 0\r\n\r\n`);
  if (!user) return refuse(401, "Unauthorized");
  if (url.pathname === "/v1/drivers/me/ws") {
    const d = drivers.get(user.id);
    if (!d) return refuse(403, "Forbidden");
    return wss.handleUpgrade(req, socket, head, (ws) => {
      d.sockets.add(ws);
      send(ws, { type: "welcome", seq: 0, driver: { id: d.id, status: d.status, tripId: d.tripId } });
      ws.on("message", (data, isBinary) => {
        if (!isBinary) onDriverFrame(d, ws, data.toString());
      });
      ws.on("close", () => d.sockets.delete(ws));
      ws.on("error", () => {});
    });
  }
  const m = /^\/v1\/trips\/([^/]+)\/ws$/.exec(url.pathname);
  const t = m ? trips.get(m[1]) : undefined;
  if (!t) return refuse(404, "Not Found");
  if (user.id !== t.riderId && user.id !== t.driverId) return refuse(403, "Forbidden");
  wss.handleUpgrade(req, socket, head, (ws) => {
    t.sockets.add(ws);
    send(ws, { type: "welcome", seq: t.seq, trip: tripView(t) });
    ws.on("close", () => t.sockets.delete(ws));
    ws.on("error", () => {});
  });
});

// Ended trips are forgotten after a minute, so a long run does not grow without bound.
setInterval(() => {
  const old = Date.now() - 60_000;
  for (const [id, t] of trips) if (t.endedAt && t.endedAt < old && t.sockets.size === 0) trips.delete(id);
  for (const [id, q] of quotes) if (q.quote.expiresAt < Date.now()) quotes.delete(id);
}, 10_000).unref();

http.listen(port, "127.0.0.1", () => console.log(`dispatch-ref listening on 127.0.0.1:${port}`));
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(0));
