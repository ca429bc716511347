/**
 * @module http/app
 * The Hono application: config, CORS, body limits, the routes under /v1, and the one error path
 * that turns every failure into docs/API.md's error body (never a stack, never a bare 500 for
 * bad input).
 */
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { loadConfig } from "../config";
import { ApiError } from "../errors";
import type { AppEnv } from "./context";
import { openApiDocument } from "./openapi";
import { originAllowed } from "./origin";
import { adminRoutes } from "./routes/admin";
import { attachmentRoutes } from "./routes/attachments";
import { uploadRoutes } from "./routes/uploads";
import { payoutRoutes } from "./routes/payouts";
import { errorReason } from "../redact";
import { logJson } from "../log";
import { metrics } from "../metrics";
import { flushMetricsIfDue } from "../metrics-flush";
import { newTraceId, traceIdFromTraceparent, traceparentOf, withTraceId } from "../trace";
import { limitAnonymous } from "./rate-limit";
import { readiness } from "./readiness";
import { shardRouter } from "../db/shards";
import { authRoutes } from "./routes/auth";
import { phoneRoutes } from "./routes/phone";
import { presenceRoutes } from "./routes/presence";
import { mapRoutes } from "./routes/map";
import { nearbyCarRoutes } from "./routes/nearby-cars";
import { placeRoutes } from "./routes/places";
import { blockRoutes } from "./routes/blocks";
import { directRoomRoutes } from "./routes/direct-rooms";
import { driverRoutes } from "./routes/drivers";
import { driverPhotoRoutes } from "./routes/driver-photos";
import { notificationRoutes } from "./routes/notifications";
import { opsRoutes } from "./routes/ops";
import { roomMemberRoutes } from "./routes/room-members";
import { roomRoutes } from "./routes/rooms";
import { serverRoutes } from "./routes/server-api";
import { shareRoutes } from "./routes/shares";
import { sosRoutes } from "./routes/sos";
import { tripRoutes } from "./routes/trips";
import { walletRoutes } from "./routes/wallet";

export const VERSION = "0.1.0";

export const app = new Hono<AppEnv>();

// First: every request gets a trace id (the caller's W3C traceparent, else a new one). The rest of
// the request runs inside it, so log lines and queue messages carry it (trace.ts); the answer
// names it in `traceparent` and `X-Trace-Id`, and an error body as `error.traceId`, including
// the errors a Durable Object answers on a forwarded request (stream, long poll, upgrade).
const httpRequests = metrics.counter("http_request");

app.use(async (c, next) => {
  const traceId = traceIdFromTraceparent(c.req.header("traceparent")) ?? newTraceId();
  c.set("traceId", traceId);
  httpRequests.add(1);
  await withTraceId(traceId, next);
  // This isolate's counts, every few seconds at most, behind the reply (src/metrics-flush.ts).
  const flush = flushMetricsIfDue(c.env);
  if (flush) c.executionCtx.waitUntil(flush);
  if (c.res.status === 101) return;
  // A Durable Object's answer has immutable headers: a copy (the body streams through) takes ours.
  const res = await withTraceInErrorBody(c.res, traceId);
  const traced = new Response(res.body, res);
  traced.headers.set("traceparent", traceparentOf(traceId));
  traced.headers.set("X-Trace-Id", traceId);
  c.res = undefined;
  c.res = traced;
});

/** An error body without `error.traceId` (a Durable Object's answer) gets it; anything else is passed on. */
async function withTraceInErrorBody(res: Response, traceId: string): Promise<Response> {
  if (res.status < 400 || !res.headers.get("Content-Type")?.startsWith("application/json")) return res;
  const text = await res.clone().text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return res;
  }
  if (typeof body !== "object" || body === null) return res;
  const error = (body as { error?: unknown }).error;
  if (typeof error !== "object" || error === null || "traceId" in error) return res;
  // A Durable Object's refusal: counted here, as the Worker's own are in errorBody.
  const code = (error as { code?: unknown }).code;
  metrics.count("error", typeof code === "string" ? code : "unknown");
  const headers = new Headers(res.headers);
  headers.delete("Content-Length");
  return new Response(JSON.stringify({ ...body, error: { ...error, traceId } }), {
    status: res.status,
    statusText: res.statusText,
    headers,
  });
}

app.use(async (c, next) => {
  c.set("config", loadConfig(c.env));
  // A bad SHARD_MAP fails every request with its reason, as a bad variable does, before any row
  // could be written to the wrong shard (the objects and the queue consumer check it on first use).
  shardRouter(c.env);
  await next();
});

// Browser apps on the allowed origins (ALLOWED_ORIGINS, as for sockets) may call the API and
// read its streams; other sites' pages may not read answers. WebSocket upgrades are left out:
// browsers apply no CORS to them (upgrade.ts checks their Origin), and a 101 is passed on as is.
const corsForAllowedOrigins = cors({
  origin: (origin, c: Context<AppEnv>) =>
    origin && originAllowed(origin, c.req.url, c.get("config").allowedOrigins) ? origin : null,
  allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
  allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key", "Last-Event-ID", "Cache-Control", "traceparent"],
  // ETag and Content-Range: what a PMTiles reader checks of a tile archive's ranges (routes/map.ts).
  exposeHeaders: ["Retry-After", "X-Trace-Id", "traceparent", "ETag", "Content-Range"],
  maxAge: 600,
});
app.use((c, next) =>
  c.req.header("Upgrade")?.toLowerCase() === "websocket" ? next() : corsForAllowedOrigins(c, next),
);

// An upload URL's PUT carries a file: its grant sets its limit (http/routes/uploads.ts), not MAX_BODY_BYTES.
const isUpload = (c: Context<AppEnv>) => c.req.method === "PUT" && c.req.path.startsWith("/v1/uploads/");

app.use(async (c, next) => {
  if (isUpload(c)) return next();
  const limit = bodyLimit({
    maxSize: c.get("config").MAX_BODY_BYTES,
    onError: () => {
      throw new ApiError(413, "payload_too_large", `bodies are limited to ${c.get("config").MAX_BODY_BYTES} bytes`);
    },
  });
  return limit(c, next);
});

// Per-IP limits for the routes nobody signs in to; signed-in routes are counted per user in requireUser.
app.use(limitAnonymous);

app.get("/health", (c) => c.json({ ok: true, version: VERSION }));
app.get("/health/ready", async (c) => {
  const ready = await readiness(c.env);
  return c.json({ ...ready, version: VERSION }, ready.ok ? 200 : 503);
});
app.get("/v1/openapi.json", (c) => c.json(openApiDocument(VERSION)));
app.route("/v1", authRoutes);
app.route("/v1", phoneRoutes);
app.route("/v1", roomRoutes);
app.route("/v1", roomMemberRoutes);
app.route("/v1", attachmentRoutes);
app.route("/v1", uploadRoutes);
app.route("/v1", directRoomRoutes);
app.route("/v1", blockRoutes);
app.route("/v1", presenceRoutes);
app.route("/v1", driverRoutes);
app.route("/v1", tripRoutes);
app.route("/v1", mapRoutes);
app.route("/v1", placeRoutes);
app.route("/v1", nearbyCarRoutes);
app.route("/v1", shareRoutes);
app.route("/v1", driverPhotoRoutes);
app.route("/v1", sosRoutes);
app.route("/v1", notificationRoutes);
app.route("/v1", walletRoutes);
app.route("/v1", payoutRoutes);
app.route("/v1", opsRoutes);
app.route("/v1", adminRoutes);
app.route("/v1", serverRoutes);

app.notFound((c) =>
  c.json(
    errorBody(c, new ApiError(404, "not_found", `no route for ${c.req.method} ${new URL(c.req.url).pathname}`)),
    404,
  ),
);

/** docs/API.md's error body, with the request's trace id. */
const errorBody = (c: Context<AppEnv>, err: ApiError) => {
  const body = err.toBody();
  metrics.count("error", body.error.code);
  return { error: { ...body.error, traceId: c.get("traceId") } };
};

app.onError((err, c) => {
  if (err instanceof ApiError) {
    if (err.retryAfter !== undefined) c.header("Retry-After", String(err.retryAfter));
    return c.json(errorBody(c, err), err.status);
  }
  if (err instanceof HTTPException && err.status < 500) {
    return c.json(errorBody(c, new ApiError(400, "invalid_request", err.message || "bad request")), 400);
  }
  logJson("error", { where: "worker", method: c.req.method, reason: errorReason(err) });
  return c.json(errorBody(c, new ApiError(500, "internal", "internal error")), 500);
});
