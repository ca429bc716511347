/**
 * @module http/context
 * The Hono environment shared by every route: bindings from `wrangler types`, and the
 * variables middleware sets (the validated config, and the caller once authenticated).
 */
import type { Context } from "hono";
import type { Identity } from "../auth/jwt";
import type { Config } from "../config";

export type AppEnv = {
  Bindings: Env;
  /** `rateLimited`: this request has been counted against its rate limit (http/rate-limit.ts). */
  Variables: { config: Config; identity: Identity; rateLimited: boolean };
};

export type AppContext = Context<AppEnv>;
