// The peer on ridewire's own runtime: a chat room as a partyserver user writes it (the library
// Cloudflare's docs and templates use for realtime rooms on Durable Objects), run under `wrangler
// dev` like the bare room (bench/floor/room-hub.mjs, target "do-room") and ridewire. bench/run.mjs
// runs it as the chat server "partyserver"; the generator speaks the bare room's protocol to it.
//
// A `Server` subclass with hibernation on, routed by `routePartykitRequest`. A client connects to
// /rooms/<room>?user=<id> and gets {"type":"welcome"}; every {"type":"message","id","text"} frame is
// parsed, re-serialised once and broadcast to the room, the sender included (`this.broadcast`).
//
// What it does not guarantee (ridewire does; bench/RESULTS.md, Guarantees):
// - no storage: messages live only in flight; a restart or eviction loses nothing because nothing
//   is kept (partyserver itself writes one small `__ps_name` record when a room first starts);
// - no acks: the sender learns nothing, not even that the room got its frame;
// - no dedupe: a frame resent after a reconnect is a second message;
// - no sequence and no resume: messages sent while a client is away are lost to it;
// - no auth, membership, rate limits or frame size limits beyond the runtime's.
import { routePartykitRequest, Server } from "partyserver";

export class Chat extends Server {
  static options = { hibernate: true };

  onConnect(connection, { request }) {
    connection.setState({ user: new URL(request.url).searchParams.get("user") ?? "anonymous" });
    let members = 0;
    for (const _ of this.getConnections()) members++;
    connection.send(JSON.stringify({ type: "welcome", room: this.name, members }));
  }

  onMessage(connection, message) {
    if (typeof message !== "string") return;
    let msg;
    try {
      msg = JSON.parse(message);
    } catch {
      return;
    }
    if (msg?.type !== "message" || typeof msg.text !== "string") return;
    this.broadcast(
      JSON.stringify({
        type: "message",
        room: this.name,
        user: connection.state?.user,
        id: msg.id,
        text: msg.text,
        at: Date.now(),
      }),
    );
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/health") return new Response("ok");
    // The generator joins every server at /rooms/<room> (the ws hub's and the bare room's URL);
    // partyserver routes /parties/<party>/<room>, so the path is renamed and nothing else changes.
    const room = /^\/rooms\/([^/]+)$/.exec(url.pathname)?.[1];
    if (room) url.pathname = `/parties/chat/${room}`;
    return (await routePartykitRequest(new Request(url, request), env)) ?? new Response("not found", { status: 404 });
  },
};
