/**
 * @module rooms/chat-log
 * Chat messages on a room's sequenced log, the same for chat rooms and a trip's chat: a message
 * is stored once per command id (a retry returns the first seq; the same id with another text
 * is refused), sent to everyone connected, copied to D1 behind, and read back (one message, or
 * a page of history) from the log or, once trimmed there, from D1.
 */
import { notFound } from "../errors";
import type { Message } from "../protocol/common";
import type { ChatMessageFrame } from "../protocol/frames";
import type { HistoryResponse } from "../protocol/http";
import { archivedMessagesBefore, messageOf } from "../db/messages";
import { type Appended, type LogHost, SequencedLog } from "./sequenced-log";

/** A stored message: new (with the message itself), or a repeat of a command id already applied. */
export type PostedMessage = { seq: number; message?: Message };

/**
 * A digest of a message's text (FNV-1a, 32 bits, and the length) that tells a retry from an id
 * reused for another text. Synchronous, since it runs inside the storage transaction; a
 * collision only means a reused id is answered with the first message, as before this check.
 */
export function textFingerprint(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return `${text.length}:${(hash >>> 0).toString(16)}`;
}

export class ChatLog {
  constructor(
    /** Any room's log whose frames include chat messages. */
    private readonly log: SequencedLog<ChatMessageFrame>,
    private readonly db: D1Database,
    /** Sends an appended event to the room's connections. */
    private readonly publish: (appended: Appended) => void,
    /** How long a message may wait for its copy to D1 (MESSAGE_ARCHIVE_DELAY_MS). */
    private readonly archiveDelayMs: number,
  ) {}

  /** Stores and sends a message once per command id; a repeat returns the first seq. */
  post(roomId: string, userId: string, text: string, commandId?: string): PostedMessage {
    const fingerprint = commandId === undefined ? null : textFingerprint(text);
    const result = this.log.commands.once(
      userId,
      "message",
      commandId,
      this.log.lastSeq + 1,
      () => {
        let message: Message | undefined;
        const appended = this.log.append((seq) => {
          message = { id: `msg_${roomId}_${seq}`, roomId, seq, userId, text, createdAt: Date.now() };
          return { type: "message", seq, message } satisfies ChatMessageFrame;
        }, this.archiveDelayMs);
        return { ...appended, message };
      },
      fingerprint,
    );
    if (result.repeated) return { seq: result.seq ?? 0 };
    this.publish(result.value);
    return { seq: result.value.seq, ...(result.value.message ? { message: result.value.message } : {}) };
  }

  /** The message stored at `seq`, from the log or, once trimmed, from D1. */
  async messageAt(roomId: string, seq: number): Promise<Message> {
    const local = this.log.before(seq + 1, 1, "message")[0];
    const fromLog = local && local.seq === seq ? messageOf(local) : null;
    if (fromLog) return fromLog;
    const [archived] = await archivedMessagesBefore(this.db, roomId, seq + 1, 1);
    if (archived?.seq === seq) return archived;
    throw notFound("message not found");
  }

  /** The message a post stored: the new one, or the first one for a repeated command id. */
  async messageOf(roomId: string, posted: PostedMessage): Promise<Message> {
    return posted.message ?? (await this.messageAt(roomId, posted.seq));
  }

  /** A page of history, newest first, before `before` (default: the newest); older pages come from D1. */
  async history(roomId: string, before: number | undefined, limit: number): Promise<HistoryResponse> {
    const cursor = before ?? this.log.lastSeq + 1;
    // One extra row tells whether another page exists.
    let page = this.log
      .before(cursor, limit + 1, "message")
      .map(messageOf)
      .filter((m): m is Message => m !== null);
    const keptFrom = this.log.firstSeq;
    if (page.length < limit + 1 && keptFrom > 1) {
      const olderThan = Math.min(cursor, keptFrom);
      page = page.concat(await archivedMessagesBefore(this.db, roomId, olderThan, limit + 1 - page.length));
    }
    const hasMore = page.length > limit;
    const messages = page.slice(0, limit);
    return { messages, nextBefore: hasMore ? (messages.at(-1)?.seq ?? null) : null };
  }
}

/** A room's log with chat on it (chat rooms and trips). */
export type LoggedChat<Frame extends { type: string; seq: number }> = {
  log: SequencedLog<Frame | ChatMessageFrame>;
  chat: ChatLog;
};

/** Opens a room's log and its chat, wired to the room: its alarm, its sends and its error log. */
export function openLoggedChat<Frame extends { type: string; seq: number }>(
  storage: DurableObjectStorage,
  db: D1Database,
  host: LogHost & { publish(appended: Appended): void },
): LoggedChat<Frame> {
  const log = new SequencedLog<Frame | ChatMessageFrame>(storage, host);
  return { log, chat: new ChatLog(log, db, host.publish, host.config.MESSAGE_ARCHIVE_DELAY_MS) };
}

/**
 * A room's log and chat, opened when the room is created, or at wake when it was created before:
 * an id nobody created opens nothing and writes nothing (the hub answers it 404).
 */
export class RoomStorage<Frame extends { type: string; seq: number }> {
  private kept: LoggedChat<Frame> | null = null;

  constructor(
    storage: DurableObjectStorage,
    /** Opens the log and chat and creates the room's own tables; runs once per activation. */
    private readonly open: () => LoggedChat<Frame>,
    /** The not-found message for a room nobody created. */
    private readonly missing: string,
  ) {
    if (SequencedLog.existsIn(storage)) this.kept = open();
  }

  get exists(): boolean {
    return this.kept !== null;
  }

  /** Opens the room's storage, creating its tables the first time; idempotent. */
  create(): LoggedChat<Frame> {
    this.kept ??= this.open();
    return this.kept;
  }

  /** The log and chat; only reached once the room exists (the hub and `rpc` check it first). */
  get opened(): LoggedChat<Frame> {
    if (!this.kept) throw notFound(this.missing);
    return this.kept;
  }

  /** When the log needs the alarm after a wake, if the room exists and its log needs one. */
  wakeNeeded(now: number): number | null {
    return this.kept?.log.wakeNeeded(now) ?? null;
  }
}
