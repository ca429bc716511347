#!/usr/bin/env node
// The capacity model of docs/SCALE.md: the national service (100 cities, 1,000,000
// drivers with a fix every 4 s, 10,000,000 riders, 300 trips/s and 50,000 chat messages/s at
// peak) priced in the benchmark's measured unit costs and Cloudflare's published limits and
// prices.
//
//   node scripts/capacity-model.mjs                 # print the tables
//   node scripts/capacity-model.mjs --write         # rewrite them inside docs/SCALE.md
//   node scripts/capacity-model.mjs --units FILE    # another bench:trip-floor result
//
// Three kinds of input, kept apart so that each can be checked and changed on its own:
//   - MEASURED: bench/results/trip-floor.json (server CPU per event, events per trip, ridewire's
//     CPU per trip) and figures quoted from bench/RESULTS.md and bench/PROFILE.md;
//   - PLATFORM: limits and list prices, each with the page it was read from (docs/SCALE.md);
//   - ASSUMED: everything the benchmark does not measure (shares, sizes, retention), named so
//     that docs/SCALE.md can list them.
// Everything else is arithmetic in the exported functions, which test/unit/capacity-model.test.ts
// checks on a small input. docs/SCALE.md's tables are this script's output between the markers.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

/** The service at its peak. */
export const SCENARIO = {
  cities: 100,
  drivers: 1_000_000,
  fixIntervalS: 4,
  riders: 10_000_000,
  tripsPerS: 300,
  chatMessagesPerS: 50_000,
};

/** Figures the benchmark measured outside trip-floor.json (µs of server CPU, 2 vCPU EPYC VM). */
export const MEASURED = {
  /** RESULTS.md: the 1,000-driver city alone (500 fixes/s) took 32% of a core: all of a fix, cell reports included. */
  fixUs: 634,
  /** PROFILE.md (2026-12-03, fourth): ridewire's own work per chat message, beyond the frame in. */
  chatOwnUsPerMessage: 470,
  /** PROFILE.md: server CPU per delivery at 250 members, where the per-message part is spread thin (7.6 CPU-s/100k). */
  chatUsPerDelivery: 80,
};

/** What ridewire's code and configuration fix (the source of each is named). */
export const CODE = {
  /** A driver session saves its fix to SQLite every 30 s (PROFILE.md, 2026-12-02). */
  fixSaveS: 30,
  /** A ride's breadcrumb is five fixes to one INSERT (PROFILE.md, 2026-12-06). */
  fixesPerBreadcrumbRow: 5,
  /** An H3 cell and its first ring (SEARCH_RING = 1): the cells a pickup asks. */
  ringCells: 7,
};

/** Cloudflare's limits and list prices (Workers Paid), read 2026-12-06; the pages are cited in docs/SCALE.md. */
export const PLATFORM = {
  doSoftRequestsPerS: 1_000,
  d1MaxGb: 10,
  d1AccountGb: 250,
  queueMessagesPerS: 5_000,
  workersBaseUsd: 5,
  workersRequestsIncluded: 10e6,
  workersUsdPerMillionRequests: 0.3,
  workersCpuMsIncluded: 30e6,
  workersUsdPerMillionCpuMs: 0.02,
  doRequestsIncluded: 1e6,
  doUsdPerMillionRequests: 0.15,
  doWebSocketMessagesPerRequest: 20,
  doGbSIncluded: 400_000,
  doUsdPerMillionGbS: 12.5,
  doMemoryGb: 0.128,
  sqlRowsWrittenIncluded: 50e6,
  sqlUsdPerMillionRowsWritten: 1,
  sqlRowsReadIncluded: 25e9,
  sqlUsdPerMillionRowsRead: 0.001,
  doStorageGbIncluded: 5,
  doUsdPerGbMonth: 0.2,
  d1StorageGbIncluded: 5,
  d1UsdPerGbMonth: 0.75,
  queueOpsIncluded: 1e6,
  queueUsdPerMillionOps: 0.4,
  queueOpsPerMessage: 3,
  r2StorageGbIncluded: 10,
  r2UsdPerGbMonth: 0.015,
  r2ClassAIncluded: 1e6,
  r2UsdPerMillionClassA: 4.5,
  aePointsIncluded: 10e6,
  aeUsdPerMillionPoints: 0.25,
};

/** What the benchmark does not measure. docs/SCALE.md lists each with its reason. */
export const ASSUMED = {
  /** A trip from request to completion: pickup and ride. Sets how many drivers are busy. */
  tripMinutes: 20,
  /** The month's average load over the peak's (the cost is the month's; the limits are the peak's). */
  averageToPeak: 0.4,
  /** README "Geo index": 200 available drivers per km² on a 5.16 km² resolution-7 cell. */
  densestCellDrivers: 1_030,
  /** ... all moving at CITY_SPEED_KMH (25 km/h): a report per 100 m and two per cell crossing. */
  densestCellReportsPerS: 86,
  /** Available drivers report to their cell every 100 m moving or 20 s parked; half of them moving. */
  cellReportsPerDriverS: 0.06,
  /** The busiest city's share of trips, and the busiest cell's share of its city's requests. */
  busiestCityShare: 0.1,
  busiestCellShare: 0.03,
  /** A cell's own work per report (an in-memory upsert) and per snapshot (a walk of its drivers). */
  cellReportUs: 50,
  cellSnapshotUs: 200,
  /** A trip room's own work per driver fix it forwards to the rider. */
  tripFixUs: 100,
  /** Online members each chat message goes to, on average (most chat is a trip's two people). */
  chatRecipients: 4,
  /** The biggest chat room (ROOM_MAX_MEMBERS) all online, and its message rate. */
  bigRoomMembers: 1_000,
  bigRoomMessagesPerS: 10,
  /** Average chat messages per second in a room that is active, and its write-behind beat. */
  roomMessagesPerS: 0.2,
  archiveBeatS: 5,
  /** Chat messages with an offline member to notify. */
  chatOfflineShare: 0.05,
  /** Operators on the ops desk, and the trips that raise an SOS or a watchdog move. */
  operators: 200,
  deskEventsPerTrip: 0.0011,
  /** Clients with the app open at peak beside the drivers; access tokens last 15 min. */
  activeRiders: 1_000_000,
  tokenRefreshS: 900,
  /** Other API calls (history, profile, wallet) per open client, and socket reconnects per driver. */
  otherRequestsPerClientS: 1 / 300,
  reconnectsPerDriverS: 1 / 600,
  /** Wall time over CPU time of an object's handler (it awaits its storage and its RPCs). */
  doWallOverCpu: 2,
  /** D1 write transactions a database's one writer sustains (~1 ms each), and how full we run it. */
  d1WritesPerS: 1_000,
  d1Utilisation: 0.5,
  /** A shard is split when it reaches this much of D1's 10 GB. */
  d1FillGb: 8,
  /** Bytes per stored item with its indexes, and rows written (table + index entries) per item. */
  chatMessageBytes: 300,
  /**
   * Measured by test/worker/chat-rows-written.test.ts (bench/PROFILE.md): in the room, the event
   * and the command id, each written once and deleted once (4; was 6 with the command's rowid and
   * created_at index); in D1, the archive row and its (room_id, seq) key (2; was 3 with an `id` key).
   */
  chatD1Rows: 2,
  chatRoomSqlRows: 4,
  notificationBytes: 500,
  notificationD1Rows: 4,
  /** Two copies of the trip's history, the rider's and the driver's (db/trip-history.ts). */
  tripBytes: 3_000,
  tripD1Rows: 12,
  ledgerBytesPerTrip: 3_000,
  ledgerD1RowsPerTrip: 36,
  /** How long each kind stays in D1 before it moves to R2 (days). */
  chatHotDays: 1,
  notificationHotDays: 7,
  tripHotDays: 30,
  ledgerHotDays: 35,
  /** Compaction to R2: how small a day's chat gets (gzip of JSON lines), and objects per room-day. */
  r2CompressionRatio: 3,
  roomDaysPerDay: 5_000_000,
  /** Analytics Engine data points per HTTP request, per trip, and per room flush (not per message). */
  aePointsPerRequest: 1,
  aePointsPerTrip: 10,
  aePointsPerFlush: 1,
  /**
   * D1 write transactions per trip: about 4 history flushes, each written to the rider's shard and
   * the driver's (one when they share it), and the end of the trip in `DB`; per trip's ledger (the
   * hold, the release with the capture's first leg, its second leg, the transfer marked done); per
   * notification.
   */
  tripD1Writes: 9,
  ledgerD1Writes: 4,
  notificationD1Writes: 2,
  /** Rows a refresh writes (the new token, the old one's end, their indexes), and a last-seen write. */
  refreshD1Rows: 4,
  lastSeenD1Rows: 1,
  /** Rows written to a trip room's SQLite per trip, of the ~102 statements the tally counts. */
  tripSqlRows: 40,
  /** What a finished trip room keeps (its log, breadcrumb, PIN, shares), never deleted today. */
  tripRoomKb: 50,
  /** Chat messages per second in a trip room under way. */
  tripChatPerS: 0.2,
  /** D1 rows read per row written (indexed reads: a ban, a session, a page of history). */
  d1ReadsPerWrite: 20,
  /** Trip history rows per R2 object when they leave D1 (files per shard and day). */
  tripsPerR2Object: 1_000,
};

export const SECONDS_PER_MONTH = 30 * 86_400;

/** What the benchmark's tally says one trip does, beyond its floor. */
export function tallyOf(perTrip) {
  const sum = (prefix) =>
    Object.entries(perTrip)
      .filter(([k]) => k.startsWith(prefix))
      .reduce((total, [, n]) => total + n, 0);
  return {
    httpPerTrip: perTrip["http request"] ?? 0,
    rpcPerTrip: perTrip.rpc ?? 0,
    cellRpcPerTrip: sum("rpc cell."),
    queueMessagesPerTrip: sum("queue message sent"),
    socketsPerTrip: perTrip["socket opened"] ?? 0,
  };
}

/** The floor of a trip in µs: each kind of event times its unit cost (PROFILE.md, 2026-12-06). */
export function floorPerTripUs(units, perTrip) {
  const u = (k) => units[k].medianS * 1e6;
  const objectStarts = Object.entries(perTrip)
    .filter(([k]) => k.startsWith("object started"))
    .reduce((sum, [, n]) => sum + n, 0);
  return (
    perTrip["http request"] * u("http") +
    perTrip["d1 round trip"] * u("d1") +
    perTrip.rpc * u("rpc") +
    objectStarts * u("objectStart") +
    perTrip["queue sendBatch"] * u("queueMessage") +
    perTrip["alarm (trip)"] * u("alarm") +
    perTrip["socket opened"] * u("socket") +
    perTrip["webSocketMessage (driver)"] * u("frameIn") +
    perTrip["frame sent"] * u("frameOut")
  );
}

/** Who is doing what at the peak. */
export function fleet(s, a) {
  const tripsInProgress = s.tripsPerS * a.tripMinutes * 60;
  const busyDrivers = Math.min(s.drivers, tripsInProgress);
  const availableDrivers = s.drivers - busyDrivers;
  const fixesPerS = s.drivers / s.fixIntervalS;
  return {
    tripsInProgress,
    busyDrivers,
    availableDrivers,
    fixesPerS,
    tripFixesPerS: busyDrivers / s.fixIntervalS,
    cellReportsPerS: availableDrivers * a.cellReportsPerDriverS,
    activeRooms: s.chatMessagesPerS / a.roomMessagesPerS,
  };
}

/** Write-behind flushes per second: a room with at least one message in a beat flushes once. */
export function archiveFlushesPerS(messagesPerS, roomMessagesPerS, beatS) {
  const rooms = messagesPerS / roomMessagesPerS;
  const busyShare = 1 - Math.exp(-roomMessagesPerS * beatS);
  return (rooms * busyShare) / beatS;
}

/** The per-path load at the peak: events/s and CPU-s/s (cores), from unit costs in µs. */
export function paths(s, a, m, unitsUs, tripUs, t) {
  const f = fleet(s, a);
  const chatUs = unitsUs.frameIn + m.chatOwnUsPerMessage + a.chatRecipients * m.chatUsPerDelivery;
  const notifications = s.tripsPerS * t.queueMessagesPerTrip + s.chatMessagesPerS * a.chatOfflineShare;
  const clients = s.drivers + a.activeRiders;
  const refreshes = clients / a.tokenRefreshS;
  const otherRequests = clients * a.otherRequestsPerClientS;
  const reconnects = s.drivers * a.reconnectsPerDriverS;
  const rows = [
    { path: "driver fixes (session, cell reports)", perS: f.fixesPerS, us: m.fixUs },
    {
      path: "fixes on a trip (trip room, rider)",
      perS: f.tripFixesPerS,
      us: unitsUs.rpc + a.tripFixUs + unitsUs.frameOut,
    },
    { path: "trips (request to receipt)", perS: s.tripsPerS, us: tripUs },
    { path: `chat messages (${a.chatRecipients} recipients)`, perS: s.chatMessagesPerS, us: chatUs },
    { path: "notifications (queue consumer)", perS: notifications, us: unitsUs.queueMessage + 2 * unitsUs.d1 },
    { path: "token refreshes and other API calls", perS: refreshes + otherRequests, us: unitsUs.http + unitsUs.d1 },
    { path: "driver reconnects (socket)", perS: reconnects, us: unitsUs.socket },
  ];
  for (const r of rows) r.cores = (r.perS * r.us) / 1e6;
  return {
    rows,
    totalCores: rows.reduce((sum, r) => sum + r.cores, 0),
    notifications,
    refreshes,
    reconnects,
    otherRequests,
  };
}

/** The busiest object of each kind: its events/s, its CPU-s/s, and its first limit. */
export function busiestObjects(s, a, m, unitsUs, t) {
  // Requests in the cell and its six neighbours reach it; the tally's cell RPCs spread over a ring.
  const requestsNearCell = s.tripsPerS * a.busiestCityShare * a.busiestCellShare * CODE.ringCells;
  const cellRpcsPerRequest = t.cellRpcPerTrip / CODE.ringCells;
  const cellDispatch = requestsNearCell * cellRpcsPerRequest;
  const bigRoomUs = unitsUs.frameIn + m.chatOwnUsPerMessage + a.bigRoomMembers * m.chatUsPerDelivery;
  const deskAnnounces = s.tripsPerS * a.deskEventsPerTrip;
  const cellEventsPerS = a.densestCellReportsPerS + cellDispatch;
  const cellHeadroom = Math.round(PLATFORM.doSoftRequestsPerS / cellEventsPerS);
  const rows = [
    {
      object: "DriverSession (one driver)",
      eventsPerS: 1 / s.fixIntervalS,
      cores: m.fixUs / s.fixIntervalS / 1e6,
      limit: "none near: 1 fix per 4 s",
    },
    {
      object: `GeoCell, res 7 (${a.densestCellDrivers.toLocaleString("en-US")} drivers)`,
      eventsPerS: cellEventsPerS,
      cores:
        (a.densestCellReportsPerS * (unitsUs.rpc + a.cellReportUs) + cellDispatch * (unitsUs.rpc + a.cellSnapshotUs)) /
        1e6,
      limit: `1,000 req/s soft limit at ~${cellHeadroom}× this density`,
    },
    {
      object: "TripRoom (one trip)",
      eventsPerS: 2 / s.fixIntervalS + a.tripChatPerS,
      cores: (unitsUs.rpc + a.tripFixUs + unitsUs.frameOut) / s.fixIntervalS / 1e6,
      limit: "none near",
    },
    {
      object: `ChatRoom (${a.bigRoomMembers.toLocaleString("en-US")} online, ${a.bigRoomMessagesPerS} msg/s)`,
      eventsPerS: a.bigRoomMessagesPerS * (1 + a.bigRoomMembers),
      cores: (a.bigRoomMessagesPerS * bigRoomUs) / 1e6,
      limit: `CPU: one core at ~${Math.floor(1e6 / bigRoomUs)} msg/s`,
    },
    {
      object: `OpsDesk (the one, ${a.operators} operators)`,
      eventsPerS: deskAnnounces * (1 + a.operators),
      cores: (deskAnnounces * (unitsUs.rpc + a.operators * unitsUs.frameOut)) / 1e6,
      limit: "1,000 req/s if every trip event fanned in",
    },
  ];
  return rows;
}

/** D1: write transactions/s and hot storage per kind, and the partition databases they need. */
export function d1Load(s, a, p, dir) {
  const perDay = (perS) => perS * a.averageToPeak * 86_400;
  const chatFlushes = archiveFlushesPerS(s.chatMessagesPerS, a.roomMessagesPerS, a.archiveBeatS);
  const kinds = [
    {
      kind: "chat archive (by room)",
      writesPerS: chatFlushes,
      gbPerDay: (perDay(s.chatMessagesPerS) * a.chatMessageBytes) / 1e9,
      hotDays: a.chatHotDays,
    },
    {
      kind: "notifications (by user)",
      writesPerS: a.notificationD1Writes * p.notifications,
      gbPerDay: (perDay(p.notifications) * a.notificationBytes) / 1e9,
      hotDays: a.notificationHotDays,
    },
    {
      kind: "trip history, both parties (by user)",
      writesPerS: a.tripD1Writes * s.tripsPerS,
      gbPerDay: (perDay(s.tripsPerS) * a.tripBytes) / 1e9,
      hotDays: a.tripHotDays,
    },
    {
      kind: "ledger (by account)",
      writesPerS: a.ledgerD1Writes * s.tripsPerS,
      gbPerDay: (perDay(s.tripsPerS) * a.ledgerBytesPerTrip) / 1e9,
      hotDays: a.ledgerHotDays,
    },
    {
      kind: "sessions, refresh tokens (by user)",
      writesPerS: dir.sessionWritesPerS,
      gbPerDay: 0,
      hotDays: 0,
    },
    {
      kind: "last seen (by user)",
      writesPerS: dir.lastSeenWritesPerS,
      gbPerDay: 0,
      hotDays: 0,
    },
  ];
  for (const k of kinds) k.hotGb = k.gbPerDay * k.hotDays;
  const writesPerS = kinds.reduce((sum, k) => sum + k.writesPerS, 0);
  const hotGb = kinds.reduce((sum, k) => sum + k.hotGb, 0);
  const byWrites = Math.ceil(writesPerS / (a.d1WritesPerS * a.d1Utilisation));
  const byStorage = Math.ceil(hotGb / a.d1FillGb);
  return { kinds, writesPerS, hotGb, byWrites, byStorage, shards: Math.max(byWrites, byStorage) };
}

/**
 * The directory database (DB) today: every authenticated request reads the caller's ban row
 * (cached per isolate for 5 s, which a user with one call per minute rarely hits). Its writes at
 * the peak were refreshes and last seen; both are in the user's partition now: a refresh rotates
 * a token there (`sessionWritesPerS`), and last seen is written there when a user's first
 * connection opens and their last one closes (`lastSeenWritesPerS`). What `DB` still writes
 * (sign-ups, settings, admin) the model does not count.
 */
export function directoryLoad(s, p, t) {
  const requests = s.tripsPerS * t.httpPerTrip + p.refreshes + p.otherRequests;
  const upgrades = p.reconnects + s.tripsPerS * t.socketsPerTrip;
  return { readsPerS: requests, writesPerS: 0, sessionWritesPerS: p.refreshes, lastSeenWritesPerS: 2 * upgrades };
}

/** Each limit the peak comes near, with the load on it: where the first one is reached. */
export function limits(a, p, objects, d1) {
  const cell = objects.find((o) => o.object.startsWith("GeoCell"));
  const room = objects.find((o) => o.object.startsWith("ChatRoom"));
  const writeBudget = a.d1WritesPerS * a.d1Utilisation;
  const rows = [
    ["D1 storage per account, GB (raised on request)", d1.hotGb, PLATFORM.d1AccountGb],
    ["ChatRoom of 1,000 online: CPU-s/s", room?.cores ?? 0, 1],
    ["notification queue: messages/s", p.notifications, PLATFORM.queueMessagesPerS],
    ["partition DB: write transactions/s each", d1.writesPerS / d1.shards, writeBudget],
    ["partition DB: GB each", d1.hotGb / d1.shards, PLATFORM.d1MaxGb],
    ["densest GeoCell: requests/s", cell?.eventsPerS ?? 0, PLATFORM.doSoftRequestsPerS],
  ];
  return rows
    .map(([resource, load, limit]) => ({ resource, load, limit, share: load / limit }))
    .sort((x, y) => y.share - x.share);
}

/** The month's bill at list prices: one line per meter, each with its arithmetic. */
export function monthlyCost(s, a, unitsUs, pth, d1, fl, t) {
  const P = PLATFORM;
  const month = (perS) => perS * a.averageToPeak * SECONDS_PER_MONTH;
  const over = (used, included) => Math.max(0, used - included);
  const lines = [];
  const line = (meter, quantity, unit, usd, how) => lines.push({ meter, quantity, unit, usd, how });

  line("Workers: plan", 1, "month", P.workersBaseUsd, "flat");
  const tripRequests = s.tripsPerS * t.httpPerTrip;
  const workerRequests = month(
    tripRequests + pth.refreshes + pth.otherRequests + pth.reconnects + s.tripsPerS * t.socketsPerTrip,
  );
  line(
    "Workers: requests",
    workerRequests,
    "requests",
    (over(workerRequests, P.workersRequestsIncluded) / 1e6) * P.workersUsdPerMillionRequests,
    "(trip calls + refreshes + other calls + socket upgrades) × month − 10M, × $0.30/M",
  );
  const workerCpuMs =
    month(
      (tripRequests + pth.refreshes + pth.otherRequests) * (unitsUs.http + unitsUs.d1) +
        pth.notifications * (unitsUs.queueMessage + 2 * unitsUs.d1),
    ) / 1e3;
  line(
    "Workers: CPU",
    workerCpuMs,
    "CPU-ms",
    (over(workerCpuMs, P.workersCpuMsIncluded) / 1e6) * P.workersUsdPerMillionCpuMs,
    "Worker-side µs (HTTP + D1; queue consumer) × month − 30M ms, × $0.02/M ms",
  );

  const chatFlushes = archiveFlushesPerS(s.chatMessagesPerS, a.roomMessagesPerS, a.archiveBeatS);
  const doRequests = month(
    (fl.fixesPerS + s.chatMessagesPerS) / P.doWebSocketMessagesPerRequest +
      fl.cellReportsPerS +
      fl.tripFixesPerS +
      s.tripsPerS * t.rpcPerTrip +
      chatFlushes +
      pth.reconnects,
  );
  line(
    "DO: requests",
    doRequests,
    "requests",
    (over(doRequests, P.doRequestsIncluded) / 1e6) * P.doUsdPerMillionRequests,
    `(socket messages ÷ 20 + cell reports + trip fixes + ${fmt(t.rpcPerTrip)} RPCs/trip + alarms + upgrades) ` +
      "× month, × $0.15/M",
  );
  const doCores = pth.totalCores - (workerCpuMs * 1e3) / (a.averageToPeak * SECONDS_PER_MONTH) / 1e6;
  const gbS = month(doCores * a.doWallOverCpu) * P.doMemoryGb;
  line(
    "DO: duration",
    gbS,
    "GB-s",
    (over(gbS, P.doGbSIncluded) / 1e6) * P.doUsdPerMillionGbS,
    `object CPU-s × ${a.doWallOverCpu} (wall) × 0.128 GB × month, × $12.50/M GB-s`,
  );
  const doRows = month(
    s.chatMessagesPerS * a.chatRoomSqlRows +
      s.drivers / CODE.fixSaveS +
      fl.cellReportsPerS +
      fl.tripFixesPerS / CODE.fixesPerBreadcrumbRow +
      s.tripsPerS * a.tripSqlRows,
  );
  line(
    "DO: SQLite rows written",
    doRows,
    "rows",
    (over(doRows, P.sqlRowsWrittenIncluded) / 1e6) * P.sqlUsdPerMillionRowsWritten,
    `(chat ${a.chatRoomSqlRows}/msg + fix saves 1/${CODE.fixSaveS} s + cell rows + breadcrumbs + ` +
      `${a.tripSqlRows}/trip) × month, × $1/M`,
  );
  const doGb = (month(s.tripsPerS) * a.tripRoomKb * 1e3) / 1e9;
  line(
    "DO: SQLite storage",
    doGb,
    "GB-month",
    over(doGb, P.doStorageGbIncluded) * P.doUsdPerGbMonth,
    `a month of trips × ${a.tripRoomKb} KB kept per trip room, × $0.20/GB-month`,
  );

  const d1Rows = month(
    s.chatMessagesPerS * a.chatD1Rows +
      pth.notifications * a.notificationD1Rows +
      s.tripsPerS * (a.tripD1Rows + a.ledgerD1RowsPerTrip) +
      pth.refreshes * a.refreshD1Rows +
      (pth.reconnects + s.tripsPerS * t.socketsPerTrip) * 2 * a.lastSeenD1Rows,
  );
  line(
    "D1: rows written",
    d1Rows,
    "rows",
    (over(d1Rows, P.sqlRowsWrittenIncluded) / 1e6) * P.sqlUsdPerMillionRowsWritten,
    `(chat ${a.chatD1Rows}/msg + notifications ${a.notificationD1Rows} + trip ${a.tripD1Rows} + ledger ` +
      `${a.ledgerD1RowsPerTrip}/trip + refresh ${a.refreshD1Rows} + last seen ${2 * a.lastSeenD1Rows}) × month, × $1/M`,
  );
  const d1Read = d1Rows * a.d1ReadsPerWrite;
  line(
    "D1: rows read",
    d1Read,
    "rows",
    (over(d1Read, P.sqlRowsReadIncluded) / 1e6) * P.sqlUsdPerMillionRowsRead,
    `${a.d1ReadsPerWrite} × rows written (indexed reads), × $0.001/M`,
  );
  line(
    "D1: storage",
    d1.hotGb,
    "GB-month",
    over(d1.hotGb, P.d1StorageGbIncluded) * P.d1UsdPerGbMonth,
    "the windows of the D1 table above, × $0.75/GB-month",
  );

  const queueOps = month(pth.notifications) * P.queueOpsPerMessage;
  line(
    "Queues: operations",
    queueOps,
    "ops",
    (over(queueOps, P.queueOpsIncluded) / 1e6) * P.queueUsdPerMillionOps,
    "notifications × 3 (write, read, delete) × month, × $0.40/M",
  );

  const r2Gb = (d1.kinds.reduce((sum, k) => sum + k.gbPerDay, 0) * 30) / a.r2CompressionRatio;
  line(
    "R2: storage (first month)",
    r2Gb,
    "GB-month",
    over(r2Gb, P.r2StorageGbIncluded) * P.r2UsdPerGbMonth,
    `30 days of everything D1 sheds ÷ ${a.r2CompressionRatio} (gzip), × $0.015/GB-month; grows each month`,
  );
  const r2Puts = a.roomDaysPerDay * 30 + month(s.tripsPerS) / a.tripsPerR2Object;
  line(
    "R2: Class A (writes)",
    r2Puts,
    "requests",
    (over(r2Puts, P.r2ClassAIncluded) / 1e6) * P.r2UsdPerMillionClassA,
    `one object per room-day + one per ${fmt(a.tripsPerR2Object)} trips, × $4.50/M`,
  );

  const aePoints = month(
    (tripRequests + pth.refreshes + pth.otherRequests) * a.aePointsPerRequest +
      s.tripsPerS * a.aePointsPerTrip +
      chatFlushes * a.aePointsPerFlush,
  );
  line(
    "Analytics Engine: data points",
    aePoints,
    "points",
    (over(aePoints, P.aePointsIncluded) / 1e6) * P.aeUsdPerMillionPoints,
    "(1/request + 10/trip + 1/room flush) × month, × $0.25/M",
  );
  return { lines, totalUsd: lines.reduce((sum, l) => sum + l.usd, 0) };
}

/** The whole model from a trip-floor result. */
export function model(tripFloor, s = SCENARIO, a = ASSUMED, m = MEASURED) {
  const unitsUs = Object.fromEntries(Object.entries(tripFloor.units).map(([k, v]) => [k, v.medianS * 1e6]));
  const floorUs = floorPerTripUs(tripFloor.units, tripFloor.counts.perTrip);
  const tripUs = tripFloor.trip.netS * 1e6;
  const tally = tallyOf(tripFloor.counts.perTrip);
  const fl = fleet(s, a);
  const pth = paths(s, a, m, unitsUs, tripUs, tally);
  const objects = busiestObjects(s, a, m, unitsUs, tally);
  const directory = directoryLoad(s, pth, tally);
  const d1 = d1Load(s, a, pth, directory);
  const cost = monthlyCost(s, a, unitsUs, pth, d1, fl, tally);
  const limitRows = limits(a, pth, objects, d1);
  return { unitsUs, floorUs, tripUs, tally, fleet: fl, paths: pth, objects, d1, directory, limits: limitRows, cost };
}

/** Round to 2 significant figures: the model's inputs carry no more. */
export function round2(x) {
  if (x === 0) return 0;
  const p = 10 ** (Math.floor(Math.log10(Math.abs(x))) - 1);
  return Math.round(x / p) * p;
}

/** 2 significant figures with thousands separators (and no "0.000…1" noise below 1). */
export function fmt(x) {
  const r = round2(x);
  return Math.abs(r) >= 1 ? r.toLocaleString("en-US") : String(Number(r.toPrecision(2)));
}

/** A markdown table with its columns padded as biome formats them, so `--write` and `npm run format` agree. */
function table(header, rows) {
  const widths = header.map((h, i) => Math.max(3, h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** The markdown docs/SCALE.md carries between its markers. */
export function render(md) {
  const parts = [];
  parts.push(
    `Inputs: a trip costs ${fmt(md.tripUs / 1e3)} ms of server CPU (floor ${fmt(md.floorUs / 1e3)} ms); ` +
      `${fmt(md.fleet.tripsInProgress)} trips in progress, ${fmt(md.fleet.busyDrivers)} drivers busy, ` +
      `${fmt(md.fleet.availableDrivers)} available.`,
  );
  parts.push(
    table(
      ["path", "events/s at peak", "CPU per event (µs)", "cores (CPU-s/s)"],
      [
        ...md.paths.rows.map((r) => [r.path, fmt(r.perS), fmt(r.us), fmt(r.cores)]),
        ["**total**", "", "", `**${fmt(md.paths.totalCores)}**`],
      ],
    ),
  );
  parts.push(
    table(
      ["busiest object", "events/s", "CPU-s/s (of ~1 core)", "first limit"],
      md.objects.map((o) => [o.object, fmt(o.eventsPerS), fmt(o.cores), o.limit]),
    ),
  );
  parts.push(
    table(
      ["resource", "load at peak", "limit", "used"],
      md.limits.map((l) => [l.resource, fmt(l.load), fmt(l.limit), `${fmt(100 * l.share)}%`]),
    ),
  );
  parts.push(
    table(
      ["D1 data", "write transactions/s at peak", "GB/day", "days in D1", "GB in D1"],
      [
        ...md.d1.kinds.map((k) => [k.kind, fmt(k.writesPerS), fmt(k.gbPerDay), String(k.hotDays), fmt(k.hotGb)]),
        ["**total**", `**${fmt(md.d1.writesPerS)}**`, "", "", `**${fmt(md.d1.hotGb)}**`],
      ],
    ),
  );
  const gbWrittenPerMonth = (md.d1.kinds.reduce((sum, k) => sum + k.gbPerDay, 0) * 30) / md.d1.shards;
  parts.push(
    `Partition databases: ${md.d1.byWrites} by writes (at ${ASSUMED.d1WritesPerS * ASSUMED.d1Utilisation}/s each), ` +
      `${md.d1.byStorage} by storage (at ${ASSUMED.d1FillGb} GB each): **${md.d1.shards}**. Each then takes ` +
      `${fmt(md.d1.writesPerS / md.d1.shards)} write transactions/s at the peak and ${fmt(gbWrittenPerMonth)} GB ` +
      "a month, which passes through it to R2.",
  );
  parts.push(
    table(
      ["meter", "per month", "unit", "USD", "arithmetic"],
      [
        ...md.cost.lines.map((l) => [l.meter, fmt(l.quantity), l.unit, `$${fmt(l.usd)}`, l.how]),
        ["**total**", "", "", `**$${fmt(md.cost.totalUsd)}**`, ""],
      ],
    ),
  );
  return `${parts.join("\n\n")}\n`;
}

export const BEGIN = "<!-- capacity-model:begin (node scripts/capacity-model.mjs --write) -->";
export const END = "<!-- capacity-model:end -->";

/** `doc` with the text between the markers replaced by `body`. */
export function replaceBlock(doc, body) {
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (start < 0 || end < start) throw new Error("docs/SCALE.md has no capacity-model markers");
  return `${doc.slice(0, start + BEGIN.length)}\n\n${body}\n${doc.slice(end)}`;
}

function main(argv) {
  const at = argv.indexOf("--units");
  const unitsFile = at >= 0 ? argv[at + 1] : join(ROOT, "bench/results/trip-floor.json");
  if (unitsFile === undefined) throw new Error("--units needs a file");
  const body = render(model(JSON.parse(readFileSync(unitsFile, "utf8"))));
  if (argv.includes("--write")) {
    const path = join(ROOT, "docs/SCALE.md");
    writeFileSync(path, replaceBlock(readFileSync(path, "utf8"), body));
    console.error(`capacity-model: rewrote the tables in ${path}`);
  } else process.stdout.write(body);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) main(process.argv.slice(2));
