/**
 * @module index
 * The Worker entry: HTTP and WebSocket routing through the Hono app, the notifications queue
 * consumer, the reconciliation cron (payments/reconcile.ts), and the Durable Object classes the
 * runtime instantiates by name (see wrangler.toml).
 */
import { loadConfig } from "./config";
import { app } from "./http/app";
import { handleQueue } from "./notify/consumer";
import { runScheduledReconciliation } from "./payments/reconcile";

export { ChatRoom } from "./rooms/chat-room";
export { DriverSession } from "./rooms/driver-session";
export { GeoCell } from "./rooms/geo-cell";
export { OpsDesk } from "./rooms/ops-desk";
export { TripRoom } from "./rooms/trip-room";

export default {
  fetch: app.fetch,
  queue: handleQueue,
  scheduled(controller, env, ctx) {
    ctx.waitUntil(runScheduledReconciliation(env, loadConfig(env), controller.scheduledTime));
  },
} satisfies ExportedHandler<Env>;
