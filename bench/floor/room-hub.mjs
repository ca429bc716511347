// The runtime's floor for a chat room: bench/peers/ws-hub.mjs's protocol, served by a Durable
// Object per room with hibernatable sockets (ctx.acceptWebSocket), and nothing else. A client
// connects to /rooms/<room>?user=<id> and gets {"type":"welcome"}; every {"type":"message","id",
// "text"} frame is parsed, re-serialised once and sent to every member, the sender included.
// No storage, acks, auth, limits or dedupe: what a Worker + Durable Object room costs on this
// runtime before any of ridewire's work. bench/run.mjs runs it as two chat servers: "do-room"
// under wrangler dev and "do-room-workerd" under plain workerd (bench/RESULTS.md).
import { DurableObject } from "cloudflare:workers";

export class Hub extends DurableObject {
  /** Members and who they are; kept in memory (as ridewire's hub does), rebuilt after a wake. */
  members = new Map();

  constructor(ctx, env) {
    super(ctx, env);
    for (const ws of ctx.getWebSockets()) this.members.set(ws, ws.deserializeAttachment());
  }

  async fetch(request) {
    const url = new URL(request.url);
    const who = {
      room: decodeURIComponent(url.pathname.slice("/rooms/".length)),
      user: url.searchParams.get("user") ?? "anonymous",
    };
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment(who);
    this.members.set(server, who);
    server.send(JSON.stringify({ type: "welcome", room: who.room, members: this.members.size }));
    return new Response(null, { status: 101, webSocket: client });
  }

  webSocketMessage(ws, data) {
    if (typeof data !== "string") return;
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    if (msg?.type !== "message" || typeof msg.text !== "string") return;
    const who = this.members.get(ws);
    const out = JSON.stringify({
      type: "message",
      room: who.room,
      user: who.user,
      id: msg.id,
      text: msg.text,
      at: Date.now(),
    });
    for (const member of this.members.keys()) {
      try {
        member.send(out);
      } catch {
        // closing; its close event removes it
      }
    }
  }

  webSocketClose(ws, code) {
    this.members.delete(ws);
    try {
      // Answer the close as ridewire's hub and the ws library do; 1005/1006/1015 may not be sent.
      ws.close([1005, 1006, 1015].includes(code) ? 1000 : code);
    } catch {
      // already closed
    }
  }

  webSocketError(ws) {
    this.members.delete(ws);
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/health") return new Response("ok");
    const room = /^\/rooms\/([^/]+)$/.exec(url.pathname)?.[1];
    if (!room || request.headers.get("Upgrade") !== "websocket") return new Response("not found", { status: 404 });
    return env.HUB.get(env.HUB.idFromName(room)).fetch(request);
  },
};
