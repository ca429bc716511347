/**
 * @module protocol/payments
 * Wallets, top-ups, transactions, receipts and earnings (docs/API.md, "Payments"): the bodies and
 * resources of `/v1/wallet`, `/v1/wallet/top-ups`, `/v1/wallet/transactions`,
 * `/v1/trips/:id/receipt` and `/v1/earnings`. All money is integer minor units.
 */
import { z } from "zod";
import { FareBreakdown, FareDecision } from "../domain/fare";
import { Money } from "./common";

export const Wallet = z.object({
  /** Everything in the wallet, held money included. */
  balance: Money,
  /** On hold for trips not yet settled. */
  held: Money,
  /** balance − held: what a new trip request can hold. */
  available: Money,
  /** Fares the wallet could not cover, still owed. */
  owed: Money,
});
export type Wallet = z.infer<typeof Wallet>;

export const TopUpBody = z.object({
  amount: Money.refine((m) => m.amount > 0, "amount must be positive"),
});
export type TopUpBody = z.infer<typeof TopUpBody>;

export const TopUpStatus = z.enum(["pending", "succeeded", "failed"]);
export type TopUpStatus = z.infer<typeof TopUpStatus>;

export const TopUp = z.object({
  id: z.string(),
  status: TopUpStatus,
  amount: Money,
  /** For the provider's client library to confirm the payment (Stripe's PaymentIntent secret). */
  clientSecret: z.string().optional(),
  createdAt: z.number().int(),
});
export type TopUp = z.infer<typeof TopUp>;

export const TransactionKind = z.enum([
  "top_up",
  "hold",
  "release",
  "capture",
  "refund",
  "earning",
  "commission",
  "tip",
  /** Earnings paid out (negative on the earnings). */
  "payout",
  /** A payout the provider refused: the money back on the earnings. */
  "payout_reversal",
]);
export type TransactionKind = z.infer<typeof TransactionKind>;

/** One line on the user's wallet (riders) or earnings (drivers); the amount is signed. */
export const Transaction = z.object({
  id: z.string(),
  kind: TransactionKind,
  amount: Money,
  tripId: z.string().optional(),
  createdAt: z.number().int(),
});
export type Transaction = z.infer<typeof Transaction>;

export const TransactionListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  /** The `nextBefore` of the previous page. */
  before: z.coerce.number().int().min(0).optional(),
});

/** `POST /v1/trips/:id/tip`: positive integer minor units, in the trip's currency. */
export const TipBody = z.object({
  amount: Money.refine((m) => m.amount > 0, "amount must be positive"),
});
export type TipBody = z.infer<typeof TipBody>;

/** A rider's tip, and where the trip's tips stand after it. */
export const Tip = z.object({
  tripId: z.string(),
  /** This tip, all of it the driver's. */
  amount: Money,
  /** All the trip's tips so far, this one included. */
  tipped: Money,
  /** What the trip's tips may still add (TIP_MAX_PERCENT of the fare, at most TIP_MAX_MINOR, less `tipped`). */
  tippable: Money,
  createdAt: z.number().int(),
});
export type Tip = z.infer<typeof Tip>;
export const TipResponse = z.object({ tip: Tip });

export const Receipt = z.object({
  tripId: z.string(),
  /** `capture` for a ride, `fee` for a late cancellation. */
  kind: z.enum(["capture", "fee"]),
  fare: Money,
  breakdown: FareBreakdown,
  /** Where the money came from: always the wallet; `outstanding` is what it could not cover. */
  paidFrom: z.literal("wallet"),
  paid: Money,
  outstanding: Money,
  driverEarning: Money,
  /** The rider's tips on the trip so far, all of them the driver's (on top of `driverEarning`). */
  tips: Money,
  createdAt: z.number().int(),
  /** A ride's quote: `fare` is what was charged against it (README, "Money rules"). */
  quoted: Money.optional(),
  /** A ride's fare cut to the cap (FARE_CAP_PERCENT above the quote, or the quote on an implausible trace). */
  capApplied: z.boolean().optional(),
  /** What of the metered fare was not charged and waits for an operator's review; null when nothing. */
  review: FareDecision.shape.review.optional(),
});
export type Receipt = z.infer<typeof Receipt>;

const DAY_MS = 86_400_000;

export const EarningsQuery = z
  .object({
    from: z.coerce.number().int().min(0).optional(),
    to: z.coerce.number().int().min(0).optional(),
  })
  .transform((q, ctx) => {
    const to = q.to ?? Date.now();
    const from = q.from ?? to - 7 * DAY_MS;
    if (from > to) ctx.addIssue({ code: "custom", message: "from must not be after to", path: ["from"] });
    return { from, to };
  });

export const Earnings = z.object({
  gross: Money,
  commission: Money,
  net: Money,
  /** The part of `net` (and `gross`) that riders gave as tips: no commission is taken from it. */
  tips: Money,
});
export type Earnings = z.infer<typeof Earnings>;

export const WalletResponse = z.object({ wallet: Wallet });
export const TopUpResponse = z.object({ topUp: TopUp });
export const TransactionListResponse = z.object({
  transactions: z.array(Transaction),
  nextBefore: z.number().int().nullable(),
});
export const ReceiptResponse = z.object({ receipt: Receipt });
export const EarningsResponse = z.object({
  earnings: Earnings,
  trips: z.number().int(),
  from: z.number().int(),
  to: z.number().int(),
});
export type EarningsResponse = z.infer<typeof EarningsResponse>;
