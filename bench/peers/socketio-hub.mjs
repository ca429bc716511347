#!/usr/bin/env node
// A Socket.IO room hub, a peer for the chat benchmark (bench/chat-compare.mjs), WebSocket
// transport only (no long-polling, so no HTTP handshake before the upgrade):
//
//   node bench/peers/socketio-hub.mjs PORT
//
// A client connects to ws://127.0.0.1:PORT/socket.io/?EIO=4&transport=websocket&room=<room>&user=<id>
// (or with socket.io-client, `query: { room, user }`), joins <room> and gets a `welcome` event.
// Each `message` event {id, text} is emitted to the whole room, the sender included, as
// `message` {room, user, id, text, at}: Socket.IO encodes the packet once per broadcast. No
// acks, storage, auth, rate limits or dedupe (bench/RESULTS.md, "Guarantees").
// GET /health answers 200 for readiness.
import { createServer } from "node:http";
import { Server } from "socket.io";

const port = Number(process.argv[2] ?? 8902);
if (!Number.isInteger(port) || port <= 0) {
  console.error("usage: node bench/peers/socketio-hub.mjs PORT");
  process.exit(2);
}

const http = createServer((req, res) => {
  if (req.url === "/health") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ ok: true, sockets: io.engine.clientsCount }));
    return;
  }
  // Socket.IO's own requests are answered by its listener; anything else is a 404.
  if (!req.url.startsWith("/socket.io/")) res.writeHead(404).end();
});

const io = new Server(http, {
  transports: ["websocket"],
  serveClient: false,
  perMessageDeflate: false,
  cors: { origin: false },
});

io.on("connection", (socket) => {
  const room = String(socket.handshake.query.room ?? "lobby");
  const user = String(socket.handshake.query.user ?? "anonymous");
  socket.join(room);
  socket.emit("welcome", { room });
  socket.on("message", (msg) => {
    if (typeof msg?.text !== "string") return;
    io.to(room).emit("message", { room, user, id: msg.id, text: msg.text, at: Date.now() });
  });
});

http.listen(port, "127.0.0.1", () => console.log(`socketio-hub listening on 127.0.0.1:${port}`));
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(0));
