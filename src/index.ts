/**
 * @module index
 * The Worker entry: HTTP and WebSocket routing through the Hono app, the notifications queue
 * consumer, and the Durable Object classes the runtime instantiates by name (see wrangler.toml).
 */
import { app } from "./http/app";
import { handleQueue } from "./notify/consumer";

export { ChatRoom } from "./rooms/chat-room";
export { DriverSession } from "./rooms/driver-session";
export { GeoCell } from "./rooms/geo-cell";
export { TripRoom } from "./rooms/trip-room";

export default {
  fetch: app.fetch,
  queue: handleQueue,
} satisfies ExportedHandler<Env>;
