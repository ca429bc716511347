/**
 * Money in the worker tests: amounts in USD minor units, a user's wallet as the API shows it,
 * and the ledger's invariants, checked after each test of the files that move money.
 */
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { call, type TestUser } from "./api";

export const USD = (amount: number) => ({ amount, currency: "USD" });

export async function walletOf(user: TestUser) {
  const res = await call("GET", "/v1/wallet", { token: user.token });
  expect(res.status).toBe(200);
  return res.body.wallet;
}

/** Every journal entry balances per currency, and no wallet is below zero. */
export async function expectLedgerBalanced(): Promise<void> {
  const unbalanced = await env.DB.prepare(
    `SELECT entry_id, currency, SUM(amount) AS sum FROM journal_lines GROUP BY entry_id, currency HAVING sum != 0`,
  ).all();
  expect(unbalanced.results, "every entry's lines sum to zero per currency").toEqual([]);
  const overdrawn = await env.DB.prepare(
    `SELECT account_id, SUM(amount) AS sum FROM journal_lines WHERE account_id LIKE 'wallet:%' GROUP BY account_id, ` +
      `currency HAVING sum < 0`,
  ).all();
  expect(overdrawn.results, "no wallet below zero").toEqual([]);
}
