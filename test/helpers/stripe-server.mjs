// vitest globalSetup (runs in Node, outside workerd): a local stand-in for the parts of
// Stripe's API that ridewire uses, answering as Stripe documents them, so the `stripe` payment
// provider is tested over real HTTP without reaching the internet:
//
//   POST /v1/payment_intents     form-encoded, `Authorization: Bearer <secret key>`; answers a
//                                PaymentIntent (status requires_payment_method, client_secret,
//                                metadata). An `Idempotency-Key` seen before replays the first
//                                answer (`Idempotent-Replayed: true`), or 400 idempotency_error
//                                when the parameters differ (https://docs.stripe.com/api/idempotent_requests).
//   POST /test/pay/<pi id>       what a customer confirming the payment would cause: answers
//                                { payload, signature }, the `payment_intent.succeeded` event
//                                and its `Stripe-Signature` header, signed as Stripe signs
//                                webhooks (https://docs.stripe.com/webhooks#verify-manually):
//                                t=<unix s>,v1=hex(HMAC-SHA256(whsec, "<t>.<payload>")).
//                                `?outcome=failed` gives `payment_intent.payment_failed`.
//   POST /v1/transfers           a Connect transfer (amount, currency, destination, metadata):
//                                answers a Transfer (`tr_…`), or 400 when the destination is not
//                                a connected account; Idempotency-Key as above.
//   GET  /v1/transfers?transfer_group=<group>   the transfers of that group: { object: "list", data }.
//   GET  /v1/accounts/<acct id>  a connected account of the platform, or 404 resource_missing.
//   POST /test/accounts          makes a connected account (what Connect onboarding would): { id }.
//   POST /test/transfers/lose-answer?destination=A   the next transfer to A is made (and its answer kept for its
//                                Idempotency-Key) but this request is answered 500, as when the
//                                answer is lost on the way: the caller cannot know it was made.
//   POST /test/idempotency/forget?key=K   forgets that Idempotency-Key, as Stripe does after 24 hours.
//   POST /test/transfers/outage?destination=A&times=N  the next N transfers to A are answered 503
//                                and not made.
//   GET  /test/requests          every API request so far: [{ method, path, query, headers, form }]
//
// The tests find it with inject("stripe"): { baseUrl, secretKey, webhookSecret }.
import { createHmac, randomBytes } from "node:crypto";
import { serveStandIn } from "./stand-in-server.mjs";

const SECRET_KEY = `sk_test_${randomBytes(12).toString("hex")}`;
const WEBHOOK_SECRET = `whsec_${randomBytes(16).toString("base64url")}`;
const API_VERSION = "2025-08-27.basil";

export default async function setup(project) {
  /** @type {Map<string, any>} */
  const intents = new Map();
  /** @type {Map<string, { params: string, status: number, body: any }>} */
  const idempotent = new Map();
  const requests = [];
  /** Connected accounts, and the transfers made to them. */
  const accounts = new Set();
  const transfers = new Map();
  /** Per destination account: lose the next transfer's answer; refuse the next N transfers with 503. */
  const loseAnswerFor = new Set();
  const outagesFor = new Map();

  const server = await serveStandIn(
    ({ req, url, text, reply }) => {
      const stripeError = (status, type, message, code) =>
        reply(status, { error: { type, message, ...(code ? { code } : {}) } });

      if (url.pathname === "/test/requests" && req.method === "GET") return reply(200, requests);
      if (url.pathname === "/test/accounts" && req.method === "POST") {
        const id = `acct_${randomBytes(8).toString("hex")}`;
        accounts.add(id);
        return reply(200, { id });
      }
      if (url.pathname === "/test/transfers/lose-answer" && req.method === "POST") {
        loseAnswerFor.add(url.searchParams.get("destination"));
        return reply(200, { ok: true });
      }
      if (url.pathname === "/test/idempotency/forget" && req.method === "POST") {
        idempotent.delete(url.searchParams.get("key") ?? "");
        return reply(200, { ok: true });
      }
      if (url.pathname === "/test/transfers/outage" && req.method === "POST") {
        outagesFor.set(url.searchParams.get("destination"), Number(url.searchParams.get("times") ?? "1"));
        return reply(200, { ok: true });
      }
      const pay = /^\/test\/pay\/([\w]+)$/.exec(url.pathname);
      if (pay && req.method === "POST") {
        const intent = intents.get(pay[1]);
        if (!intent)
          return stripeError(404, "invalid_request_error", `No such payment_intent: '${pay[1]}'`, "resource_missing");
        const failed = url.searchParams.get("outcome") === "failed";
        const object = failed
          ? {
              ...intent,
              status: "requires_payment_method",
              last_payment_error: { code: "card_declined", message: "Your card was declined." },
            }
          : { ...intent, status: "succeeded", amount_received: intent.amount };
        intents.set(intent.id, object);
        const event = {
          id: `evt_${randomBytes(12).toString("hex")}`,
          object: "event",
          api_version: API_VERSION,
          created: Math.floor(Date.now() / 1000),
          livemode: false,
          pending_webhooks: 1,
          type: failed ? "payment_intent.payment_failed" : "payment_intent.succeeded",
          data: { object },
        };
        const payload = JSON.stringify(event, null, 2);
        return reply(200, { payload, signature: sign(payload, Math.floor(Date.now() / 1000)) });
      }

      // The API itself.
      const form = Object.fromEntries(new URLSearchParams(text));
      requests.push({
        method: req.method,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        form,
      });
      if (req.headers.authorization !== `Bearer ${SECRET_KEY}`)
        return stripeError(401, "invalid_request_error", "Invalid API Key provided");
      const account = /^\/v1\/accounts\/([\w]+)$/.exec(url.pathname);
      if (account && req.method === "GET") {
        if (!accounts.has(account[1]))
          return stripeError(404, "invalid_request_error", `No such account: '${account[1]}'`, "resource_missing");
        return reply(200, { id: account[1], object: "account", type: "express", payouts_enabled: true });
      }
      if (url.pathname === "/v1/transfers" && req.method === "GET") {
        const group = url.searchParams.get("transfer_group");
        const data = [...transfers.values()].filter((t) => group === null || t.transfer_group === group);
        return reply(200, { object: "list", data, has_more: false, url: "/v1/transfers" });
      }
      const isTransfer = url.pathname === "/v1/transfers" && req.method === "POST";
      if (!isTransfer && (url.pathname !== "/v1/payment_intents" || req.method !== "POST"))
        return stripeError(404, "invalid_request_error", `Unrecognized request URL (${req.method}: ${url.pathname})`);
      const key = req.headers["idempotency-key"];
      if (typeof key === "string") {
        const seen = idempotent.get(key);
        if (seen && seen.params !== text) {
          return stripeError(
            400,
            "idempotency_error",
            "Keys for idempotent requests can only be used with the same parameters they were first used with.",
          );
        }
        if (seen) return reply(seen.status, seen.body, { "Idempotent-Replayed": "true" });
      }
      if (isTransfer) return transfer(form, typeof key === "string" ? key : undefined, text, reply, stripeError);
      const amount = Number(form.amount);
      if (!Number.isInteger(amount) || amount < 50)
        return stripeError(400, "invalid_request_error", "Amount must be at least $0.50 usd", "amount_too_small");
      if (!/^[a-z]{3}$/.test(form.currency ?? ""))
        return stripeError(400, "invalid_request_error", "Invalid currency", "parameter_invalid_empty");
      const id = `pi_${randomBytes(12).toString("hex")}`;
      const metadata = {};
      for (const [name, value] of Object.entries(form)) {
        const m = /^metadata\[(.+)\]$/.exec(name);
        if (m) metadata[m[1]] = value;
      }
      const intent = {
        id,
        object: "payment_intent",
        amount,
        amount_received: 0,
        currency: form.currency,
        status: "requires_payment_method",
        client_secret: `${id}_secret_${randomBytes(12).toString("hex")}`,
        description: form.description ?? null,
        metadata,
        livemode: false,
        created: Math.floor(Date.now() / 1000),
      };
      intents.set(id, intent);
      if (typeof key === "string") idempotent.set(key, { params: text, status: 200, body: intent });
      return reply(200, intent);
    },
    { headers: () => ({ "Request-Id": `req_${randomBytes(6).toString("hex")}` }) },
  );

  function transfer(form, key, text, reply, stripeError) {
    // No answer saved: Stripe keeps no idempotent result for a request it did not execute.
    const outages = outagesFor.get(form.destination) ?? 0;
    if (outages > 0) {
      outagesFor.set(form.destination, outages - 1);
      return stripeError(503, "api_error", "Stripe is temporarily unavailable");
    }
    const amount = Number(form.amount);
    if (!Number.isInteger(amount) || amount < 1)
      return stripeError(400, "invalid_request_error", "Invalid positive integer", "parameter_invalid_integer");
    if (!/^[a-z]{3}$/.test(form.currency ?? ""))
      return stripeError(400, "invalid_request_error", "Invalid currency", "parameter_invalid_empty");
    if (!accounts.has(form.destination ?? "")) {
      const body = { error: { type: "invalid_request_error", message: `No such destination: '${form.destination}'` } };
      if (key) idempotent.set(key, { params: text, status: 400, body });
      return reply(400, body);
    }
    const metadata = {};
    for (const [name, value] of Object.entries(form)) {
      const m = /^metadata\[(.+)\]$/.exec(name);
      if (m) metadata[m[1]] = value;
    }
    const made = {
      id: `tr_${randomBytes(12).toString("hex")}`,
      object: "transfer",
      amount,
      currency: form.currency,
      destination: form.destination,
      transfer_group: form.transfer_group ?? null,
      description: form.description ?? null,
      metadata,
      reversed: false,
      livemode: false,
      created: Math.floor(Date.now() / 1000),
    };
    transfers.set(made.id, made);
    if (key) idempotent.set(key, { params: text, status: 200, body: made });
    if (loseAnswerFor.delete(form.destination)) {
      return stripeError(500, "api_error", "the answer was lost on the way");
    }
    return reply(200, made);
  }

  function sign(payload, timestamp) {
    const v1 = createHmac("sha256", WEBHOOK_SECRET).update(`${timestamp}.${payload}`).digest("hex");
    return `t=${timestamp},v1=${v1}`;
  }

  project.provide("stripe", { baseUrl: server.baseUrl, secretKey: SECRET_KEY, webhookSecret: WEBHOOK_SECRET });
  return server.close;
}
