/**
 * @module db/sessions
 * Sessions ("families") and their rotating refresh tokens, in the user's partition database
 * (db/shards, kind "sessions", keyed by user id). A refresh token works once: using it marks it
 * rotated and inserts its successor in the same D1 batch (one transaction), so two uses of one
 * token can never both succeed. A rotated token that comes back was copied: its whole family is
 * revoked, the thief's and the owner's tokens alike (theft detection).
 *
 * A token names its user's bucket (`<bucket>.<secret>`), so a refresh goes straight to the right
 * shard. Rows may also be somewhere else for a while, and are looked for there when the user's
 * shard lacks them (their "earlier homes"):
 *  - in the directory database `DB`, for sessions opened before the partitions. Their tokens have
 *    no bucket. A refresh of one marks it rotated in `DB` and puts the session and its successor in
 *    the user's shard (the session moves on its first use); revocations are written to `DB` too,
 *    so a copy left there can never outlive one. Unused, they expire there.
 *  - in the shard of `SHARD_MAP_PREVIOUS`, while a shard move copies the user's bucket.
 * Revocations and liveness checks therefore cover every home; a revocation is never lost to a move.
 */
import { hashRefreshToken, newRefreshToken } from "../auth/refresh-token";
import { bucketOf, BUCKETS, shardDatabase, shardHomes, shardRouter } from "./shards";

export type NewRefreshToken = { sessionId: string; refreshToken: string };

/** Rotated tokens and sessions' expired tokens are swept this many at a time, on sign-ins. */
const SWEEP_BATCH = 100;

/** The user's shard first, then every earlier home that may still hold their rows. */
function homesOf(env: Env, userId: string): D1Database[] {
  // A set: during the first move out of DB, SHARD_MAP_PREVIOUS may name DB itself.
  return [...new Set([...shardHomes(env, "sessions", userId), env.DB])];
}

/** A token names its user's bucket in front of the secret, so a refresh needs no lookup to route. */
function tokenFor(userId: string): string {
  return `${bucketOf(userId)}.${newRefreshToken()}`;
}

const ROUTED_TOKEN = /^(\d{1,4})\.[A-Za-z0-9_-]{43}$/;

/**
 * Where to look for a presented token, and the bucket its successor names: under today's map and
 * the previous one for a routed token (a forged bucket only finds nothing, since the hash covers
 * it); `DB` for a token from before the partitions, which has no bucket.
 */
function homesOfToken(env: Env, presented: string): { bucket: number | null; homes: D1Database[] } {
  const match = ROUTED_TOKEN.exec(presented);
  const bucket = match ? Number(match[1]) : BUCKETS;
  if (bucket >= BUCKETS) return { bucket: null, homes: [env.DB] };
  const router = shardRouter(env);
  const now = router.map.byBucket[bucket] as string;
  const before = router.previous?.byBucket[bucket];
  const names = before && before !== now ? [now, before] : [now];
  return { bucket, homes: names.map((name) => router.databases.get(name) as D1Database) };
}

const NEW_TOKEN = `INSERT INTO refresh_tokens (token_hash, session_id, user_id, created_at, expires_at)
  VALUES (?1, ?2, ?3, ?4, ?5)`;

/** Opens a session for the user with its first refresh token, in the user's shard. */
export async function openSession(
  env: Env,
  userId: string,
  sessionId: string,
  now: number,
  ttlMs: number,
): Promise<NewRefreshToken> {
  const d1 = shardDatabase(env, "sessions", userId);
  const refreshToken = tokenFor(userId);
  await d1.batch([
    d1.prepare(`INSERT INTO auth_sessions (id, user_id, created_at) VALUES (?1, ?2, ?3)`).bind(sessionId, userId, now),
    d1.prepare(NEW_TOKEN).bind(await hashRefreshToken(refreshToken), sessionId, userId, now, now + ttlMs),
    // Expired tokens prove nothing any more (a reuse of one is refused as unknown).
    d1
      .prepare(
        `DELETE FROM refresh_tokens
         WHERE token_hash IN (SELECT token_hash FROM refresh_tokens WHERE expires_at < ?1 LIMIT ${SWEEP_BATCH})`,
      )
      .bind(now),
  ]);
  return { sessionId, refreshToken };
}

export type Rotation =
  | { outcome: "rotated"; sessionId: string; userId: string; refreshToken: string }
  /** A rotated token came back: the family was revoked just now. */
  | { outcome: "reused"; sessionId: string; userId: string }
  /** Unknown, expired, or of a revoked session. */
  | { outcome: "invalid" };

type TokenState = {
  session_id: string;
  user_id: string;
  rotated_at: number | null;
  replaced_by: string | null;
  /** Null with `session_found` 0: the session's row is in another home (a move split them). */
  revoked_at: number | null;
  session_found: number;
};

/**
 * Trades a refresh token for its successor. In the database that holds the token, the guarded
 * UPDATE is the decision (it matches a live, unrotated, unexpired token whose session is not
 * revoked there, or nothing), the INSERT copies the session only from the row that UPDATE tied
 * to the new hash, and the SELECT tells a reuse from a token that was never valid. A token in `DB`
 * (from before the partitions) gets its successor in the user's shard instead, with its session.
 */
export async function rotateRefreshToken(env: Env, presented: string, now: number, ttlMs: number): Promise<Rotation> {
  const oldHash = await hashRefreshToken(presented);
  const { bucket, homes } = homesOfToken(env, presented);
  for (const d1 of homes) {
    const found =
      bucket === null
        ? await rotateLegacy(env, oldHash, now, ttlMs)
        : await rotateIn(d1, oldHash, `${bucket}.${newRefreshToken()}`, now, ttlMs);
    if (!found) continue;
    const { row, refreshToken, newHash } = found;
    if (row.replaced_by === newHash) {
      // A move may have left the session's row in another home: a revocation there counts.
      if (!row.session_found && !(await sessionIsLive(env, row.session_id, row.user_id))) return { outcome: "invalid" };
      return { outcome: "rotated", sessionId: row.session_id, userId: row.user_id, refreshToken };
    }
    if (row.rotated_at !== null && row.revoked_at === null) {
      await revokeSession(env, row.user_id, row.session_id, now, "refresh token reused");
      return { outcome: "reused", sessionId: row.session_id, userId: row.user_id };
    }
    return { outcome: "invalid" };
  }
  return { outcome: "invalid" };
}

const GUARDED_ROTATION = `UPDATE refresh_tokens SET rotated_at = ?2, replaced_by = ?3
  WHERE token_hash = ?1 AND rotated_at IS NULL AND expires_at > ?2
    AND session_id NOT IN (SELECT id FROM auth_sessions WHERE revoked_at IS NOT NULL)`;

/** The rotation in one shard, as one batch; null when it does not hold the token. */
async function rotateIn(d1: D1Database, oldHash: string, refreshToken: string, now: number, ttlMs: number) {
  const newHash = await hashRefreshToken(refreshToken);
  const [, , state] = await d1.batch<TokenState>([
    d1.prepare(GUARDED_ROTATION).bind(oldHash, now, newHash),
    d1
      .prepare(
        `INSERT INTO refresh_tokens (token_hash, session_id, user_id, created_at, expires_at)
         SELECT ?2, session_id, user_id, ?3, ?4 FROM refresh_tokens WHERE token_hash = ?1 AND replaced_by = ?2`,
      )
      .bind(oldHash, newHash, now, now + ttlMs),
    d1
      .prepare(
        `SELECT t.session_id, t.user_id, t.rotated_at, t.replaced_by, s.revoked_at, s.id IS NOT NULL AS session_found
         FROM refresh_tokens t LEFT JOIN auth_sessions s ON s.id = t.session_id WHERE t.token_hash = ?1`,
      )
      .bind(oldHash),
  ]);
  const row = state?.results[0];
  return row ? { row, refreshToken, newHash } : null;
}

/**
 * The rotation of a token from before the partitions, in `DB`: the guarded UPDATE there decides,
 * as above; the successor, and the session with it, go to the user's shard. The session's row
 * stays in `DB` too, and revocations reach both. If the shard write fails after the UPDATE, the
 * client got no successor and its retry is a reuse: the session ends, never doubles.
 */
async function rotateLegacy(env: Env, oldHash: string, now: number, ttlMs: number) {
  const d1 = env.DB;
  const owner = await d1
    .prepare(
      `SELECT s.user_id FROM refresh_tokens t JOIN auth_sessions s ON s.id = t.session_id WHERE t.token_hash = ?1`,
    )
    .bind(oldHash)
    .first<{ user_id: string }>();
  if (!owner) return null;
  const refreshToken = tokenFor(owner.user_id);
  const newHash = await hashRefreshToken(refreshToken);
  const [, state] = await d1.batch<TokenState>([
    d1.prepare(GUARDED_ROTATION).bind(oldHash, now, newHash),
    d1
      .prepare(
        `SELECT t.session_id, s.user_id, t.rotated_at, t.replaced_by, s.revoked_at, 1 AS session_found
         FROM refresh_tokens t JOIN auth_sessions s ON s.id = t.session_id WHERE t.token_hash = ?1`,
      )
      .bind(oldHash),
  ]);
  const row = state?.results[0];
  if (!row) return null;
  if (row.replaced_by === newHash) {
    const shard = shardDatabase(env, "sessions", row.user_id);
    await shard.batch([
      shard
        .prepare(
          `INSERT INTO auth_sessions (id, user_id, created_at)
           SELECT ?1, ?2, ?3 WHERE NOT EXISTS (SELECT 1 FROM auth_sessions WHERE id = ?1)`,
        )
        .bind(row.session_id, row.user_id, now),
      shard.prepare(NEW_TOKEN).bind(newHash, row.session_id, row.user_id, now, now + ttlMs),
    ]);
  }
  return { row, refreshToken, newHash };
}

/** Revokes one of the user's sessions in every home; false when it was revoked already (or is unknown). */
export async function revokeSession(
  env: Env,
  userId: string,
  sessionId: string,
  now: number,
  reason: string,
): Promise<boolean> {
  const changed = await Promise.all(
    homesOf(env, userId).map(async (d1) => {
      const { meta } = await d1
        .prepare(
          `UPDATE auth_sessions SET revoked_at = ?3, revoked_reason = ?4
           WHERE id = ?1 AND user_id = ?2 AND revoked_at IS NULL`,
        )
        .bind(sessionId, userId, now, reason)
        .run();
      return meta.changes > 0;
    }),
  );
  return changed.some(Boolean);
}

/**
 * Revokes every live session of the user but `except`, in every home; answers the ids it revoked.
 */
export async function revokeUserSessions(
  env: Env,
  userId: string,
  now: number,
  reason: string,
  except: string | null = null,
): Promise<string[]> {
  const revoked = await Promise.all(
    homesOf(env, userId).map(async (d1) => {
      const { results } = await d1
        .prepare(
          `UPDATE auth_sessions SET revoked_at = ?2, revoked_reason = ?3
           WHERE user_id = ?1 AND id IS NOT ?4 AND revoked_at IS NULL RETURNING id`,
        )
        .bind(userId, now, reason, except)
        .all<{ id: string }>();
      return results.map((r) => r.id);
    }),
  );
  return [...new Set(revoked.flat())];
}

/**
 * Sets the user's password hash and revokes every live session of theirs but `keepSessionId`: no
 * session opened with the old password outlives the change. The password is in `DB` and the
 * sessions in the user's shard, so no one transaction holds both: the sessions are revoked
 * before the change and again after it. A failure after the first leaves the old password and
 * fewer sessions (the user signs in again), never the new password beside an old session; the
 * second catches a sign-in with the old password between the two. Answers the ids it revoked.
 */
export async function changePassword(
  env: Env,
  userId: string,
  passwordHash: string,
  keepSessionId: string,
  now: number,
): Promise<string[]> {
  const reason = "password changed";
  const before = await revokeUserSessions(env, userId, now, reason, keepSessionId);
  await env.DB.prepare(`UPDATE users SET password_hash = ?2 WHERE id = ?1`).bind(userId, passwordHash).run();
  const after = await revokeUserSessions(env, userId, now, reason, keepSessionId);
  return [...new Set([...before, ...after])];
}

/**
 * Whether the session exists, belongs to the user and is not revoked: the first home that holds
 * it answers (the user's shard, then where it may have been before).
 */
export async function sessionIsLive(env: Env, sessionId: string, userId: string): Promise<boolean> {
  for (const d1 of homesOf(env, userId)) {
    const row = await d1
      .prepare(`SELECT revoked_at FROM auth_sessions WHERE id = ?1 AND user_id = ?2`)
      .bind(sessionId, userId)
      .first<{ revoked_at: number | null }>();
    if (row) return row.revoked_at === null;
  }
  return false;
}
