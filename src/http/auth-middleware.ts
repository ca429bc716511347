/**
 * @module http/auth-middleware
 * Authenticates the caller from `Authorization: Bearer`, or, for WebSocket upgrades, SSE
 * streams and long polls (browsers cannot set headers on a socket or an EventSource), from
 * `?access_token=`.
 */
import type { MiddlewareHandler } from "hono";
import { verifyToken } from "../auth/jwt";
import { forbidden, unauthorized } from "../errors";
import type { Role } from "../protocol/common";
import type { AppContext, AppEnv } from "./context";
import { limitCaller } from "./rate-limit";

export function jwtSettings(c: AppContext) {
  const config = c.get("config");
  return { secret: config.JWT_SECRET, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, ttlSeconds: config.TOKEN_TTL_SECONDS };
}

/** The SSE and long-poll routes: a token in the query is accepted there as on socket upgrades. */
const FALLBACK_PATH = /^\/v1\/(rooms|trips)\/[^/]+\/(events|poll)$/;

function tokenOf(c: AppContext): string | undefined {
  const header = c.req.header("Authorization");
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    return match?.[1];
  }
  // The fallbacks are for clients that cannot do what a socket does; they authenticate alike.
  const fallback = c.req.method === "GET" && FALLBACK_PATH.test(c.req.path);
  const streaming = c.req.header("Upgrade")?.toLowerCase() === "websocket" || c.req.header("Accept")?.includes("text/event-stream") || fallback;
  return streaming ? c.req.query("access_token") : undefined;
}

export const requireUser: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = tokenOf(c);
  if (!token) throw unauthorized();
  const identity = await verifyToken(token, jwtSettings(c), Date.now());
  if (!identity) throw unauthorized();
  c.set("identity", identity);
  await limitCaller(c);
  await next();
};

export function requireRole(role: Role): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.get("identity").role !== role) throw forbidden(`only ${role}s may do this`);
    await next();
  };
}
