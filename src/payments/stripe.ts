/**
 * @module payments/stripe
 * Top-ups as Stripe PaymentIntents and payouts as Stripe Connect transfers, over Stripe's REST
 * API with plain fetch (no SDK: it would pull Node built-ins into the Worker for a few
 * endpoints). Every POST carries an Idempotency-Key derived from the top-up's or the payout's
 * id, so a retried request never creates a second PaymentIntent or a second transfer. The
 * wallet is credited only by the signed `payment_intent.succeeded` webhook, never by the
 * client saying it paid. STRIPE_API_BASE points the client at a stand-in server in tests.
 */
import { z } from "zod";
import type { Config } from "../config";
import { ApiError } from "../errors";
import type { PaymentProvider, ProviderEvent, StartedTopUp, TopUpStart, TransferOutcome, TransferStart } from "./types";
import { verifyStripeSignature } from "./stripe-signature";

/** The API version the shapes below were written against. */
export const STRIPE_API_VERSION = "2025-08-27.basil";

const PaymentIntent = z.object({
  id: z.string(),
  object: z.literal("payment_intent"),
  amount: z.number().int(),
  amount_received: z.number().int().optional(),
  currency: z.string(),
  status: z.string(),
  client_secret: z.string().nullable().optional(),
  metadata: z.record(z.string(), z.string()).default({}),
});

const StripeEvent = z.object({
  id: z.string(),
  object: z.literal("event"),
  type: z.string(),
  data: z.object({ object: z.unknown() }),
});

const StripeErrorBody = z.object({
  error: z.object({ message: z.string().optional(), type: z.string().optional(), code: z.string().optional() }),
});

const Transfer = z.object({ id: z.string(), object: z.literal("transfer"), amount: z.number().int() });
const TransferList = z.object({ object: z.literal("list"), data: z.array(Transfer) });

/** Stripe's answer to one request, or no answer at all. */
type StripeAnswer = { answered: true; status: number; body: unknown } | { answered: false; reason: string };

function errorText(answer: { status: number; body: unknown }): string {
  const detail = StripeErrorBody.safeParse(answer.body);
  return detail.success
    ? (detail.data.error.message ?? detail.data.error.code ?? detail.data.error.type ?? String(answer.status))
    : String(answer.status);
}

export class StripeProvider implements PaymentProvider {
  readonly name = "stripe" as const;

  constructor(private readonly config: Config) {}

  async startTopUp(topUp: TopUpStart): Promise<StartedTopUp> {
    const form = new URLSearchParams({
      amount: String(topUp.amount.amount),
      currency: topUp.amount.currency.toLowerCase(),
      "automatic_payment_methods[enabled]": "true",
      description: "ridewire wallet top-up",
      "metadata[top_up_id]": topUp.topUpId,
      "metadata[user_id]": topUp.userId,
    });
    const body = await this.post("/v1/payment_intents", form, `topup-${topUp.topUpId}`);
    const intent = PaymentIntent.safeParse(body);
    if (!intent.success)
      throw new ApiError(
        502,
        "payment_provider_error",
        "the payment provider answered with an unexpected PaymentIntent",
      );
    return { providerRef: intent.data.id, clientSecret: intent.data.client_secret ?? null, event: null };
  }

  async readWebhook(rawBody: string, headers: Headers, now: number): Promise<ProviderEvent> {
    const secret = this.config.STRIPE_WEBHOOK_SECRET;
    if (!secret) throw new ApiError(500, "internal", "STRIPE_WEBHOOK_SECRET is not set");
    const check = await verifyStripeSignature(
      rawBody,
      headers.get("Stripe-Signature"),
      secret,
      this.config.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
      Math.floor(now / 1000),
    );
    if (!check.ok) throw new ApiError(400, "invalid_signature", `webhook refused: ${check.reason}`);
    let json: unknown;
    try {
      json = JSON.parse(rawBody);
    } catch {
      throw new ApiError(400, "invalid_request", "the webhook body is not JSON");
    }
    const event = StripeEvent.safeParse(json);
    if (!event.success) throw new ApiError(400, "invalid_request", "the webhook body is not a Stripe event");
    if (event.data.type !== "payment_intent.succeeded" && event.data.type !== "payment_intent.payment_failed")
      return { type: "ignored", providerType: event.data.type };
    const intent = PaymentIntent.safeParse(event.data.data.object);
    const topUpId = intent.success ? intent.data.metadata.top_up_id : undefined;
    // Not one of ours (another integration on the same account): nothing to do.
    if (!intent.success || !topUpId) return { type: "ignored", providerType: event.data.type };
    if (event.data.type === "payment_intent.payment_failed")
      return { type: "top_up.failed", topUpId, providerRef: intent.data.id };
    const amount = {
      amount: intent.data.amount_received ?? intent.data.amount,
      currency: intent.data.currency.toUpperCase(),
    };
    return { type: "top_up.succeeded", topUpId, providerRef: intent.data.id, amount };
  }

  /**
   * A Connect transfer from the platform's balance to the driver's connected account. Stripe
   * stores the answer to an idempotent request for 24 hours, so every retry of a payout (the
   * reconciliation cron's every 10 minutes) replays the first transfer instead of making another.
   * A retry first looks the transfer up by its `transfer_group` (the payout id) as well: a payout
   * left pending past those 24 hours (a long outage) must not be paid a second time.
   * A 4xx means Stripe made no transfer (https://docs.stripe.com/error-handling): definite, except
   * 409 (the same key in flight) and 429 (rate limited), which are tried again like a 5xx or no
   * answer. An `idempotency_error` (a key reused with other parameters) cannot come from here,
   * where the parameters are the payout row's, so it too is left for a person, pending.
   */
  async transfer(transfer: TransferStart): Promise<TransferOutcome> {
    if (transfer.retry) {
      const query = new URLSearchParams({ transfer_group: transfer.payoutId, limit: "1" });
      const found = await this.request("GET", `/v1/transfers?${query}`, null, null);
      if (!found.answered) return { status: "unknown", reason: found.reason };
      const list = TransferList.safeParse(found.body);
      if (found.status !== 200 || !list.success)
        return { status: "unknown", reason: `the transfer could not be looked up: ${errorText(found)}` };
      const made = list.data.data[0];
      if (made) return { status: "paid", providerRef: made.id };
    }
    const form = new URLSearchParams({
      amount: String(transfer.amount.amount),
      currency: transfer.amount.currency.toLowerCase(),
      destination: transfer.destination,
      transfer_group: transfer.payoutId,
      description: "ridewire driver payout",
      "metadata[payout_id]": transfer.payoutId,
      "metadata[driver_id]": transfer.driverId,
    });
    const answer = await this.request("POST", "/v1/transfers", form, `payout-${transfer.payoutId}`);
    if (!answer.answered) return { status: "unknown", reason: answer.reason };
    if (answer.status >= 200 && answer.status < 300) {
      const made = Transfer.safeParse(answer.body);
      if (!made.success) return { status: "unknown", reason: "the provider answered with an unexpected transfer" };
      return { status: "paid", providerRef: made.data.id };
    }
    const error = StripeErrorBody.safeParse(answer.body);
    const retryable =
      answer.status === 409 ||
      answer.status === 429 ||
      answer.status >= 500 ||
      (error.success && error.data.error.type === "idempotency_error");
    return { status: retryable ? "unknown" : "failed", reason: errorText(answer) };
  }

  /**
   * A connected account of this platform: Stripe answers 200 for it, and 404 (no such account) or
   * 403 (not connected to this platform) for any other id. Anything else is not an answer about
   * the account.
   */
  async payoutAccountExists(accountId: string): Promise<boolean> {
    const answer = await this.request("GET", `/v1/accounts/${encodeURIComponent(accountId)}`, null, null);
    if (answer.answered && answer.status === 200) return true;
    if (answer.answered && (answer.status === 404 || answer.status === 403)) return false;
    throw new ApiError(502, "payment_provider_error", "the payment provider could not check the payout account");
  }

  private async post(path: string, form: URLSearchParams, idempotencyKey: string): Promise<unknown> {
    const answer = await this.request("POST", path, form, idempotencyKey);
    if (!answer.answered)
      throw new ApiError(502, "payment_provider_error", `the payment provider did not answer: ${answer.reason}`);
    if (answer.status < 200 || answer.status >= 300)
      throw new ApiError(
        502,
        "payment_provider_error",
        `the payment provider refused the top-up: ${errorText(answer)}`,
      );
    return answer.body;
  }

  private async request(
    method: "GET" | "POST",
    path: string,
    form: URLSearchParams | null,
    idempotencyKey: string | null,
  ): Promise<StripeAnswer> {
    const key = this.config.STRIPE_SECRET_KEY;
    if (!key) throw new ApiError(500, "internal", "STRIPE_SECRET_KEY is not set");
    const headers: Record<string, string> = { Authorization: `Bearer ${key}`, "Stripe-Version": STRIPE_API_VERSION };
    if (form) headers["Content-Type"] = "application/x-www-form-urlencoded";
    if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
    let res: Response;
    try {
      res = await fetch(new URL(path, this.config.STRIPE_API_BASE), {
        method,
        headers,
        ...(form ? { body: form.toString() } : {}),
        signal: AbortSignal.timeout(this.config.PAYMENT_TIMEOUT_MS),
      });
    } catch (err) {
      return { answered: false, reason: err instanceof Error ? err.message : "network error" };
    }
    const body: unknown = await res.json().catch(() => null);
    return { answered: true, status: res.status, body };
  }
}
