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

/**
 * A function property called through a proxy, tallied under `key`. Reflect.apply, because an RPC
 * stub answers any property name, `apply` included.
 */
const tallied =
  (target, fn, key) =>
  (...args) => {
    bump(key);
    return Reflect.apply(fn, target, args);
  };

const D1_ROUND_TRIPS = new Set(["run", "all", "first", "raw"]);

function countedStatement(statement) {
  return new Proxy(statement, {
    get(target, prop) {
      const value = target[prop];
      if (typeof value !== "function") return value;
      if (prop === "bind") return (...args) => countedStatement(Reflect.apply(value, target, args));
      if (D1_ROUND_TRIPS.has(prop)) return tallied(target, value, "d1 round trip");
      return value.bind(target);
    },
  });
}

function countedDatabase(db) {
  return new Proxy(db, {
    get(target, prop) {
      const value = target[prop];
      if (typeof value !== "function") return value;
      if (prop === "prepare") return (...args) => countedStatement(Reflect.apply(value, target, args));
      if (prop === "batch" || prop === "exec") return tallied(target, value, "d1 round trip");
      // A session (read replicas: the ban check) is a database of its own to count through.
      if (prop === "withSession") return (...args) => countedDatabase(Reflect.apply(value, target, args));
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
        .map(([name, value]) => [name, countedDatabase(value)]),
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
        bump(`sqlite statement (${kind})`);
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
    if (new URL(request.url).pathname === "/v1/__event-counts") return Response.json(counts);
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
