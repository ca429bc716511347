/**
 * @module payments/events
 * What the service does with a provider's event, whichever provider sent it: the sandbox's
 * instant settlement and Stripe's signed webhook both end here. Crediting is keyed by the
 * top-up id, so a replayed webhook or a retried request credits once.
 */
import { creditTopUp, failTopUp, findTopUp } from "../db/top-ups";
import type { ProviderEvent } from "./types";
import { logJson } from "../log";

export type EventOutcome = "credited" | "already_credited" | "failed" | "ignored";

export async function applyProviderEvent(env: Env, event: ProviderEvent, now: number): Promise<EventOutcome> {
  if (event.type === "ignored") return "ignored";
  const topUp = await findTopUp(env.DB, event.topUpId);
  if (!topUp || (topUp.providerRef !== null && topUp.providerRef !== event.providerRef)) {
    log("unknown top-up", { topUpId: event.topUpId, providerRef: event.providerRef });
    return "ignored";
  }
  if (event.type === "top_up.failed") {
    await failTopUp(env.DB, topUp.id, now);
    return "failed";
  }
  // The wallet gets what was asked for and nothing else; a provider that reports another
  // amount is a bug or tampering, for a person to look at.
  if (event.amount.amount !== topUp.amount || event.amount.currency !== topUp.currency) {
    log("amount mismatch", {
      topUpId: topUp.id,
      expected: { amount: topUp.amount, currency: topUp.currency },
      got: event.amount,
    });
    return "ignored";
  }
  const outcome = await creditTopUp(env, topUp, now);
  return outcome === "posted" ? "credited" : "already_credited";
}

function log(reason: string, fields: Record<string, unknown>): void {
  logJson("error", { where: "payments", reason, ...fields });
}
