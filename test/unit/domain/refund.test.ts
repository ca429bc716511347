// The operator's refund posting rule (domain/refunds' partialRefundEntry): the rider gets the
// refund back, first on what the charge left owed, then in the wallet; the driver and the
// platform give it back in proportion to their shares. Any series of partial refunds adds up
// to the exact negation of the charge and can never exceed it.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chargeEntry } from "../../../src/domain/charges";
import { Account, isBalanced, type ChargeData, type Entry } from "../../../src/domain/ledger-entries";
import { MemoryLedger } from "../../../src/domain/memory-ledger";
import { partialRefundEntry, refundedBy, refundEntry } from "../../../src/domain/refunds";
import { topUpEntry } from "../../../src/domain/wallet-entries";

const USD = (amount: number) => ({ amount, currency: "USD" });
const NO_BREAKDOWN = { base: 0, distance: 0, time: 0, surge: 0, fee: 0 };

function charged(amount: number, available: number, driverId: string | null = "d1", bps = 2_500): Entry {
  const entry = chargeEntry({
    kind: "capture",
    tripId: "t1",
    riderId: "r1",
    driverId,
    charge: USD(amount),
    breakdown: NO_BREAKDOWN,
    available,
    commissionBps: bps,
  });
  if (!entry?.data) throw new Error("no charge");
  return entry;
}

const stateOf = (charge: Entry, refunded: number) => ({
  chargeKey: charge.key,
  tripId: "t1",
  charge: charge.data as ChargeData,
  refunded,
});
const sumBy = (entries: Entry[], account: string) =>
  entries
    .flatMap((e) => e.lines)
    .filter((l) => l.account === account)
    .reduce((s, l) => s + l.amount, 0);

describe("a partial refund", () => {
  it("gives the rider the amount and takes it back 75/25 from the driver and the platform", () => {
    const charge = charged(700, 5_000);
    const refund = partialRefundEntry(stateOf(charge, 0), 300, "refund:trip:t1:k1");
    expect(refund).toMatchObject({ key: "refund:trip:t1:k1", kind: "refund", tripId: "t1" });
    expect(refund.lines).toEqual([
      { account: "wallet:r1", amount: 300, currency: "USD" },
      { account: "platform:revenue", amount: -75, currency: "USD" },
      { account: "earnings:d1", amount: -225, currency: "USD" },
    ]);
    expect(isBalanced(refund)).toBe(true);
    expect(refundedBy(refund, "r1")).toBe(300);
  });

  it("cancels what the rider still owes of the charge before it pays into the wallet", () => {
    // A fare of 1,500 with 1,000 in the wallet: 500 owed on the receivable.
    const charge = charged(1_500, 1_000);
    const first = partialRefundEntry(stateOf(charge, 0), 400, "k1");
    expect(sumBy([first], "receivable:r1")).toBe(400);
    expect(sumBy([first], "wallet:r1")).toBe(0);
    const second = partialRefundEntry(stateOf(charge, 400), 300, "k2");
    expect(sumBy([second], "receivable:r1")).toBe(100);
    expect(sumBy([second], "wallet:r1")).toBe(200);
  });

  it("of a fee with no driver comes from the platform alone", () => {
    const fee = chargeEntry({
      kind: "fee",
      tripId: "t1",
      riderId: "r1",
      driverId: null,
      charge: USD(500),
      breakdown: { ...NO_BREAKDOWN, fee: 500 },
      available: 500,
      commissionBps: 2_500,
    });
    if (!fee) throw new Error("no fee");
    const refund = partialRefundEntry(stateOf(fee, 0), 200, "k1");
    expect(refund.lines).toEqual([
      { account: "wallet:r1", amount: 200, currency: "USD" },
      { account: "platform:revenue", amount: -200, currency: "USD" },
    ]);
  });

  it("is refused beyond what is left of the charge, and for amounts that are not positive integers", () => {
    const charge = charged(700, 5_000);
    expect(() => partialRefundEntry(stateOf(charge, 0), 701, "k")).toThrow(RangeError);
    expect(() => partialRefundEntry(stateOf(charge, 500), 201, "k")).toThrow(RangeError);
    expect(() => partialRefundEntry(stateOf(charge, 700), 1, "k")).toThrow(RangeError);
    for (const bad of [0, -1, 1.5, Number.NaN])
      expect(() => partialRefundEntry(stateOf(charge, 0), bad, "k")).toThrow(RangeError);
  });

  it("in any series adds up to the whole charge negated, line for line, and never more", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20_000 }),
        fc.integer({ min: 0, max: 25_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.boolean(),
        fc.array(fc.integer({ min: 1, max: 20_000 }), { maxLength: 12 }),
        (amount, available, bps, withDriver, asks) => {
          const charge = charged(amount, available, withDriver ? "d1" : null, bps);
          const ledger = new MemoryLedger();
          ledger.post(topUpEntry("tu", "r1", USD(25_000), "sandbox"));
          ledger.post(charge);
          let refunded = 0;
          const refunds: Entry[] = [];
          for (const [i, ask] of asks.entries()) {
            if (refunded + ask > amount) {
              expect(() => partialRefundEntry(stateOf(charge, refunded), ask, `k${i}`)).toThrow(RangeError);
              continue;
            }
            const refund = partialRefundEntry(stateOf(charge, refunded), ask, `k${i}`);
            expect(isBalanced(refund)).toBe(true);
            expect(refundedBy(refund, "r1")).toBe(ask);
            // Every side moves the right way: the rider gains, the driver and the platform give back.
            for (const line of refund.lines) {
              if (line.account.startsWith("wallet:") || line.account.startsWith("receivable:"))
                expect(line.amount).toBeGreaterThanOrEqual(0);
              else expect(line.amount).toBeLessThanOrEqual(0);
            }
            expect(ledger.post(refund)).toBe("posted");
            refunds.push(refund);
            refunded += ask;
          }
          if (refunded < amount) {
            const rest = partialRefundEntry(stateOf(charge, refunded), amount - refunded, "rest");
            ledger.post(rest);
            refunds.push(rest);
          }
          // All refunds together are the full reversal (refundEntry), account by account.
          const full = refundEntry(charge);
          for (const account of [
            Account.wallet("r1"),
            Account.receivable("r1"),
            Account.platform,
            Account.earnings("d1"),
          ]) {
            expect(sumBy(refunds, account)).toBe(sumBy([full], account));
          }
          expect(ledger.balance(Account.platform, "USD")).toBe(0);
          expect(ledger.balance(Account.earnings("d1"), "USD")).toBe(0);
          expect(ledger.balance(Account.receivable("r1"), "USD")).toBe(0);
          expect(ledger.balance(Account.wallet("r1"), "USD")).toBe(25_000);
        },
      ),
      { numRuns: 300 },
    );
  });
});
