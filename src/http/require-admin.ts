/**
 * @module http/require-admin
 * Operators only (after `requireUser`): the token must say `admin`, and so must the account
 * now. The account is read fresh (these routes are not a hot path), so an operator who was
 * banned or demoted since their token was issued is refused at once, not at its expiry.
 */
import type { MiddlewareHandler } from "hono";
import { findUserById } from "../db/users";
import { forbidden } from "../errors";
import { bannedError } from "./ban-check";
import type { AppEnv } from "./context";

export const requireAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  const { userId, role } = c.get("identity");
  if (role !== "admin") throw forbidden("operators only");
  const account = await findUserById(c.env.DB, userId);
  if (account?.role !== "admin") throw forbidden("operators only");
  if (account.bannedAt !== null) throw bannedError();
  await next();
};
