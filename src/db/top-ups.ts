/**
 * @module db/top-ups
 * Top-ups of a wallet through a payment provider: the top-up rows, and crediting the wallet
 * once the provider says the money arrived.
 */
import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { PostOutcome } from "../domain/ledger-entries";
import { topUpEntry } from "../domain/wallet-entries";
import { postEntry } from "./postings";
import { topUps } from "./schema";

export type TopUpRow = typeof topUps.$inferSelect;

export async function findTopUp(d1: D1Database, id: string): Promise<TopUpRow | undefined> {
  const [row] = await drizzle(d1).select().from(topUps).where(eq(topUps.id, id)).limit(1);
  return row;
}

export async function findTopUpByKey(d1: D1Database, userId: string, key: string): Promise<TopUpRow | undefined> {
  const [row] = await drizzle(d1)
    .select()
    .from(topUps)
    .where(and(eq(topUps.userId, userId), eq(topUps.idempotencyKey, key)))
    .limit(1);
  return row;
}

/** Records a new top-up; returns the row already stored under the same key instead, if any. */
export async function insertTopUp(d1: D1Database, row: TopUpRow): Promise<TopUpRow> {
  const inserted = await drizzle(d1).insert(topUps).values(row).onConflictDoNothing().returning();
  return inserted[0] ?? (await findTopUpByKey(d1, row.userId, row.idempotencyKey)) ?? row;
}

export async function setTopUpProviderRef(
  d1: D1Database,
  id: string,
  providerRef: string,
  clientSecret: string | null,
  now: number,
): Promise<void> {
  await drizzle(d1).update(topUps).set({ providerRef, clientSecret, updatedAt: now }).where(eq(topUps.id, id));
}

export async function failTopUp(d1: D1Database, id: string, now: number): Promise<void> {
  await drizzle(d1)
    .update(topUps)
    .set({ status: "failed", updatedAt: now })
    .where(and(eq(topUps.id, id), eq(topUps.status, "pending")));
}

/**
 * The provider says the money arrived: credit the wallet (once, by the top-up id) in the user's
 * partition, then mark the top-up succeeded. The one code path for the sandbox and for real
 * webhooks. Two databases, so two steps: a crash between them leaves the row `pending` with the
 * money credited, and the provider's redelivery (or the sandbox's retry) finds the entry posted
 * ("duplicate") and marks it then.
 */
export async function creditTopUp(env: Env, topUp: TopUpRow, now: number): Promise<PostOutcome> {
  const entry = topUpEntry(topUp.id, topUp.userId, { amount: topUp.amount, currency: topUp.currency }, topUp.provider);
  const outcome = await postEntry(env, entry, now);
  if (outcome !== "refused")
    await env.DB.prepare(
      `UPDATE top_ups SET status = 'succeeded', updated_at = ? WHERE id = ? AND status != 'succeeded'`,
    )
      .bind(now, topUp.id)
      .run();
  return outcome;
}
