/**
 * @module http/auth-middleware
 * Authenticates the caller from `Authorization: Bearer`. A token in the URL
 * (`?access_token=`) is taken only by the GET routes that open a WebSocket, an SSE stream or a
 * long poll, because browsers cannot set headers on a socket or an EventSource; anywhere else a
 * token in a URL would end up in logs, histories and Referer headers for nothing.
 *
 * Plain requests trust the token's signature and expiry (a short one: ACCESS_TOKEN_TTL_SECONDS),
 * with no database read. Opening a socket or a stream, which may last, also checks that the
 * token's session (`sid`) has not been revoked (logout, a reused refresh token).
 */
import type { MiddlewareHandler } from "hono";
import { verifyAccessToken, type JwtSettings } from "../auth/jwt";
import { sessionIsLive } from "../db/sessions";
import { userExists } from "../db/users";
import { assertNotBanned } from "./ban-check";
import { forbidden, unauthorized } from "../errors";
import type { Role } from "../protocol/common";
import type { AppContext, AppEnv } from "./context";
import { limitCaller } from "./rate-limit";

export function jwtSettings(c: AppContext): JwtSettings {
  return c.get("config").jwt;
}

/** The GET routes that open a socket (`ws`), an SSE stream (`events`) or a long poll (`poll`). */
const STREAM_PATH =
  /^\/v1\/(?:(?:rooms|trips)\/[^/]+\/(?:ws|events|poll)|drivers\/me\/(?:ws|events)|ops\/alerts\/(?:ws|events))$/;

export function isStreamRoute(method: string, path: string): boolean {
  return method === "GET" && STREAM_PATH.test(path);
}

function tokenOf(c: AppContext): string | undefined {
  const header = c.req.header("Authorization");
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    return match?.[1];
  }
  return isStreamRoute(c.req.method, c.req.path) ? c.req.query("access_token") : undefined;
}

export const requireUser: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = tokenOf(c);
  if (!token) throw unauthorized();
  const grant = await verifyAccessToken(token, jwtSettings(c), Date.now());
  if (!grant) throw unauthorized();
  // A banned user's unexpired token is refused too (403 account_banned, which says more than
  // the 401 of the sessions a ban ends); see ban-check.ts.
  const accountExists = await assertNotBanned(
    c.env.DB,
    grant.identity.userId,
    c.get("config").BAN_CACHE_MS,
    Date.now(),
  );
  if (isStreamRoute(c.req.method, c.req.path) && !(await sessionIsLive(c.env, grant.sid, grant.identity.userId))) {
    throw unauthorized("this session has ended; sign in again");
  }
  c.set("identity", grant.identity);
  c.set("session", { sid: grant.sid, expiresAt: grant.expiresAt });
  c.set("accountExists", accountExists);
  await limitCaller(c);
  await next();
};

/**
 * After requireUser, on the routes that write the caller's id into D1, where a foreign key
 * wants an account behind it. A token stays valid after its account is gone (a database reset,
 * a secret shared between environments), and the write would fail as a 500; this answers 401
 * so that the client signs in again.
 */
export const requireAccount: MiddlewareHandler<AppEnv> = async (c, next) => {
  // The ban check's look at the account answers this; only when D1 did not answer is it asked again.
  const known = c.get("accountExists");
  if (known === false || (known === undefined && !(await userExists(c.env.DB, c.get("identity").userId))))
    throw unauthorized("the account of this token does not exist; sign in again");
  await next();
};

export function requireRole(role: Role): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.get("identity").role !== role) throw forbidden(`only ${role}s may do this`);
    await next();
  };
}
