// The ledger's posting rules (src/domain/ledger-entries.ts and the entry modules beside it):
// examples of each event's lines, then random sequences of top-ups, trip requests, captures,
// fees, releases, refunds, tips and replays that must keep every entry balanced, every wallet at
// zero or above, all accounts summing to zero, and each trip's tips within their bound.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chargeEntry, commissionOf } from "../../../src/domain/charges";
import { Account, accountKind, isBalanced, transactionKind, type Entry } from "../../../src/domain/ledger-entries";
import { MemoryLedger } from "../../../src/domain/memory-ledger";
import { refundEntry } from "../../../src/domain/refunds";
import { tipBound, tipEntry, tipKey, tippedBy, tipWindowOpen } from "../../../src/domain/tips";
import { settlementEntries, settlementOf, type Settlement } from "../../../src/domain/settlement";
import { holdEntry, topUpEntry } from "../../../src/domain/wallet-entries";
import { apply } from "../../../src/domain/trip";
import { newTrip, T0 } from "./fixtures";

const USD = (amount: number) => ({ amount, currency: "USD" });
const NO_BREAKDOWN = { base: 0, distance: 0, time: 0, surge: 0, fee: 0 };

/** Settles a trip the way src/db/settlement.ts does: read the balances, post each entry. */
function settle(ledger: MemoryLedger, s: Settlement, bps: number) {
  const wallet = ledger.balance(Account.wallet(s.riderId), "USD");
  const held = ledger.heldFor(s.tripId, s.riderId, "USD");
  return settlementEntries(s, { wallet, held }, bps).map((e) => ledger.post(e));
}

describe("posting rules", () => {
  it("a top-up moves money from the provider's clearing account into the wallet", () => {
    const e = topUpEntry("tu1", "r1", USD(2_000), "sandbox");
    expect(e).toMatchObject({ key: "topup:tu1", kind: "top_up" });
    expect(e.lines).toEqual([
      { account: "clearing:sandbox", amount: -2_000, currency: "USD" },
      { account: "wallet:r1", amount: 2_000, currency: "USD" },
    ]);
    expect(() => topUpEntry("tu2", "r1", USD(0), "sandbox")).toThrow(RangeError);
    expect(() => topUpEntry("tu3", "r1", USD(1.5), "sandbox")).toThrow(RangeError);
  });

  it("a hold is refused when the wallet is short, and posts once per key", () => {
    const ledger = new MemoryLedger();
    ledger.post(topUpEntry("tu1", "r1", USD(1_000), "sandbox"));
    expect(ledger.post(holdEntry("t1", "r1", USD(1_001)))).toBe("refused");
    expect(ledger.post(holdEntry("t1", "r1", USD(1_000)))).toBe("posted");
    expect(ledger.post(holdEntry("t1", "r1", USD(1_000)))).toBe("duplicate");
    expect(ledger.balance("wallet:r1", "USD")).toBe(0);
    expect(ledger.balance("hold:r1", "USD")).toBe(1_000);
  });

  it("completion releases the hold, captures the fare and splits it 75/25", () => {
    const ledger = new MemoryLedger();
    ledger.post(topUpEntry("tu1", "r1", USD(5_000), "sandbox"));
    ledger.post(holdEntry("t1", "r1", USD(1_500)));
    const outcomes = settle(
      ledger,
      {
        type: "capture",
        tripId: "t1",
        riderId: "r1",
        driverId: "d1",
        charge: USD(1_234),
        breakdown: NO_BREAKDOWN,
        at: T0,
      },
      2_500,
    );
    expect(outcomes).toEqual(["posted", "posted"]);
    expect(ledger.balance("wallet:r1", "USD")).toBe(5_000 - 1_234);
    expect(ledger.balance("hold:r1", "USD")).toBe(0);
    expect(ledger.balance("earnings:d1", "USD")).toBe(1_234 - 309);
    expect(ledger.balance("platform:revenue", "USD")).toBe(309);
    // Settling again (a retried side effect) posts nothing.
    expect(
      settlementEntries(
        {
          type: "capture",
          tripId: "t1",
          riderId: "r1",
          driverId: "d1",
          charge: USD(1_234),
          breakdown: NO_BREAKDOWN,
          at: T0,
        },
        { wallet: 0, held: USD(0) },
        2_500,
      ).map((e) => ledger.post(e)),
    ).toEqual(["duplicate"]);
  });

  it("a fare above the wallet plus the hold takes what there is and books the rest as a receivable", () => {
    const ledger = new MemoryLedger();
    ledger.post(topUpEntry("tu1", "r1", USD(1_000), "sandbox"));
    ledger.post(holdEntry("t1", "r1", USD(800)));
    settle(
      ledger,
      {
        type: "capture",
        tripId: "t1",
        riderId: "r1",
        driverId: "d1",
        charge: USD(1_500),
        breakdown: NO_BREAKDOWN,
        at: T0,
      },
      2_000,
    );
    const capture = ledger.find("trip:t1:capture");
    expect(capture?.data).toMatchObject({ paid: 1_000, owed: 500, commission: 300, driverEarning: 1_200 });
    expect(ledger.balance("wallet:r1", "USD")).toBe(0);
    expect(ledger.balance("receivable:r1", "USD")).toBe(-500);
    expect(ledger.balance("earnings:d1", "USD")).toBe(1_200);
  });

  it("a fee without a driver goes to the platform whole; a refund reverses a capture exactly", () => {
    const e = chargeEntry({
      kind: "fee",
      tripId: "t1",
      riderId: "r1",
      driverId: null,
      charge: USD(500),
      breakdown: { ...NO_BREAKDOWN, fee: 500 },
      available: 500,
      commissionBps: 2_500,
    });
    expect(e?.lines).toEqual([
      { account: "wallet:r1", amount: -500, currency: "USD" },
      { account: "platform:revenue", amount: 500, currency: "USD" },
    ]);
    const r = refundEntry(e as Entry);
    expect(r.key).toBe("refund:trip:t1:fee");
    expect(r.lines.map((l) => l.amount)).toEqual([500, -500]);
    expect(transactionKind("fee", "wallet:r1")).toBe("capture");
    expect(transactionKind("capture", "earnings:d1")).toBe("earning");
    expect(transactionKind("capture", "platform:revenue")).toBe("commission");
  });

  it("commission rounds half up in integers", () => {
    expect(commissionOf(1_000, 2_500)).toBe(250);
    expect(commissionOf(2, 2_500)).toBe(1); // 0.5 → 1
    expect(commissionOf(1, 2_500)).toBe(0);
    expect(commissionOf(999, 0)).toBe(0);
    expect(commissionOf(999, 10_000)).toBe(999);
    expect(() => commissionOf(1, 10_001)).toThrow(RangeError);
  });

  it(
    "a trip's end decides its settlement: capture on completion, fee or release on cancel, release on " + "no_driver",
    () => {
      const trip = newTrip();
      const offered = apply(trip, { type: "offer", driverId: "d1", now: T0 + 1_000, timeoutMs: 15_000 });
      if (!offered.ok) throw new Error("offer refused");
      const accepted = apply(offered.state, { type: "accept", driverId: "d1", now: T0 + 2_000 });
      if (!accepted.ok) throw new Error("accept refused");
      const lateCancel = apply(accepted.state, {
        type: "cancel",
        by: "rider",
        userId: trip.riderId,
        now: T0 + 10 * 60_000,
      });
      if (!lateCancel.ok) throw new Error("cancel refused");
      expect(settlementOf(lateCancel.state, lateCancel.events)).toMatchObject({
        type: "fee",
        driverId: "d1",
        charge: lateCancel.state.cancellationFee,
      });
      const freeCancel = apply(accepted.state, { type: "cancel", by: "rider", userId: trip.riderId, now: T0 + 3_000 });
      if (!freeCancel.ok) throw new Error("cancel refused");
      expect(settlementOf(freeCancel.state, freeCancel.events)).toMatchObject({ type: "release" });
      const gaveUp = apply(trip, { type: "give_up", now: T0 + 1_000 });
      if (!gaveUp.ok) throw new Error("give up refused");
      expect(settlementOf(gaveUp.state, gaveUp.events)).toMatchObject({ type: "release" });
      expect(settlementOf(accepted.state, accepted.events)).toBeNull();
    },
  );
});

describe("tips", () => {
  const RULES = { maxPercent: 50, maxMinor: 10_000 };

  it("move money from the rider's wallet to the driver's earnings, with no commission", () => {
    const ledger = new MemoryLedger();
    ledger.post(topUpEntry("tu1", "r1", USD(300), "sandbox"));
    const e = tipEntry(tipKey("t1", "k1"), "t1", "r1", "d1", USD(250));
    expect(e).toMatchObject({ key: "tip:trip:t1:k1", kind: "tip", tripId: "t1", data: null });
    expect(e.lines).toEqual([
      { account: "wallet:r1", amount: -250, currency: "USD" },
      { account: "earnings:d1", amount: 250, currency: "USD" },
    ]);
    expect(tippedBy(e, "d1")).toBe(250);
    expect(ledger.post(e)).toBe("posted");
    expect(ledger.post(e)).toBe("duplicate");
    // The wallet guard: a tip beyond what is left is refused.
    expect(ledger.post(tipEntry(tipKey("t1", "k2"), "t1", "r1", "d1", USD(51)))).toBe("refused");
    expect(ledger.balance("earnings:d1", "USD")).toBe(250);
    expect(ledger.balance(Account.platform, "USD")).toBe(0);
    expect(transactionKind("tip", "earnings:d1")).toBe("tip");
    expect(transactionKind("tip", "wallet:r1")).toBe("tip");
  });

  it("are positive integers, never to oneself", () => {
    for (const amount of [0, -1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 2])
      expect(() => tipEntry("k", "t1", "r1", "d1", USD(amount))).toThrow(RangeError);
    expect(() => tipEntry("k", "t1", "u1", "u1", USD(5))).toThrow(RangeError);
  });

  it("are bounded by the lower of a share of the fare and a cap, rounded down", () => {
    expect(tipBound(1_999, RULES)).toBe(999);
    expect(tipBound(100_000, RULES)).toBe(10_000);
    expect(tipBound(0, RULES)).toBe(0);
    expect(tipBound(1_000, { maxPercent: 12.5, maxMinor: 10_000 })).toBe(125);
    expect(tipBound(1_000, { maxPercent: 0, maxMinor: 10_000 })).toBe(0);
  });

  it("are open for the window after completion, and not a millisecond beyond", () => {
    expect(tipWindowOpen(T0, T0 + 86_400_000, 86_400_000)).toBe(true);
    expect(tipWindowOpen(T0, T0 + 86_400_001, 86_400_000)).toBe(false);
  });
});

// ---- properties ------------------------------------------------------------------------------

const RIDERS = ["r1", "r2", "r3"];
const DRIVERS = ["d1", "d2"];
const TRIPS = ["t1", "t2", "t3", "t4", "t5"];

type Op =
  | { op: "topUp"; id: number; rider: string; amount: number }
  | { op: "request"; trip: string; rider: string; amount: number }
  | { op: "complete"; trip: string; driver: string; fare: number }
  | { op: "fee"; trip: string; driver: string | null; fee: number }
  | { op: "release"; trip: string }
  | { op: "refund"; trip: string }
  | { op: "tip"; trip: string; key: number; amount: number }
  | { op: "replay"; index: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant("topUp" as const),
    id: fc.integer({ min: 0, max: 6 }),
    rider: fc.constantFrom(...RIDERS),
    amount: fc.integer({ min: 1, max: 5_000 }),
  }),
  fc.record({
    op: fc.constant("request" as const),
    trip: fc.constantFrom(...TRIPS),
    rider: fc.constantFrom(...RIDERS),
    amount: fc.integer({ min: 1, max: 4_000 }),
  }),
  fc.record({
    op: fc.constant("complete" as const),
    trip: fc.constantFrom(...TRIPS),
    driver: fc.constantFrom(...DRIVERS),
    fare: fc.integer({ min: 0, max: 8_000 }),
  }),
  fc.record({
    op: fc.constant("fee" as const),
    trip: fc.constantFrom(...TRIPS),
    driver: fc.option(fc.constantFrom(...DRIVERS), { nil: null }),
    fee: fc.integer({ min: 1, max: 1_000 }),
  }),
  fc.record({ op: fc.constant("release" as const), trip: fc.constantFrom(...TRIPS) }),
  fc.record({ op: fc.constant("refund" as const), trip: fc.constantFrom(...TRIPS) }),
  fc.record({
    op: fc.constant("tip" as const),
    trip: fc.constantFrom(...TRIPS),
    key: fc.integer({ min: 0, max: 3 }),
    amount: fc.integer({ min: 1, max: 3_000 }),
  }),
  fc.record({ op: fc.constant("replay" as const), index: fc.nat() }),
);

const TIP_RULES = { maxPercent: 50, maxMinor: 2_000 };

/** What a trip's tips gave its driver so far: the model of db/tips' `tippedSoFar`. */
function tippedOn(ledger: MemoryLedger, tripId: string, driverId: string): number {
  return ledger.entries
    .filter((e) => e.kind === "tip" && e.tripId === tripId)
    .reduce((sum, e) => sum + tippedBy(e, driverId), 0);
}

describe("ledger properties", () => {
  it(
    "random sequences keep entries balanced, wallets non-negative, " +
      "all accounts summing to zero, and replays posting nothing",
    () => {
      fc.assert(
        fc.property(fc.array(op, { maxLength: 60 }), fc.integer({ min: 0, max: 10_000 }), (ops, bps) => {
          const ledger = new MemoryLedger();
          /** The rider of each requested trip: the trip room knows it. */
          const riderOf = new Map<string, string>();
          const posted: Entry[][] = [];
          for (const step of ops) {
            let entries: Entry[] = [];
            switch (step.op) {
              case "topUp":
                // The same top-up id is the same top-up (a replayed webhook), whatever the amount claims.
                entries = [
                  ledger.find(`topup:${step.id}`) ??
                    topUpEntry(String(step.id), step.rider, USD(step.amount), "sandbox"),
                ];
                break;
              case "request":
                if (!riderOf.has(step.trip)) riderOf.set(step.trip, step.rider);
                entries = [holdEntry(step.trip, riderOf.get(step.trip) ?? step.rider, USD(step.amount))];
                break;
              case "complete":
              case "fee":
              case "release": {
                const riderId = riderOf.get(step.trip);
                if (!riderId) break;
                const s: Settlement =
                  step.op === "complete"
                    ? {
                        type: "capture",
                        tripId: step.trip,
                        riderId,
                        driverId: step.driver,
                        charge: USD(step.fare),
                        breakdown: NO_BREAKDOWN,
                        at: T0,
                      }
                    : step.op === "fee"
                      ? {
                          type: "fee",
                          tripId: step.trip,
                          riderId,
                          driverId: step.driver,
                          charge: USD(step.fee),
                          breakdown: { ...NO_BREAKDOWN, fee: step.fee },
                          at: T0,
                        }
                      : { type: "release", tripId: step.trip, riderId, at: T0 };
                entries = settlementEntries(
                  s,
                  {
                    wallet: ledger.balance(Account.wallet(riderId), "USD"),
                    held: ledger.heldFor(step.trip, riderId, "USD"),
                  },
                  bps,
                );
                break;
              }
              case "refund": {
                const charge = ledger.find(`trip:${step.trip}:capture`) ?? ledger.find(`trip:${step.trip}:fee`);
                if (charge) entries = [refundEntry(charge)];
                break;
              }
              case "tip": {
                // As db/tips.ts posts it: only on a ride's capture, only if the trip's tips stay within the bound.
                const capture = ledger.find(`trip:${step.trip}:capture`);
                const driverId = capture?.data?.driverId;
                if (!capture?.data || !driverId) break;
                const bound = tipBound(capture.data.charge.amount, TIP_RULES);
                if (tippedOn(ledger, step.trip, driverId) + step.amount > bound) break;
                entries = [
                  tipEntry(
                    tipKey(step.trip, String(step.key)),
                    step.trip,
                    capture.data.riderId,
                    driverId,
                    USD(step.amount),
                  ),
                ];
                break;
              }
              case "replay": {
                const earlier = posted.length === 0 ? undefined : posted[step.index % posted.length];
                if (earlier) {
                  const before = JSON.stringify(ledger.accounts());
                  for (const e of earlier) expect(ledger.post(e)).toBe("duplicate");
                  expect(JSON.stringify(ledger.accounts())).toBe(before);
                }
                break;
              }
            }
            for (const e of entries) expect(isBalanced(e)).toBe(true);
            posted.push(entries.filter((e) => ledger.post(e) === "posted"));

            const all = ledger.accounts();
            expect(all.reduce((sum, a) => sum + a.balance, 0)).toBe(0);
            for (const a of all) {
              if (accountKind(a.account) === "wallet" || accountKind(a.account) === "hold")
                expect(a.balance).toBeGreaterThanOrEqual(0);
              expect(Number.isSafeInteger(a.balance)).toBe(true);
            }
          }
          // No trip's tips ever pass the bound of its fare, and each tip is the driver's whole.
          for (const trip of TRIPS) {
            const capture = ledger.find(`trip:${trip}:capture`);
            const driverId = capture?.data?.driverId;
            if (capture?.data && driverId)
              expect(tippedOn(ledger, trip, driverId)).toBeLessThanOrEqual(
                tipBound(capture.data.charge.amount, TIP_RULES),
              );
            else expect(ledger.entries.some((e) => e.kind === "tip" && e.tripId === trip)).toBe(false);
          }
          for (const e of ledger.entries)
            if (e.kind === "tip") expect(e.lines.every((l) => accountKind(l.account) !== "platform")).toBe(true);
          // Each charge splits exactly: what the rider paid or owes equals earnings plus commission.
          for (const e of ledger.entries) {
            if (e.data) expect(e.data.paid + e.data.owed).toBe(e.data.commission + e.data.driverEarning);
          }
        }),
        { numRuns: 300 },
      );
    },
  );
});
