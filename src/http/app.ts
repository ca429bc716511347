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
import { limitAnonymous } from "./rate-limit";
import { authRoutes } from "./routes/auth";
import { phoneRoutes } from "./routes/phone";
import { presenceRoutes } from "./routes/presence";
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

app.use(async (c, next) => {
  c.set("config", loadConfig(c.env));
  await next();
});

// Browser apps on the allowed origins (ALLOWED_ORIGINS, as for sockets) may call the API and
// read its streams; other sites' pages may not read answers. WebSocket upgrades are left out:
// browsers apply no CORS to them (upgrade.ts checks their Origin), and a 101 is passed on as is.
const corsForAllowedOrigins = cors({
  origin: (origin, c: Context<AppEnv>) =>
    origin && originAllowed(origin, c.req.url, c.get("config").allowedOrigins) ? origin : null,
  allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
  allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key", "Last-Event-ID", "Cache-Control"],
  exposeHeaders: ["Retry-After"],
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
  c.json(new ApiError(404, "not_found", `no route for ${c.req.method} ${new URL(c.req.url).pathname}`).toBody(), 404),
);

app.onError((err, c) => {
  if (err instanceof ApiError) {
    if (err.retryAfter !== undefined) c.header("Retry-After", String(err.retryAfter));
    return c.json(err.toBody(), err.status);
  }
  if (err instanceof HTTPException && err.status < 500) {
    return c.json(new ApiError(400, "invalid_request", err.message || "bad request").toBody(), 400);
  }
  console.error(
    JSON.stringify({
      level: "error",
      where: "worker",
      method: c.req.method,
      reason: errorReason(err),
    }),
  );
  return c.json(new ApiError(500, "internal", "internal error").toBody(), 500);
});
