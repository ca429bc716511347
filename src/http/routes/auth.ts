/**
 * @module http/routes/auth
 * Accounts and sessions: register, login, refresh, logout and me (docs/API.md, "Accounts").
 * A sign-in opens a session: a short-lived access token (`token`, carrying the session as
 * `sid`) and a refresh token that is traded for the next pair at `/auth/refresh`, once. Login
 * attempts are counted before the password is checked (src/db/users.ts), and so are the
 * current-password checks of a password change.
 */
import { Hono } from "hono";
import { signToken, type Identity } from "../../auth/jwt";
import { decoyPasswordHash, hashPassword, verifyPassword } from "../../auth/password";
import {
  changePassword,
  openSession,
  revokeSession,
  revokeUserSessions,
  rotateRefreshToken,
  sessionIsLive,
} from "../../db/sessions";
import {
  findUserByEmail,
  findUserById,
  forgetIdleLoginLimits,
  insertUser,
  loginKeys,
  loginSucceeded,
  reserveLoginAttempt,
  toUser,
  type UserRow,
} from "../../db/users";
import { ApiError, notFound, unauthorized } from "../../errors";
import {
  LoginBody,
  LogoutBody,
  PasswordChangeBody,
  RefreshBody,
  RegisterBody,
  type TokenPair,
} from "../../protocol/http";
import { securityNotification } from "../../notify/message";
import { notifyBehind } from "../../notify/producer";
import { errorReason } from "../../redact";
import { endSessionsOnSockets } from "../../rooms/session-end";
import { jwtSettings, requireAccount, requireUser } from "../auth-middleware";
import { bannedError } from "../ban-check";
import type { AppContext, AppEnv } from "../context";
import { newId } from "../../ids";
import { readBody, readOptionalBody } from "../validate";
import { meOf } from "./phone";
import { logJson } from "../../log";

export const authRoutes = new Hono<AppEnv>();

const identityOf = (row: UserRow): Identity => ({ userId: row.id, role: row.role, name: row.name });

/** An access token for the session, with the refresh token that continues it. */
async function tokenPair(
  c: AppContext,
  identity: Identity,
  sessionId: string,
  refreshToken: string,
  now: number,
): Promise<TokenPair> {
  const settings = jwtSettings(c);
  const token = await signToken(identity, settings, now, sessionId);
  // The token's own `exp` (whole seconds), so that the answer and the token agree.
  const expiresAt = (Math.floor(now / 1000) + settings.ttlSeconds) * 1000;
  return { token, expiresAt, expiresIn: settings.ttlSeconds, refreshToken };
}

async function signedIn(c: AppContext, row: UserRow): Promise<{ pair: TokenPair; sessionId: string }> {
  const now = Date.now();
  const session = await openSession(c.env, row.id, newId("ses"), now, c.get("config").REFRESH_TOKEN_TTL_SECONDS * 1000);
  return {
    pair: await tokenPair(c, identityOf(row), session.sessionId, session.refreshToken, now),
    sessionId: session.sessionId,
  };
}

authRoutes.post("/auth/register", async (c) => {
  const body = await readBody(c, RegisterBody);
  const row = {
    id: newId("usr"),
    email: body.email,
    name: body.name,
    role: body.role,
    passwordHash: await hashPassword(body.password),
    createdAt: Date.now(),
    bannedAt: null,
    banReason: null,
    phone: null,
    phoneVerifiedAt: null,
    lastSeenAt: null,
    lastSeenVisibility: "everyone" as const,
  };
  if (!(await insertUser(c.env.DB, row))) throw new ApiError(409, "email_taken", "an account with this email exists");
  return c.json({ user: toUser(row), ...(await signedIn(c, row)).pair }, 201);
});

/**
 * Counts one password check for this email and client against the login limits before it is
 * made; throws 429 while the limits say wait. Sign-ins and password changes share the counts, so
 * a stolen access token cannot guess the current password faster than a login form could.
 */
async function reservePasswordCheck(c: AppContext, email: string, now: number) {
  const config = c.get("config");
  const keys = loginKeys(email, c.req.header("CF-Connecting-IP") ?? "unknown");
  const windowMs = config.LOGIN_WINDOW_SECONDS * 1000;
  const wait = await reserveLoginAttempt(
    c.env.DB,
    keys,
    {
      windowMs,
      pairMax: config.LOGIN_MAX_FAILURES,
      ipMax: config.LOGIN_IP_MAX_FAILURES,
      emailFree: config.LOGIN_EMAIL_FREE_FAILURES,
      emailMaxDelayMs: config.LOGIN_EMAIL_MAX_DELAY_SECONDS * 1000,
    },
    now,
  );
  if (wait > 0) throw new ApiError(429, "rate_limited", "too many failed logins; try again later", undefined, wait);
  return { keys, windowMs };
}

authRoutes.post("/auth/login", async (c) => {
  const body = await readBody(c, LoginBody);
  const now = Date.now();
  const { keys, windowMs } = await reservePasswordCheck(c, body.email, now);

  const row = await findUserByEmail(c.env.DB, body.email);
  // Verify against a decoy when the account is missing, so timing does not reveal which emails exist.
  const valid = await verifyPassword(body.password, row?.passwordHash ?? (await decoyPasswordHash()));
  if (!row || !valid) {
    await forgetIdleLoginLimits(c.env.DB, windowMs, now);
    throw new ApiError(401, "invalid_credentials", "wrong email or password");
  }
  // Only after the password: the ban is nobody's business but the account holder's.
  if (row.bannedAt !== null) throw bannedError();
  await loginSucceeded(c.env.DB, keys);
  const { pair, sessionId } = await signedIn(c, row);
  // A notice of each sign-in by email (notify/routing.ts), keyed by its session: behind the answer.
  notifyBehind(
    c.executionCtx,
    c.env.NOTIFICATIONS,
    [securityNotification(row.id, "new_login", sessionId, now, c.req.header("CF-Connecting-IP") ?? null)],
    (err) => logJson("error", { where: "auth.login", reason: errorReason(err) }),
  );
  return c.json({ user: toUser(row), ...pair });
});

/** Trades a refresh token for a new pair. A reused (already rotated) token ends its whole session. */
authRoutes.post("/auth/refresh", async (c) => {
  const body = await readBody(c, RefreshBody);
  const now = Date.now();
  const rotation = await rotateRefreshToken(
    c.env,
    body.refreshToken,
    now,
    c.get("config").REFRESH_TOKEN_TTL_SECONDS * 1000,
  );
  if (rotation.outcome === "reused") {
    c.executionCtx.waitUntil(endSessionsOnSockets(c.env, rotation.userId, [rotation.sessionId]));
    throw unauthorized("this refresh token was used already; the session is ended, sign in again");
  }
  if (rotation.outcome === "invalid") throw unauthorized("invalid or expired refresh token; sign in again");
  const row = await findUserById(c.env.DB, rotation.userId);
  if (!row) throw unauthorized("invalid or expired refresh token; sign in again");
  if (row.bannedAt !== null) throw bannedError();
  return c.json({
    user: toUser(row),
    ...(await tokenPair(c, identityOf(row), rotation.sessionId, rotation.refreshToken, now)),
  });
});

/** Ends the caller's session (its refresh tokens stop working at once), or with `all` every one of theirs. */
authRoutes.post("/auth/logout", requireUser, async (c) => {
  const body = await readOptionalBody(c, LogoutBody);
  const { userId } = c.get("identity");
  const now = Date.now();
  const sessions = body.all
    ? await revokeUserSessions(c.env, userId, now, "logout (all sessions)")
    : (await revokeSession(c.env, userId, c.get("session").sid, now, "logout"))
      ? [c.get("session").sid]
      : [];
  if (sessions.length > 0) c.executionCtx.waitUntil(endSessionsOnSockets(c.env, userId, body.all ? "all" : sessions));
  return c.json({ revoked: sessions.length });
});

/**
 * Changes the caller's password: the current one is checked (counted as a login attempt), the
 * new one hashed as at registration, and every other session of the user ends with the change
 * (the caller's stays signed in). A security notice goes by email, and cannot be muted.
 */
authRoutes.post("/auth/password", requireUser, requireAccount, async (c) => {
  const body = await readBody(c, PasswordChangeBody);
  const { userId } = c.get("identity");
  const sessionId = c.get("session").sid;
  // An access token outlives its session by up to its TTL: one whose session was ended (a
  // logout, a stolen refresh token caught) must not change the password and end the others.
  if (!(await sessionIsLive(c.env, sessionId, userId))) throw unauthorized("this session has ended; sign in again");
  const row = await findUserById(c.env.DB, userId);
  if (!row) throw notFound("user not found");
  const now = Date.now();
  const { keys, windowMs } = await reservePasswordCheck(c, row.email, now);
  if (!(await verifyPassword(body.currentPassword, row.passwordHash))) {
    await forgetIdleLoginLimits(c.env.DB, windowMs, now);
    // 403, not 401: the access token is fine, and a client must not take this for a sign-out.
    throw new ApiError(403, "invalid_credentials", "the current password is wrong");
  }
  await loginSucceeded(c.env.DB, keys);
  const revoked = await changePassword(c.env, userId, await hashPassword(body.newPassword), sessionId, now);
  if (revoked.length > 0) c.executionCtx.waitUntil(endSessionsOnSockets(c.env, userId, revoked));
  const ip = c.req.header("CF-Connecting-IP") ?? null;
  notifyBehind(
    c.executionCtx,
    c.env.NOTIFICATIONS,
    [securityNotification(userId, "password_changed", `${sessionId}:${now}`, now, ip)],
    (err) => logJson("error", { where: "auth.password", reason: errorReason(err) }),
  );
  return c.json({ revoked: revoked.length });
});

authRoutes.get("/me", requireUser, async (c) => {
  const row = await findUserById(c.env.DB, c.get("identity").userId);
  if (!row) throw notFound("user not found");
  return c.json({ user: await meOf(c.env.DB, row) });
});
