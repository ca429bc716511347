/**
 * @module index
 * The Worker entry: HTTP and WebSocket routing through the Hono app, and the Durable Object
 * classes the runtime instantiates by name (see wrangler.toml).
 */
import { app } from "./http/app";

export { ChatRoom } from "./rooms/chat-room";
export { DriverSession } from "./rooms/driver-session";
export { GeoCell } from "./rooms/geo-cell";
export { TripRoom } from "./rooms/trip-room";

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
