/**
 * @module rooms/chat-log
 * Chat messages on a room's sequenced log, the same for chat rooms and a trip's chat: a message
 * is stored once per command id (a retry returns the first seq; the same id with another text
 * is refused), sent to everyone connected, copied to D1 behind, and read back (one message, or
 * a page of history) from the log or, once trimmed there, from D1.
 *
 * A message is never rewritten in the log: an edit, a delete and a reaction are events of their
 * own (with their own seq, so they resume and replay like messages), and the current state they
 * leave is kept beside the log in two small tables that history reads over each page, whether
 * the page came from the log or from D1. Those tables are not trimmed with the log: they hold a
 * row per edited or deleted message and per reaction, and they are what makes an edit of a
 * message already trimmed show at once rather than after the next copy to D1.
 */
import { conflict, forbidden, notFound } from "../errors";
import type { Attachment } from "../protocol/attachments";
import { type ChatMessage, MAX_REACTIONS_PER_MESSAGE, type Message, type ReactionCount } from "../protocol/common";
import type { ChatMessageFrame, ChatStoredFrame } from "../protocol/frames";
import type { HistoryResponse } from "../protocol/http";
import { archivedMessagesBefore, archivedOriginal, messageOf } from "../db/messages";
import { type Appended, type LogHost, SequencedLog } from "./sequenced-log";

/** A stored message: new (with the message itself), or a repeat of a command id already applied. */
export type PostedMessage = { seq: number; message?: Message };

/** What a change stored: the seq of its event, or null when it changed nothing (or repeated a command id). */
export type StoredChange = { seq: number | null };

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

type ChangeRow = { seq: number; text: string | null; edited_at: number | null; deleted_at: number | null };
type ReactionRow = { seq: number; emoji: string; n: number; me: number };

export class ChatLog {
  private readonly sql: SqlStorage;

  constructor(
    /** Any room's log whose frames include chat messages. */
    private readonly log: SequencedLog<ChatStoredFrame>,
    /**
     * Where a room's chat archive is read, history older than the log: its shard, and while a
     * shard move runs, the one before it (src/db/shards.ts `shardHomes`).
     */
    private readonly archive: (roomId: string) => D1Database[],
    /** Sends an appended event to the room's connections. */
    private readonly publish: (appended: Appended) => void,
    /** How long a message may wait for its copy to D1 (MESSAGE_ARCHIVE_DELAY_MS). */
    private readonly archiveDelayMs: number,
    storage: DurableObjectStorage,
  ) {
    const sql = storage.sql;
    this.sql = sql;
    // The current state of edited and deleted messages, and the reactions on messages, by seq.
    sql.exec(
      `CREATE TABLE IF NOT EXISTS message_changes (seq INTEGER PRIMARY KEY, text TEXT,
       edited_at INTEGER, deleted_at INTEGER, change_seq INTEGER NOT NULL)`,
    );
    sql.exec(
      `CREATE TABLE IF NOT EXISTS reactions (seq INTEGER NOT NULL, emoji TEXT NOT NULL, user_id TEXT NOT NULL,
       at INTEGER NOT NULL, PRIMARY KEY (seq, emoji, user_id))`,
    );
  }

  /**
   * Stores and sends a message once per command id; a repeat returns the first seq. A reply's
   * `replyTo` must name a message of this room (`original` checks that first, since it may ask
   * D1) that is not deleted (checked here, with the store). `attachments` are uploads the room
   * has checked to be the sender's (rooms/room-uploads.ts); their keys are part of what a
   * repeated command id must match.
   */
  post(
    roomId: string,
    userId: string,
    text: string,
    commandId?: string,
    replyTo?: number,
    attachments?: Attachment[],
  ): PostedMessage {
    const fingerprint =
      commandId === undefined
        ? null
        : textFingerprint(text) +
          (replyTo === undefined ? "" : `>${replyTo}`) +
          (attachments === undefined ? "" : `+${textFingerprint(attachments.map((a) => a.key).join(" "))}`);
    return this.store(roomId, userId, userId, text, commandId, fingerprint, replyTo, attachments);
  }

  /**
   * A message a server published under `author` (`system:<sender>`), stored and sent like any
   * other. Its command id belongs to `commandOwner` (the API key), not to the author: two keys
   * never answer each other's ids, and the same id with another sender or text is refused.
   */
  postAs(roomId: string, author: string, commandOwner: string, text: string, commandId?: string): PostedMessage {
    const fingerprint = commandId === undefined ? null : `${textFingerprint(text)}@${author}`;
    return this.store(roomId, author, commandOwner, text, commandId, fingerprint);
  }

  private store(
    roomId: string,
    userId: string,
    commandOwner: string,
    text: string,
    commandId: string | undefined,
    fingerprint: string | null,
    replyTo?: number,
    attachments?: Attachment[],
  ): PostedMessage {
    const result = this.log.commands.once(
      commandOwner,
      "message",
      commandId,
      this.log.lastSeq + 1,
      () => {
        if (replyTo !== undefined && this.changeAt(replyTo)?.deleted_at != null)
          throw conflict("the message replied to was deleted", { replyTo });
        let message: Message | undefined;
        const appended = this.log.append(
          (seq) => {
            message = { id: `msg_${roomId}_${seq}`, roomId, seq, userId, text, createdAt: Date.now() };
            if (replyTo !== undefined) message.replyTo = replyTo;
            if (attachments !== undefined) message.attachments = attachments;
            return { type: "message", seq, message } satisfies ChatMessageFrame;
          },
          this.archiveDelayMs,
          true,
        );
        return { ...appended, message };
      },
      fingerprint,
    );
    if (result.repeated) return { seq: result.seq ?? 0 };
    this.publish(result.value);
    return { seq: result.value.seq, ...(result.value.message ? { message: result.value.message } : {}) };
  }

  /**
   * The message stored at `seq` as it was posted (author, reply), from the log or, once trimmed,
   * from D1; 404 when `seq` holds nothing or another kind of event. For checks, not display.
   */
  async original(roomId: string, seq: number): Promise<Message> {
    if (seq > this.log.lastSeq) throw notFound("message not found");
    if (seq >= this.log.firstSeq) {
      const event = this.log.before(seq + 1, 1)[0];
      const message = event && event.seq === seq ? messageOf(event) : null;
      if (message) return message;
      throw notFound("message not found");
    }
    const archived = await archivedOriginal(this.archive(roomId), roomId, seq);
    if (archived) return archived;
    throw notFound("message not found");
  }

  /** The message stored at `seq`, from the log or, once trimmed, from D1. */
  async messageAt(roomId: string, seq: number): Promise<Message> {
    return this.original(roomId, seq);
  }

  /** The message a post stored: the new one, or the first one for a repeated command id. */
  async messageOf(roomId: string, posted: PostedMessage): Promise<Message> {
    return posted.message ?? (await this.messageAt(roomId, posted.seq));
  }

  /** Replaces the text of `userId`'s own message at `seq` (403 for another's, 409 once deleted). */
  async edit(roomId: string, userId: string, seq: number, text: string, commandId?: string): Promise<StoredChange> {
    const original = await this.original(roomId, seq);
    if (original.userId !== userId) throw forbidden("only its author may edit a message");
    return this.change(userId, "edit", commandId, textFingerprint(`${seq}:${text}`), () => {
      if (this.changeAt(seq)?.deleted_at != null) throw conflict("the message was deleted", { seq });
      const editedAt = Date.now();
      const appended = this.log.append(
        (eventSeq) => ({ type: "edit", seq: eventSeq, edit: { roomId, messageSeq: seq, userId, text, editedAt } }),
        this.archiveDelayMs,
        true,
      );
      this.sql.exec(
        `INSERT INTO message_changes (seq, text, edited_at, change_seq) VALUES (?, ?, ?, ?)
         ON CONFLICT (seq) DO UPDATE SET text = excluded.text, edited_at = excluded.edited_at,
         change_seq = excluded.change_seq`,
        seq,
        text,
        editedAt,
        appended.seq,
      );
      return appended;
    });
  }

  /**
   * Deletes the message at `seq`: its author may, and anyone the room lets moderate
   * (`moderator`). Its text, reply and reactions go; a tombstone stays. Deleting it again
   * changes nothing.
   */
  async remove(
    roomId: string,
    userId: string,
    seq: number,
    moderator: boolean,
    commandId?: string,
  ): Promise<StoredChange> {
    const original = await this.original(roomId, seq);
    if (original.userId !== userId && !moderator)
      throw forbidden("only its author or a moderator may delete a message");
    return this.change(userId, "delete", commandId, `${seq}`, () => {
      if (this.changeAt(seq)?.deleted_at != null) return null;
      const deletedAt = Date.now();
      const appended = this.log.append(
        (eventSeq) => ({ type: "delete", seq: eventSeq, delete: { roomId, messageSeq: seq, userId, deletedAt } }),
        this.archiveDelayMs,
        true,
      );
      this.sql.exec(
        `INSERT INTO message_changes (seq, text, edited_at, deleted_at, change_seq) VALUES (?, NULL, NULL, ?, ?)
         ON CONFLICT (seq) DO UPDATE SET text = NULL, edited_at = NULL, deleted_at = excluded.deleted_at,
         change_seq = excluded.change_seq`,
        seq,
        deletedAt,
        appended.seq,
      );
      this.sql.exec(`DELETE FROM reactions WHERE seq = ?`, seq);
      return appended;
    });
  }

  /**
   * Sets `userId`'s reaction `emoji` on the message at `seq` on or off (`on` undefined:
   * toggles it). Nothing is stored when it is already so; a new emoji past
   * MAX_REACTIONS_PER_MESSAGE distinct ones on the message is refused (409), as is any on a
   * deleted message.
   */
  async react(
    roomId: string,
    userId: string,
    seq: number,
    emoji: string,
    on: boolean | undefined,
    commandId?: string,
  ): Promise<StoredChange> {
    await this.original(roomId, seq);
    return this.change(userId, "react", commandId, `${seq}:${emoji}:${on ?? "toggle"}`, () => {
      if (this.changeAt(seq)?.deleted_at != null) throw conflict("the message was deleted", { seq });
      const has =
        this.sql
          .exec(`SELECT 1 FROM reactions WHERE seq = ? AND emoji = ? AND user_id = ?`, seq, emoji, userId)
          .toArray().length > 0;
      const want = on ?? !has;
      if (want === has) return null;
      const at = Date.now();
      if (want) {
        const emojiSeen = this.sql
          .exec(`SELECT 1 FROM reactions WHERE seq = ? AND emoji = ? LIMIT 1`, seq, emoji)
          .toArray();
        const distinct = this.sql
          .exec<{ n: number }>(`SELECT COUNT(DISTINCT emoji) AS n FROM reactions WHERE seq = ?`, seq)
          .one().n;
        if (emojiSeen.length === 0 && distinct >= MAX_REACTIONS_PER_MESSAGE)
          throw conflict(`a message carries at most ${MAX_REACTIONS_PER_MESSAGE} different reactions`, {
            limit: MAX_REACTIONS_PER_MESSAGE,
          });
        this.sql.exec(`INSERT INTO reactions (seq, emoji, user_id, at) VALUES (?, ?, ?, ?)`, seq, emoji, userId, at);
      } else {
        this.sql.exec(`DELETE FROM reactions WHERE seq = ? AND emoji = ? AND user_id = ?`, seq, emoji, userId);
      }
      const count = this.sql
        .exec<{ n: number }>(`SELECT COUNT(*) AS n FROM reactions WHERE seq = ? AND emoji = ?`, seq, emoji)
        .one().n;
      return this.log.append(
        (eventSeq) => ({
          type: "reaction",
          seq: eventSeq,
          reaction: { roomId, messageSeq: seq, userId, emoji, on: want, count, at },
        }),
        this.archiveDelayMs,
        true,
      );
    });
  }

  /** The message at `seq` as history shows it now, with `viewer`'s own reactions marked. */
  async view(roomId: string, seq: number, viewer: string): Promise<ChatMessage> {
    const original = await this.original(roomId, seq);
    const [view] = this.present([original], viewer);
    if (!view) throw notFound("message not found");
    return view;
  }

  /**
   * A page of history, newest first, before `before` (default: the newest); older pages come
   * from D1. Each message as it is now: edited, a tombstone, with its reactions (`me` for `viewer`).
   */
  async history(roomId: string, before: number | undefined, limit: number, viewer?: string): Promise<HistoryResponse> {
    // Read before the archive's await: what the page covers, for a client that compares it with a welcome.
    const newest = this.log.lastSeq;
    const cursor = before ?? newest + 1;
    // One extra row tells whether another page exists.
    let page: ChatMessage[] = this.log
      .before(cursor, limit + 1, "message")
      .map(messageOf)
      .filter((m): m is Message => m !== null);
    const keptFrom = this.log.firstSeq;
    if (page.length < limit + 1 && keptFrom > 1) {
      const olderThan = Math.min(cursor, keptFrom);
      page = page.concat(
        await archivedMessagesBefore(this.archive(roomId), roomId, olderThan, limit + 1 - page.length),
      );
    }
    const hasMore = page.length > limit;
    const messages = this.present(page.slice(0, limit), viewer);
    return { messages, nextBefore: hasMore ? (messages.at(-1)?.seq ?? null) : null, seq: newest };
  }

  /**
   * Runs a change once per (user, kind, command id), like a message: a repeat stores nothing
   * and returns the first seq; `apply` returns what it appended, or null when nothing changed.
   */
  private change(
    userId: string,
    kind: "edit" | "delete" | "react",
    commandId: string | undefined,
    fingerprint: string,
    apply: () => Appended | null,
  ): StoredChange {
    const result = this.log.commands.once(
      userId,
      kind,
      commandId,
      this.log.lastSeq + 1,
      () => {
        const appended = apply();
        return appended ? { seq: appended.seq, appended } : { seq: null, appended: null };
      },
      commandId === undefined ? null : fingerprint,
    );
    if (result.repeated) return { seq: result.seq };
    if (result.value.appended) this.publish(result.value.appended);
    return { seq: result.value.seq };
  }

  private changeAt(seq: number): ChangeRow | undefined {
    return this.sql
      .exec<ChangeRow>(`SELECT seq, text, edited_at, deleted_at FROM message_changes WHERE seq = ?`, seq)
      .toArray()[0];
  }

  /**
   * Messages as they are now: the edits, deletes and reactions kept beside the log laid over
   * them, with two range reads for the whole page (none per message).
   */
  private present(page: ChatMessage[], viewer?: string): ChatMessage[] {
    if (page.length === 0) return page;
    const seqs = page.map((m) => m.seq);
    const low = Math.min(...seqs);
    const high = Math.max(...seqs);
    const changes = new Map<number, ChangeRow>();
    for (const row of this.sql.exec<ChangeRow>(
      `SELECT seq, text, edited_at, deleted_at FROM message_changes WHERE seq BETWEEN ? AND ?`,
      low,
      high,
    ))
      changes.set(row.seq, row);
    const reactions = new Map<number, ReactionCount[]>();
    for (const row of this.sql.exec<ReactionRow>(
      `SELECT seq, emoji, COUNT(*) AS n, MAX(user_id = ?) AS me FROM reactions
       WHERE seq BETWEEN ? AND ? GROUP BY seq, emoji ORDER BY seq, MIN(at), emoji`,
      viewer ?? "",
      low,
      high,
    )) {
      const list = reactions.get(row.seq) ?? [];
      list.push({ emoji: row.emoji, count: row.n, me: row.me === 1 });
      reactions.set(row.seq, list);
    }
    return page.map((message) => {
      const change = changes.get(message.seq);
      const { id, roomId, seq, userId, createdAt } = message;
      if (change?.deleted_at != null || message.deleted)
        return {
          id,
          roomId,
          seq,
          userId,
          createdAt,
          deleted: true,
          deletedAt: change?.deleted_at ?? message.deletedAt ?? createdAt,
        } satisfies ChatMessage;
      const view: ChatMessage = { ...message };
      if (change?.text != null) view.text = change.text;
      if (change?.edited_at != null) view.editedAt = change.edited_at;
      const counts = reactions.get(seq);
      if (counts) view.reactions = counts;
      return view;
    });
  }
}

/** A room's log with chat on it (chat rooms and trips). */
export type LoggedChat<Frame extends { type: string; seq: number }> = {
  log: SequencedLog<Frame | ChatStoredFrame>;
  chat: ChatLog;
};

/**
 * Opens a room's log and its chat, wired to the room: its alarm, its sends and its error log. `fresh`: the room is
 * being created (RoomStorage's `create`), so its tables are made now and need no check for older columns.
 */
export function openLoggedChat<Frame extends { type: string; seq: number }>(
  storage: DurableObjectStorage,
  archive: (roomId: string) => D1Database[],
  host: LogHost & { publish(appended: Appended): void },
  fresh = false,
): LoggedChat<Frame> {
  const log = new SequencedLog<Frame | ChatStoredFrame>(storage, host, fresh);
  return { log, chat: new ChatLog(log, archive, host.publish, host.config.MESSAGE_ARCHIVE_DELAY_MS, storage) };
}

/**
 * A room's log and chat, opened when the room is created, or at wake when it was created before:
 * an id nobody created opens nothing and writes nothing (the hub answers it 404).
 */
export class RoomStorage<Frame extends { type: string; seq: number }> {
  private kept: LoggedChat<Frame> | null = null;

  constructor(
    storage: DurableObjectStorage,
    /**
     * Opens the log and chat and creates the room's own tables; runs once per activation. `fresh`: the room is being
     * created now (no table of it exists yet), so there is no older schema to bring up to date.
     */
    private readonly open: (fresh: boolean) => LoggedChat<Frame>,
    /** The not-found message for a room nobody created. */
    private readonly missing: string,
  ) {
    if (SequencedLog.existsIn(storage)) this.kept = open(false);
  }

  get exists(): boolean {
    return this.kept !== null;
  }

  /** Opens the room's storage, creating its tables the first time; idempotent. */
  create(): LoggedChat<Frame> {
    this.kept ??= this.open(true);
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
