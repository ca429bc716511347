/**
 * @module http/context
 * The Hono environment shared by every route: bindings from `wrangler types`, and the
 * variables middleware sets (the validated config, and the caller once authenticated).
 */
import type { Context } from "hono";
import type { Identity } from "../auth/jwt";
import type { Config } from "../config";
import type { ApiKey } from "../protocol/server-api";

export type AppEnv = {
  Bindings: Env;
  /**
   * `session`: the verified token's session id and expiry (epoch ms), set with `identity`.
   * `rateLimited`: this request has been counted against its rate limit (http/rate-limit.ts).
   * `accountExists`: whether the caller's account has a row, from the ban check's look
   * (undefined when D1 could not answer).
   * `apiKey`: the server API key of a `/v1/server/*` call, once checked (http/api-key-auth.ts).
   */
  Variables: {
    config: Config;
    identity: Identity;
    session: { sid: string; expiresAt: number };
    rateLimited: boolean;
    accountExists: boolean | undefined;
    apiKey: ApiKey;
    /** The request's trace id (trace.ts), set first. */
    traceId: string;
  };
};

export type AppContext = Context<AppEnv>;
