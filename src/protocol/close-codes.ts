/**
 * @module protocol/close-codes
 * The WebSocket close codes this service sends of its own (4000-4999 are the application's,
 * RFC 6455 §7.4.2), in one zod-free module so the client SDK's core can import them without
 * pulling in a schema library.
 */

/** A socket whose token expired without an `auth` frame: reconnect with a fresh token. */
export const TOKEN_EXPIRED_CLOSE_CODE = 4001;
/** A socket whose session ended (logout, a reused refresh token): refresh, or sign in again. */
export const SESSION_ENDED_CLOSE_CODE = 4003;
/** A ban: the account's sockets close and a reconnect would only be refused; clients stop. */
export const CLOSE_BANNED = 4004;
/**
 * The user is no longer a member of this room (left, removed or banned from it): its sockets in
 * that room close with this code, and a reconnect would be refused (403); clients stop.
 */
export const MEMBERSHIP_ENDED_CLOSE_CODE = 4403;
