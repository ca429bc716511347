/**
 * @module db/users
 * Queries on accounts, and the login limits.
 *
 * Why the limits look as they do: a login is limited per (email, client IP) and per client IP
 * tightly, and per email only loosely, with growing delays. A limit per email alone lets anyone
 * lock an owner out by sending wrong passwords from anywhere; the owner's own address has its
 * own (email, IP) budget, so a flood from elsewhere only slows the email down.
 *
 * Why they are atomic: an attempt is counted *before* its password is checked, by one upsert
 * per key that answers the new count (`INSERT … ON CONFLICT DO UPDATE … RETURNING`). D1 has a
 * single writer that runs one batch at a time as a transaction, so N concurrent attempts get
 * the counts 1..N, and only those within the limit go on to a password check; check-then-act
 * (read the failures, check, then write one) let 65 of 100 concurrent guesses through. A
 * Durable Object per key would serialise as well, but would add a hop and a second owner of
 * state that D1 already holds; these rows are small and written only on logins.
 */
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { User } from "../protocol/common";
import { users } from "./schema";
import { openTripIdsOf } from "./trip-history";

export type UserRow = typeof users.$inferSelect;

export function toUser(row: Pick<UserRow, "id" | "email" | "name" | "role" | "createdAt">): User {
  return { id: row.id, email: row.email, name: row.name, role: row.role, createdAt: row.createdAt };
}

/** `email` as the bodies' schemas leave it: trimmed and lower-cased once, there. */
export async function findUserByEmail(d1: D1Database, email: string): Promise<UserRow | undefined> {
  const [row] = await drizzle(d1).select().from(users).where(eq(users.email, email)).limit(1);
  return row;
}

export async function findUserById(d1: D1Database, id: string): Promise<UserRow | undefined> {
  const [row] = await drizzle(d1).select().from(users).where(eq(users.id, id)).limit(1);
  return row;
}

/** Whether an account with this id exists (a token can outlive its account). */
export async function userExists(d1: D1Database, id: string): Promise<boolean> {
  const [row] = await drizzle(d1).select({ id: users.id }).from(users).where(eq(users.id, id)).limit(1);
  return row !== undefined;
}

/** Inserts the user; false when the email is taken (the unique index decides, not a prior read). */
export async function insertUser(d1: D1Database, row: typeof users.$inferInsert): Promise<boolean> {
  const inserted = await drizzle(d1)
    .insert(users)
    .values(row)
    .onConflictDoNothing({ target: users.email })
    .returning({ id: users.id });
  return inserted.length === 1;
}

export type LoginLimits = {
  windowMs: number;
  /** Attempts per (email, IP) in the window. */
  pairMax: number;
  /** Attempts per IP in the window. */
  ipMax: number;
  /** Attempts per email before each further one waits. */
  emailFree: number;
  emailMaxDelayMs: number;
};

/** The three keys of one login attempt. */
export type LoginKeys = { pair: string; ip: string; email: string };

export function loginKeys(email: string, ip: string): LoginKeys {
  const network = clientNetwork(ip);
  return { pair: `pair:${email}|${network}`, ip: `ip:${network}`, email: `email:${email}` };
}

/**
 * The address a limit counts: an IPv4 address as it is, an IPv6 address by its /64 (one
 * subscriber's network: anyone holding one has 2^64 addresses to rotate through).
 */
export function clientNetwork(ip: string): string {
  const address = ip.trim().toLowerCase();
  if (!address.includes(":")) return address;
  const [head = "", tail] = address.split("::", 2);
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = tail === undefined || tail === "" ? [] : tail.split(":");
  // An IPv4-mapped tail ("::ffff:1.2.3.4") is one group here; only the first four matter.
  const missing = Math.max(0, 8 - headGroups.length - tailGroups.length);
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(missing).fill("0"), ...tailGroups];
  const prefix = groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, ""));
  while (prefix.length < 4) prefix.push("0");
  return `${prefix.join(":")}::/64`;
}

/** The doubling delay's exponent stops here: 2^16 s is past any sane maximum delay. */
const MAX_DELAY_DOUBLINGS = 16;

/**
 * Counts one attempt on every key and answers whether its password may be checked: 0 when it
 * may, else the seconds to wait (for `Retry-After`). Runs as one D1 batch (one transaction):
 *
 * 1. the pair's counter, always (a window starts at its first attempt);
 * 2. the IP's, only if the pair was within its limit;
 * 3. the email's, only if both were within theirs and the email is not waiting out a delay;
 *    past `emailFree` attempts, it sets the wait before the next one (1 s doubling, capped);
 *    a quiet window starts its count over;
 * 4. the three rows as they now are, for the answer.
 *
 * An attempt refused at one key is not counted on the keys after it, so a flood that the pair
 * and IP limits stop does not feed the email's delay.
 */
export async function reserveLoginAttempt(
  d1: D1Database,
  keys: LoginKeys,
  limits: LoginLimits,
  now: number,
): Promise<number> {
  const { windowMs } = limits;
  const windowed = (key: string, guard: string, guardArgs: unknown[]) =>
    d1
      .prepare(
        `INSERT INTO login_limits (key, attempts, started_at, last_at) SELECT ?1, 1, ?2, ?2 WHERE ${guard}
         ON CONFLICT (key) DO UPDATE SET
           attempts = CASE WHEN started_at <= ?2 - ?3 THEN 1 ELSE attempts + 1 END,
           started_at = CASE WHEN started_at <= ?2 - ?3 THEN ?2 ELSE started_at END,
           last_at = ?2
         RETURNING attempts, started_at`,
      )
      .bind(key, now, windowMs, ...guardArgs);
  const within = (param: number, maxParam: number) =>
    `COALESCE((SELECT attempts FROM login_limits WHERE key = ?${param}), 0) <= ?${maxParam}`;
  type Counted = { attempts: number; started_at: number };
  const [pairResult, ipResult, emailResult, emailState] = await d1.batch<Counted & { blocked_until: number }>([
    windowed(keys.pair, "1", []),
    windowed(keys.ip, within(4, 5), [keys.pair, limits.pairMax]),
    d1
      .prepare(
        `INSERT INTO login_limits (key, attempts, started_at, last_at, blocked_until)
         SELECT ?1, 1, ?2, ?2, 0 WHERE ${within(4, 5)} AND ${within(6, 7)}
         ON CONFLICT (key) DO UPDATE SET
           attempts = CASE WHEN last_at <= ?2 - ?3 THEN 1 ELSE attempts + 1 END,
           blocked_until = CASE WHEN last_at > ?2 - ?3 AND attempts + 1 > ?8
             THEN ?2 + MIN(?9, 1000 * (1 << MIN(attempts - ?8, ${MAX_DELAY_DOUBLINGS}))) ELSE 0 END,
           last_at = ?2
         WHERE blocked_until <= ?2
         RETURNING attempts, started_at`,
      )
      .bind(
        keys.email,
        now,
        windowMs,
        keys.pair,
        limits.pairMax,
        keys.ip,
        limits.ipMax,
        limits.emailFree,
        limits.emailMaxDelayMs,
      ),
    d1.prepare(`SELECT attempts, started_at, blocked_until FROM login_limits WHERE key = ?1`).bind(keys.email),
  ]);
  const secondsUntil = (at: number) => Math.max(1, Math.ceil((at - now) / 1000));
  // A statement answers a row exactly when it counted this attempt (RETURNING), so concurrent
  // attempts within one millisecond are still told apart.
  const pair = pairResult?.results[0];
  if (!pair || pair.attempts > limits.pairMax) return secondsUntil((pair?.started_at ?? now) + windowMs);
  const ip = ipResult?.results[0];
  if (!ip || ip.attempts > limits.ipMax) return secondsUntil((ip?.started_at ?? now) + windowMs);
  if (!emailResult?.results[0]) return secondsUntil(emailState?.results[0]?.blocked_until ?? now);
  return 0;
}

/**
 * A right password: the attempt it counted is given back. The pair and the email start over
 * (the owner got in); the IP keeps its other attempts, so a successful login now and then
 * does not reset a spray of guesses from that address.
 */
export async function loginSucceeded(d1: D1Database, keys: LoginKeys): Promise<void> {
  await d1.batch([
    d1.prepare(`DELETE FROM login_limits WHERE key IN (?1, ?2)`).bind(keys.pair, keys.email),
    d1.prepare(`UPDATE login_limits SET attempts = MAX(attempts - 1, 0) WHERE key = ?1`).bind(keys.ip),
  ]);
}

/** Rows untouched for a window count nothing any more; dropped here on failures, so no cron is needed. */
export async function forgetIdleLoginLimits(d1: D1Database, windowMs: number, now: number): Promise<void> {
  await d1
    .prepare(`DELETE FROM login_limits WHERE last_at < ?1 AND blocked_until < ?2`)
    .bind(now - windowMs, now)
    .run();
}

/**
 * The objects that may hold a user's connections, as D1 knows them: their trips not over or
 * updated since `endedSince` (at most `maxTrips`, newest first; from their partition), the trip in
 * their active-trip slot (which a new trip's row reaches first), the chat rooms they belong to, and
 * their role (from `DB`). Two round trips, at once.
 */
export async function placesOfUser(
  env: Env,
  userId: string,
  endedSince: number,
  maxTrips: number,
): Promise<{ tripIds: string[]; roomIds: string[]; role: string | undefined }> {
  const d1 = env.DB;
  const [trips, [active, rooms, user]] = await Promise.all([
    openTripIdsOf(env, userId, endedSince, maxTrips),
    d1.batch<{ trip_id?: string; room_id?: string; role?: string }>([
      d1.prepare(`SELECT trip_id FROM active_trips WHERE rider_id = ?`).bind(userId),
      d1.prepare(`SELECT room_id FROM room_members WHERE user_id = ?`).bind(userId),
      d1.prepare(`SELECT role FROM users WHERE id = ?`).bind(userId),
    ]),
  ]);
  const tripIds = new Set(trips);
  for (const row of active?.results ?? []) if (row.trip_id) tripIds.add(row.trip_id);
  const roomIds = (rooms?.results ?? []).flatMap((row) => (row.room_id ? [row.room_id] : []));
  return { tripIds: [...tripIds], roomIds, role: user?.results[0]?.role };
}
