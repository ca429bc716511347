/**
 * @module db/users
 * Queries on accounts and the login brute-force log.
 */
import { and, count, eq, gt, inArray, lt, min } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { User } from "../protocol/common";
import { loginFailures, users } from "./schema";

export type UserRow = typeof users.$inferSelect;

export const normaliseEmail = (email: string) => email.trim().toLowerCase();

export function toUser(row: Pick<UserRow, "id" | "email" | "name" | "role" | "createdAt">): User {
  return { id: row.id, email: row.email, name: row.name, role: row.role, createdAt: row.createdAt };
}

export async function findUserByEmail(d1: D1Database, email: string): Promise<UserRow | undefined> {
  const [row] = await drizzle(d1).select().from(users).where(eq(users.email, normaliseEmail(email))).limit(1);
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
  const inserted = await drizzle(d1).insert(users).values(row).onConflictDoNothing({ target: users.email }).returning({ id: users.id });
  return inserted.length === 1;
}

/**
 * Seconds until the earliest of `keys` may try again, or 0 when none is locked: a key is
 * locked once it has `maxFailures` failures inside the window.
 */
export async function loginLockedFor(d1: D1Database, keys: string[], maxFailures: number, windowMs: number, now: number): Promise<number> {
  const since = now - windowMs;
  const rows = await drizzle(d1)
    .select({ key: loginFailures.key, failures: count(), oldest: min(loginFailures.at) })
    .from(loginFailures)
    .where(and(inArray(loginFailures.key, keys), gt(loginFailures.at, since)))
    .groupBy(loginFailures.key);
  let wait = 0;
  for (const row of rows) {
    if (row.failures >= maxFailures && row.oldest !== null) wait = Math.max(wait, Math.ceil((row.oldest + windowMs - now) / 1000));
  }
  return wait;
}

export async function recordLoginFailure(d1: D1Database, keys: string[], now: number, windowMs: number): Promise<void> {
  const db = drizzle(d1);
  await db.batch([
    db.insert(loginFailures).values(keys.map((key) => ({ key, at: now }))),
    // Expired rows are useless; clearing them here keeps the table small without a cron.
    db.delete(loginFailures).where(lt(loginFailures.at, now - windowMs)),
  ]);
}

export async function clearLoginFailures(d1: D1Database, key: string): Promise<void> {
  await drizzle(d1).delete(loginFailures).where(eq(loginFailures.key, key));
}
