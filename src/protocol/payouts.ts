/**
 * @module protocol/payouts
 * Drivers' payouts (docs/API.md, "Payouts"): the bodies and resources of
 * `PUT /v1/drivers/me/payout-account`, `POST /v1/payouts`, `GET /v1/payouts`,
 * `GET /v1/payouts/balance` and the operators' `GET /v1/admin/payouts`. All money is integer
 * minor units.
 */
import { z } from "zod";
import { Money } from "./common";

/**
 * A Stripe Connect connected account id: `acct_` and letters and digits (Stripe's are 16 today;
 * the bound leaves room without letting an arbitrary string reach the provider).
 */
export const PayoutAccountId = z.string().regex(/^acct_[A-Za-z0-9]{8,64}$/, "a connected account id looks like acct_…");

export const PayoutAccountBody = z.object({ accountId: PayoutAccountId });
export type PayoutAccountBody = z.infer<typeof PayoutAccountBody>;

export const PayoutAccount = z.object({ accountId: PayoutAccountId, updatedAt: z.number().int() });
export type PayoutAccount = z.infer<typeof PayoutAccount>;
export const PayoutAccountResponse = z.object({ payoutAccount: PayoutAccount.nullable() });

/** `POST /v1/payouts`: an amount to take out, or nothing for everything available. */
export const PayoutBody = z.object({
  amount: Money.refine(
    (m) => m.amount > 0 && Number.isSafeInteger(m.amount),
    "amount must be a positive integer",
  ).optional(),
});
export type PayoutBody = z.infer<typeof PayoutBody>;

export const PayoutStatus = z.enum(["pending", "paid", "failed"]);
export type PayoutStatus = z.infer<typeof PayoutStatus>;

export const Payout = z.object({
  id: z.string(),
  driverId: z.string(),
  /** `pending` until the provider confirms the transfer (`paid`) or refuses it (`failed`: the money is back). */
  status: PayoutStatus,
  amount: Money,
  /** `request` (the driver asked) or `scheduled` (the daily run). */
  trigger: z.enum(["request", "scheduled"]),
  /** The connected account it was sent to. */
  destination: z.string(),
  /** The provider's transfer id, once paid. */
  providerRef: z.string().optional(),
  /** Why the provider refused it (failed), or why the last attempt did not finish (pending). */
  failure: z.string().optional(),
  attempts: z.number().int(),
  createdAt: z.number().int(),
  updatedAt: z.number().int(),
});
export type Payout = z.infer<typeof Payout>;
export const PayoutResponse = z.object({ payout: Payout });

export const PayoutListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  /** The `nextBefore` of the previous page. */
  before: z.coerce.number().int().min(0).optional(),
});

export const AdminPayoutListQuery = PayoutListQuery.extend({
  driverId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .optional(),
  status: PayoutStatus.optional(),
});

export const PayoutListResponse = z.object({ payouts: z.array(Payout), nextBefore: z.number().int().nullable() });
export type PayoutListResponse = z.infer<typeof PayoutListResponse>;

/** What a driver may take out now, and the rules that apply. */
export const PayoutBalance = z.object({
  /** The earnings account: earned, less payouts under way or made (negative: a refund took back more). */
  balance: Money,
  /** Of `balance`, earned within the hold period (PAYOUT_HOLD_MS): not yet payable. */
  onHold: Money,
  /** What a payout may take now. */
  available: Money,
  /** Payouts requested and not yet confirmed by the provider. */
  inTransit: Money,
  /** The smallest payout (PAYOUT_MIN_MINOR). */
  minimum: Money,
  holdMs: z.number().int(),
});
export type PayoutBalance = z.infer<typeof PayoutBalance>;
export const PayoutBalanceResponse = z.object({ balance: PayoutBalance });
