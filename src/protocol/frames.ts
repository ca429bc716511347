/**
 * @module protocol/frames
 * WebSocket frames (docs/API.md, "Live connections" and the frames of each room). Client frames are parsed with
 * `safeParse` by the room objects; server frames are typed here so that the client SDK and tests read the same shapes
 * the server writes.
 */
import { z } from "zod";
import { AttachmentRefs } from "./attachments";
import { Emoji, type MemberRole, Message, MessageSeq, MessageText } from "./common";

/** A client-chosen command id: makes a frame idempotent (applied once, acknowledged again). */
export const FrameId = z.string().min(1).max(128);

export const PingFrame = z.object({ type: z.literal("ping"), id: FrameId.optional() });

/**
 * A new access token for an open socket, sent before the current one expires (every room
 * takes it): the same user, a valid signature, a later expiry and a live session. Answered
 * `ack` (with its `id`) or an `error` frame; without one the socket is closed at expiry with
 * TOKEN_EXPIRED_CLOSE_CODE.
 */
export const AuthFrame = z.object({
  type: z.literal("auth"),
  id: FrameId.optional(),
  token: z.string().min(1).max(4096),
});
export type AuthFrame = z.infer<typeof AuthFrame>;

export { MEMBERSHIP_ENDED_CLOSE_CODE, SESSION_ENDED_CLOSE_CODE, TOKEN_EXPIRED_CLOSE_CODE } from "./close-codes";

export const ChatClientFrame = z.discriminatedUnion("type", [
  /** Text, attachments (uploads the sender completed in this room), or both. */
  z
    .object({
      type: z.literal("message"),
      id: FrameId.optional(),
      text: MessageText.optional(),
      replyTo: MessageSeq.optional(),
      attachments: AttachmentRefs.optional(),
    })
    .refine((m) => m.text !== undefined || m.attachments !== undefined, "a message needs text or attachments"),
  /** Replaces the text of one's own message. */
  z.object({ type: z.literal("edit"), id: FrameId.optional(), seq: MessageSeq, text: MessageText }),
  /** Deletes one's own message (the room's creator and operators delete any). */
  z.object({ type: z.literal("delete"), id: FrameId.optional(), seq: MessageSeq }),
  /** Adds (`on: true`) or removes (`on: false`) one's reaction; without `on`, toggles it. */
  z.object({
    type: z.literal("react"),
    id: FrameId.optional(),
    seq: MessageSeq,
    emoji: Emoji,
    on: z.boolean().optional(),
  }),
  z.object({ type: z.literal("typing"), id: FrameId.optional(), active: z.boolean() }),
  z.object({ type: z.literal("read"), id: FrameId.optional(), seq: z.number().int().min(0) }),
  PingFrame,
]);
export type ChatClientFrame = z.infer<typeof ChatClientFrame>;

/** Only used to echo an `id` back on an error frame when the rest of the frame is invalid. */
export const LooseFrame = z.object({ type: z.string().optional(), id: FrameId.optional() }).loose();
export type LooseFrame = z.infer<typeof LooseFrame>;

// Server frames common to every room.
export type WelcomeFrame<Snapshot> = { type: "welcome"; seq: number } & Snapshot;
export type SyncedFrame = { type: "synced"; seq: number };
export type ResetFrame = { type: "reset"; seq: number };
export type AckFrame = { type: "ack"; id: string; seq?: number };
export type ErrorFrame = { type: "error"; id?: string; code: string; message: string };
export type PongFrame = { type: "pong" };
/** The last event of an SSE stream whose reader fell too far behind: reconnect from `seq`. */
export type SlowConsumerFrame = ErrorFrame & { code: "slow_consumer"; seq: number | null };
/** The frames every room sends besides its own: answers to client frames and the resume markers. */
export type ControlFrame = SyncedFrame | ResetFrame | AckFrame | ErrorFrame | PongFrame;

// Chat room server frames.
export type ChatMessageFrame = { type: "message"; seq: number; message: Message };
/** A message's new text; `userId` is its author, the only one who may edit it. */
export type MessageEdit = { roomId: string; messageSeq: number; userId: string; text: string; editedAt: number };
/** A message deleted by `userId` (its author, the room's creator or an operator). */
export type MessageDelete = { roomId: string; messageSeq: number; userId: string; deletedAt: number };
/** `userId` added (`on`) or removed a reaction; `count` is how many users have that emoji on the message now. */
export type MessageReaction = {
  roomId: string;
  messageSeq: number;
  userId: string;
  emoji: string;
  on: boolean;
  count: number;
  at: number;
};
/**
 * A change of membership: `userId` left, was removed (`banned` when by a
 * ban), or was given `role`. `by` is who made the change, when not `userId` themself; `role` is
 * the member's role after it (absent once they are gone).
 */
export type MemberEvent = {
  roomId: string;
  userId: string;
  event: "left" | "removed" | "role";
  role?: MemberRole;
  by?: string;
  banned?: true;
  at: number;
};
export type ChatMemberFrame = { type: "member"; seq: number; member: MemberEvent };
export type ChatEditFrame = { type: "edit"; seq: number; edit: MessageEdit };
export type ChatDeleteFrame = { type: "delete"; seq: number; delete: MessageDelete };
export type ChatReactionFrame = { type: "reaction"; seq: number; reaction: MessageReaction };
/** The stored events of chat: a message, and the changes to one. */
export type ChatStoredFrame = ChatMessageFrame | ChatEditFrame | ChatDeleteFrame | ChatReactionFrame;
/** What a chat room's log holds: chat, and its changes of membership. */
export type ChatRoomStoredFrame = ChatStoredFrame | ChatMemberFrame;
export type PresenceFrame = { type: "presence"; event: "join" | "leave"; userId: string };
export type TypingFrame = { type: "typing"; userId: string; active: boolean };
export type ReadFrame = { type: "read"; userId: string; seq: number };
/**
 * A member's delivered mark moved (rooms/delivery-marks.ts): every event through `seq` reached at
 * least one of their devices. Sent when a long poll is answered or a push is delivered, coalesced
 * per member; while a member is online (from their `presence` join), each event reaches them as
 * it is sent, so their mark follows the room's seq with no frame.
 */
export type DeliveredFrame = { type: "delivered"; userId: string; seq: number };
export type ChatWelcome = WelcomeFrame<{
  members: string[];
  online: string[];
  /** Read marks by user id. */
  reads: Record<string, number>;
  /** Delivered marks by user id (an online member's is the welcome's `seq`). */
  delivered: Record<string, number>;
  /** The owner and the admins by user id (everyone else in `members` is a member). */
  roles: Record<string, "owner" | "admin">;
}>;

/** What a chat room sends besides the control frames; `message`, `edit`, `delete` and `reaction` are stored events. */
/**
 * A stored event this reader does not see (what a user they block did in a group room): only
 * its seq, so the reader's cursor moves on with no gap.
 */
export type HiddenFrame = { type: "hidden"; seq: number };
export type ChatRoomFrame =
  | HiddenFrame
  | ChatWelcome
  | ChatStoredFrame
  | ChatMemberFrame
  | PresenceFrame
  | TypingFrame
  | ReadFrame
  | DeliveredFrame;
export type ChatServerFrame = ChatRoomFrame | ControlFrame;

export const ServerMessageFrame = z.object({ type: z.literal("message"), seq: z.number().int(), message: Message });

const Seq = z.number().int();
export const ServerEditFrame = z.object({
  type: z.literal("edit"),
  seq: Seq,
  edit: z.object({ roomId: z.string(), messageSeq: Seq, userId: z.string(), text: z.string(), editedAt: Seq }),
});
export const ServerDeleteFrame = z.object({
  type: z.literal("delete"),
  seq: Seq,
  delete: z.object({ roomId: z.string(), messageSeq: Seq, userId: z.string(), deletedAt: Seq }),
});
export const ServerReactionFrame = z.object({
  type: z.literal("reaction"),
  seq: Seq,
  reaction: z.object({
    roomId: z.string(),
    messageSeq: Seq,
    userId: z.string(),
    emoji: z.string(),
    on: z.boolean(),
    count: Seq,
    at: Seq,
  }),
});
/** A stored chat change, as the write-behind reads it back from the log. */
export const ServerChangeFrame = z.discriminatedUnion("type", [
  ServerEditFrame,
  ServerDeleteFrame,
  ServerReactionFrame,
]);
export type ServerChangeFrame = z.infer<typeof ServerChangeFrame>;
