/**
 * @module domain/ledger
 * The posting rules of the payments ledger: which lines each money event produces. Plain
 * TypeScript with no `cloudflare:*` import, so the property tests run these exact rules in Node;
 * src/db/ledger.ts writes the entries to D1 with the same two rules this module's
 * `MemoryLedger` applies:
 *
 * - an entry is posted at most once per idempotency key (a replay posts nothing);
 * - an entry that takes money out of a wallet is posted only if the wallet covers it, so a
 *   wallet (the rider's available balance) never goes below zero.
 *
 * Accounts, signed amounts (a line adds its amount to its account; an entry's lines sum to zero
 * per currency, so all accounts together always sum to zero):
 *
 *   wallet:<rider>      the rider's available money (balance minus holds)
 *   hold:<rider>        money on hold for the rider's trips
 *   receivable:<rider>  negative when the rider owes a fare their wallet could not cover
 *   earnings:<driver>   what the platform owes the driver
 *   platform:revenue    commissions
 *   clearing:<provider> money that came in through a payment provider (negative)
 *
 *   top-up       clearing −a, wallet +a
 *   hold         wallet −a, hold +a                      (refused when the wallet has less than a)
 *   release      hold −h, wallet +h                      (the whole hold of the trip)
 *   capture/fee  wallet −paid, receivable −owed, earnings +driver, platform +commission
 *                paid = min(charge, wallet after the release), owed = charge − paid
 *   refund       the lines of a capture or fee, negated
 *   partial      an operator's refund of r out of a charge c (refundLines): the rider gets r back,
 *     refund     first against what they still owe of that charge (receivable, up to `owed`), the
 *                rest into the wallet; the driver's earnings and the platform's commission give
 *                it back in proportion to their shares of c. Computed on the running total R of
 *                the charge's refunds, so refunds add up exactly to the whole charge reversed.
 *
 * Money is integers in minor units throughout; the commission is rounded half up in basis
 * points with integer arithmetic.
 */
import { z } from "zod";
import { FareBreakdown, FareDecision, Money } from "./fare";
import type { TripEvent, TripState } from "./trip";

export type AccountKind = "wallet" | "hold" | "receivable" | "earnings" | "platform" | "clearing";

export const Account = {
  wallet: (userId: string) => `wallet:${userId}`,
  hold: (userId: string) => `hold:${userId}`,
  receivable: (userId: string) => `receivable:${userId}`,
  earnings: (driverId: string) => `earnings:${driverId}`,
  platform: "platform:revenue",
  clearing: (provider: string) => `clearing:${provider}`,
} as const;

const KINDS: ReadonlySet<string> = new Set(["wallet", "hold", "receivable", "earnings", "platform", "clearing"]);

export function accountKind(id: string): AccountKind {
  const kind = id.slice(0, id.indexOf(":"));
  if (!KINDS.has(kind)) throw new RangeError(`not a ledger account: ${id}`);
  return kind as AccountKind;
}

/** The user an account belongs to, or null for the platform's and the providers' accounts. */
export function accountOwner(id: string): string | null {
  const kind = accountKind(id);
  return kind === "platform" || kind === "clearing" ? null : id.slice(kind.length + 1);
}

export type EntryKind = "top_up" | "hold" | "release" | "capture" | "fee" | "refund";
export type Line = { account: string; amount: number; currency: string };

/** What a capture or fee entry remembers for the receipt and the driver's earnings. */
export type ChargeData = {
  riderId: string;
  driverId: string | null;
  charge: Money;
  breakdown: FareBreakdown;
  /** Taken from the wallet. */
  paid: number;
  /** What the wallet could not cover, booked on the rider's receivable. */
  owed: number;
  commission: number;
  driverEarning: number;
  /** A ride's: the quote, and whether the cap or a review applied (absent on fees and older entries). */
  decision?: FareDecision;
};

export type Entry = { key: string; kind: EntryKind; tripId: string | null; lines: Line[]; data: ChargeData | null };

/** Every amount an integer, the lines of each currency summing to zero. */
export function isBalanced(entry: Entry): boolean {
  const sums = new Map<string, number>();
  for (const line of entry.lines) {
    if (!Number.isSafeInteger(line.amount)) return false;
    sums.set(line.currency, (sums.get(line.currency) ?? 0) + line.amount);
  }
  return [...sums.values()].every((sum) => sum === 0);
}

/** What must hold before `entry` may post: each wallet it takes from has at least that much. */
export function guardsOf(entry: Entry): { account: string; currency: string; atLeast: number }[] {
  const need = new Map<string, { account: string; currency: string; atLeast: number }>();
  for (const line of entry.lines) {
    if (line.amount >= 0 || accountKind(line.account) !== "wallet") continue;
    const id = `${line.account}\u0000${line.currency}`;
    const guard = need.get(id) ?? { account: line.account, currency: line.currency, atLeast: 0 };
    guard.atLeast -= line.amount;
    need.set(id, guard);
  }
  return [...need.values()];
}

function entry(
  key: string,
  kind: EntryKind,
  tripId: string | null,
  lines: Line[],
  data: ChargeData | null = null,
): Entry {
  const made = { key, kind, tripId, lines: lines.filter((l) => l.amount !== 0), data };
  if (!isBalanced(made)) throw new RangeError(`unbalanced entry ${key}`);
  return made;
}

function positive(money: Money, what: string): void {
  if (!Number.isSafeInteger(money.amount) || money.amount <= 0)
    throw new RangeError(`${what} must be a positive integer amount, got ${money.amount}`);
}

export const topUpKey = (topUpId: string) => `topup:${topUpId}`;
export const holdKey = (tripId: string) => `trip:${tripId}:hold`;
export const releaseKey = (tripId: string) => `trip:${tripId}:release`;
export const chargeKey = (tripId: string, kind: "capture" | "fee") => `trip:${tripId}:${kind}`;
export const refundKey = (originalKey: string) => `refund:${originalKey}`;

export function topUpEntry(topUpId: string, userId: string, amount: Money, provider: string): Entry {
  positive(amount, "a top-up");
  const { currency } = amount;
  return entry(topUpKey(topUpId), "top_up", null, [
    { account: Account.clearing(provider), amount: -amount.amount, currency },
    { account: Account.wallet(userId), amount: amount.amount, currency },
  ]);
}

export function holdEntry(tripId: string, riderId: string, amount: Money): Entry {
  positive(amount, "a hold");
  const { currency } = amount;
  return entry(holdKey(tripId), "hold", tripId, [
    { account: Account.wallet(riderId), amount: -amount.amount, currency },
    { account: Account.hold(riderId), amount: amount.amount, currency },
  ]);
}

/** Gives the trip's whole hold back to the wallet; null when nothing is held for it. */
export function releaseEntry(tripId: string, riderId: string, held: Money): Entry | null {
  if (held.amount <= 0) return null;
  const { currency } = held;
  return entry(releaseKey(tripId), "release", tripId, [
    { account: Account.hold(riderId), amount: -held.amount, currency },
    { account: Account.wallet(riderId), amount: held.amount, currency },
  ]);
}

/** The platform's share of `amount`, rounded half up: `bps` basis points (2500 = 25 %). */
export function commissionOf(amount: number, bps: number): number {
  if (!Number.isSafeInteger(bps) || bps < 0 || bps > 10_000)
    throw new RangeError(`commission must be 0..10000 basis points, got ${bps}`);
  return Math.floor((amount * bps + 5_000) / 10_000);
}

export type Charge = {
  kind: "capture" | "fee";
  tripId: string;
  riderId: string;
  /** Null for a fee with no driver to compensate: the platform keeps it all. */
  driverId: string | null;
  charge: Money;
  breakdown: FareBreakdown;
  /** The rider's wallet when the charge is taken (any hold of the trip already released). */
  available: number;
  commissionBps: number;
  decision?: FareDecision;
};

/**
 * Takes at most what the wallet has, books the rest as the rider's receivable, and splits the
 * whole charge between the driver and the platform (the platform carries the receivable).
 */
export function chargeEntry(c: Charge): Entry | null {
  const amount = c.charge.amount;
  if (!Number.isSafeInteger(amount) || amount < 0)
    throw new RangeError(`a charge must be a non-negative integer, got ${amount}`);
  if (amount === 0) return null;
  const paid = Math.min(amount, Math.max(0, c.available));
  const owed = amount - paid;
  const commission = c.driverId === null ? amount : commissionOf(amount, c.commissionBps);
  const driverEarning = amount - commission;
  const { currency } = c.charge;
  const lines: Line[] = [
    { account: Account.wallet(c.riderId), amount: -paid, currency },
    { account: Account.receivable(c.riderId), amount: -owed, currency },
    { account: Account.platform, amount: commission, currency },
  ];
  if (c.driverId !== null) lines.push({ account: Account.earnings(c.driverId), amount: driverEarning, currency });
  return entry(chargeKey(c.tripId, c.kind), c.kind, c.tripId, lines, {
    riderId: c.riderId,
    driverId: c.driverId,
    charge: c.charge,
    breakdown: c.breakdown,
    paid,
    owed,
    commission,
    driverEarning,
    ...(c.decision ? { decision: c.decision } : {}),
  });
}

/** The reversing entry of a capture or a fee: every line negated. Entries are never edited. */
export function refundEntry(original: Entry): Entry {
  if (original.kind !== "capture" && original.kind !== "fee")
    throw new RangeError(`only a capture or a fee can be refunded, not ${original.kind}`);
  return entry(
    refundKey(original.key),
    "refund",
    original.tripId,
    original.lines.map((l) => ({ ...l, amount: -l.amount })),
    original.data,
  );
}

/** The key of an operator's refund: one per trip and request key, so a retried request posts nothing. */
export const tripRefundKey = (tripId: string, requestKey: string) => `refund:trip:${tripId}:${requestKey}`;

/** A charge's refunds as they stand: what was charged, what is refunded in all. */
export type RefundState = { chargeKey: string; tripId: string; charge: ChargeData; refunded: number };

/** What the refunds of a charge take back in all once `total` of it is refunded, line by line. */
function reversedAt(
  charge: ChargeData,
  total: number,
): { receivable: number; wallet: number; earnings: number; platform: number } {
  const amount = charge.charge.amount;
  // The rider never paid what they still owe, so a refund cancels that debt before it pays out.
  const receivable = Math.min(total, charge.owed);
  // The driver's share of the refund, rounded half up with integer arithmetic; exact at total = amount.
  const earnings = amount === 0 ? 0 : Math.floor((2 * charge.driverEarning * total + amount) / (2 * amount));
  return { receivable, wallet: total - receivable, earnings, platform: total - earnings };
}

/**
 * An operator's refund of `amount` (minor units, in the charge's currency) of a trip's charge,
 * after `state.refunded` was already refunded. Refused (RangeError) beyond what is left.
 *
 * The rule: the running total R of the charge's refunds is split as the charge was. The rider
 * gets R back, first on their receivable up to what the charge left owed, then in the wallet;
 * the driver gives back round(driverEarning × R / charge) and the platform the rest of R. This
 * refund's lines are the difference between that split at R + amount and at R, so any series
 * of partial refunds adds up to the exact negation of the charge, never more. A driver whose
 * earnings are taken back below zero owes it to the platform (their earnings account shows it).
 */
export function partialRefundEntry(state: RefundState, amount: number, key: string): Entry {
  const total = state.charge.charge.amount;
  if (!Number.isSafeInteger(amount) || amount <= 0)
    throw new RangeError(`a refund must be a positive integer amount, got ${amount}`);
  if (state.refunded + amount > total)
    throw new RangeError(`a refund of ${amount} exceeds what is left of the charge (${total - state.refunded})`);
  const before = reversedAt(state.charge, state.refunded);
  const after = reversedAt(state.charge, state.refunded + amount);
  const { currency } = state.charge.charge;
  const { riderId, driverId } = state.charge;
  const lines: Line[] = [
    { account: Account.receivable(riderId), amount: after.receivable - before.receivable, currency },
    { account: Account.wallet(riderId), amount: after.wallet - before.wallet, currency },
    { account: Account.platform, amount: -(after.platform - before.platform), currency },
  ];
  if (driverId !== null)
    lines.push({ account: Account.earnings(driverId), amount: -(after.earnings - before.earnings), currency });
  else if (after.earnings !== before.earnings)
    throw new RangeError("a charge without a driver has no earnings to take back");
  return entry(key, "refund", state.tripId, lines, state.charge);
}

/** What one refund entry gave the rider back: its lines on the rider's wallet and receivable. */
export function refundedBy(entry: Pick<Entry, "lines">, riderId: string): number {
  return entry.lines
    .filter((l) => l.account === Account.wallet(riderId) || l.account === Account.receivable(riderId))
    .reduce((sum, l) => sum + l.amount, 0);
}

// ---- trips --------------------------------------------------------------------------------

const settlementBase = { tripId: z.string(), riderId: z.string(), at: z.number().int() };

/** What a trip's end means for the rider's money; the trip room stores it with the status. */
export const Settlement = z.discriminatedUnion("type", [
  z.object({
    ...settlementBase,
    type: z.literal("capture"),
    driverId: z.string(),
    charge: Money,
    breakdown: FareBreakdown,
    decision: FareDecision.optional(),
  }),
  z.object({
    ...settlementBase,
    type: z.literal("fee"),
    driverId: z.string().nullable(),
    charge: Money,
    breakdown: FareBreakdown,
  }),
  z.object({ ...settlementBase, type: z.literal("release") }),
]);
export type Settlement = z.infer<typeof Settlement>;

/** The settlement a move calls for: completion captures, a fee is charged, any other end releases. */
export function settlementOf(after: TripState, events: readonly TripEvent[]): Settlement | null {
  const base = { tripId: after.id, riderId: after.riderId };
  for (const event of events) {
    switch (event.type) {
      case "completed": {
        const breakdown = after.fareBreakdown ?? { base: event.fare.amount, distance: 0, time: 0, surge: 0, fee: 0 };
        return {
          ...base,
          at: event.at,
          type: "capture",
          driverId: event.driverId,
          charge: event.fare,
          breakdown,
          ...(after.fareDecision ? { decision: after.fareDecision } : {}),
        };
      }
      case "cancelled":
        if (event.cancellationFee && event.cancellationFee.amount > 0) {
          const breakdown = { base: 0, distance: 0, time: 0, surge: 0, fee: event.cancellationFee.amount };
          return {
            ...base,
            at: event.at,
            type: "fee",
            driverId: event.releasedDriverId,
            charge: event.cancellationFee,
            breakdown,
          };
        }
        return { ...base, at: event.at, type: "release" };
      case "no_driver":
        return { ...base, at: event.at, type: "release" };
      default:
        break;
    }
  }
  return null;
}

/**
 * The entries that settle a trip, in order: the release of its whole hold, then the charge
 * taken from the wallet that now includes it. `wallet` is read before the release.
 */
export function settlementEntries(
  s: Settlement,
  balances: { wallet: number; held: Money },
  commissionBps: number,
): Entry[] {
  const entries: Entry[] = [];
  const release = releaseEntry(s.tripId, s.riderId, balances.held);
  if (release) entries.push(release);
  if (s.type !== "release") {
    const available = balances.wallet + Math.max(0, balances.held.amount);
    const decision = s.type === "capture" && s.decision ? { decision: s.decision } : {};
    const charge = chargeEntry({
      kind: s.type,
      tripId: s.tripId,
      riderId: s.riderId,
      driverId: s.driverId,
      charge: s.charge,
      breakdown: s.breakdown,
      available,
      commissionBps,
      ...decision,
    });
    if (charge) entries.push(charge);
  }
  return entries;
}

// ---- what users see -----------------------------------------------------------------------

export type TransactionKind = "top_up" | "hold" | "release" | "capture" | "refund" | "earning" | "commission";

/** How a line reads in its owner's transaction list. */
export function transactionKind(kind: EntryKind, account: string): TransactionKind {
  switch (accountKind(account)) {
    case "earnings":
      return kind === "refund" ? "refund" : "earning";
    case "platform":
      return kind === "refund" ? "refund" : "commission";
    default:
      return kind === "fee" ? "capture" : kind;
  }
}

// ---- the reference model ------------------------------------------------------------------

export type PostOutcome = "posted" | "duplicate" | "refused";

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
