// The runtime's floor, not hibernatable: the same null Durable Object, but the socket is
// accepted with server.accept() and read with addEventListener("message") (no
// webSocketMessage event per frame). Same echo rule as hub-hib.mjs.
import { DurableObject } from "cloudflare:workers";

export class Hub extends DurableObject {
  async fetch() {
    const { 0: client, 1: server } = new WebSocketPair();
    server.accept();
    server.addEventListener("message", (e) => {
      if (typeof e.data !== "string") return;
      const m = JSON.parse(e.data);
      if (m.echo !== undefined) server.send(`{"echo":${Number(m.echo)}}`);
    });
    return new Response(null, { status: 101, webSocket: client });
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/health") return new Response("ok");
    const id = url.searchParams.get("id") ?? "x";
    return env.HUB.get(env.HUB.idFromName(id)).fetch(request);
  },
};
