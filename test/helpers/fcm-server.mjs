// vitest globalSetup (runs in Node, outside workerd): a local stand-in for the two Google
// endpoints the FCM channel uses, answering as Google documents them, so the channel is tested
// over real HTTP with real RS256 signatures and without reaching the internet:
//
//   POST /token                  OAuth 2.0 JWT bearer grant (RFC 7523), as oauth2.googleapis.com
//                                answers it: form `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`
//                                and `assertion=<JWT>`. The JWT must be RS256 and verify with the
//                                public half of the key pair made here; `iss` a service account of
//                                the test project, `aud` this endpoint, `scope` FCM's, `exp` in the
//                                future and at most an hour after `iat`. Answers
//                                { access_token, expires_in: 3600, token_type: "Bearer" }, or
//                                400 { error: "invalid_grant", error_description }.
//   POST /v1/projects/<project>/messages:send
//                                FCM HTTP v1 (firebase.google.com/docs/reference/fcm/rest/v1/projects.messages/send):
//                                `Authorization: Bearer <access token>` issued above and not
//                                revoked, else 401 UNAUTHENTICATED; the body is checked as FCM
//                                checks it (string `data` values, a `ttl` duration, APNs header
//                                strings, 4096 bytes of notification + data) and the message is
//                                answered { name }, or as scripted for its registration token.
//   PUT  /test/script/<token>    the next answers for that registration token, in order:
//                                "unregistered" (404 UNREGISTERED), "invalid_token" (400
//                                INVALID_ARGUMENT about message.token), "quota" (429
//                                QUOTA_EXCEEDED with `Retry-After: <retryAfter>`), "internal"
//                                (500), "unavailable" (503), "unauthenticated" (revokes the
//                                access token presented and answers 401). Body { answers, retryAfter? }.
//   GET  /test/sends/<token>     every send for that token: [{ status, at, accessToken, message }]
//   GET  /test/exchanges/<iss>   how many access tokens were issued to that service account
//
// The tests find it with inject("fcm"): { baseUrl, projectId, serviceAccount } (the JSON key
// the Worker's FCM_SERVICE_ACCOUNT holds).
import { createPublicKey, generateKeyPairSync, randomBytes, verify } from "node:crypto";
import { scriptedAnswers, serveStandIn } from "./stand-in-server.mjs";

const PROJECT_ID = "ridewire-test";
const ACCOUNT_DOMAIN = `@${PROJECT_ID}.iam.gserviceaccount.com`;
const SCOPE = "https://www.googleapis.com/auth/firebase.messaging";
const GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const TOKEN_LIFETIME_SECONDS = 3600;

export default async function setup(project) {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const verifyKey = createPublicKey(publicKey.export({ type: "spki", format: "pem" }));
  /** access token -> { iss, expiresAt, revoked } */
  const accessTokens = new Map();
  /** iss -> number of tokens issued */
  const exchanges = new Map();
  const scripts = scriptedAnswers();
  /** registration token -> sends seen */
  const sends = new Map();
  let baseUrl = "";

  const server = await serveStandIn(
    (request) => {
      const { req, url, text, reply } = request;
      const rpcError = (code, status, message, details = [], headers = {}) =>
        reply(code, { error: { code, message, status, details } }, headers);
      const fcmError = (errorCode) => ({ "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", errorCode });

      if (scripts.handle(request)) return;
      const seen = /^\/test\/sends\/(.+)$/.exec(url.pathname);
      if (seen && req.method === "GET") return reply(200, sends.get(decodeURIComponent(seen[1])) ?? []);
      const issued = /^\/test\/exchanges\/(.+)$/.exec(url.pathname);
      if (issued && req.method === "GET")
        return reply(200, { count: exchanges.get(decodeURIComponent(issued[1])) ?? 0 });

      if (url.pathname === "/token" && req.method === "POST") {
        const form = new URLSearchParams(text);
        const grantError = (description) => reply(400, { error: "invalid_grant", error_description: description });
        if (form.get("grant_type") !== GRANT_TYPE)
          return reply(400, { error: "unsupported_grant_type", error_description: "Invalid grant_type" });
        const parts = (form.get("assertion") ?? "").split(".");
        if (parts.length !== 3) return grantError("Invalid JWT: not three segments");
        const [h, c, s] = parts;
        let header;
        let claims;
        try {
          header = JSON.parse(Buffer.from(h, "base64url").toString("utf8"));
          claims = JSON.parse(Buffer.from(c, "base64url").toString("utf8"));
        } catch {
          return grantError("Invalid JWT: not JSON");
        }
        if (header.alg !== "RS256") return grantError("Invalid JWT: alg must be RS256");
        if (!verify("sha256", Buffer.from(`${h}.${c}`), verifyKey, Buffer.from(s, "base64url")))
          return grantError("Invalid JWT Signature.");
        const now = Math.floor(Date.now() / 1000);
        if (typeof claims.iss !== "string" || !claims.iss.endsWith(ACCOUNT_DOMAIN))
          return grantError("Invalid issuer: no such service account");
        if (claims.aud !== `${baseUrl}/token`) return grantError("Invalid JWT: aud must be the token endpoint");
        if (typeof claims.scope !== "string" || !claims.scope.split(" ").includes(SCOPE))
          return reply(400, { error: "invalid_scope", error_description: "FCM's scope is missing" });
        if (!Number.isInteger(claims.iat) || !Number.isInteger(claims.exp)) return grantError("Invalid JWT: iat/exp");
        if (claims.exp <= now)
          return grantError("Invalid JWT: Token must be a short-lived token and in a reasonable timeframe");
        if (claims.exp - claims.iat > 3600 || claims.iat > now + 60)
          return grantError(
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe",
          );
        const accessToken = `ya29.${randomBytes(24).toString("base64url")}`;
        accessTokens.set(accessToken, {
          iss: claims.iss,
          expiresAt: Date.now() + TOKEN_LIFETIME_SECONDS * 1000,
          revoked: false,
        });
        exchanges.set(claims.iss, (exchanges.get(claims.iss) ?? 0) + 1);
        return reply(200, { access_token: accessToken, expires_in: TOKEN_LIFETIME_SECONDS, token_type: "Bearer" });
      }

      const send = /^\/v1\/projects\/([^/]+)\/messages:send$/.exec(url.pathname);
      if (send && req.method === "POST") {
        const presented = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
        const grant = presented ? accessTokens.get(presented) : undefined;
        let body;
        try {
          body = JSON.parse(text);
        } catch {
          return rpcError(400, "INVALID_ARGUMENT", "Invalid JSON payload received.");
        }
        const message = body?.message;
        const token = typeof message?.token === "string" ? message.token : "";
        const record = (status) => {
          const list = sends.get(token) ?? [];
          list.push({ status, at: Date.now(), accessToken: presented ?? null, message });
          sends.set(token, list);
        };
        if (!grant || grant.revoked || grant.expiresAt <= Date.now()) {
          record(401);
          return rpcError(
            401,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token.",
          );
        }
        if (send[1] !== PROJECT_ID) {
          record(403);
          return rpcError(403, "PERMISSION_DENIED", "Permission 'cloudmessaging.messages.create' denied");
        }
        const violation = invalidField(message);
        if (violation) {
          record(400);
          return rpcError(400, "INVALID_ARGUMENT", `Invalid value at '${violation}'`, [
            fcmError("INVALID_ARGUMENT"),
            { "@type": "type.googleapis.com/google.rpc.BadRequest", fieldViolations: [{ field: violation }] },
          ]);
        }
        const next = scripts.next(token);
        switch (next?.kind) {
          case "unregistered":
            record(404);
            return rpcError(404, "NOT_FOUND", "Requested entity was not found.", [fcmError("UNREGISTERED")]);
          case "invalid_token":
            record(400);
            return rpcError(400, "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token", [
              fcmError("INVALID_ARGUMENT"),
              {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                fieldViolations: [{ field: "message.token", description: "Invalid registration token" }],
              },
            ]);
          case "quota":
            record(429);
            return rpcError(
              429,
              "RESOURCE_EXHAUSTED",
              "Quota exceeded for quota metric 'Send requests'",
              [fcmError("QUOTA_EXCEEDED")],
              { "Retry-After": String(next.retryAfter ?? 60) },
            );
          case "internal":
            record(500);
            return rpcError(500, "INTERNAL", "Internal error encountered.", [fcmError("INTERNAL")]);
          case "unavailable":
            record(503);
            return rpcError(503, "UNAVAILABLE", "The service is currently unavailable.", [fcmError("UNAVAILABLE")]);
          case "unauthenticated":
            grant.revoked = true;
            record(401);
            return rpcError(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.");
          default:
            record(200);
            return reply(200, { name: `projects/${PROJECT_ID}/messages/${randomBytes(8).toString("hex")}` });
        }
      }
      return rpcError(404, "NOT_FOUND", `No route: ${req.method} ${url.pathname}`);
    },
    { contentType: "application/json; charset=UTF-8" },
  );
  baseUrl = server.baseUrl;
  const serviceAccount = {
    type: "service_account",
    project_id: PROJECT_ID,
    private_key_id: randomBytes(20).toString("hex"),
    private_key: privateKey.export({ type: "pkcs8", format: "pem" }),
    client_email: `ridewire-push${ACCOUNT_DOMAIN}`,
    client_id: "100000000000000000000",
    token_uri: `${baseUrl}/token`,
  };
  project.provide("fcm", { baseUrl, projectId: PROJECT_ID, serviceAccount: JSON.stringify(serviceAccount) });

  return server.close;
}

/** The first field FCM would refuse in `message`, or null (the checks FCM's v1 API makes on what ridewire sends). */
function invalidField(message) {
  if (!message || typeof message !== "object") return "message";
  if (typeof message.token !== "string" || message.token.length === 0) return "message.token";
  for (const [key, value] of Object.entries(message.data ?? {})) {
    if (typeof value !== "string") return `message.data[${key}]`;
    if (key === "from" || key === "notification" || key === "message_type" || /^(google|gcm)/.test(key))
      return `message.data[${key}]`;
  }
  const android = message.android ?? {};
  if (android.priority !== undefined && !["NORMAL", "HIGH"].includes(android.priority))
    return "message.android.priority";
  if (android.ttl !== undefined && !/^\d+(\.\d{1,9})?s$/.test(android.ttl)) return "message.android.ttl";
  for (const [name, value] of Object.entries(message.apns?.headers ?? {}))
    if (typeof value !== "string") return `message.apns.headers[${name}]`;
  const size = Buffer.byteLength(
    JSON.stringify({ notification: message.notification ?? {}, data: message.data ?? {} }),
  );
  if (size > 4096) return "message";
  return null;
}
