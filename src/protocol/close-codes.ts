/**
 * @module protocol/close-codes
 * The WebSocket close codes this service sends of its own (4000-4999 are the application's,
 * RFC 6455 §7.4.2), in one zod-free module so the client SDK's core can import them without
 * pulling in a schema library.
 */

/** A ban: the account's sockets close and a reconnect would only be refused; clients stop. */
export const CLOSE_BANNED = 4004;
