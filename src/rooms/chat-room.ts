/**
 * @module rooms/chat-room
 * One chat room: its members (a cache of D1's room_members, kept by the Worker's calls), the
 * message log, presence, typing and read marks. Messages commit here first and reach D1
 * through the outbox; history the room no longer keeps is read back from D1. Members with no
 * socket here are told of a new message (a reply too) through the notifications queue; edits,
 * deletes and reactions (rooms/chat-log.ts) are sent to connections only. A message's author
 * edits it; the author, the room's creator and operators delete it.
 */
import type { Identity } from "../auth/jwt";
import { forbidden, notFound, type ApiError, type Result } from "../errors";
import { chatNotification } from "../notify/message";
import { notifyLater } from "../notify/producer";
import type { ChatMessage, Message, Room } from "../protocol/common";
import { ChatClientFrame, type ChatRoomFrame, type ChatStoredFrame } from "../protocol/frames";
import type { HistoryResponse } from "../protocol/http";
import { type LoggedChat, openLoggedChat, type PostedMessage, RoomStorage, type StoredChange } from "./chat-log";
import { fastChatFrame } from "../protocol/fast-frames";
import { archiveMessages } from "../db/messages";
import type { ReadableLog } from "./resume";
import { SocketHub, type WelcomeSnapshot } from "./socket-hub";

export class ChatRoom extends SocketHub<ChatClientFrame, ChatRoomFrame> {
  protected readonly kind = "ChatRoom";
  protected readonly clientFrames = ChatClientFrame;
  /** The room's log and messages, once the room is created (chat-log's RoomStorage). */
  private readonly kept = new RoomStorage<ChatStoredFrame>(
    this.ctx.storage,
    () => this.openStorage(),
    "room not found",
  );
  /**
   * How many members the room has: counted once after a wake, then kept by `insertMember`
   * (members are never removed here, only added).
   */
  private members: number | null = null;

  /** Opens the log and chat and creates the room's tables (RoomStorage runs it once). */
  private openStorage(): LoggedChat<ChatStoredFrame> {
    const opened = openLoggedChat<ChatStoredFrame>(
      this.ctx.storage,
      this.env.DB,
      this.logHost((events) => archiveMessages(this.env.DB, events)),
    );
    this.sql.exec(
      `CREATE TABLE IF NOT EXISTS room (id TEXT PRIMARY KEY,
       name TEXT NOT NULL, private INTEGER NOT NULL, created_by TEXT NOT NULL, created_at INTEGER NOT NULL)`,
    );
    this.sql.exec(
      `CREATE TABLE IF NOT EXISTS members (user_id TEXT PRIMARY KEY,
       joined_at INTEGER NOT NULL, read_seq INTEGER NOT NULL DEFAULT 0)`,
    );
    return opened;
  }

  private get sql(): SqlStorage {
    return this.ctx.storage.sql;
  }

  private get room(): LoggedChat<ChatStoredFrame> {
    return this.kept.opened;
  }

  // ---- RPC from the Worker ----------------------------------------------------------------

  /** Creates the room with its creator as the first member; idempotent. */
  initialize(room: Room): Promise<Result<Room>> {
    this.kept.create();
    return this.rpc("initialize", () => {
      this.sql.exec(
        `INSERT INTO room (id, name, private, created_by, created_at)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (id) DO NOTHING`,
        room.id,
        room.name,
        room.private ? 1 : 0,
        room.createdBy,
        room.createdAt,
      );
      this.insertMember(room.createdBy, room.createdAt);
      return room;
    });
  }

  /** Adds a member (the Worker has written D1 already); idempotent. */
  addMember(userId: string): Promise<Result<true>> {
    return this.rpc("addMember", () => {
      this.insertMember(userId, Date.now());
      return true as const;
    });
  }

  postMessage(identity: Identity, text: string, idempotencyKey?: string, replyTo?: number): Promise<Result<Message>> {
    return this.rpc("postMessage", async () => {
      this.requireMember(identity.userId);
      const posted =
        replyTo === undefined
          ? this.postAndNotify(identity, text, idempotencyKey)
          : await this.replyAndNotify(identity, text, replyTo, idempotencyKey);
      return this.room.chat.messageOf(this.roomId(), posted);
    });
  }

  /** Edits the caller's own message; answers the message as it is now. */
  editMessage(identity: Identity, seq: number, text: string, idempotencyKey?: string): Promise<Result<ChatMessage>> {
    return this.rpc("editMessage", async () => {
      await this.edit(identity, seq, text, idempotencyKey);
      return this.room.chat.view(this.roomId(), seq, identity.userId);
    });
  }

  /** Deletes a message (the caller's own, or any for a moderator); answers its tombstone. */
  deleteMessage(identity: Identity, seq: number, idempotencyKey?: string): Promise<Result<ChatMessage>> {
    return this.rpc("deleteMessage", async () => {
      await this.remove(identity, seq, idempotencyKey);
      return this.room.chat.view(this.roomId(), seq, identity.userId);
    });
  }

  /** Adds, removes or toggles the caller's reaction; answers the message with its reactions now. */
  react(
    identity: Identity,
    seq: number,
    emoji: string,
    on: boolean | undefined,
    idempotencyKey?: string,
  ): Promise<Result<ChatMessage>> {
    return this.rpc("react", async () => {
      await this.reactTo(identity, seq, emoji, on, idempotencyKey);
      return this.room.chat.view(this.roomId(), seq, identity.userId);
    });
  }

  history(identity: Identity, before: number | undefined, limit: number): Promise<Result<HistoryResponse>> {
    return this.rpc("history", async () => {
      this.requireMember(identity.userId);
      return this.room.chat.history(this.roomId(), before, limit, identity.userId);
    });
  }

  // ---- hub hooks ----------------------------------------------------------------------------

  protected exists(): boolean {
    return this.kept.exists;
  }

  protected override replayLog(): ReadableLog {
    return this.room.log;
  }

  protected override wakeNeeded(now: number): number | null {
    return this.kept.wakeNeeded(now);
  }

  protected override onAlarm(now: number): Promise<number | null> {
    return this.room.log.onAlarm(now);
  }

  protected denyConnection(identity: Identity): ApiError | null {
    return this.isMember(identity.userId) ? null : forbidden("join the room first");
  }

  protected welcomeSnapshot(): WelcomeSnapshot<ChatRoomFrame> {
    const rows = this.sql
      .exec<{ user_id: string; read_seq: number }>(`SELECT user_id, read_seq FROM members ORDER BY joined_at, user_id`)
      .toArray();
    const reads: Record<string, number> = {};
    for (const row of rows) if (row.read_seq > 0) reads[row.user_id] = row.read_seq;
    return { members: rows.map((r) => r.user_id), online: this.onlineUsers(), reads };
  }

  protected override fastFrame(data: unknown): ChatClientFrame | undefined {
    return fastChatFrame(data);
  }

  protected onClientFrame(
    ws: WebSocket,
    identity: Identity,
    frame: ChatClientFrame,
  ): Promise<number | null> | number | null {
    switch (frame.type) {
      case "message":
        if (frame.replyTo === undefined) return this.postAndNotify(identity, frame.text, frame.id).seq;
        return this.replyAndNotify(identity, frame.text, frame.replyTo, frame.id).then((posted) => posted.seq);
      case "edit":
        return this.edit(identity, frame.seq, frame.text, frame.id).then((stored) => stored.seq);
      case "delete":
        return this.remove(identity, frame.seq, frame.id).then((stored) => stored.seq);
      case "react":
        return this.reactTo(identity, frame.seq, frame.emoji, frame.on, frame.id).then((stored) => stored.seq);
      case "typing":
        // With an id, a repeat is acknowledged and not relayed again, like any command.
        this.room.log.commands.once(identity.userId, "typing", frame.id, null, () => {
          this.broadcast({ type: "typing", userId: identity.userId, active: frame.active }, ws);
          return { seq: null };
        });
        return null;
      case "read":
        return this.markRead(identity.userId, frame.seq);
      case "ping":
        return null;
    }
  }

  protected override onPresence(userId: string, event: "join" | "leave"): void {
    this.broadcast({ type: "presence", event, userId });
  }

  // ---- internals ----------------------------------------------------------------------------

  private insertMember(userId: string, joinedAt: number): void {
    const added = this.sql
      .exec(
        `INSERT INTO members (user_id, joined_at) VALUES (?, ?) ON CONFLICT (user_id) DO NOTHING RETURNING user_id`,
        userId,
        joinedAt,
      )
      .toArray().length;
    if (this.members !== null) this.members += added;
  }

  private memberCount(): number {
    this.members ??= this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM members`).one().n;
    return this.members;
  }

  /** Stores a message; a new one is also queued as a notification to each member with no socket here. */
  private postAndNotify(identity: Identity, text: string, commandId?: string): PostedMessage {
    const posted = this.room.chat.post(this.roomId(), identity.userId, text, commandId);
    if (posted.message) this.notifyOffline(posted.message, identity.name);
    return posted;
  }

  /**
   * A reply: the message it answers must be one of this room's (read first, from the log or
   * D1), then it is stored and notified like any message.
   */
  private async replyAndNotify(
    identity: Identity,
    text: string,
    replyTo: number,
    commandId?: string,
  ): Promise<PostedMessage> {
    await this.room.chat.original(this.roomId(), replyTo);
    const posted = this.room.chat.post(this.roomId(), identity.userId, text, commandId, replyTo);
    if (posted.message) this.notifyOffline(posted.message, identity.name);
    return posted;
  }

  /** An edit is stored and sent to connections, but not notified: the message was already. */
  private edit(identity: Identity, seq: number, text: string, commandId?: string): Promise<StoredChange> {
    this.requireMember(identity.userId);
    return this.room.chat.edit(this.roomId(), identity.userId, seq, text, commandId);
  }

  /** The room's creator and operators (role `admin`) moderate: they may delete any message. */
  private remove(identity: Identity, seq: number, commandId?: string): Promise<StoredChange> {
    this.requireMember(identity.userId);
    const moderator = identity.role === "admin" || identity.userId === this.creator();
    return this.room.chat.remove(this.roomId(), identity.userId, seq, moderator, commandId);
  }

  private reactTo(
    identity: Identity,
    seq: number,
    emoji: string,
    on: boolean | undefined,
    commandId?: string,
  ): Promise<StoredChange> {
    this.requireMember(identity.userId);
    return this.room.chat.react(this.roomId(), identity.userId, seq, emoji, on, commandId);
  }

  private notifyOffline(message: Message, senderName: string): void {
    // Only members can connect, so when as many users are online as there are members (the
    // sender aside, who may be posting over HTTP), nobody is offline: no query, no set.
    const onlineOthers = this.connections.userCount - (this.isOnline(message.userId) ? 1 : 0);
    if (onlineOthers >= this.memberCount() - 1) return;
    notifyLater(
      this.ctx,
      this.env.NOTIFICATIONS,
      () => {
        const online = new Set(this.onlineUsers());
        return this.sql
          .exec<{ user_id: string }>(`SELECT user_id FROM members WHERE user_id != ?`, message.userId)
          .toArray()
          .filter((row) => !online.has(row.user_id))
          .map((row) => chatNotification(message, row.user_id, senderName));
      },
      (err) => this.logError("notify", err),
    );
  }

  /** Read marks only move forward, and never past the newest message. */
  private markRead(userId: string, seq: number): null {
    const mark = Math.min(seq, this.room.log.lastSeq);
    const updated = this.sql
      .exec(`UPDATE members SET read_seq = ? WHERE user_id = ? AND read_seq < ? RETURNING user_id`, mark, userId, mark)
      .toArray();
    if (updated.length > 0) this.broadcast({ type: "read", userId, seq: mark });
    return null;
  }

  private isMember(userId: string): boolean {
    return this.sql.exec(`SELECT 1 FROM members WHERE user_id = ?`, userId).toArray().length > 0;
  }

  private requireMember(userId: string): void {
    if (!this.isMember(userId)) throw forbidden("join the room first");
  }

  /** Who created the room, read once from storage; it never changes. */
  private cachedCreator: string | null = null;
  private creator(): string {
    this.cachedCreator ??= this.sql.exec<{ created_by: string }>(`SELECT created_by FROM room`).one().created_by;
    return this.cachedCreator;
  }

  /** The room's id, read once from storage; it never changes. */
  private cachedRoomId: string | null = null;
  private roomId(): string {
    if (this.cachedRoomId) return this.cachedRoomId;
    const row = this.sql.exec<{ id: string }>(`SELECT id FROM room`).toArray()[0];
    if (!row) throw notFound("room not found");
    this.cachedRoomId = row.id;
    return row.id;
  }
}
