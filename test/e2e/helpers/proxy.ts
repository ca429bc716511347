/**
 * A TCP proxy on 127.0.0.1 between the SDK and the dev server, to break the network on cue:
 * `dropAll()` destroys every open connection (the SDK sees its socket die, the server sees it
 * go), `refuseNew` cuts new ones at once (the server looks down), `silence()` keeps them open but forwards nothing (a
 * dead link that only heartbeats can notice), and `blockWebSockets` refuses any request that asks for a WebSocket
 * upgrade while plain HTTP passes (a proxy or firewall that breaks WebSockets). `silenceDownstream()` lets the client's
 * bytes through but drops the server's (frames are applied, their answers lost), and `inject()` writes a WebSocket text
 * frame of its own to every client (a repeat, a gap).
 */
import { createServer, connect, type Server, type Socket } from "node:net";

export type Proxy = {
  port: number;
  baseUrl: string;
  /** Connections accepted so far, and how many of them asked for a WebSocket. */
  stats: { connections: number; upgrades: number; refusedUpgrades: number };
  blockWebSockets: boolean;
  /** While true, new connections are cut as soon as they arrive (the server looks unreachable). */
  refuseNew: boolean;
  dropAll(): void;
  /** Existing connections go silent (both ways) until dropped; new ones work. */
  silence(): void;
  /** Existing connections stop passing the server's bytes to the client. */
  silenceDownstream(): void;
  /** Sends `text` as a server WebSocket frame to every client connection that is a socket. */
  inject(text: string): number;
  close(): Promise<void>;
};

export async function tcpProxy(targetPort: number): Promise<Proxy> {
  const pairs = new Set<{ client: Socket; upstream: Socket; silent: boolean; downSilent: boolean; socket: boolean }>();
  const proxy: Proxy = {
    port: 0,
    baseUrl: "",
    stats: { connections: 0, upgrades: 0, refusedUpgrades: 0 },
    blockWebSockets: false,
    refuseNew: false,
    dropAll() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      pairs.clear();
    },
    silence() {
      for (const pair of pairs) pair.silent = true;
    },
    silenceDownstream() {
      for (const pair of pairs) pair.downSilent = true;
    },
    inject(text) {
      let sent = 0;
      for (const pair of pairs) {
        if (!pair.socket || pair.silent) continue;
        pair.client.write(textFrame(text));
        sent++;
      }
      return sent;
    },
    close: () =>
      new Promise<void>((resolve) => {
        proxy.dropAll();
        server.close(() => resolve());
      }),
  };

  const server: Server = createServer((client) => {
    if (proxy.refuseNew) return void client.destroy();
    proxy.stats.connections++;
    const upstream = connect(targetPort, "127.0.0.1");
    const pair = { client, upstream, silent: false, downSilent: false, socket: false };
    pairs.add(pair);
    let first = true;
    client.on("data", (chunk) => {
      if (first) {
        first = false;
        const head = chunk.toString("latin1");
        if (/^upgrade:\s*websocket/im.test(head)) {
          proxy.stats.upgrades++;
          pair.socket = true;
          if (proxy.blockWebSockets) {
            proxy.stats.refusedUpgrades++;
            client.end("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            upstream.destroy();
            pairs.delete(pair);
            return;
          }
        }
      }
      if (!pair.silent) upstream.write(chunk);
    });
    upstream.on("data", (chunk) => {
      if (!pair.silent && !pair.downSilent) client.write(chunk);
    });
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end);
    upstream.on("close", end);
    client.on("error", end);
    upstream.on("error", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  proxy.port = typeof address === "object" && address ? address.port : 0;
  proxy.baseUrl = `http://127.0.0.1:${proxy.port}`;
  return proxy;
}

/** An unmasked, final WebSocket text frame (RFC 6455 §5.2), as a server sends it. */
function textFrame(text: string): Buffer {
  const payload = Buffer.from(text, "utf8");
  const length = payload.length;
  const head = length < 126 ? Buffer.from([0x81, length]) : Buffer.from([0x81, 126, length >> 8, length & 0xff]);
  if (length > 0xffff) throw new Error("frame too long for this helper");
  return Buffer.concat([head, payload]);
}
