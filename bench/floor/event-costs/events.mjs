// The runtime's unit costs, one kind of event at a time, for bench/trip-floor.mjs: each route
// makes `n` events of one kind and nothing else, so (CPU of the route at n) − (CPU of /noop),
// divided by n, is what one event of that kind costs this runtime (wrangler dev, observability
// off, static assets in front: ridewire's shape with none of ridewire's code).
//   GET /noop              an HTTP request the Worker answers at once
//   GET /d1?n=N            N D1 round trips, one at a time (SELECT of a bound value)
//   GET /rpc?n=N           N RPC calls to one Durable Object's empty method
//   GET /queue?n=N         N queue messages in one sendBatch; the consumer acks them
//   GET /alarm?id=K        one alarm set on object K, now: the alarm event runs
//   GET /ws?id=K           a hibernatable socket on object K; a frame {"reply":true} is sent back
import { DurableObject } from "cloudflare:workers";

export class Hub extends DurableObject {
  noop() {
    return 1;
  }
  armNow() {
    return this.ctx.storage.setAlarm(Date.now());
  }
  alarm() {}
  async fetch() {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    return new Response(null, { status: 101, webSocket: client });
  }
  webSocketMessage(ws, message) {
    if (typeof message !== "string") return;
    if (JSON.parse(message).reply) ws.send(message);
  }
  // Answer the client's close at once, as ridewire's hub does: a close left unanswered keeps the
  // client waiting out its close timeout, and the idle server's CPU over that wait is subtracted.
  webSocketClose(ws, code) {
    try {
      ws.close(code === 1005 ? 1000 : code, "bye");
    } catch {
      // already closed (the runtime may have answered it)
    }
  }
}

const hub = (env, id) => env.HUB.get(env.HUB.idFromName(id));

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const n = Math.min(Math.max(Number(url.searchParams.get("n") ?? 1) || 1, 1), 100);
    const id = url.searchParams.get("id") ?? "probe";
    switch (url.pathname) {
      case "/health":
      case "/noop":
        return new Response("ok");
      case "/d1":
        for (let i = 0; i < n; i++) await env.DB.prepare("SELECT ?1 AS x").bind(i).first();
        return new Response("ok");
      case "/rpc": {
        const stub = hub(env, id);
        for (let i = 0; i < n; i++) await stub.noop();
        return new Response("ok");
      }
      case "/queue":
        await env.QUEUE.sendBatch(Array.from({ length: n }, (_, i) => ({ body: { i } })));
        return new Response("ok");
      case "/alarm":
        await hub(env, id).armNow();
        return new Response("ok");
      case "/ws":
        return hub(env, id).fetch(request);
      default:
        return new Response("not found", { status: 404 });
    }
  },
  async queue(batch) {
    batch.ackAll();
  },
};
