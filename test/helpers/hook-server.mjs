// vitest globalSetup (runs in Node, outside workerd): a real HTTP server on 127.0.0.1 that
// stands in for webhook receivers and Web Push services. The Worker under test POSTs to it
// over real sockets; tests inside workerd script its answers and read what it received
// through a small control API, and find its port with `inject("hookPort")`.
//
//   POST /inbox/<key>     a delivery: recorded; answered with the next scripted status (201)
//   PUT  /script/<key>    body { statuses: [500, 500, 201] }: the answers to the next deliveries
//   GET  /received/<key>  the deliveries so far: [{ method, headers, body (base64), at }]
import { serveStandIn } from "./stand-in-server.mjs";

export default async function setup(project) {
  /**
   * @type {Map<string, { method: string, headers: Record<string, string | string[] | undefined>, body: string, at:
   * number }[]>}
   */
  const received = new Map();
  /** @type {Map<string, number[]>} */
  const scripts = new Map();

  const server = await serveStandIn(({ req, url, raw, reply }) => {
    const [, kind, key = ""] = url.pathname.split("/");
    if (kind === "inbox") {
      const list = received.get(key) ?? [];
      list.push({ method: req.method ?? "", headers: req.headers, body: raw.toString("base64"), at: Date.now() });
      received.set(key, list);
      return reply(scripts.get(key)?.shift() ?? 201);
    }
    if (kind === "script" && req.method === "PUT") {
      scripts.set(key, JSON.parse(raw.toString("utf8")).statuses);
      return reply(204);
    }
    if (kind === "received" && req.method === "GET") return reply(200, received.get(key) ?? []);
    return reply(404);
  });

  project.provide("hookPort", server.port);
  return server.close;
}
