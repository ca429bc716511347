#!/usr/bin/env node
// The classic Node `ws` room hub, a peer for the chat benchmark (bench/chat-compare.mjs):
//
//   node bench/peers/ws-hub.mjs PORT
//
// A client connects to ws://127.0.0.1:PORT/rooms/<room>?user=<id> and is a member of <room>
// while its socket is open; it gets {"type":"welcome"} once joined. Every text frame
// {"type":"message","id","text"} is parsed, re-serialised as {"type":"message","room","user",
// "id","text","at"} once, and sent to every member of the room, the sender included. Nothing
// is stored, acknowledged, authenticated, rate-limited or deduplicated: that is the point of
// the comparison (bench/RESULTS.md, "Guarantees"). GET /health answers 200 for readiness.
import { createServer } from "node:http";
import { WebSocketServer } from "ws";

const port = Number(process.argv[2] ?? 8901);
if (!Number.isInteger(port) || port <= 0) {
  console.error("usage: node bench/peers/ws-hub.mjs PORT");
  process.exit(2);
}

/** room id -> Set of sockets */
const rooms = new Map();

const http = createServer((req, res) => {
  if (req.url === "/health") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ ok: true, rooms: rooms.size, sockets: wss.clients.size }));
    return;
  }
  res.writeHead(404).end();
});

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: true });

http.on("upgrade", (req, socket, head) => {
  const url = new URL(req.url, "http://hub");
  const m = /^\/rooms\/([^/]+)$/.exec(url.pathname);
  if (!m) {
    socket.end("HTTP/1.1 404 Not Found\r\n\r\n");
    return;
  }
  const room = decodeURIComponent(m[1]);
  const user = url.searchParams.get("user") ?? "anonymous";
  wss.handleUpgrade(req, socket, head, (ws) => {
    let members = rooms.get(room);
    if (!members) {
      members = new Set();
      rooms.set(room, members);
    }
    members.add(ws);
    ws.send(JSON.stringify({ type: "welcome", room, members: members.size }));
    ws.on("message", (data, isBinary) => {
      if (isBinary) return;
      let msg;
      try {
        msg = JSON.parse(data.toString());
      } catch {
        return;
      }
      if (msg?.type !== "message" || typeof msg.text !== "string") return;
      const out = JSON.stringify({ type: "message", room, user, id: msg.id, text: msg.text, at: Date.now() });
      for (const member of members) if (member.readyState === 1) member.send(out);
    });
    ws.on("close", () => {
      members.delete(ws);
      if (members.size === 0) rooms.delete(room);
    });
    ws.on("error", () => {});
  });
});

http.listen(port, "127.0.0.1", () => console.log(`ws-hub listening on 127.0.0.1:${port}`));
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(0));
