/**
 * @module protocol/http
 * Request and response bodies of the HTTP routes (docs/API.md, one section per resource). The Worker validates every
 * body with these; the client SDK and the tests use the same schemas and types.
 */
import { z } from "zod";
import { AttachmentRefs } from "./attachments";
import { ChatMessage, Emoji, MemberRole, Message, MessageSeq, MessageText, Room, SignupRole, User } from "./common";

/** Trimmed and lower-cased here, once: the routes and queries take the address as it leaves this schema. */
const EmailInput = z.string().trim().toLowerCase();

/** The rules of a new password, at registration and at a change. */
const NewPassword = z.string().min(8).max(256);

export const RegisterBody = z.object({
  email: EmailInput.pipe(z.email().max(254)),
  password: NewPassword,
  name: z.string().trim().min(1).max(100),
  role: SignupRole,
});
export type RegisterBody = z.infer<typeof RegisterBody>;

export const LoginBody = z.object({
  email: EmailInput.pipe(z.string().min(1).max(254)),
  password: z.string().min(1).max(256),
});
export type LoginBody = z.infer<typeof LoginBody>;

/**
 * What register, login and refresh answer: a short-lived access token (`token`, for
 * `Authorization: Bearer`), when it expires (`expiresAt` epoch ms, `expiresIn` seconds), and the
 * refresh token that buys the next one (`POST /v1/auth/refresh`; each works once).
 */
export const TokenPair = z.object({
  token: z.string(),
  expiresAt: z.number().int(),
  expiresIn: z.number().int(),
  refreshToken: z.string(),
});
export type TokenPair = z.infer<typeof TokenPair>;

export const AuthResponse = TokenPair.extend({ user: User });
export type AuthResponse = z.infer<typeof AuthResponse>;

/**
 * A refresh token is its user's shard bucket and 32 random bytes in base64url ("503.<43 characters>";
 * db/sessions.ts), or, from before the partitions, the 43 characters alone; anything longer is not one.
 */
export const RefreshBody = z.object({ refreshToken: z.string().min(1).max(256) });
export type RefreshBody = z.infer<typeof RefreshBody>;

/** Ends the caller's session (the family of the access token's `sid`); `all` ends every session of the user. */
export const LogoutBody = z.object({ all: z.boolean().optional().default(false) });
export type LogoutBody = z.infer<typeof LogoutBody>;

export const LogoutResponse = z.object({ revoked: z.number().int() });

/**
 * A password change by the signed-in user: the current password again (a stolen access token
 * alone cannot lock the owner out), and a new one under the registration rules.
 */
export const PasswordChangeBody = z
  .object({ currentPassword: z.string().min(1).max(256), newPassword: NewPassword })
  .refine((b) => b.newPassword !== b.currentPassword, {
    message: "the new password must differ from the current one",
    path: ["newPassword"],
  });
export type PasswordChangeBody = z.infer<typeof PasswordChangeBody>;

/** `revoked`: how many of the user's other sessions the change ended (the caller's own stays). */
export const PasswordChangeResponse = z.object({ revoked: z.number().int() });
export type PasswordChangeResponse = z.infer<typeof PasswordChangeResponse>;
export type LogoutResponse = z.infer<typeof LogoutResponse>;

export const Rating = z.object({ average: z.number().nullable(), count: z.number().int() });
/**
 * A phone number as a person types it (spaces, dashes, dots and brackets are dropped), stored
 * in E.164: `+`, a country code and at most 15 digits in all. Where the SMS channel sends.
 */
export const PhoneNumber = z
  .string()
  .max(32, "must be a phone number in E.164 form, e.g. +14155550123")
  .transform((raw) => raw.replace(/[\s().-]/g, ""))
  .pipe(z.string().regex(/^\+[1-9]\d{6,14}$/, "must be a phone number in E.164 form, e.g. +14155550123"));

/** `PATCH /v1/me`: the caller's phone number (null removes it, and with it SMS). */
export const MeBody = z.object({ phone: PhoneNumber.nullable() });
export type MeBody = z.infer<typeof MeBody>;

export const MeResponse = z.object({
  user: User.extend({
    rating: Rating,
    phone: z.string().nullable().meta({ description: "E.164, or null" }),
    phoneVerified: z.boolean().meta({ description: "whether the holder confirmed the number's code; only then SMS" }),
  }),
});
export type MeResponse = z.infer<typeof MeResponse>;

/** `codeSent`: a verification code was texted to the new number just now (false: none was needed, or SMS failed). */
export const PhoneChangeResponse = MeResponse.extend({ codeSent: z.boolean() });
export type PhoneChangeResponse = z.infer<typeof PhoneChangeResponse>;

/** The six digits texted to the number. */
export const PhoneVerifyBody = z.object({ code: z.string().regex(/^\d{6}$/, "must be the 6 digits of the code") });
export type PhoneVerifyBody = z.infer<typeof PhoneVerifyBody>;

export const CreateRoomBody = z.object({
  name: z.string().trim().min(1).max(100),
  private: z.boolean().optional().default(false),
});
export type CreateRoomBody = z.infer<typeof CreateRoomBody>;

export const RoomResponse = z.object({ room: Room });
export type RoomResponse = z.infer<typeof RoomResponse>;

export const RoomMember = z.object({
  userId: z.string(),
  name: z.string(),
  joinedAt: z.number().int(),
  role: MemberRole,
});
export type RoomMember = z.infer<typeof RoomMember>;
export const RoomMembersResponse = z.object({ members: z.array(RoomMember) });
export type RoomMembersResponse = z.infer<typeof RoomMembersResponse>;

/** A room's unread count stops here ("999+" in an app): counting further would read every row behind. */
export const UNREAD_COUNT_CAP = 1_000;

/**
 * A listed room; `unread` (for a room the caller is a member of) counts the messages after their
 * read mark that others posted, not deleted, from nobody they block.
 */
export const RoomListItem = Room.extend({ unread: z.number().int().min(0).optional() });
export type RoomListItem = z.infer<typeof RoomListItem>;

/** The rooms, and `unreadTotal`: the unread messages of every room the caller is a member of (an app badge). */
export const RoomListResponse = z.object({ rooms: z.array(RoomListItem), unreadTotal: z.number().int().min(0) });
export type RoomListResponse = z.infer<typeof RoomListResponse>;

export const AddMemberBody = z.object({ userId: z.string().min(1).max(64) });
export type AddMemberBody = z.infer<typeof AddMemberBody>;

/** The other user of a direct conversation. */
export const DirectRoomBody = z.object({ userId: z.string().min(1).max(64) });
export type DirectRoomBody = z.infer<typeof DirectRoomBody>;

/** `POST /v1/rooms/:id/read`: the seq read up to, as the socket's `read` frame carries it. */
export const ReadMarkBody = z.object({ seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) });
export type ReadMarkBody = z.infer<typeof ReadMarkBody>;
/** The caller's read mark after the call (a mark never moves back, nor past the newest event). */
export const ReadMarkResponse = z.object({ roomId: z.string(), seq: z.number().int().min(0) });
export type ReadMarkResponse = z.infer<typeof ReadMarkResponse>;

/** The user to block. */
export const BlockBody = z.object({ userId: z.string().min(1).max(64) });
export type BlockBody = z.infer<typeof BlockBody>;

/**
 * Who may see when a user was last seen: everyone, their contacts (the users they share a direct
 * conversation with), or nobody. They always see their own.
 */
export const LastSeenVisibility = z.enum(["everyone", "contacts", "nobody"]);
export type LastSeenVisibility = z.infer<typeof LastSeenVisibility>;

export const Privacy = z.object({ lastSeen: LastSeenVisibility });
export type Privacy = z.infer<typeof Privacy>;

/** `PUT /v1/me/privacy`. */
export const PrivacyBody = Privacy;
export type PrivacyBody = z.infer<typeof PrivacyBody>;

export const PrivacyResponse = z.object({ privacy: Privacy });
export type PrivacyResponse = z.infer<typeof PrivacyResponse>;

/** `GET /v1/users/:id/presence`: null when the user's setting hides it from the caller (or never seen). */
export const PresenceResponse = z.object({ userId: z.string(), lastSeenAt: z.number().int().nullable() });
export type PresenceResponse = z.infer<typeof PresenceResponse>;

export const BlockedUser = z.object({ userId: z.string(), name: z.string(), blockedAt: z.number().int() });
export type BlockedUser = z.infer<typeof BlockedUser>;
export const BlockResponse = z.object({ block: BlockedUser });
export type BlockResponse = z.infer<typeof BlockResponse>;
export const BlockListResponse = z.object({ blocks: z.array(BlockedUser) });
export type BlockListResponse = z.infer<typeof BlockListResponse>;

/** The owner makes a member an admin, or an admin a member again (the owner's role moves only by a transfer). */
export const SetRoleBody = z.object({ role: z.enum(["admin", "member"]) });
export type SetRoleBody = z.infer<typeof SetRoleBody>;

/** The member the owner hands the room to; the old owner becomes an admin. */
export const TransferOwnershipBody = z.object({ userId: z.string().min(1).max(64) });
export type TransferOwnershipBody = z.infer<typeof TransferOwnershipBody>;

/** The user to ban from the room (a member or not). */
export const BanBody = z.object({ userId: z.string().min(1).max(64) });
export type BanBody = z.infer<typeof BanBody>;

export const LeaveResponse = z.object({ roomId: z.string(), userId: z.string(), left: z.literal(true) });
export type LeaveResponse = z.infer<typeof LeaveResponse>;

export const BanResponse = z.object({ roomId: z.string(), userId: z.string(), banned: z.literal(true) });
export type BanResponse = z.infer<typeof BanResponse>;

/** A member's role now, after a change of roles or a transfer. */
export const MemberRoleResponse = z.object({ userId: z.string(), role: MemberRole });
export type MemberRoleResponse = z.infer<typeof MemberRoleResponse>;

export const HistoryQuery = z.object({
  before: z.coerce.number().int().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});
export type HistoryQuery = z.infer<typeof HistoryQuery>;

/**
 * How far the other members got with one of the caller's own messages: how many of them it reached
 * (`deliveredTo`: a device of theirs received it, or they read it) and how many read it.
 */
export const MessageReceipt = z.object({
  seq: z.number().int(),
  deliveredTo: z.number().int().min(0),
  readBy: z.number().int().min(0),
});
export type MessageReceipt = z.infer<typeof MessageReceipt>;

/** In a direct conversation, the other member's marks: every seq up to each reached them / was read. */
export const PeerMarks = z.object({
  userId: z.string(),
  deliveredThrough: z.number().int().min(0),
  readThrough: z.number().int().min(0),
});
export type PeerMarks = z.infer<typeof PeerMarks>;

export const HistoryResponse = z.object({
  messages: z.array(ChatMessage),
  nextBefore: z.number().int().nullable(),
  /**
   * The room's newest seq (of any event) when the page was read. A client that opens its socket
   * without `since` while this page is on its way compares it with the welcome's `seq`: a lower
   * one means events stored between the two reads, which neither shows.
   */
  seq: z.number().int().min(0).optional(),
  /** Delivery state of the caller's own messages on this page (rooms/delivery-marks.ts). */
  receipts: z.array(MessageReceipt).optional(),
  /** A direct conversation only: the other member's marks, or null while they block the caller. */
  peer: PeerMarks.nullable().optional(),
});
export type HistoryResponse = z.infer<typeof HistoryResponse>;

/** A message, or with `replyTo` a reply to the message of that seq (in the same room, not deleted). */
export const PostMessageBody = z.object({ text: MessageText, replyTo: MessageSeq.optional() });
export type PostMessageBody = z.infer<typeof PostMessageBody>;

/**
 * `POST /v1/rooms/:id/messages`: text, attachments (uploads the sender completed in this room),
 * or both; and with `replyTo`, a reply.
 */
export const PostRoomMessageBody = z
  .object({ text: MessageText.optional(), replyTo: MessageSeq.optional(), attachments: AttachmentRefs.optional() })
  .refine((m) => m.text !== undefined || m.attachments !== undefined, "a message needs text or attachments");
export type PostRoomMessageBody = z.infer<typeof PostRoomMessageBody>;

export const MessageResponse = z.object({ message: Message });
export type MessageResponse = z.infer<typeof MessageResponse>;

/** The path's message seq (`…/messages/:seq`). */
export const MessageSeqParam = z.coerce.number().pipe(MessageSeq);

/** `PATCH /v1/rooms/:id/messages/:seq`: the new text of one's own message. */
export const EditMessageBody = z.object({ text: MessageText });
export type EditMessageBody = z.infer<typeof EditMessageBody>;

/** `POST /v1/rooms/:id/messages/:seq/reactions`: `on` adds or removes; without it the reaction toggles. */
export const ReactBody = z.object({ emoji: Emoji, on: z.boolean().optional() });
export type ReactBody = z.infer<typeof ReactBody>;

/** What edit, delete and react answer: the message as it is now (see ChatMessage). */
export const ChatMessageResponse = z.object({ message: ChatMessage });
export type ChatMessageResponse = z.infer<typeof ChatMessageResponse>;

export const HealthResponse = z.object({ ok: z.literal(true), version: z.string() });

/** `GET /health/ready`: whether each D1 database (`DB` and every shard) answers; 503 when one does not. */
export const ReadinessResponse = z.object({
  ok: z.boolean(),
  version: z.string(),
  databases: z.array(z.object({ binding: z.string(), ok: z.boolean() })),
});

/** `?since=` on socket upgrades: the last seq the client has seen. */
export const SinceQuery = z.coerce.number().int().min(0);

/** A query integer in [0, max]; an empty value (`?timeout=`) counts as absent and takes the default. */
const queryInt = (max: number, fallback: number) =>
  z.preprocess(
    (value) => (value === "" ? undefined : value),
    z.coerce.number().int().min(0).max(max).default(fallback),
  );

/** `GET …/poll?since=&timeout=`: the seq the client has, and how many seconds it may wait (at most 30). */
export const PollQuery = z.object({
  since: queryInt(Number.MAX_SAFE_INTEGER, 0),
  timeout: queryInt(30, 25),
});
export type PollQuery = z.infer<typeof PollQuery>;
