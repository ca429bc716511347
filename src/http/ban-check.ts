/**
 * @module http/ban-check
 * Whether a signed-in user is banned, asked by `requireUser` on every authenticated request.
 *
 * Why a short per-isolate cache rather than a D1 read per request or a check on some routes
 * only: a token stays valid until it expires, so every route (reads included: a banned user
 * must not keep reading chat history) has to refuse it, but one D1 round trip added to every
 * request would put D1 on the path of location posts and chat over HTTP. The cache costs one
 * small indexed read per user per isolate per BAN_CACHE_MS (5 s), and a ban reaches every
 * isolate within that. What must not wait even that long does not: login reads the row anyway
 * and refuses a banned account there; the ban closes the user's open sockets and streams at
 * once (rooms/disconnect.ts), and the objects refuse their new ones for longer than any cache
 * lives; the isolate that handled the ban forgets its entry at once.
 *
 * If D1 cannot answer, the request goes on (logged, and not cached): a D1 outage must not
 * take chat down with it (DESIGN.md, principle 5), and the sockets a ban closed stay refused.
 *
 * The look reads the nearest D1 read replica (a `first-unconstrained` session): it is the most
 * frequent D1 read there is, from every edge, and a replica's lag (well under the cache's 5 s)
 * only adds to how long a ban takes to reach an isolate. A replica that has no row for the user
 * is not believed: the account may be seconds old, so the primary is asked before a token is
 * taken for one whose account is gone. Where read replication is off (and under `wrangler dev`)
 * the session reads the primary, as before.
 */
import { banOf } from "../db/bans";
import { ApiError } from "../errors";
import { logJson } from "../log";

/** `exists`: the account has a row (a token outlives its account after a reset). */
type Look = { reason: string | null; exists: boolean; until: number };

/** The last look per user; bounded, oldest first out. Per isolate, gone with it. */
const looks = new Map<string, Look>();
const MAX_LOOKS = 10_000;

export const bannedError = () => new ApiError(403, "account_banned", "this account is banned");

/**
 * Throws 403 `account_banned` when the user is banned (as far as the last look within `cacheMs`
 * knows). Answers whether the account exists, from the same look (undefined when D1 could not
 * answer), so the routes that need an account behind the token read nothing again.
 */
export async function assertNotBanned(
  d1: D1Database,
  userId: string,
  cacheMs: number,
  now: number,
): Promise<boolean | undefined> {
  const cached = looks.get(userId);
  if (cached && cached.until > now) {
    if (cached.reason !== null) throw bannedError();
    return cached.exists;
  }
  let ban: { reason: string | null } | undefined;
  try {
    ban =
      (await banOf(d1.withSession("first-unconstrained"), userId)) ??
      (await banOf(d1.withSession("first-primary"), userId));
  } catch (err) {
    logJson("error", { where: "ban-check", reason: err instanceof Error ? `${err.name}: ${err.message}` : typeof err });
    return undefined;
  }
  const reason = ban?.reason ?? null;
  if (cacheMs > 0) remember(userId, { reason, exists: ban !== undefined, until: now + cacheMs });
  if (reason !== null) throw bannedError();
  return ban !== undefined;
}

/** Drops this isolate's look at the user: the ban or unban it just wrote counts at once here. */
export function forgetBanLook(userId: string): void {
  looks.delete(userId);
}

function remember(userId: string, look: Look): void {
  looks.delete(userId);
  looks.set(userId, look);
  if (looks.size > MAX_LOOKS) {
    const oldest = looks.keys().next();
    if (!oldest.done) looks.delete(oldest.value);
  }
}
