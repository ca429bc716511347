/**
 * @module http/openapi/payouts
 * Drivers' payouts (routes/payouts.ts, the payout account in routes/drivers.ts, the operators'
 * list in routes/admin.ts).
 */
import {
  PayoutAccountBody,
  PayoutAccountResponse,
  PayoutBalanceResponse,
  PayoutBody,
  PayoutListResponse,
  PayoutResponse,
} from "../../protocol/payouts";
import type { Operation } from "./operation";

export const payoutAccountOperations: Operation[] = [
  {
    method: "put",
    path: "/v1/drivers/me/payout-account",
    summary: "Set where the driver's payouts go: their Stripe Connect account (acct_…)",
    auth: true,
    body: PayoutAccountBody,
    status: 200,
    response: PayoutAccountResponse,
  },
  {
    method: "get",
    path: "/v1/drivers/me/payout-account",
    summary: "The driver's payout account, or null",
    auth: true,
    status: 200,
    response: PayoutAccountResponse,
  },
];

export const payoutOperations: Operation[] = [
  {
    method: "post",
    path: "/v1/payouts",
    summary:
      "Pay the driver's available earnings out (all, or `amount`; at least PAYOUT_MIN_MINOR; Idempotency-Key required)",
    auth: true,
    body: PayoutBody,
    bodyOptional: true,
    status: 201,
    response: PayoutResponse,
    idempotent: true,
  },
  {
    method: "get",
    path: "/v1/payouts",
    summary: "The driver's payouts, newest first",
    auth: true,
    status: 200,
    response: PayoutListResponse,
    query: ["limit", "before"],
  },
  {
    method: "get",
    path: "/v1/payouts/balance",
    summary: "What the driver may pay out now: earnings, on hold, available, in transit, the minimum",
    auth: true,
    status: 200,
    response: PayoutBalanceResponse,
  },
];

export const adminPayoutOperations: Operation[] = [
  {
    method: "get",
    path: "/v1/admin/payouts",
    summary: "Drivers' payouts, newest first (admins); filter by driver and status",
    auth: true,
    status: 200,
    response: PayoutListResponse,
    query: ["limit", "before", "driverId", "status"],
  },
];
