/**
 * @module db/phone-codes
 * Phone verification in D1: the codes sent (one row each, the code only as an HMAC), the
 * guesses at them, and the user's number and whether it is verified. Each decision is one
 * guarded statement, so concurrent requests cannot both pass a limit or both use a guess.
 */
import { drizzle } from "drizzle-orm/d1";
import { eq } from "drizzle-orm";
import { users } from "./schema";
import type { UserRow } from "./users";

/**
 * Stores a code for `phone`, unless the number got `perNumberPerHour` codes in the hour up to
 * `now` (from any account); false then. The same statement is the count and the insert.
 */
export async function insertPhoneCode(
  d1: D1Database,
  code: { id: string; userId: string; phone: string; codeHash: string; now: number; ttlMs: number },
  perNumberPerHour: number,
): Promise<boolean> {
  const row = await d1
    .prepare(
      `INSERT INTO phone_codes (id, user_id, phone, code_hash, attempts, created_at, expires_at)
       SELECT ?1, ?2, ?3, ?4, 0, ?5, ?6
       WHERE (SELECT COUNT(*) FROM phone_codes WHERE phone = ?3 AND created_at > ?5 - 3600000) < ?7
       RETURNING id`,
    )
    .bind(code.id, code.userId, code.phone, code.codeHash, code.now, code.now + code.ttlMs, perNumberPerHour)
    .first();
  return row !== null;
}

/** Sets the user's number, unverified (or removes it); the row after, or undefined when there is no such user. */
export async function setUnverifiedPhone(
  d1: D1Database,
  userId: string,
  phone: string | null,
): Promise<UserRow | undefined> {
  const [row] = await drizzle(d1)
    .update(users)
    .set({ phone, phoneVerifiedAt: null })
    .where(eq(users.id, userId))
    .returning();
  return row;
}

export type CodeGuess =
  /** The guess was counted; compare `codeHash` with the guess's HMAC. */
  | { kind: "counted"; id: string; phone: string; codeHash: string; attemptsLeft: number }
  | { kind: "refused"; reason: "no_code" | "expired" | "attempts_exhausted" };

/**
 * Takes one guess at the user's live code (their newest unused code for their current number):
 * the guard counts it only while the code is unexpired and has guesses left, so parallel
 * guesses cannot exceed `maxAttempts` together.
 */
export async function takeCodeGuess(
  d1: D1Database,
  userId: string,
  now: number,
  maxAttempts: number,
): Promise<CodeGuess> {
  const live = `(SELECT c.id FROM phone_codes c JOIN users u ON u.id = c.user_id
                 WHERE c.user_id = ?1 AND c.used_at IS NULL AND c.phone = u.phone AND u.phone_verified_at IS NULL
                 ORDER BY c.created_at DESC, c.id DESC LIMIT 1)`;
  const counted = await d1
    .prepare(
      `UPDATE phone_codes SET attempts = attempts + 1
       WHERE id = ${live} AND attempts < ?3 AND expires_at > ?2
       RETURNING id, phone, code_hash, attempts`,
    )
    .bind(userId, now, maxAttempts)
    .first<{ id: string; phone: string; code_hash: string; attempts: number }>();
  if (counted)
    return {
      kind: "counted",
      id: counted.id,
      phone: counted.phone,
      codeHash: counted.code_hash,
      attemptsLeft: Math.max(0, maxAttempts - counted.attempts),
    };
  const code = await d1
    .prepare(`SELECT attempts, expires_at FROM phone_codes WHERE id = ${live}`)
    .bind(userId)
    .first<{ attempts: number; expires_at: number }>();
  if (!code) return { kind: "refused", reason: "no_code" };
  return { kind: "refused", reason: code.expires_at <= now ? "expired" : "attempts_exhausted" };
}

/**
 * Marks the code used and the number verified, in one batch, only if the user's number is still
 * the one the code was sent to (a change in between leaves the new number unverified).
 */
export async function confirmPhone(
  d1: D1Database,
  code: { id: string; userId: string; phone: string },
  now: number,
): Promise<boolean> {
  const [used, verified] = await d1.batch([
    d1.prepare(`UPDATE phone_codes SET used_at = ?2 WHERE id = ?1 AND used_at IS NULL`).bind(code.id, now),
    d1
      .prepare(
        `UPDATE users SET phone_verified_at = ?3
         WHERE id = ?1 AND phone = ?2 AND phone_verified_at IS NULL
           AND EXISTS (SELECT 1 FROM phone_codes WHERE id = ?4 AND used_at = ?3)`,
      )
      .bind(code.userId, code.phone, now, code.id),
  ]);
  return (used?.meta.changes ?? 0) > 0 && (verified?.meta.changes ?? 0) > 0;
}
