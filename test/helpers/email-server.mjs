// vitest globalSetup (runs in Node, outside workerd): a local stand-in for Resend's send-email
// endpoint (resend.com/docs/api-reference/emails/send-email), so the email channel is tested over
// real HTTP without reaching the internet. It checks what Resend checks of ridewire's requests:
//
//   POST /emails               `Authorization: Bearer <the key made here>` (else 401
//                              missing_api_key / 403 invalid_api_key), a JSON body with `from`, `to`
//                              (a string or an array of at most 50 addresses), `subject`, and
//                              `html` or `text` (else 422 validation_error). Answers 200 { id }. An
//                              `Idempotency-Key` seen before answers the first send's id and sends
//                              nothing again (Resend keeps keys for 24 hours); or as scripted for
//                              the first recipient.
//   PUT  /test/script/<to>     the next answers for that address, in order: "rate_limited" (429
//                              rate_limit_exceeded, `Retry-After: <retryAfter>`), "internal" (500),
//                              "invalid" (422 validation_error). Body { answers, retryAfter? }.
//   GET  /test/sent/<to>       every email accepted for that address:
//                              [{ id, at, from, to, subject, text, html, idempotencyKey }]
//
// The tests find it with inject("email"): { baseUrl, apiKey }.
import { randomBytes, randomUUID } from "node:crypto";
import { scriptedAnswers, serveStandIn } from "./stand-in-server.mjs";

export default async function setup(project) {
  const apiKey = `re_test_${randomBytes(16).toString("hex")}`;
  /** address -> emails accepted */
  const sent = new Map();
  const scripts = scriptedAnswers();
  /** idempotency key -> id of the email it sent */
  const keys = new Map();

  const server = await serveStandIn((request) => {
    const { req, url, text, reply } = request;
    const error = (statusCode, name, message, headers) => reply(statusCode, { statusCode, name, message }, headers);

    if (scripts.handle(request)) return;
    const seen = /^\/test\/sent\/(.+)$/.exec(url.pathname);
    if (seen && req.method === "GET") return reply(200, sent.get(decodeURIComponent(seen[1])) ?? []);

    if (url.pathname !== "/emails" || req.method !== "POST") return error(404, "not_found", "no such route");
    const auth = req.headers.authorization ?? "";
    if (!auth.startsWith("Bearer "))
      return error(401, "missing_api_key", "Missing API key in the authorization header");
    if (auth.slice(7) !== apiKey) return error(403, "invalid_api_key", "API key is invalid");
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      return error(422, "validation_error", "Invalid JSON body");
    }
    const to = typeof body?.to === "string" ? [body.to] : body?.to;
    if (typeof body?.from !== "string" || !body.from) return error(422, "validation_error", "Missing `from` field.");
    if (!Array.isArray(to) || to.length === 0 || to.length > 50 || !to.every((a) => typeof a === "string"))
      return error(422, "validation_error", "Invalid `to` field.");
    if (typeof body.subject !== "string" || !body.subject)
      return error(422, "validation_error", "Missing `subject` field.");
    if (typeof body.html !== "string" && typeof body.text !== "string")
      return error(422, "validation_error", "Missing `html` or `text` field.");

    const idempotencyKey = req.headers["idempotency-key"] ?? null;
    if (idempotencyKey && keys.has(idempotencyKey)) return reply(200, { id: keys.get(idempotencyKey) });
    const next = scripts.next(to[0]);
    if (next?.kind === "rate_limited")
      return error(429, "rate_limit_exceeded", "Too many requests", { "Retry-After": String(next.retryAfter ?? 1) });
    if (next?.kind === "internal") return error(500, "internal_server_error", "An unexpected error occurred");
    if (next?.kind === "invalid") return error(422, "validation_error", "Invalid `to` field.");

    const id = randomUUID();
    if (idempotencyKey) keys.set(idempotencyKey, id);
    const email = {
      id,
      at: Date.now(),
      from: body.from,
      to,
      subject: body.subject,
      text: body.text,
      html: body.html,
      idempotencyKey,
    };
    for (const address of to) sent.set(address, [...(sent.get(address) ?? []), email]);
    return reply(200, { id });
  });

  project.provide("email", { baseUrl: server.baseUrl, apiKey });
  return server.close;
}
