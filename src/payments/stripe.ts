/**
 * @module payments/stripe
 * Top-ups as Stripe PaymentIntents, over Stripe's REST API with plain fetch (no SDK: it would
 * pull Node built-ins into the Worker for two endpoints). Every POST carries an Idempotency-Key
 * derived from the top-up id, so a retried request never creates a second PaymentIntent. The
 * wallet is credited only by the signed `payment_intent.succeeded` webhook, never by the
 * client saying it paid. STRIPE_API_BASE points the client at a stand-in server in tests.
 */
import { z } from "zod";
import type { Config } from "../config";
import { ApiError } from "../errors";
import type { PaymentProvider, ProviderEvent, StartedTopUp, TopUpStart } from "./types";
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

const StripeErrorBody = z.object({ error: z.object({ message: z.string().optional(), type: z.string().optional() }) });

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

  private async post(path: string, form: URLSearchParams, idempotencyKey: string): Promise<unknown> {
    const key = this.config.STRIPE_SECRET_KEY;
    if (!key) throw new ApiError(500, "internal", "STRIPE_SECRET_KEY is not set");
    let res: Response;
    try {
      res = await fetch(new URL(path, this.config.STRIPE_API_BASE), {
        method: "POST",
        headers: {
          Authorization: `Bearer ${key}`,
          "Content-Type": "application/x-www-form-urlencoded",
          "Idempotency-Key": idempotencyKey,
          "Stripe-Version": STRIPE_API_VERSION,
        },
        body: form.toString(),
        signal: AbortSignal.timeout(this.config.PAYMENT_TIMEOUT_MS),
      });
    } catch (err) {
      throw new ApiError(
        502,
        "payment_provider_error",
        `the payment provider did not answer: ${err instanceof Error ? err.message : "network error"}`,
      );
    }
    const body: unknown = await res.json().catch(() => null);
    if (!res.ok) {
      const detail = StripeErrorBody.safeParse(body);
      throw new ApiError(
        502,
        "payment_provider_error",
        `the payment provider refused the top-up: ${
          detail.success ? (detail.data.error.message ?? detail.data.error.type ?? res.status) : res.status
        }`,
      );
    }
    return body;
  }
}
