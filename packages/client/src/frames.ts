/**
 * @module client/frames
 * The frames of the three channels, put together from the protocol module's types: what a
 * client sends, what the server answers, and which server frames are stored events (they carry
 * the room's `seq` and are resumed and de-duplicated by it; the others are ephemeral).
 */
import type {
  DriverClientFrame,
  DriverServerFrame,
  TripClientFrame,
  TripServerFrame,
} from "../../../src/protocol/dispatch";
import type { ChatClientFrame, ChatServerFrame } from "../../../src/protocol/frames";
import type { OpsDeskClientFrame, OpsDeskServerFrame } from "../../../src/protocol/safety";

export type {
  AckFrame,
  ChatClientFrame,
  ChatMemberFrame,
  ChatWelcome,
  DeliveredFrame,
  HiddenFrame,
  ReadFrame,
  MemberEvent,
  ChatServerFrame,
  ErrorFrame,
  PongFrame,
  ResetFrame,
  SyncedFrame,
} from "../../../src/protocol/frames";
export type {
  DriverClientFrame,
  DriverServerFrame,
  DriverWelcome,
  TripClientFrame,
  TripServerFrame,
  TripWelcome,
} from "../../../src/protocol/dispatch";

export type {
  OpsAlertFrame,
  OpsDeskClientFrame,
  OpsDeskServerFrame,
  OpsDeskWelcome,
} from "../../../src/protocol/safety";

/** Any frame from any channel. */
export type ServerFrame = ChatServerFrame | TripServerFrame | DriverServerFrame | OpsDeskServerFrame;

/** A frame the server applies once per `id` and acknowledges (API.md: "Every client frame may carry an id"). */
export type WithId<F> = F & { id: string };

/** The channel types a room connection is parameterised by. */
export type ChannelFrames = { client: { type: string; id?: string | undefined }; server: { type: string } };
export type ChatFrames = { client: ChatClientFrame; server: ChatServerFrame };
export type TripFrames = { client: TripClientFrame; server: TripServerFrame };
export type DriverFrames = { client: DriverClientFrame; server: DriverServerFrame };
export type OpsDeskFrames = { client: OpsDeskClientFrame; server: OpsDeskServerFrame };

/** Server frames that are stored events of each channel's log (everything else carries no log seq). */
export const STORED_TYPES = {
  // `hidden` stands for a stored event of a user the reader blocks: it carries that event's seq.
  chat: new Set<string>(["message", "edit", "delete", "reaction", "member", "hidden"]),
  trip: new Set<string>(["status", "message", "fare"]),
  driver: new Set<string>(),
  ops: new Set<string>(),
} as const;

/** The shape every server frame shares; checked before a frame is handed on by its `type`. */
export type FrameHead = { type: string; seq?: number; id?: string };

/** Narrows parsed JSON to a frame: an object with a string `type` (and a numeric `seq` when it has one). */
export function frameHead(data: unknown): FrameHead | null {
  if (typeof data !== "object" || data === null || Array.isArray(data)) return null;
  const { type, seq, id } = data as Record<string, unknown>;
  if (typeof type !== "string") return null;
  if (seq !== undefined && !Number.isInteger(seq)) return null;
  if (id !== undefined && typeof id !== "string") return null;
  return data as FrameHead;
}

/**
 * The sender's name of a message a backend published through the server publish API (its
 * `userId` is `system:<sender>`), or null for a member's message: what an app shows in place of
 * a user's name, and how it tells the two apart (no user id has a colon).
 */
export function systemSenderOf(message: { userId: string }): string | null {
  return message.userId.startsWith("system:") ? message.userId.slice("system:".length) : null;
}
