// The runtime's floor for a room that keeps ridewire's promises: bench/floor/room-hub.mjs plus
// the least that "committed before its ack, deduplicated by id, sequenced and resumable" costs
// on this runtime, and nothing else. Per message: one INSERT that claims (user, id) in a
// commands table (a repeat is acknowledged again and not sent), one INSERT of the frame into a
// sequenced log in the object's SQLite (the seq is the log's next), an `ack` to the sender and
// the frame to every member. The ack and the frames leave only once the write is committed
// (the runtime's output gate). No auth, limits, presence, write-behind or resume code: the
// storage a resume reads from is there, the code that reads it is not. bench/run.mjs runs it
// as "do-room-durable" under wrangler dev with static assets in front of it, as ridewire's
// wrangler.toml has them (wrangler's asset router then sits before the Worker for every request
// and socket): ridewire's own code is what ridewire costs above this.
import { DurableObject } from "cloudflare:workers";

export class Hub extends DurableObject {
  /** Members and who they are; kept in memory (as ridewire's hub does), rebuilt after a wake. */
  members = new Map();

  constructor(ctx, env) {
    super(ctx, env);
    for (const ws of ctx.getWebSockets()) this.members.set(ws, ws.deserializeAttachment());
    const sql = ctx.storage.sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, frame TEXT NOT NULL)`);
    sql.exec(
      `CREATE TABLE IF NOT EXISTS commands (user_id TEXT NOT NULL, command_id TEXT NOT NULL, seq INTEGER NOT NULL,
       PRIMARY KEY (user_id, command_id))`,
    );
    this.lastSeq = sql.exec(`SELECT COALESCE(MAX(seq), 0) AS seq FROM events`).one().seq;
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
    if (msg?.type !== "message" || typeof msg.text !== "string" || typeof msg.id !== "string") return;
    const who = this.members.get(ws);
    const sql = this.ctx.storage.sql;
    const seq = this.lastSeq + 1;
    const claimed = sql.exec(
      `INSERT INTO commands (user_id, command_id, seq) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
      who.user,
      msg.id,
      seq,
    ).rowsWritten;
    if (claimed === 0) {
      const first = sql.exec(`SELECT seq FROM commands WHERE user_id = ? AND command_id = ?`, who.user, msg.id).one();
      ws.send(JSON.stringify({ type: "ack", id: msg.id, seq: first.seq }));
      return;
    }
    const out = JSON.stringify({
      type: "message",
      seq,
      room: who.room,
      user: who.user,
      id: msg.id,
      text: msg.text,
      at: Date.now(),
    });
    sql.exec(`INSERT INTO events (seq, frame) VALUES (?, ?)`, seq, out);
    this.lastSeq = seq;
    ws.send(JSON.stringify({ type: "ack", id: msg.id, seq }));
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
