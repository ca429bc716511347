// ridewire's Worker with every runtime event counted, for bench/trip-floor.mjs: `wrangler dev`
// serves this file in place of src/index.ts (`npm run dev -- bench/event-count/entry.mjs`), and
// `GET /v1/__event-counts` answers the tallies. Only the bench uses it; nothing in src/ knows of it.
//
// What one trip costs the runtime is a count of events times what each costs. The events are
// counted here, at the bindings and entry points, so no code of ridewire's has to be trusted to
// report its own: HTTP requests into the Worker and sockets opened through it, D1 round trips
// (a statement's run/all/first/raw, a batch, an exec), RPC calls to each Durable Object class
// by method, frames into each class, alarms, queue sends and the consumer's batches and
// messages, frames sent on any socket, and each object class's statements on its own SQLite.
// Under `wrangler dev` the Worker and every object share one isolate, so one module-level tally
// sees them all.
import { loadConfig } from "../../src/config";
import { app } from "../../src/http/app";
import { handleQueue } from "../../src/notify/consumer";
import { runScheduledReconciliation } from "../../src/payments/reconcile";
import { ChatRoom as ChatRoomClass } from "../../src/rooms/chat-room";
import { DriverSession as DriverSessionClass } from "../../src/rooms/driver-session";
import { GeoCell as GeoCellClass } from "../../src/rooms/geo-cell";
import { OpsDesk as OpsDeskClass } from "../../src/rooms/ops-desk";
import { TripRoom as TripRoomClass } from "../../src/rooms/trip-room";
import * as ridewireEntry from "../../src/index";

const counts = {};
const bump = (key) => {
  counts[key] = (counts[key] ?? 0) + 1;
};

const D1_ROUND_TRIPS = new Set(["run", "all", "first", "raw"]);

/**
 * Each D1 round trip again by database and statement text (a batch by its statements'), served
 * at /v1/__event-counts?d1=1: which calls a trip's round trips are, to find the ones to fold.
 */
const d1Detail = {};
const statementText = new WeakMap();
const textOf = (statement) => (statementText.get(statement) ?? "?").replace(/\s+/g, " ").trim().slice(0, 90);
const bumpD1 = (database, text) => {
  bump("d1 round trip");
  const key = `${database}: ${text}`;
  d1Detail[key] = (d1Detail[key] ?? 0) + 1;
};

/**
 * Each object's statements on its own SQLite again by class and statement text, served at
 * /v1/__event-counts?sql=1: which of a trip's statements to fold or keep in memory.
 */
const sqlDetail = {};
const bumpSql = (kind, query) => {
  bump(`sqlite statement (${kind})`);
  const key = `${kind}: ${String(query).replace(/\s+/g, " ").trim().slice(0, 90)}`;
  sqlDetail[key] = (sqlDetail[key] ?? 0) + 1;
};

function countedStatement(statement, database, text) {
  const proxy = new Proxy(statement, {
    get(target, prop) {
      const value = target[prop];
      if (typeof value !== "function") return value;
      if (prop === "bind") return (...args) => countedStatement(Reflect.apply(value, target, args), database, text);
      if (D1_ROUND_TRIPS.has(prop))
        return (...args) => {
          bumpD1(database, textOf(proxy));
          return Reflect.apply(value, target, args);
        };
      return value.bind(target);
    },
  });
  statementText.set(proxy, text);
  return proxy;
}

function countedDatabase(db, database) {
  return new Proxy(db, {
    get(target, prop) {
      const value = target[prop];
      if (typeof value !== "function") return value;
      if (prop === "prepare")
        return (...args) => countedStatement(Reflect.apply(value, target, args), database, String(args[0]));
      if (prop === "batch")
        return (...args) => {
          bumpD1(database, `batch [${(args[0] ?? []).map(textOf).join(" | ")}]`);
          return Reflect.apply(value, target, args);
        };
      if (prop === "exec")
        return (...args) => {
          bumpD1(database, `exec ${String(args[0]).slice(0, 80)}`);
          return Reflect.apply(value, target, args);
        };
      // A session (read replicas: the ban check) is a database of its own to count through.
      if (prop === "withSession") return (...args) => countedDatabase(Reflect.apply(value, target, args), database);
      return value.bind(target);
    },
  });
}

function countedNamespace(namespace, kind) {
  return new Proxy(namespace, {
    get(target, prop) {
      const value = target[prop];
      if (typeof value !== "function") return value;
      if (prop !== "get") return value.bind(target);
      return (...args) =>
        new Proxy(Reflect.apply(value, target, args), {
          get(stub, method) {
            const fn = stub[method];
            if (typeof fn !== "function") return fn;
            return (...callArgs) => {
              bump("rpc");
              bump(`rpc ${kind}.${String(method)}`);
              return Reflect.apply(fn, stub, callArgs);
            };
          },
        });
    },
  });
}

function countedQueue(queue) {
  return new Proxy(queue, {
    get(target, prop) {
      const value = target[prop];
      if (typeof value !== "function") return value;
      return (...args) => {
        bump(`queue ${String(prop)}`);
        const messages = prop === "sendBatch" ? (args[0] ?? []) : [{ body: args[0] }];
        for (const m of messages) bump(`queue message sent (${m?.body?.type ?? "?"})`);
        return Reflect.apply(value, target, args);
      };
    },
  });
}

const countedEnvs = new WeakMap();
function counted(env) {
  let out = countedEnvs.get(env);
  if (!out) {
    // Every D1 binding: the directory `DB` and the partitions (`SHARD_0`, …: the chat archive,
    // notifications, sessions, the ledger), each round trip to any of them a "d1 round trip".
    const databases = Object.fromEntries(
      Object.entries(env)
        .filter(([, value]) => typeof value?.prepare === "function" && typeof value?.batch === "function")
        .map(([name, value]) => [name, countedDatabase(value, name)]),
    );
    out = {
      ...env,
      ...databases,
      TRIP_ROOM: countedNamespace(env.TRIP_ROOM, "trip"),
      DRIVER_SESSION: countedNamespace(env.DRIVER_SESSION, "driver"),
      GEO_CELL: countedNamespace(env.GEO_CELL, "cell"),
      CHAT_ROOM: countedNamespace(env.CHAT_ROOM, "chat"),
      NOTIFICATIONS: countedQueue(env.NOTIFICATIONS),
    };
    countedEnvs.set(env, out);
  }
  return out;
}

/** The object class with its env counted and each of its runtime events tallied. */
function countedObject(Base, kind) {
  const Counted = class extends Base {
    constructor(ctx, env) {
      // Statements on the object's own SQLite: ridewire's work, not the runtime's events (no unit cost in the floor),
      // counted so that a change to them shows per trip.
      const exec = ctx.storage.sql.exec.bind(ctx.storage.sql);
      ctx.storage.sql.exec = (query, ...args) => {
        bumpSql(kind, query);
        return exec(query, ...args);
      };
      super(ctx, counted(env));
      bump(`object started (${kind})`);
    }
  };
  for (const event of ["fetch", "webSocketMessage", "webSocketClose", "alarm"]) {
    const handler = Base.prototype[event];
    if (typeof handler !== "function") continue;
    Counted.prototype[event] = function (...args) {
      bump(`${event} (${kind})`);
      return Reflect.apply(handler, this, args);
    };
  }
  return Counted;
}

export const ChatRoom = countedObject(ChatRoomClass, "chat");
export const DriverSession = countedObject(DriverSessionClass, "driver");
export const GeoCell = countedObject(GeoCellClass, "cell");
export const OpsDesk = countedObject(OpsDeskClass, "ops");
export const TripRoom = countedObject(TripRoomClass, "trip");

// Every Durable Object class src/index.ts exports must be exported here too, counted (wrangler would refuse to
// start without it, or the class's events would go uncounted). Named exports cannot be made in a loop, so the list
// above is written out, and checked against src/index.ts here.
const missing = Object.keys(ridewireEntry).filter(
  (name) => name !== "default" && !["ChatRoom", "DriverSession", "GeoCell", "OpsDesk", "TripRoom"].includes(name),
);
if (missing.length > 0)
  throw new Error(`bench/event-count/entry.mjs: export ${missing.join(", ")} counted too (src/index.ts exports it)`);

const send = WebSocket.prototype.send;
WebSocket.prototype.send = function (message) {
  bump("frame sent");
  return Reflect.apply(send, this, [message]);
};

export default {
  fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/v1/__event-counts")
      return Response.json(url.searchParams.has("d1") ? d1Detail : url.searchParams.has("sql") ? sqlDetail : counts);
    // A socket's upgrade is costed whole (its request, the object's fetch, the close) as "socket opened".
    bump(request.headers.get("Upgrade") === "websocket" ? "socket opened" : "http request");
    return app.fetch(request, counted(env), ctx);
  },
  queue(batch, env, ctx) {
    bump("queue batch consumed");
    for (const _ of batch.messages) bump("queue message consumed");
    return handleQueue(batch, counted(env), ctx);
  },
  scheduled(controller, env, ctx) {
    ctx.waitUntil(runScheduledReconciliation(env, loadConfig(env), controller.scheduledTime));
  },
};
