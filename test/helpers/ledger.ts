/**
 * Money in the worker tests: amounts in USD minor units, a user's wallet as the API shows it,
 * the ledger's rows wherever they are (each user's money is in their own partition,
 * src/db/postings.ts), and the ledger's invariants, checked after each test of the files that
 * move money.
 */
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { ledgerProblems } from "../../src/db/ledger-checks";
import { allShards } from "../../src/db/shards";
import { call, type TestUser } from "./api";

export const USD = (amount: number) => ({ amount, currency: "USD" });

export async function walletOf(user: TestUser) {
  const res = await call("GET", "/v1/wallet", { token: user.token });
  expect(res.status).toBe(200);
  return res.body.wallet;
}

/** The rows `sql` selects in every partition, one list (each shard's in its own order). */
export async function ledgerRows<T = Record<string, unknown>>(sql: string, ...params: unknown[]): Promise<T[]> {
  const pages = await Promise.all(
    allShards(env).map(({ db }) =>
      db
        .prepare(sql)
        .bind(...params)
        .all<T>(),
    ),
  );
  return pages.flatMap((page) => page.results);
}

/** A count over every partition: `sql` selects one row with a column `n`. */
export async function ledgerCount(sql: string, ...params: unknown[]): Promise<number> {
  const rows = await ledgerRows<{ n: number }>(sql, ...params);
  return rows.reduce((sum, row) => sum + row.n, 0);
}

/**
 * The ledger's own rules hold (src/db/ledger-checks.ts): every entry and leg balances in its shard,
 * no wallet, hold or payout account has the wrong sign, and the transit account holds exactly what
 * the pending transfers carry.
 */
export async function expectLedgerBalanced(): Promise<void> {
  expect(await ledgerProblems(env), "the ledger's rules").toEqual([]);
}
