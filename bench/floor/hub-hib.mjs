// The runtime's floor, hibernatable: a Durable Object per socket that accepts it with
// ctx.acceptWebSocket and does nothing with a frame but JSON.parse it. A frame carrying
// "echo" is answered with {"echo": n} (the generator marks every 100th frame) to prove the
// frames arrive. Used unchanged by `wrangler dev` and by plain `workerd serve`.
import { DurableObject } from "cloudflare:workers";

export class Hub extends DurableObject {
  async fetch() {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    return new Response(null, { status: 101, webSocket: client });
  }
  async webSocketMessage(ws, message) {
    if (typeof message !== "string") return;
    const m = JSON.parse(message);
    if (m.echo !== undefined) ws.send(`{"echo":${Number(m.echo)}}`);
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
