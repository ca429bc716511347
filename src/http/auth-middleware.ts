/**
 * @module http/auth-middleware
 * Authenticates the caller from `Authorization: Bearer`, or, for WebSocket upgrades, SSE
 * streams and long polls (browsers cannot set headers on a socket or an EventSource), from
 * `?access_token=`.
 */
import type { MiddlewareHandler } from "hono";
import { verifyToken } from "../auth/jwt";
import { userExists } from "../db/users";
import { assertNotBanned } from "./ban-check";
import { forbidden, unauthorized } from "../errors";
import type { Role } from "../protocol/common";
import type { AppContext, AppEnv } from "./context";

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
  // A banned user's unexpired token is refused too (403 account_banned); see ban-check.ts.
  await assertNotBanned(c.env.DB, identity.userId, c.get("config").BAN_CACHE_MS, Date.now());
  c.set("identity", identity);
  await next();
};

/**
 * After requireUser, on the routes that write the caller's id into D1, where a foreign key
 * wants an account behind it. A token stays valid after its account is gone (a database reset,
 * a secret shared between environments), and the write would fail as a 500; this answers 401
 * so that the client signs in again.
 */
export const requireAccount: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!(await userExists(c.env.DB, c.get("identity").userId))) throw unauthorized("the account of this token does not exist; sign in again");
  await next();
};

export function requireRole(role: Role): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.get("identity").role !== role) throw forbidden(`only ${role}s may do this`);
    await next();
  };
}
