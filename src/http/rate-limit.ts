/**
 * @module http/rate-limit
 * Request rate limits by route class, on Cloudflare's Workers rate-limiting binding (one
 * `[[ratelimits]]` namespace per class in wrangler.toml, where the limits live). A request is
 * counted per user id once authenticated (`requireUser` calls `limitCaller`), and per
 * `CF-Connecting-IP` on the routes nobody signs in to (`limitAnonymous`, app-wide), and per API
 * key on the server publish API (`limitApiKey`, called once the key is checked). Per-IP
 * limits on signed-in routes would throttle every user behind one NAT (and the tests, the
 * simulator and the benchmarks, which run many users from 127.0.0.1), so those count users.
 * Over the limit: 429 `rate_limited` with `Retry-After` (the class's period: the binding does
 * not say when its window ends). The binding counts per Cloudflare location, approximately.
 */
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../errors";
import type { AppContext, AppEnv } from "./context";
import { logJson } from "../log";

export type RouteClass =
  | "chat_post"
  | "trip_request"
  | "quote"
  | "top_up"
  | "device"
  | "connect"
  | "poll"
  | "write"
  | "provider_webhook"
  | "account"
  | "shared_view"
  | "server"
  | "server_broadcast"
  | "upload"
  | "file_read"
  | "payout"
  | "presence"
  | "tiles"
  | "places"
  | "nearby";

type Limiter = {
  binding:
    | "RL_CHAT_POST"
    | "RL_TRIP_REQUEST"
    | "RL_QUOTE"
    | "RL_TOP_UP"
    | "RL_DEVICE"
    | "RL_CONNECT"
    | "RL_POLL"
    | "RL_WRITE"
    | "RL_PROVIDER_WEBHOOK"
    | "RL_ACCOUNT"
    | "RL_SHARED_VIEW"
    | "RL_SERVER"
    | "RL_SERVER_BROADCAST"
    | "RL_UPLOAD"
    | "RL_FILE_READ"
    | "RL_PAYOUT"
    | "RL_PRESENCE"
    | "RL_TILES"
    | "RL_PLACES"
    | "RL_NEARBY";
  periodSeconds: 10 | 60;
};

/** Each class's binding and its `period` in wrangler.toml (test/unit/rate-limit.test.ts checks they agree). */
export const LIMITERS: Record<RouteClass, Limiter> = {
  chat_post: { binding: "RL_CHAT_POST", periodSeconds: 60 },
  trip_request: { binding: "RL_TRIP_REQUEST", periodSeconds: 60 },
  quote: { binding: "RL_QUOTE", periodSeconds: 60 },
  top_up: { binding: "RL_TOP_UP", periodSeconds: 60 },
  device: { binding: "RL_DEVICE", periodSeconds: 60 },
  connect: { binding: "RL_CONNECT", periodSeconds: 60 },
  poll: { binding: "RL_POLL", periodSeconds: 60 },
  write: { binding: "RL_WRITE", periodSeconds: 10 },
  provider_webhook: { binding: "RL_PROVIDER_WEBHOOK", periodSeconds: 60 },
  account: { binding: "RL_ACCOUNT", periodSeconds: 10 },
  shared_view: { binding: "RL_SHARED_VIEW", periodSeconds: 60 },
  server: { binding: "RL_SERVER", periodSeconds: 60 },
  server_broadcast: { binding: "RL_SERVER_BROADCAST", periodSeconds: 60 },
  upload: { binding: "RL_UPLOAD", periodSeconds: 60 },
  file_read: { binding: "RL_FILE_READ", periodSeconds: 60 },
  payout: { binding: "RL_PAYOUT", periodSeconds: 60 },
  presence: { binding: "RL_PRESENCE", periodSeconds: 60 },
  tiles: { binding: "RL_TILES", periodSeconds: 60 },
  places: { binding: "RL_PLACES", periodSeconds: 60 },
  nearby: { binding: "RL_NEARBY", periodSeconds: 60 },
};

/** Classes of routes without a signed-in user: counted per client IP. */
const ANONYMOUS_CLASSES: ReadonlySet<RouteClass> = new Set(["provider_webhook", "account", "shared_view", "tiles"]);
/** Classes of the server publish API: counted per API key (no user signs in there). */
const KEY_CLASSES: ReadonlySet<RouteClass> = new Set(["server", "server_broadcast"]);

/** First match wins. Paths are the request's, under /v1. */
const ROUTES: readonly { method: string; path: RegExp; routeClass: RouteClass }[] = [
  { method: "POST", path: /^\/v1\/(rooms|trips)\/[^/]+\/messages$/, routeClass: "chat_post" },
  // A chat room's edits, deletes and reactions are chat writes too: they share its budget.
  { method: "PATCH", path: /^\/v1\/rooms\/[^/]+\/messages\/[^/]+$/, routeClass: "chat_post" },
  { method: "DELETE", path: /^\/v1\/rooms\/[^/]+\/messages\/[^/]+$/, routeClass: "chat_post" },
  { method: "POST", path: /^\/v1\/rooms\/[^/]+\/messages\/[^/]+\/reactions$/, routeClass: "chat_post" },
  { method: "POST", path: /^\/v1\/trips$/, routeClass: "trip_request" },
  { method: "POST", path: /^\/v1\/quotes$/, routeClass: "quote" },
  { method: "POST", path: /^\/v1\/wallet\/top-ups$/, routeClass: "top_up" },
  { method: "POST", path: /^\/v1\/devices$/, routeClass: "device" },
  { method: "POST", path: /^\/v1\/payments\/webhook$/, routeClass: "provider_webhook" },
  // Money out, and where it goes: a driver has no reason to ask more than a few times a minute.
  { method: "POST", path: /^\/v1\/payouts$/, routeClass: "payout" },
  { method: "PUT", path: /^\/v1\/drivers\/me\/payout-account$/, routeClass: "payout" },
  // Sign-up and refresh write to D1 for anyone who asks: a flood from one address is cut off.
  // Login has its own, tighter limits on failed passwords (routes/auth.ts); a password change counts
  // toward those too, and is an account operation besides.
  { method: "POST", path: /^\/v1\/auth\/(register|refresh|password)$/, routeClass: "account" },
  { method: "GET", path: /^\/v1\/((rooms|trips)\/[^/]+|drivers\/me|ops\/alerts)\/(ws|events)$/, routeClass: "connect" },
  { method: "GET", path: /^\/v1\/(rooms|trips)\/[^/]+\/poll$/, routeClass: "poll" },
  // The list of upcoming scheduled rides asks each ride's trip object, as a poll asks one: the same budget.
  { method: "GET", path: /^\/v1\/trips\/scheduled$/, routeClass: "poll" },
  // The operations view's live metrics, read every few seconds by an operator's page: each read wakes the desk.
  { method: "GET", path: /^\/v1\/ops\/metrics$/, routeClass: "poll" },
  // A share link's page, read by anyone holding the link: each read wakes a trip's object.
  { method: "GET", path: /^\/v1\/shared\/[^/]+$/, routeClass: "shared_view" },
  // The server publish API, per key; reads too (a key's history reads wake rooms like posts do).
  // A broadcast posts into up to 100 rooms at once: it has a budget of its own, much smaller.
  { method: "POST", path: /^\/v1\/server\/broadcast$/, routeClass: "server_broadcast" },
  { method: "POST", path: /^\/v1\/server\/rooms\/[^/]+\/messages$/, routeClass: "server" },
  { method: "GET", path: /^\/v1\/server\/rooms\/[^/]+\/messages$/, routeClass: "server" },
  // Attachments: asking for an upload URL and using it count per user (the upload under the user
  // its URL names); each may store a file in R2. A download streams one out: a read with a class.
  { method: "POST", path: /^\/v1\/rooms\/[^/]+\/attachments$/, routeClass: "upload" },
  { method: "PUT", path: /^\/v1\/uploads\/[^/]+$/, routeClass: "upload" },
  { method: "GET", path: /^\/v1\/rooms\/[^/]+\/attachments\/[^/]+$/, routeClass: "file_read" },
  // Someone's last seen: a read, but one that walking many user ids would turn into a record of
  // who is active when; a budget per caller bounds that.
  { method: "GET", path: /^\/v1\/users\/[^/]+\/presence$/, routeClass: "presence" },
  // A driver's documents (README, "Drivers and vehicles"): the same, for the driver and for operators.
  { method: "POST", path: /^\/v1\/drivers\/me\/documents$/, routeClass: "upload" },
  { method: "GET", path: /^\/v1\/(drivers\/me|admin)\/documents\/[^/]+\/file$/, routeClass: "file_read" },
  { method: "GET", path: /^\/v1\/trips\/[^/]+\/driver-photo$/, routeClass: "file_read" },
  // The street map (README, "Web app"): the map's settings and its tile archive's ranges are read
  // before sign-in (the map is drawn behind it), counted per IP; each range streams out of R2.
  { method: "GET", path: /^\/v1\/(map|tiles\/[^/]+)$/, routeClass: "tiles" },
  // Place search costs a call to the operator's geocoder; a budget per user bounds what one spends.
  { method: "GET", path: /^\/v1\/places\/(search|reverse)$/, routeClass: "places" },
  // Nearby cars: coarse already, and a budget per user makes a sweep of a city slow as well.
  { method: "GET", path: /^\/v1\/cars\/nearby$/, routeClass: "nearby" },
];

const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * The class a request is limited under, or null for reads. Every mutating route under /v1 has
 * one, but login and logout: login's limits (failed passwords per email and IP) live in the
 * auth routes, and logout only ends sessions.
 */
export function routeClassOf(method: string, path: string): RouteClass | null {
  const upper = method.toUpperCase();
  const found = ROUTES.find((r) => r.method === upper && r.path.test(path));
  if (found) return found.routeClass;
  if (MUTATING.has(upper) && path.startsWith("/v1/") && !path.startsWith("/v1/auth/")) return "write";
  return null;
}

/** Counts a signed-in caller's request against its class; throws 429 past the limit. */
export async function limitCaller(c: AppContext): Promise<void> {
  const routeClass = routeClassOf(c.req.method, c.req.path);
  if (routeClass === null || ANONYMOUS_CLASSES.has(routeClass) || KEY_CLASSES.has(routeClass)) return;
  await enforce(c, routeClass, `user:${c.get("identity").userId}`);
}

/**
 * Counts a request against its class for `userId`, where no access token names the user: an
 * upload URL's request counts for the user its grant names.
 */
export async function limitUser(c: AppContext, userId: string): Promise<void> {
  const routeClass = routeClassOf(c.req.method, c.req.path);
  if (routeClass === null || ANONYMOUS_CLASSES.has(routeClass) || KEY_CLASSES.has(routeClass)) return;
  await enforce(c, routeClass, `user:${userId}`);
}

/** Counts a server API call against its class, per API key; throws 429 past the limit. */
export async function limitApiKey(c: AppContext, keyId: string): Promise<void> {
  const routeClass = routeClassOf(c.req.method, c.req.path);
  if (routeClass === null || !KEY_CLASSES.has(routeClass)) return;
  await enforce(c, routeClass, `key:${keyId}`);
}

/** App-wide: counts requests to the routes nobody signs in to, per client IP. */
export const limitAnonymous: MiddlewareHandler<AppEnv> = async (c, next) => {
  const routeClass = routeClassOf(c.req.method, c.req.path);
  if (routeClass !== null && ANONYMOUS_CLASSES.has(routeClass)) await enforce(c, routeClass, `ip:${clientIp(c)}`);
  await next();
};

/** Cloudflare sets CF-Connecting-IP on every request it forwards; a client cannot choose it there. */
function clientIp(c: AppContext): string {
  return c.req.header("CF-Connecting-IP") ?? "unknown";
}

async function enforce(c: AppContext, routeClass: RouteClass, key: string): Promise<void> {
  // A request that reaches requireUser twice (two sub-apps match its path) is counted once.
  if (c.get("rateLimited")) return;
  c.set("rateLimited", true);
  const limiter = LIMITERS[routeClass];
  let allowed: boolean;
  try {
    allowed = (await c.env[limiter.binding].limit({ key })).success;
  } catch (err) {
    // The limiter failing must not take the API down with it: let the request through, loudly.
    logJson("error", {
      where: "rateLimit",
      routeClass,
      reason: err instanceof Error ? `${err.name}: ${err.message}` : typeof err,
    });
    return;
  }
  if (!allowed) {
    throw new ApiError(
      429,
      "rate_limited",
      `too many requests of this kind (${routeClass}); try again in ${limiter.periodSeconds} s`,
      { routeClass },
      limiter.periodSeconds,
    );
  }
}
