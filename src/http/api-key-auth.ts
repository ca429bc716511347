/**
 * @module http/api-key-auth
 * Authenticates a backend on the server publish API (`/v1/server/*`) from `Authorization:
 * Bearer rwk_…`. A user's token is refused there, as an API key is on every user route (it is
 * not a JWT). The key's row is read from D1 on every call, with no cache: a revoked key stops
 * working with the next request, and these calls come from a few backends, not from every
 * app, so the one indexed read is cheap next to the room call it guards. Then the call is
 * counted against the key's rate limit.
 */
import type { MiddlewareHandler } from "hono";
import { apiKeyIdOf, apiKeyMatches } from "../auth/api-key";
import { findApiKey, publicKey } from "../db/api-keys";
import { scopeAllows } from "../domain/api-key-scopes";
import { forbidden, unauthorized } from "../errors";
import type { ApiKeyAction } from "../protocol/server-api";
import type { AppContext, AppEnv } from "./context";
import { limitApiKey } from "./rate-limit";

export const requireApiKey: MiddlewareHandler<AppEnv> = async (c, next) => {
  const match = /^Bearer\s+(\S+)$/i.exec(c.req.header("Authorization") ?? "");
  const presented = match?.[1];
  if (!presented) throw unauthorized("the server API needs an API key: Authorization: Bearer rwk_…");
  const keyId = apiKeyIdOf(presented);
  if (keyId === null) throw unauthorized("the server API takes an API key (rwk_…), not a user's token");
  const stored = await findApiKey(c.env.DB, keyId);
  // Unknown id and wrong secret answer alike; only the key's holder learns that it was revoked.
  if (!stored || !(await apiKeyMatches(presented, stored.secretHash))) throw unauthorized("invalid API key");
  if (stored.revokedAt !== null) throw unauthorized("this API key was revoked");
  c.set("apiKey", publicKey(stored));
  await limitApiKey(c, stored.id);
  await next();
};

/** 403 unless the caller's key may do `action` in `roomId`. */
export function requireScope(c: AppContext, action: ApiKeyAction, roomId: string): void {
  if (!scopeAllows(c.get("apiKey").scopes, action, roomId)) throw outOfScope(action, roomId);
}

export const outOfScope = (action: ApiKeyAction, roomId: string) =>
  forbidden(`this API key may not ${action} in room ${roomId}`);
