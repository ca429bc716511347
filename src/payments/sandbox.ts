/**
 * @module payments/sandbox
 * The default provider for local development and tests: every top-up succeeds at once, like a
 * card provider's test mode. It hands back the same `top_up.succeeded` event a real webhook
 * would produce, so the wallet is credited through the same ledger code. It sends no webhooks,
 * so any webhook is refused. Payouts are paid at once to any well-formed connected account, as
 * a transfer in test mode would be.
 */
import { ApiError } from "../errors";
import type { PaymentProvider, ProviderEvent, StartedTopUp, TopUpStart, TransferOutcome, TransferStart } from "./types";

export class SandboxProvider implements PaymentProvider {
  readonly name = "sandbox" as const;

  async startTopUp(topUp: TopUpStart): Promise<StartedTopUp> {
    const providerRef = `sandbox_${topUp.topUpId}`;
    return {
      providerRef,
      clientSecret: null,
      event: { type: "top_up.succeeded", topUpId: topUp.topUpId, providerRef, amount: topUp.amount },
    };
  }

  async readWebhook(): Promise<ProviderEvent> {
    throw new ApiError(400, "invalid_signature", "the sandbox payment provider sends no webhooks");
  }

  async transfer(transfer: TransferStart): Promise<TransferOutcome> {
    return { status: "paid", providerRef: `sandbox_tr_${transfer.payoutId}` };
  }

  async payoutAccountExists(): Promise<boolean> {
    return true;
  }
}
