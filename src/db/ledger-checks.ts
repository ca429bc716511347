/**
 * @module db/ledger-checks
 * The reads behind the reconciliation (payments/reconcile.ts): the holds still open, and what
 * breaks the ledger's own rules (an entry whose lines do not sum to zero, an account whose
 * balance has a sign its kind does not allow). A driver's earnings may be below zero: a refund
 * after a payout takes the driver's share back, and the driver owes it (domain/payouts).
 */

/** Money a trip still holds on a rider's hold account, and since when. */
export type OpenHold = { tripId: string; account: string; currency: string; held: number; since: number };

export type LedgerProblem =
  | { kind: "account_balance"; account: string; currency: string; balance: number; rule: string }
  | { kind: "unbalanced_entry"; entryId: string; currency: string; sum: number; accounts: string[] };

/** Per trip and rider, the money still held, for holds placed before `before`; at most `limit`. */
export async function openHolds(d1: D1Database, before: number, limit: number): Promise<OpenHold[]> {
  // A range on account_id (not LIKE) so that the lines' account index serves it.
  const rows = await d1
    .prepare(
      `SELECT e.trip_id AS tripId, l.account_id AS account, l.currency AS currency, SUM(l.amount) AS held,
              MIN(l.created_at) AS since
         FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id
        WHERE l.account_id >= 'hold:' AND l.account_id < 'hold;' AND e.trip_id IS NOT NULL
        GROUP BY e.trip_id, l.account_id, l.currency
       HAVING held > 0 AND since < ?
        LIMIT ?`,
    )
    .bind(before, limit)
    .all<OpenHold>();
  return rows.results;
}

/** Accounts whose balance breaks their kind's sign, and entries whose lines do not sum to zero. */
export async function ledgerProblems(d1: D1Database): Promise<LedgerProblem[]> {
  const [accounts, entries] = await d1.batch<Record<string, unknown>>([
    d1.prepare(
      `SELECT account_id AS account, currency, SUM(amount) AS balance,
              CASE WHEN account_id >= 'wallet:' AND account_id < 'wallet;' AND SUM(amount) < 0
                     THEN 'a wallet never goes below zero'
                   WHEN account_id >= 'hold:' AND account_id < 'hold;' AND SUM(amount) < 0
                     THEN 'a hold never goes below zero'
                   WHEN account_id >= 'receivable:' AND account_id < 'receivable;' AND SUM(amount) > 0
                     THEN 'a receivable never goes above zero'
                   WHEN account_id >= 'payout:' AND account_id < 'payout;' AND SUM(amount) < 0
                     THEN 'a payout in transit never goes below zero'
              END AS rule
         FROM journal_lines GROUP BY account_id, currency HAVING rule IS NOT NULL`,
    ),
    d1.prepare(
      `SELECT entry_id AS entryId, currency, SUM(amount) AS sum, GROUP_CONCAT(account_id) AS accounts
         FROM journal_lines GROUP BY entry_id, currency HAVING SUM(amount) != 0`,
    ),
  ]);
  const problems: LedgerProblem[] = [];
  for (const row of (accounts?.results ?? []) as {
    account: string;
    currency: string;
    balance: number;
    rule: string;
  }[]) {
    problems.push({
      kind: "account_balance",
      account: row.account,
      currency: row.currency,
      balance: row.balance,
      rule: row.rule,
    });
  }
  for (const row of (entries?.results ?? []) as {
    entryId: string;
    currency: string;
    sum: number;
    accounts: string;
  }[]) {
    problems.push({
      kind: "unbalanced_entry",
      entryId: row.entryId,
      currency: row.currency,
      sum: row.sum,
      accounts: [...new Set(row.accounts.split(","))],
    });
  }
  return problems;
}
