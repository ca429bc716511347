/**
 * @module client
 * The ridewire client SDK (`import { RidewireClient } from "@ridewire/client"`): a typed HTTP
 * client of the API, and live room connections that reconnect, resume without loss or
 * repeats, re-send unacknowledged frames, and fall back to SSE + HTTP. Web-standard APIs
 * only: it runs in browsers, Node 22+, Deno and Bun.
 */
export { attachmentPath, RidewireClient, socketUrl } from "./http";
// Every type the HTTP client exports is public: its options and inputs, and the protocol's resources.
export type * from "./http";
export type { FetchLike } from "./types";
export { RoomConnection } from "./room";
export type {
  Ack,
  ChatConnection,
  ConnectionState,
  DriverConnection,
  OpsDeskConnection,
  LifecycleEvents,
  ReconnectInfo,
  RoomEvents,
  RoomOptions,
  SocketLike,
  Transport,
  TripConnection,
  WebSocketConstructor,
} from "./room";
export { RidewireError, isRidewireError, type ClientErrorCode } from "./errors";
export { SessionKeeper, tokenTimes, type ClientSession } from "./session";
export { fullJitter } from "./backoff";
export { SseParser, type SseEvent } from "./sse";
export { newId } from "./ids";
export { DeliveryTracker, type DeliveryStatus, type MessageDelivery } from "./delivery";
export { STORED_TYPES, systemSenderOf } from "./frames";
export type * from "./frames";
