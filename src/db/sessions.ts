/**
 * @module db/sessions
 * Sessions ("families") and their rotating refresh tokens. A refresh token works once: using it
 * marks it rotated and inserts its successor in the same D1 batch (one transaction), so two
 * uses of one token can never both succeed. A rotated token that comes back was copied: its
 * whole family is revoked, the thief's and the owner's tokens alike (theft detection).
 */
import { hashRefreshToken, newRefreshToken } from "../auth/refresh-token";

export type NewRefreshToken = { sessionId: string; refreshToken: string };

/** Rotated tokens and sessions' expired tokens are swept this many at a time, on sign-ins. */
const SWEEP_BATCH = 100;

/** Opens a session for the user with its first refresh token. */
export async function openSession(
  d1: D1Database,
  userId: string,
  sessionId: string,
  now: number,
  ttlMs: number,
): Promise<NewRefreshToken> {
  const refreshToken = newRefreshToken();
  await d1.batch([
    d1.prepare(`INSERT INTO auth_sessions (id, user_id, created_at) VALUES (?1, ?2, ?3)`).bind(sessionId, userId, now),
    d1
      .prepare(`INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)`)
      .bind(await hashRefreshToken(refreshToken), sessionId, now, now + ttlMs),
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
  expires_at: number;
  revoked_at: number | null;
};

/**
 * Trades a refresh token for its successor. The guarded UPDATE is the decision (it matches a
 * live, unrotated, unexpired token of a live session, or nothing), the INSERT copies the
 * session only from the row that UPDATE tied to the new hash, and the SELECT tells a reuse
 * from a token that was never valid.
 */
export async function rotateRefreshToken(
  d1: D1Database,
  presented: string,
  now: number,
  ttlMs: number,
): Promise<Rotation> {
  const oldHash = await hashRefreshToken(presented);
  const refreshToken = newRefreshToken();
  const newHash = await hashRefreshToken(refreshToken);
  const [, , state] = await d1.batch<TokenState>([
    d1
      .prepare(
        `UPDATE refresh_tokens SET rotated_at = ?2, replaced_by = ?3
         WHERE token_hash = ?1 AND rotated_at IS NULL AND expires_at > ?2
           AND session_id IN (SELECT id FROM auth_sessions WHERE revoked_at IS NULL)`,
      )
      .bind(oldHash, now, newHash),
    d1
      .prepare(
        `INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at)
         SELECT ?2, session_id, ?3, ?4
         FROM refresh_tokens
         WHERE token_hash = ?1 AND replaced_by = ?2`,
      )
      .bind(oldHash, newHash, now, now + ttlMs),
    d1
      .prepare(
        `SELECT t.session_id, s.user_id, t.rotated_at, t.replaced_by, t.expires_at, s.revoked_at
         FROM refresh_tokens t JOIN auth_sessions s ON s.id = t.session_id WHERE t.token_hash = ?1`,
      )
      .bind(oldHash),
  ]);
  const row = state?.results[0];
  if (!row) return { outcome: "invalid" };
  if (row.replaced_by === newHash)
    return { outcome: "rotated", sessionId: row.session_id, userId: row.user_id, refreshToken };
  if (row.rotated_at !== null && row.revoked_at === null) {
    await revokeSession(d1, row.session_id, now, "refresh token reused");
    return { outcome: "reused", sessionId: row.session_id, userId: row.user_id };
  }
  return { outcome: "invalid" };
}

/** Revokes one session; false when it was revoked already (or is unknown). */
export async function revokeSession(d1: D1Database, sessionId: string, now: number, reason: string): Promise<boolean> {
  const { meta } = await d1
    .prepare(`UPDATE auth_sessions SET revoked_at = ?2, revoked_reason = ?3 WHERE id = ?1 AND revoked_at IS NULL`)
    .bind(sessionId, now, reason)
    .run();
  return meta.changes > 0;
}

/** Revokes every live session of the user; answers the ids it revoked. */
export async function revokeUserSessions(
  d1: D1Database,
  userId: string,
  now: number,
  reason: string,
): Promise<string[]> {
  const { results } = await d1
    .prepare(
      `UPDATE auth_sessions SET revoked_at = ?2, revoked_reason = ?3
       WHERE user_id = ?1 AND revoked_at IS NULL RETURNING id`,
    )
    .bind(userId, now, reason)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

/**
 * Sets the user's password hash and revokes every live session of theirs but `keepSessionId`, in
 * one D1 batch (one transaction): no session opened with the old password outlives the change.
 * Answers the ids it revoked.
 */
export async function changePassword(
  d1: D1Database,
  userId: string,
  passwordHash: string,
  keepSessionId: string,
  now: number,
): Promise<string[]> {
  const [, revoked] = await d1.batch<{ id: string }>([
    d1.prepare(`UPDATE users SET password_hash = ?2 WHERE id = ?1`).bind(userId, passwordHash),
    d1
      .prepare(
        `UPDATE auth_sessions SET revoked_at = ?3, revoked_reason = 'password changed'
         WHERE user_id = ?1 AND id != ?2 AND revoked_at IS NULL RETURNING id`,
      )
      .bind(userId, keepSessionId, now),
  ]);
  return (revoked?.results ?? []).map((r) => r.id);
}

/** Whether the session exists, belongs to the user and is not revoked. */
export async function sessionIsLive(d1: D1Database, sessionId: string, userId: string): Promise<boolean> {
  const row = await d1
    .prepare(`SELECT revoked_at FROM auth_sessions WHERE id = ?1 AND user_id = ?2`)
    .bind(sessionId, userId)
    .first<{ revoked_at: number | null }>();
  return row !== null && row.revoked_at === null;
}
