// What every local stand-in of the worker tests shares (hook-server.mjs, stripe-server.mjs,
// fcm-server.mjs, email-server.mjs, sms-server.mjs): a real HTTP server on 127.0.0.1 and a free
// port, each request handed over once its body is read, JSON answers, and the scripted answers
// per recipient that a test sets with `PUT /test/script/<key>`. Runs in Node (vitest
// globalSetup), outside workerd.
import { createServer } from "node:http";

/**
 * Serves `handle` on 127.0.0.1 at a free port. `handle({ req, res, url, raw, text, reply })` is
 * called once the request's body is read: `raw` its bytes, `text` the same as UTF-8, and
 * `reply(status, body?, headers?)` answers `body` as JSON (with `contentType` and the headers
 * `headers()` gives for every answer), or an empty answer without a type when `body` is left out.
 * Resolves to `{ baseUrl, port, close }`; `close()` stops the server (globalSetup's teardown).
 */
export async function serveStandIn(handle, { contentType = "application/json", headers = () => ({}) } = {}) {
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      const url = new URL(req.url ?? "/", "http://stand-in.test");
      const reply = (status, body, extra = {}) => {
        if (body === undefined) {
          res.writeHead(status, extra);
          res.end();
          return;
        }
        res.writeHead(status, { "Content-Type": contentType, ...headers(), ...extra });
        res.end(JSON.stringify(body));
      };
      handle({ req, res, url, raw, text: raw.toString("utf8"), reply });
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/**
 * The answers a test scripted per recipient (a phone number, an address, a registration token):
 * `PUT /test/script/<key>` with `{ answers: [kind, ...], retryAfter? }` queues them, and `next(key)`
 * takes the first one still to give as `{ kind, retryAfter }` (undefined once they ran out: the
 * stand-in answers normally).
 */
export function scriptedAnswers() {
  /** key -> answers still to give */
  const scripts = new Map();
  return {
    /** Takes a `PUT /test/script/<key>` (answering 204); false for any other request. */
    handle({ req, url, text, reply }) {
      const script = /^\/test\/script\/(.+)$/.exec(url.pathname);
      if (!script || req.method !== "PUT") return false;
      const { answers, retryAfter } = JSON.parse(text);
      scripts.set(
        decodeURIComponent(script[1]),
        answers.map((kind) => ({ kind, retryAfter })),
      );
      reply(204);
      return true;
    },
    next: (key) => scripts.get(key)?.shift(),
  };
}
