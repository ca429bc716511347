/**
 * @module domain/ledger-entries
 * The shape of the payments ledger: its accounts, entries and lines, and the two rules every
 * posting obeys. Plain TypeScript with no `cloudflare:*` import, so the property tests run these
 * exact rules in Node; db/postings.ts writes the entries to D1 with the same two rules
 * domain/memory-ledger's `MemoryLedger` applies:
 *
 * - an entry is posted at most once per idempotency key (a replay posts nothing);
 * - an entry that takes money out of a wallet is posted only if the wallet covers it, so a
 *   wallet (the rider's available balance) never goes below zero; the same for a driver's
 *   payout account (money in transit), and for the earnings a payout takes (a refund's
 *   claw-back may take earnings below zero: the driver then owes it; a payout never does).
 *
 * Accounts, signed amounts (a line adds its amount to its account; an entry's lines sum to zero
 * per currency, so all accounts together always sum to zero):
 *
 *   wallet:<rider>      the rider's available money (balance minus holds)
 *   hold:<rider>        money on hold for the rider's trips
 *   receivable:<rider>  negative when the rider owes a fare their wallet could not cover
 *   earnings:<driver>   what the platform owes the driver and has not started paying out
 *   payout:<driver>     a payout on its way to the driver's bank (requested, not yet confirmed)
 *   platform:revenue    commissions
 *   clearing:<provider> money that came in through a payment provider (negative) or went out
 *                       through it (payouts, positive)
 *   transit:shards      money on its way from one owner's partition to another's: an entry
 *                       between two people is posted as one leg per owner (domain/ledger-legs)
 *
 * Which lines each money event produces: top-ups, holds and releases in
 * domain/wallet-entries, captures and fees in domain/charges, refunds in domain/refunds, tips in
 * domain/tips, payouts in domain/payouts.
 *
 * Money is integers in minor units throughout.
 */
import type { FareBreakdown, FareDecision, Money } from "./fare";

export type AccountKind =
  | "wallet"
  | "hold"
  | "receivable"
  | "earnings"
  | "payout"
  | "platform"
  | "clearing"
  | "transit";

export const Account = {
  wallet: (userId: string) => `wallet:${userId}`,
  hold: (userId: string) => `hold:${userId}`,
  receivable: (userId: string) => `receivable:${userId}`,
  earnings: (driverId: string) => `earnings:${driverId}`,
  payout: (driverId: string) => `payout:${driverId}`,
  platform: "platform:revenue",
  clearing: (provider: string) => `clearing:${provider}`,
  transit: "transit:shards",
} as const;

const KINDS: ReadonlySet<string> = new Set([
  "wallet",
  "hold",
  "receivable",
  "earnings",
  "payout",
  "platform",
  "clearing",
  "transit",
]);

export function accountKind(id: string): AccountKind {
  const kind = id.slice(0, id.indexOf(":"));
  if (!KINDS.has(kind)) throw new RangeError(`not a ledger account: ${id}`);
  return kind as AccountKind;
}

/** The user an account belongs to, or null for the platform's, the providers' and the transit account. */
export function accountOwner(id: string): string | null {
  const kind = accountKind(id);
  return kind === "platform" || kind === "clearing" || kind === "transit" ? null : id.slice(kind.length + 1);
}

export type EntryKind =
  | "top_up"
  | "hold"
  | "release"
  | "capture"
  | "fee"
  | "refund"
  | "tip"
  | "payout"
  | "payout_paid"
  | "payout_failed";
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

/** Whether a line taking money out of `account` must be covered by the account's balance. */
function guarded(entry: Entry, account: string): boolean {
  const kind = accountKind(account);
  return kind === "wallet" || kind === "payout" || (kind === "earnings" && entry.kind === "payout");
}

/**
 * What must hold before `entry` may post: each wallet it takes from has at least that much, and
 * so has each payout account, and the earnings a payout takes.
 */
export function guardsOf(entry: Entry): { account: string; currency: string; atLeast: number }[] {
  const need = new Map<string, { account: string; currency: string; atLeast: number }>();
  for (const line of entry.lines) {
    if (line.amount >= 0 || !guarded(entry, line.account)) continue;
    const id = `${line.account}\u0000${line.currency}`;
    const guard = need.get(id) ?? { account: line.account, currency: line.currency, atLeast: 0 };
    guard.atLeast -= line.amount;
    need.set(id, guard);
  }
  return [...need.values()];
}

/** An entry with its zero lines dropped; throws (RangeError) if its lines do not balance. */
export function balancedEntry(
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

/** What came of posting an entry under the two rules. */
export type PostOutcome = "posted" | "duplicate" | "refused";

// ---- what users see -----------------------------------------------------------------------

export type TransactionKind =
  | "top_up"
  | "hold"
  | "release"
  | "capture"
  | "refund"
  | "earning"
  | "commission"
  | "tip"
  | "payout"
  | "payout_reversal";

/** How a line reads in its owner's transaction list. */
export function transactionKind(kind: EntryKind, account: string): TransactionKind {
  switch (accountKind(account)) {
    case "earnings":
      if (kind === "payout") return "payout";
      if (kind === "payout_failed") return "payout_reversal";
      return kind === "refund" || kind === "tip" ? kind : "earning";
    case "platform":
      return kind === "refund" ? "refund" : "commission";
    default:
      if (kind === "payout_paid" || kind === "payout") return "payout";
      if (kind === "payout_failed") return "payout_reversal";
      return kind === "fee" ? "capture" : kind;
  }
}
