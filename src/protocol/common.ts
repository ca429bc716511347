/**
 * @module protocol/common
 * Shapes shared by HTTP bodies and WebSocket frames (docs/API.md, "Conventions" and "Resources").
 */
import { z } from "zod";
import { Attachment } from "./attachments";

// Coordinates and money are domain values; the wire uses the same schemas.
export { LatLng } from "../domain/geo";
export { Money } from "../domain/fare";

export const Role = z.enum(["rider", "driver", "admin"]);
export type Role = z.infer<typeof Role>;

/** The roles an account may sign up with: never `admin` (see scripts/admin.mjs). */
export const SignupRole = z.enum(["rider", "driver"]);
export type SignupRole = z.infer<typeof SignupRole>;

export const User = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  role: Role,
  createdAt: z.number().int(),
});
export type User = z.infer<typeof User>;

/** `group`: a room people create, join and are added to; `direct`: the one conversation of two users. */
export const RoomKind = z.enum(["group", "direct"]);
export type RoomKind = z.infer<typeof RoomKind>;

export const Room = z.object({
  id: z.string(),
  name: z.string(),
  private: z.boolean(),
  kind: RoomKind,
  createdBy: z.string(),
  createdAt: z.number().int(),
});
export type Room = z.infer<typeof Room>;

/** A member's role in a chat room: one owner (the creator until a transfer), admins, members. */
export const MemberRole = z.enum(["owner", "admin", "member"]);
export type MemberRole = z.infer<typeof MemberRole>;

export const Message = z.object({
  id: z.string(),
  roomId: z.string(),
  seq: z.number().int(),
  userId: z.string(),
  text: z.string(),
  createdAt: z.number().int(),
  /** The seq of the message this one answers, in the same room. */
  replyTo: z.number().int().optional(),
  /** Files the sender uploaded to the room (protocol/attachments.ts); `text` may then be empty. */
  attachments: z.array(Attachment).optional(),
});
export type Message = z.infer<typeof Message>;

/** A message's seq, as a client names the message it edits, deletes, reacts to or answers. */
export const MessageSeq = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

/**
 * A reaction: one emoji (or a short sequence of them, such as a flag or a skin tone), up to
 * 8 code points and 32 UTF-16 units, with no letters, digits, punctuation, spaces or control
 * characters, so that a reaction cannot carry a message of its own.
 */
export const Emoji = z
  .string()
  .min(1)
  .max(32)
  .refine((e) => [...e].length <= 8, "an emoji is at most 8 code points")
  .refine((e) => !/[\p{L}\p{N}\p{P}\p{Z}\p{Cc}\s]/u.test(e), "not an emoji");
export type Emoji = z.infer<typeof Emoji>;

/** Distinct emoji one message may carry; a new one past this is refused (409). */
export const MAX_REACTIONS_PER_MESSAGE = 20;

/** How many users one user may block: a bound on the list every room they join is told. */
export const MAX_BLOCKS_PER_USER = 1_000;

/** How many users reacted to a message with one emoji, and whether the reader is one of them. */
export const ReactionCount = z.object({ emoji: z.string(), count: z.number().int(), me: z.boolean() });
export type ReactionCount = z.infer<typeof ReactionCount>;

/**
 * A message as history and the edit, delete and reaction routes return it: its current text
 * with `editedAt` once edited, or a tombstone (`deleted: true`, `deletedAt`, no `text`, no
 * reply or reactions) once deleted; `reactions` lists each emoji in the order first used.
 */
export const ChatMessage = Message.omit({ text: true }).extend({
  text: z.string().optional(),
  editedAt: z.number().int().optional(),
  deleted: z.literal(true).optional(),
  deletedAt: z.number().int().optional(),
  reactions: z.array(ReactionCount).optional(),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

/** Message text: 1 to 4,000 characters, not only whitespace. */
export const MessageText = z
  .string()
  .min(1)
  .max(4_000)
  .refine((t) => t.trim().length > 0, "text must not be blank");

export const ErrorCode = z.enum([
  "invalid_request",
  /**
   * A phone verification code that is wrong, expired, used up (PHONE_CODE_MAX_ATTEMPTS guesses)
   * or was never sent (400); `details: { reason, attemptsLeft }`.
   */
  "invalid_code",
  /** An upload whose bytes are not what was declared, or that an operator's scan refused (422). */
  "upload_rejected",
  "unauthorized",
  "invalid_credentials",
  "insufficient_funds",
  "forbidden",
  /** The account is banned by an operator (403): no login, no token, no socket. */
  "account_banned",
  "not_found",
  "conflict",
  "email_taken",
  "payload_too_large",
  "rate_limited",
  /** A member's chat uploads that no message carries already reach UPLOAD_PENDING_MAX_BYTES in the room (429). */
  "upload_quota_exceeded",
  "internal",
  /** A payment provider's webhook whose signature does not verify (400). */
  "invalid_signature",
  /** The payment provider refused or failed a call (502). */
  "payment_provider_error",
  /** A user already has MAX_DEVICES_PER_USER devices (409). */
  "too_many_devices",
  /** A user already holds MAX_CONNECTIONS_PER_USER_PER_ROOM sockets and streams in a room (429). */
  "too_many_connections",
  /** A quote or trip whose pickup or dropoff lies outside every SERVICE_AREAS polygon (400). */
  "outside_service_area",
  /** A quote or trip whose pickup and dropoff are closer than MIN_TRIP_KM (400). */
  "trip_too_short",
  /** A quote or trip naming a tier that is not configured or not offered at its pickup (400); `details.tiers`. */
  "tier_unavailable",
  /** A room already has ROOM_MAX_MEMBERS members: a join or an add is refused (409). */
  "room_full",
  /** A direct message between two users when one blocked the other (403). */
  "blocked",
  /** A membership change a direct conversation does not have: a third member, leaving, roles (409). */
  "direct_room",
  /** A user already blocks MAX_BLOCKS_PER_USER users (409). */
  "too_many_blocks",
  /** `start` without the trip's PIN where the trip needs one (400). */
  "pin_required",
  /** `start` with a PIN that is not the trip's (403); `details.attemptsLeft` before the lock. */
  "wrong_pin",
  /** Too many wrong PINs: the trip's PIN takes no guess until `Retry-After` (429). */
  "pin_locked",
  /** A share link that was revoked, has expired, or whose trip has ended (410). */
  "share_ended",
  /** A tip more than TIP_WINDOW_MS after the trip was completed (409). */
  "tip_window_closed",
  /** A tip that would take the trip's tips beyond their bound (409); `details.tippable` is what is left. */
  "tip_limit_exceeded",
  /** A payout by a driver who has not set a payout account (409). */
  "payout_account_missing",
  /** A payout account another driver registered already (409). */
  "payout_account_taken",
  /** A payout account the payment provider does not know as one of the platform's connected accounts (400). */
  "payout_account_unknown",
  /** A payout when nothing is available to pay out (409); `details` has the driver's payout balance. */
  "nothing_to_pay_out",
  /** A payout below PAYOUT_MIN_MINOR (409); `details.minimum`, `details.available`. */
  "payout_below_minimum",
  /** A payout of more than is available (409); `details.available`. */
  "payout_exceeds_available",
  /** A payout while another of the driver's is still pending (409); `details.payout` is that one. */
  "payout_in_flight",
  /**
   * A scheduled ride's pickup time (`scheduledAt`) sooner than SCHEDULE_MIN_LEAD_MS or further than
   * SCHEDULE_MAX_AHEAD_MS ahead (400); `details.earliest`, `details.latest` (epoch ms).
   */
  "schedule_out_of_range",
  /** A rider who already has SCHEDULE_MAX_UPCOMING upcoming scheduled rides (409); `details.limit`. */
  "too_many_scheduled",
  /** A scheduled ride within SCHEDULE_MIN_GAP_MS of another of the rider's (409); `details.tripId` is that one. */
  "schedule_overlap",
  /**
   * Going online where approval is required without an approved licence and an approved vehicle
   * (403); `details.missing` lists what is lacking (`licence`, `vehicle`).
   */
  "driver_not_approved",
  /** A vehicle whose plate another pending or approved vehicle has (409). */
  "plate_taken",
  /** A driver already has VEHICLES_PER_DRIVER vehicles that are not rejected (409). */
  "too_many_vehicles",
  /** Approving a vehicle whose registration or insurance is not approved (409); `details.missing`. */
  "documents_not_approved",
  /** A tile archive read whose `Range` is malformed, asks for several ranges, or starts past the end (416). */
  "range_not_satisfiable",
  /**
   * Place search with no GEOCODER_URL configured (503), or the geocoder failed, timed out or
   * answered too much (502).
   */
  "geocoder_unavailable",
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const ErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.unknown().optional(),
    /** The request's trace id (32 hex; the `X-Trace-Id` header): quote it when reporting a problem. */
    traceId: z.string().optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;
