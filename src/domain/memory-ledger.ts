/**
 * @module domain/memory-ledger
 * The ledger in memory, the reference model of the D1 ledger (db/postings.ts): it posts entries
 * under the same two rules (domain/ledger-entries), so the property tests can drive long random
 * sequences of money events in Node and check the invariants after each.
 */
import type { Money } from "./fare";
import { Account, type Entry, guardsOf, isBalanced, type PostOutcome } from "./ledger-entries";

/** The ledger in memory with D1's two rules; the property tests drive it. */
export class MemoryLedger {
  readonly entries: Entry[] = [];
  private readonly keys = new Set<string>();
  private readonly balances = new Map<string, number>();

  balance(account: string, currency: string): number {
    return this.balances.get(`${account}\u0000${currency}`) ?? 0;
  }

  accounts(): { account: string; currency: string; balance: number }[] {
    return [...this.balances].map(([id, balance]) => {
      const [account = "", currency = ""] = id.split("\u0000");
      return { account, currency, balance };
    });
  }

  /** Whether an entry with this key was posted: a replay of it would post nothing. */
  has(key: string): boolean {
    return this.keys.has(key);
  }

  find(key: string): Entry | undefined {
    return this.entries.find((e) => e.key === key);
  }

  post(entry: Entry): PostOutcome {
    if (this.keys.has(entry.key)) return "duplicate";
    if (!isBalanced(entry)) throw new RangeError(`unbalanced entry ${entry.key}`);
    if (guardsOf(entry).some((g) => this.balance(g.account, g.currency) < g.atLeast)) return "refused";
    this.keys.add(entry.key);
    this.entries.push(entry);
    for (const line of entry.lines) {
      const id = `${line.account}\u0000${line.currency}`;
      this.balances.set(id, (this.balances.get(id) ?? 0) + line.amount);
    }
    return "posted";
  }

  /** What is on hold for one trip: the sum of its lines on the rider's hold account. */
  heldFor(tripId: string, riderId: string, currency: string): Money {
    let amount = 0;
    for (const e of this.entries)
      if (e.tripId === tripId)
        for (const l of e.lines) if (l.account === Account.hold(riderId) && l.currency === currency) amount += l.amount;
    return { amount, currency };
  }
}
