/**
 * @module http/routes/auth
 * register, login and me (API.md). Login failures are counted per email and per client IP;
 * past the limit the answer is 429 with `Retry-After` until the window has moved on.
 */
import { Hono } from "hono";
import { signToken, type Identity } from "../../auth/jwt";
import { decoyPasswordHash, hashPassword, verifyPassword } from "../../auth/password";
import { clearLoginFailures, findUserByEmail, findUserById, insertUser, loginLockedFor, normaliseEmail, recordLoginFailure, toUser } from "../../db/users";
import { ApiError, notFound } from "../../errors";
import { LoginBody, RegisterBody } from "../../protocol/http";
import { requireUser, jwtSettings } from "../auth-middleware";
import { bannedError } from "../ban-check";
import type { AppContext, AppEnv } from "../context";
import { newId, readBody } from "../validate";
import { ratingOf } from "../../db/ratings";

export const authRoutes = new Hono<AppEnv>();

async function issueToken(c: AppContext, identity: Identity): Promise<string> {
  return signToken(identity, jwtSettings(c), Date.now());
}

authRoutes.post("/auth/register", async (c) => {
  const body = await readBody(c, RegisterBody);
  const row = {
    id: newId("usr"),
    email: normaliseEmail(body.email),
    name: body.name,
    role: body.role,
    passwordHash: await hashPassword(body.password),
    createdAt: Date.now(),
  };
  if (!(await insertUser(c.env.DB, row))) throw new ApiError(409, "email_taken", "an account with this email exists");
  const user = toUser(row);
  const token = await issueToken(c, { userId: user.id, role: user.role, name: user.name });
  return c.json({ user, token }, 201);
});

authRoutes.post("/auth/login", async (c) => {
  const body = await readBody(c, LoginBody);
  const config = c.get("config");
  const email = normaliseEmail(body.email);
  const keys = [`email:${email}`, `ip:${c.req.header("CF-Connecting-IP") ?? "unknown"}`];
  const windowMs = config.LOGIN_WINDOW_SECONDS * 1000;
  const now = Date.now();
  const wait = await loginLockedFor(c.env.DB, keys, config.LOGIN_MAX_FAILURES, windowMs, now);
  if (wait > 0) throw new ApiError(429, "rate_limited", "too many failed logins; try again later", undefined, wait);

  const row = await findUserByEmail(c.env.DB, email);
  // Verify against a decoy when the account is missing, so timing does not reveal which emails exist.
  const valid = await verifyPassword(body.password, row?.passwordHash ?? (await decoyPasswordHash()));
  if (!row || !valid) {
    await recordLoginFailure(c.env.DB, keys, now, windowMs);
    throw new ApiError(401, "invalid_credentials", "wrong email or password");
  }
  // Only after the password: the ban is nobody's business but the account holder's.
  if (row.bannedAt !== null) throw bannedError();
  await clearLoginFailures(c.env.DB, `email:${email}`);
  const user = toUser(row);
  return c.json({ user, token: await issueToken(c, { userId: user.id, role: user.role, name: user.name }) });
});

authRoutes.get("/me", requireUser, async (c) => {
  const row = await findUserById(c.env.DB, c.get("identity").userId);
  if (!row) throw notFound("user not found");
  return c.json({ user: { ...toUser(row), rating: await ratingOf(c.env.DB, row.id) } });
});
