/**
 * @module index
 * The Worker entry: HTTP and WebSocket routing through the Hono app, the notifications queue
 * consumer, the two Cron Triggers (the reconciliation every 10 minutes, payments/reconcile.ts;
 * the daily scheduled payouts, payments/payouts.ts), and the Durable Object classes the runtime
 * instantiates by name (see wrangler.toml).
 */
import { loadConfig } from "./config";
import { app } from "./http/app";
import { flushMetricsIfDue } from "./metrics-flush";
import { handleQueue } from "./notify/consumer";
import { PAYOUT_CRON, runScheduledPayouts } from "./payments/payouts";
import { runScheduledReconciliation } from "./payments/reconcile";

export { ChatRoom } from "./rooms/chat-room";
export { DriverSession } from "./rooms/driver-session";
export { GeoCell } from "./rooms/geo-cell";
export { OpsDesk } from "./rooms/ops-desk";
export { TripRoom } from "./rooms/trip-room";

export default {
  fetch: app.fetch,
  async queue(batch, env, ctx) {
    await handleQueue(batch, env, ctx);
    flushBehind(env, ctx);
  },
  scheduled(controller, env, ctx) {
    flushBehind(env, ctx);
    const config = loadConfig(env);
    // Two Cron Triggers: the daily payout run, and the reconciliation every 10 minutes.
    if (controller.cron === PAYOUT_CRON) ctx.waitUntil(runScheduledPayouts(env, config, controller.scheduledTime));
    else ctx.waitUntil(runScheduledReconciliation(env, config, controller.scheduledTime));
  },
} satisfies ExportedHandler<Env>;

/** The isolate's counts (notification outcomes, ledger postings) as HTTP requests flush them (src/metrics-flush.ts). */
function flushBehind(env: Env, ctx: ExecutionContext): void {
  const flush = flushMetricsIfDue(env);
  if (flush) ctx.waitUntil(flush);
}
