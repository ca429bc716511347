// vitest globalSetup (runs in Node, outside workerd): a local stand-in for Twilio's Messages API
// (twilio.com/docs/messaging/api/message-resource#create-a-message-resource), so the SMS channel
// is tested over real HTTP without reaching the internet or spending money:
//
//   POST /2010-04-01/Accounts/<sid>/Messages.json
//                              HTTP basic auth with the account SID and auth token made here
//                              (else 401, Twilio's code 20003), the SID in the path the same one
//                              (else 404, 20404); a form-encoded body with `To`, `From` and `Body`
//                              (else 400, 21604 / 21603 / 21602); `To` in E.164 (else 400, 21211);
//                              `Body` at most 1600 characters (else 400, 21617). Answers 201 with
//                              the message resource { sid, to, from, body, status: "queued" }; or
//                              as scripted for the `To` number.
//   PUT  /test/script/<to>     the next answers for that number, in order: "unsubscribed" (400,
//                              21610: the number replied STOP), "too_many" (429, 20429,
//                              `Retry-After: <retryAfter>`), "internal" (500). Body { answers, retryAfter? }.
//   GET  /test/sent/<to>       every message accepted for that number: [{ sid, at, to, from, body }]
//
// The tests find it with inject("sms"): { baseUrl, accountSid, authToken }.
import { randomBytes } from "node:crypto";
import { scriptedAnswers, serveStandIn } from "./stand-in-server.mjs";

export default async function setup(project) {
  const accountSid = `AC${randomBytes(16).toString("hex")}`;
  const authToken = randomBytes(16).toString("hex");
  /** number -> messages accepted */
  const sent = new Map();
  const scripts = scriptedAnswers();

  const server = await serveStandIn((request) => {
    const { req, url, text, reply } = request;
    const error = (status, code, message, headers) =>
      reply(status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }, headers);

    if (scripts.handle(request)) return;
    const seen = /^\/test\/sent\/(.+)$/.exec(url.pathname);
    if (seen && req.method === "GET") return reply(200, sent.get(decodeURIComponent(seen[1])) ?? []);

    const send = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(url.pathname);
    if (!send || req.method !== "POST") return error(404, 20404, "The requested resource was not found");
    const expected = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString("base64")}`;
    if (req.headers.authorization !== expected) return error(401, 20003, "Authenticate");
    if (send[1] !== accountSid) return error(404, 20404, "The requested resource was not found");
    if (!(req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded"))
      return error(400, 21604, "A 'To' phone number is required.");
    const form = new URLSearchParams(text);
    const to = form.get("To");
    const from = form.get("From");
    const body = form.get("Body");
    if (!to) return error(400, 21604, "A 'To' phone number is required.");
    if (!from) return error(400, 21603, "A 'From' phone number is required.");
    if (!body) return error(400, 21602, "Message body is required.");
    if (!/^\+[1-9]\d{6,14}$/.test(to)) return error(400, 21211, `The 'To' number ${to} is not a valid phone number.`);
    if (body.length > 1600) return error(400, 21617, "The concatenated message body exceeds the 1600 character limit.");

    const next = scripts.next(to);
    if (next?.kind === "unsubscribed") return error(400, 21610, "Attempt to send to unsubscribed recipient");
    if (next?.kind === "too_many")
      return error(429, 20429, "Too Many Requests", { "Retry-After": String(next.retryAfter ?? 1) });
    if (next?.kind === "internal") return error(500, 20500, "Internal Server Error");

    const sid = `SM${randomBytes(16).toString("hex")}`;
    const message = { sid, at: Date.now(), to, from, body };
    sent.set(to, [...(sent.get(to) ?? []), message]);
    return reply(201, { sid, account_sid: accountSid, to, from, body, status: "queued", num_segments: "1" });
  });

  project.provide("sms", { baseUrl: server.baseUrl, accountSid, authToken });
  return server.close;
}
