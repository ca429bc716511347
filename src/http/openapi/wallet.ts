/**
 * @module http/openapi/wallet
 * Money (routes/wallet.ts): the wallet and its top-ups and lines, tips, receipts, a driver's earnings,
 * and the payment provider's webhook.
 */
import {
  EarningsResponse,
  ReceiptResponse,
  TipBody,
  TipResponse,
  TopUpBody,
  TopUpResponse,
  TransactionListResponse,
  WalletResponse,
} from "../../protocol/payments";
import type { Operation } from "./operation";

export const walletOperations: Operation[] = [
  {
    method: "get",
    path: "/v1/wallet",
    summary: "The caller's wallet: balance, held and available",
    auth: true,
    status: 200,
    response: WalletResponse,
  },
  {
    method: "post",
    path: "/v1/wallet/top-ups",
    summary: "Top the wallet up through the payment provider (riders; Idempotency-Key required)",
    auth: true,
    body: TopUpBody,
    status: 201,
    response: TopUpResponse,
    idempotent: true,
  },
  {
    method: "get",
    path: "/v1/wallet/transactions",
    summary: "The caller's wallet or earnings lines, newest first",
    auth: true,
    status: 200,
    response: TransactionListResponse,
    query: ["limit", "before"],
  },
  {
    method: "post",
    path: "/v1/trips/{id}/tip",
    summary: "The rider tips the driver of a completed trip (within TIP_WINDOW_MS, bounded; Idempotency-Key required)",
    auth: true,
    body: TipBody,
    status: 201,
    response: TipResponse,
    idempotent: true,
  },
  {
    method: "get",
    path: "/v1/trips/{id}/receipt",
    summary: "The receipt of a completed trip or a charged fee (its rider or driver)",
    auth: true,
    status: 200,
    response: ReceiptResponse,
  },
  {
    method: "get",
    path: "/v1/earnings",
    summary: "A driver's earnings over [from, to) (default: the last 7 days)",
    auth: true,
    status: 200,
    response: EarningsResponse,
    query: ["from", "to"],
  },
];

/** Not a client's route: the provider calls it, signed, so it takes no bearer token. */
export const paymentWebhookOperations: Operation[] = [
  {
    method: "post",
    path: "/v1/payments/webhook",
    summary: "The payment provider's signed events (Stripe-Signature); 400 on a bad signature",
    auth: false,
    status: 200,
  },
];
