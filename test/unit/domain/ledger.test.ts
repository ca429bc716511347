// The ledger's posting rules (src/domain/ledger-entries.ts and the entry modules beside it):
// examples of each event's lines, then random sequences of top-ups, trip requests, captures,
// fees, releases, refunds, tips, payouts (paid, failed or left pending) and replays that must keep
// every entry balanced, every wallet and payout in transit at zero or above, all accounts summing
// to zero, each trip's tips within their bound, and no driver's payouts above what they earned.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chargeEntry, commissionOf } from "../../../src/domain/charges";
import { Account, accountKind, isBalanced, transactionKind, type Entry } from "../../../src/domain/ledger-entries";
import { MemoryLedger } from "../../../src/domain/memory-ledger";
import { refundEntry } from "../../../src/domain/refunds";
import { tipBound, tipEntry, tipKey, tippedBy, tipWindowOpen } from "../../../src/domain/tips";
import {
  availableForPayout,
  payoutAmount,
  payoutEntry,
  payoutFailedEntry,
  payoutPaidEntry,
} from "../../../src/domain/payouts";
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

describe("payouts", () => {
  it("move earnings into transit, then out through the provider or back to the earnings", () => {
    const ledger = new MemoryLedger();
    ledger.post(topUpEntry("tu1", "r1", USD(5_000), "sandbox"));
    ledger.post(tipEntry(tipKey("t1", "k"), "t1", "r1", "d1", USD(3_000)));
    const out = payoutEntry("po1", "d1", USD(2_000));
    expect(out).toMatchObject({ key: "payout:po1", kind: "payout", tripId: null });
    expect(out.lines).toEqual([
      { account: "earnings:d1", amount: -2_000, currency: "USD" },
      { account: "payout:d1", amount: 2_000, currency: "USD" },
    ]);
    expect(ledger.post(out)).toBe("posted");
    expect(ledger.post(out)).toBe("duplicate");
    const paid = payoutPaidEntry("po1", "d1", USD(2_000), "stripe");
    expect(paid.lines).toEqual([
      { account: "payout:d1", amount: -2_000, currency: "USD" },
      { account: "clearing:stripe", amount: 2_000, currency: "USD" },
    ]);
    expect(ledger.post(paid)).toBe("posted");
    // Paid, so it cannot also fail: the money is no longer in transit.
    expect(ledger.post(payoutFailedEntry("po1", "d1", USD(2_000)))).toBe("refused");
    expect(ledger.balance("earnings:d1", "USD")).toBe(1_000);
    expect(ledger.balance("payout:d1", "USD")).toBe(0);
    // A failed one gives the money back.
    expect(ledger.post(payoutEntry("po2", "d1", USD(1_000)))).toBe("posted");
    expect(ledger.post(payoutFailedEntry("po2", "d1", USD(1_000)))).toBe("posted");
    expect(ledger.balance("earnings:d1", "USD")).toBe(1_000);
    expect(transactionKind("payout", "earnings:d1")).toBe("payout");
    expect(transactionKind("payout_failed", "earnings:d1")).toBe("payout_reversal");
  });

  it("never take earnings below zero, unlike a refund's claw-back", () => {
    const ledger = new MemoryLedger();
    ledger.post(topUpEntry("tu1", "r1", USD(500), "sandbox"));
    ledger.post(tipEntry(tipKey("t1", "k"), "t1", "r1", "d1", USD(400)));
    expect(ledger.post(payoutEntry("po1", "d1", USD(401)))).toBe("refused");
    expect(ledger.post(payoutEntry("po1", "d1", USD(400)))).toBe("posted");
    expect(ledger.balance("earnings:d1", "USD")).toBe(0);
    for (const amount of [0, -1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 2])
      expect(() => payoutEntry("po9", "d1", USD(amount))).toThrow(RangeError);
  });

  it("take what is available: the earnings less credits within the hold, at least the minimum", () => {
    expect(availableForPayout(5_000, 1_500)).toBe(3_500);
    expect(availableForPayout(1_000, 1_500)).toBe(0);
    expect(availableForPayout(-200, 0)).toBe(0);
    expect(payoutAmount(undefined, 3_500, 1_000)).toEqual({ ok: true, amount: 3_500 });
    expect(payoutAmount(1_000, 3_500, 1_000)).toEqual({ ok: true, amount: 1_000 });
    expect(payoutAmount(999, 3_500, 1_000)).toEqual({ ok: false, reason: "below_minimum" });
    expect(payoutAmount(undefined, 999, 1_000)).toEqual({ ok: false, reason: "below_minimum" });
    expect(payoutAmount(3_501, 3_500, 1_000)).toEqual({ ok: false, reason: "over_available" });
    expect(payoutAmount(undefined, 0, 1_000)).toEqual({ ok: false, reason: "nothing_available" });
    expect(payoutAmount(-5, 3_500, 1)).toEqual({ ok: false, reason: "below_minimum" });
  });
});

// ---- properties ------------------------------------------------------------------------------

const RIDERS = ["r1", "r2", "r3"];
const DRIVERS = ["d1", "d2"];
const TRIPS = ["t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8"];

type Op =
  | { op: "topUp"; id: number; rider: string; amount: number }
  | { op: "request"; trip: string; rider: string; amount: number }
  | { op: "complete"; trip: string; driver: string; fare: number }
  | { op: "fee"; trip: string; driver: string | null; fee: number }
  | { op: "release"; trip: string }
  | { op: "refund"; trip: string }
  | { op: "tip"; trip: string; key: number; amount: number }
  /** `share`: percent of what is available (beyond 100 asks too much); null: everything. */
  | { op: "payout"; driver: string; share: number | null; outcome: "paid" | "failed" | "pending" }
  | { op: "settlePayout"; driver: string; outcome: "paid" | "failed" }
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
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("payout" as const),
      driver: fc.constantFrom(...DRIVERS),
      share: fc.option(fc.integer({ min: -5, max: 130 }), { nil: null }),
      outcome: fc.constantFrom("paid" as const, "failed" as const, "pending" as const),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("settlePayout" as const),
      driver: fc.constantFrom(...DRIVERS),
      outcome: fc.constantFrom("paid" as const, "failed" as const),
    }),
  },
  fc.record({ op: fc.constant("replay" as const), index: fc.nat() }),
);

const PAYOUT_MIN = 100;

/** A driver's payout in flight in the model, as the pending row of db/payouts holds it. */
type PendingPayout = { id: string; amount: number };

/** What the driver earned in all: the credits to their earnings by anything but a payout. */
function earnedBy(ledger: MemoryLedger, driverId: string): number {
  let sum = 0;
  for (const e of ledger.entries)
    if (!e.kind.startsWith("payout"))
      for (const l of e.lines) if (l.account === Account.earnings(driverId) && l.amount > 0) sum += l.amount;
  return sum;
}

/** The sum of one kind of entries' lines on one account. */
function linesOf(ledger: MemoryLedger, kind: Entry["kind"], account: string): number {
  let sum = 0;
  for (const e of ledger.entries)
    if (e.kind === kind) for (const l of e.lines) if (l.account === account) sum += l.amount;
  return sum;
}

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
        fc.property(
          fc.array(op, { minLength: 20, maxLength: 80 }),
          fc.integer({ min: 0, max: 10_000 }),
          fc.integer({ min: 0, max: 8 }),
          (ops, bps, holdSteps) => {
            const ledger = new MemoryLedger();
            /** The step each entry was posted at: the model's clock for the payout hold. */
            const postedAt = new Map<string, number>();
            const pending = new Map<string, PendingPayout>();
            let payouts = 0;
            let step = 0;
            /** The rider of each requested trip: the trip room knows it. */
            const riderOf = new Map<string, string>();
            const posted: Entry[][] = [];
            for (const move of ops) {
              step++;
              let entries: Entry[] = [];
              switch (move.op) {
                case "topUp":
                  // The same top-up id is the same top-up (a replayed webhook), whatever the amount claims.
                  entries = [
                    ledger.find(`topup:${move.id}`) ??
                      topUpEntry(String(move.id), move.rider, USD(move.amount), "sandbox"),
                  ];
                  break;
                case "request":
                  if (!riderOf.has(move.trip)) riderOf.set(move.trip, move.rider);
                  entries = [holdEntry(move.trip, riderOf.get(move.trip) ?? move.rider, USD(move.amount))];
                  break;
                case "complete":
                case "fee":
                case "release": {
                  const riderId = riderOf.get(move.trip);
                  if (!riderId) break;
                  const s: Settlement =
                    move.op === "complete"
                      ? {
                          type: "capture",
                          tripId: move.trip,
                          riderId,
                          driverId: move.driver,
                          charge: USD(move.fare),
                          breakdown: NO_BREAKDOWN,
                          at: T0,
                        }
                      : move.op === "fee"
                        ? {
                            type: "fee",
                            tripId: move.trip,
                            riderId,
                            driverId: move.driver,
                            charge: USD(move.fee),
                            breakdown: { ...NO_BREAKDOWN, fee: move.fee },
                            at: T0,
                          }
                        : { type: "release", tripId: move.trip, riderId, at: T0 };
                  entries = settlementEntries(
                    s,
                    {
                      wallet: ledger.balance(Account.wallet(riderId), "USD"),
                      held: ledger.heldFor(move.trip, riderId, "USD"),
                    },
                    bps,
                  );
                  break;
                }
                case "refund": {
                  const charge = ledger.find(`trip:${move.trip}:capture`) ?? ledger.find(`trip:${move.trip}:fee`);
                  if (charge) entries = [refundEntry(charge)];
                  break;
                }
                case "tip": {
                  // As db/tips.ts posts it: only on a ride's capture, only if the trip's tips stay within the bound.
                  const capture = ledger.find(`trip:${move.trip}:capture`);
                  const driverId = capture?.data?.driverId;
                  if (!capture?.data || !driverId) break;
                  const bound = tipBound(capture.data.charge.amount, TIP_RULES);
                  if (tippedOn(ledger, move.trip, driverId) + move.amount > bound) break;
                  entries = [
                    tipEntry(
                      tipKey(move.trip, String(move.key)),
                      move.trip,
                      capture.data.riderId,
                      driverId,
                      USD(move.amount),
                    ),
                  ];
                  break;
                }
                case "payout": {
                  // As db/payouts' startPayout: one in flight per driver, only what is available
                  // (earnings less the credits of the last `holdSteps` steps), at least the minimum.
                  if (pending.has(move.driver)) break;
                  const earnings = Account.earnings(move.driver);
                  let recent = 0;
                  for (const e of ledger.entries)
                    if (e.kind !== "payout_failed" && (postedAt.get(e.key) ?? 0) > step - holdSteps)
                      for (const l of e.lines) if (l.account === earnings && l.amount > 0) recent += l.amount;
                  const available = availableForPayout(ledger.balance(earnings, "USD"), recent);
                  const asked = move.share === null ? undefined : Math.floor((available * move.share) / 100);
                  const decided = payoutAmount(asked, available, PAYOUT_MIN);
                  if (!decided.ok) {
                    if (asked !== undefined && asked > available && available > 0)
                      expect(decided.reason).toBe(asked < PAYOUT_MIN ? "below_minimum" : "over_available");
                    break;
                  }
                  expect(decided.amount).toBeLessThanOrEqual(available);
                  const id = `po${++payouts}`;
                  const out = payoutEntry(id, move.driver, USD(decided.amount));
                  expect(ledger.post(out)).toBe("posted");
                  postedAt.set(out.key, step);
                  posted.push([out]);
                  expect(ledger.balance(earnings, "USD")).toBeGreaterThanOrEqual(0);
                  if (move.outcome === "pending") pending.set(move.driver, { id, amount: decided.amount });
                  else
                    entries = [
                      move.outcome === "paid"
                        ? payoutPaidEntry(id, move.driver, USD(decided.amount), "stripe")
                        : payoutFailedEntry(id, move.driver, USD(decided.amount)),
                    ];
                  break;
                }
                case "settlePayout": {
                  // The cron's retry: the provider's answer at last settles it, one way only.
                  const open = pending.get(move.driver);
                  if (!open) break;
                  pending.delete(move.driver);
                  const paid = payoutPaidEntry(open.id, move.driver, USD(open.amount), "stripe");
                  const failed = payoutFailedEntry(open.id, move.driver, USD(open.amount));
                  const [first, other] = move.outcome === "paid" ? [paid, failed] : [failed, paid];
                  expect(ledger.post(first)).toBe("posted");
                  postedAt.set(first.key, step);
                  expect(ledger.post(other)).toBe("refused");
                  break;
                }
                case "replay": {
                  const earlier = posted.length === 0 ? undefined : posted[move.index % posted.length];
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
              for (const e of entries) if (!postedAt.has(e.key)) postedAt.set(e.key, step);

              const all = ledger.accounts();
              expect(all.reduce((sum, a) => sum + a.balance, 0)).toBe(0);
              for (const a of all) {
                const kind = accountKind(a.account);
                if (kind === "wallet" || kind === "hold" || kind === "payout")
                  expect(a.balance).toBeGreaterThanOrEqual(0);
                expect(Number.isSafeInteger(a.balance)).toBe(true);
              }
              for (const driver of DRIVERS) {
                // Paid out and in transit never more than the driver earned; what is in transit is the pending payout.
                const paidOut = -linesOf(ledger, "payout_paid", Account.payout(driver));
                const inTransit = ledger.balance(Account.payout(driver), "USD");
                expect(paidOut + inTransit).toBeLessThanOrEqual(earnedBy(ledger, driver));
                expect(inTransit).toBe(pending.get(driver)?.amount ?? 0);
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
            // A payout ends one way: never both paid and failed.
            for (const e of ledger.entries)
              if (e.kind === "payout_paid") expect(ledger.find(e.key.replace(/:paid$/, ":failed"))).toBeUndefined();
          },
        ),
        { numRuns: 300 },
      );
    },
  );
});
