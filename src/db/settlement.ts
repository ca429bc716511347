/**
 * @module db/settlement
 * A trip's settlement (domain/settlement) posted to D1: the release of its hold and its charge,
 * if any, in one batch in the rider's partition (the driver's share follows in theirs,
 * db/postings.ts). Raw statements (D1 prepared statements) for its reads, because they ride
 * in batches: both balances in one, and the charge entry is read back in the posting batch.
 */
import { chargeKey } from "../domain/charges";
import { Account } from "../domain/ledger-entries";
import { settlementEntries, type Settlement } from "../domain/settlement";
import { holdKey } from "../domain/wallet-entries";
import { heldStatement } from "./holds";
import { type EntryRow, entryByKeyStatement, type StoredEntry, storedEntryOf } from "./journal-entries";
import { ledgerOf } from "./ledger-statements";
import { postEntriesWith } from "./postings";

/** The sum of an account's lines: the only balance there is (nothing is cached). */
const balanceStatement = (d1: D1Database, account: string, currency: string) =>
  d1
    .prepare(`SELECT COALESCE(SUM(amount), 0) AS balance FROM journal_lines WHERE account_id = ? AND currency = ?`)
    .bind(account, currency);

/**
 * Settles a trip: releases its hold and takes the charge, if any, from the wallet that now
 * includes it, in one batch. Idempotent by key, so a retried side effect posts nothing. If the
 * wallet moved between the read and the batch (a new hold, say), the charge's guard fails and
 * it is computed again from fresh balances. Returns the charge entry when there is one.
 */
export async function settleTrip(
  env: Env,
  settlement: Settlement,
  commissionBps: number,
  now: number,
): Promise<StoredEntry | undefined> {
  const currency = settlement.type === "release" ? undefined : settlement.charge.currency;
  const key = settlement.type === "release" ? undefined : chargeKey(settlement.tripId, settlement.type);
  const d1 = ledgerOf(env, settlement.riderId);
  for (let attempt = 0; attempt < 5; attempt++) {
    // A trip's hold is in the quote's currency, which is the fare's; a release-only settlement
    // reads the hold entry to learn it.
    const cur = currency ?? (await holdCurrency(d1, settlement.tripId));
    if (cur === undefined) return undefined;
    // Two D1 round trips in all: both balances in one batch, then the postings with the charge
    // entry read back in their own transaction.
    const [walletResult, heldResult] = await d1.batch<{ balance?: number; held?: number }>([
      balanceStatement(d1, Account.wallet(settlement.riderId), cur),
      heldStatement(d1, settlement.tripId, settlement.riderId, cur),
    ]);
    const wallet = walletResult?.results[0]?.balance ?? 0;
    const held = { amount: heldResult?.results[0]?.held ?? 0, currency: cur };
    const entries = settlementEntries(settlement, { wallet, held }, commissionBps);
    const { outcomes, extra } = await postEntriesWith(env, entries, now, (db) =>
      key === undefined ? [] : [entryByKeyStatement(db, key)],
    );
    if (!outcomes.includes("refused"))
      return key === undefined ? undefined : storedEntryOf(extra[0]?.results[0] as EntryRow | undefined);
  }
  throw new Error(`could not settle trip ${settlement.tripId}: its wallet kept changing`);
}

async function holdCurrency(d1: D1Database, tripId: string): Promise<string | undefined> {
  const row = await d1
    .prepare(
      `SELECT l.currency
       FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id
       WHERE e.idempotency_key = ? LIMIT 1`,
    )
    .bind(holdKey(tripId))
    .first<{ currency: string }>();
  return row?.currency;
}
