/**
 * @module rooms/chat-room
 * One chat room: its members (a cache of D1's room_members, kept by the Worker's calls), the
 * message log, presence, typing and read marks. Messages commit here first and reach D1
 * through the outbox; history the room no longer keeps is read back from D1. Members with no
 * socket here are told of a new message (a reply too) through the notifications queue; edits,
 * deletes and reactions (rooms/chat-log.ts) are sent to connections only. A message's author
 * edits it; the author, the room's owner and admins, and operators delete it.
 *
 * Membership changes (http/routes/room-members.ts) are decided and written to D1 by the Worker, then
 * applied here: each is a `member` event on the log, and a member who is gone (left, removed,
 * banned) loses every connection here at once (MEMBERSHIP_ENDED_CLOSE_CODE) and every read.
 *
 * A direct conversation (http/routes/direct-rooms.ts) is a room of exactly two members, made
 * with `initializeDirect`: nobody joins it, and to anyone else it does not exist (404). The
 * blocks between members (rooms/room-blocks.ts) stop all sending in a direct conversation, and
 * hide the blocked user's doings from the blocker in a group room.
 *
 * Attachments (http/routes/attachments.ts, uploads.ts): the room records each upload to it
 * (rooms/room-uploads.ts) as the Worker claims, checks and stores it in R2; a message carries only
 * its sender's stored uploads, and only a current member may read one back.
 *
 * Delivery state (rooms/delivery-marks.ts): each member's delivered mark (what reached a device
 * of theirs) beside their read mark; history gives the caller's own messages their counts, and in
 * a direct conversation the other member's marks, unless that member blocks the caller.
 *
 * A backend with an API key (http/routes/server-api.ts) posts here too, as `system:<sender>`
 * (`postSystem`): on the same log, sent, resumed and notified like a member's message, and its
 * idempotency key owned by the API key. No member sends it, so every member is told.
 */
import type { Identity } from "../auth/jwt";
import { blocked, directRoom, forbidden, notFound, type ApiError, type Result } from "../errors";
import { chatNotification } from "../notify/message";
import { notifyLater } from "../notify/producer";
import type { ChatMessage, MemberRole, Message, Room } from "../protocol/common";
import {
  ChatClientFrame,
  type ChatRoomFrame,
  type ChatRoomStoredFrame,
  MEMBERSHIP_ENDED_CLOSE_CODE,
  type MemberEvent,
} from "../protocol/frames";
import type { HistoryResponse, MessageReceipt, PeerMarks } from "../protocol/http";
import { isSystemUserId, systemUserId } from "../protocol/server-api";
import { type LoggedChat, openLoggedChat, type PostedMessage, RoomStorage, type StoredChange } from "./chat-log";
import { fastChatFrame } from "../protocol/fast-frames";
import { archiveMessages } from "../db/messages";
import { earlierShardDatabase, shardDatabase, shardHomes } from "../db/shards";
import { addReadCopied, ReadMarks } from "./read-marks";
import { DeliveredFrames, DeliveryMarks, receiptOf } from "./delivery-marks";
import { RoomUploads, type StoredFile } from "./room-uploads";
import type { Attachment, AttachmentContentType } from "../protocol/attachments";
import type { ReadableLog } from "./resume";
import { type BlockPair, actorOf, hiddenText, RoomBlocks } from "./room-blocks";
import { SocketHub, type WelcomeSnapshot } from "./socket-hub";

export class ChatRoom extends SocketHub<ChatClientFrame, ChatRoomFrame> {
  protected readonly kind = "ChatRoom";
  protected readonly clientFrames = ChatClientFrame;
  /** The room's log and messages, once the room is created (chat-log's RoomStorage). */
  private readonly kept = new RoomStorage<ChatRoomStoredFrame>(
    this.ctx.storage,
    (fresh) => this.openStorage(fresh),
    "room not found",
  );
  /**
   * How many members the room has: counted once after a wake, then kept by `insertMember` and
   * `deleteMember`.
   */
  private members: number | null = null;
  /** The blocks between members; made on first use in an activation (its table then too). */
  private blockList: RoomBlocks | null = null;
  /** Read marks and their copy to D1; made on first use in an activation. */
  private reads: ReadMarks | null = null;
  /** Delivered marks; made on first use in an activation (its table then too). */
  private deliveries: DeliveryMarks | null = null;
  /** `delivered` frames waiting to go out together; lives as long as the activation. */
  private readonly deliveredFrames = new DeliveredFrames((userId, seq) => this.announceDelivered(userId, seq));
  /** The record of uploads to the room; made on first use in an activation (its table then too). */
  private uploadList: RoomUploads | null = null;
  /** Whether this is a direct conversation: read once from storage, never changes. */
  private direct: boolean | null = null;

  private get blocks(): RoomBlocks {
    this.blockList ??= new RoomBlocks(this.sql);
    return this.blockList;
  }

  private get uploads(): RoomUploads {
    this.uploadList ??= new RoomUploads(this.sql);
    return this.uploadList;
  }

  private get deliveredMarks(): DeliveryMarks {
    this.deliveries ??= new DeliveryMarks(this.sql);
    return this.deliveries;
  }

  private get readMarks(): ReadMarks {
    this.reads ??= new ReadMarks(this.sql, () => shardDatabase(this.env, "chat", this.roomId()));
    return this.reads;
  }

  private get isDirect(): boolean {
    this.direct ??= this.ctx.storage.kv.get("direct") === true;
    return this.direct;
  }

  /** Opens the log and chat and creates the room's tables (RoomStorage runs it once). */
  private openStorage(fresh: boolean): LoggedChat<ChatRoomStoredFrame> {
    const opened = openLoggedChat<ChatRoomStoredFrame>(
      this.ctx.storage,
      (roomId) => shardHomes(this.env, "chat", roomId),
      // The write-behind copy goes to the room's shard; every event of this log is this room's. Read marks
      // waiting for their copy go in the same transaction: they live in the same shard.
      this.logHost(async (events) => {
        const marks = this.readMarks.alongsideMessages(this.roomId());
        await archiveMessages(
          shardDatabase(this.env, "chat", this.roomId()),
          events,
          earlierShardDatabase(this.env, "chat", this.roomId()),
          marks ? [marks.statement] : [],
        );
        marks?.copied();
      }),
      fresh,
    );
    this.sql.exec(
      `CREATE TABLE IF NOT EXISTS room (id TEXT PRIMARY KEY,
       name TEXT NOT NULL, private INTEGER NOT NULL, created_by TEXT NOT NULL, created_at INTEGER NOT NULL)`,
    );
    this.sql.exec(
      `CREATE TABLE IF NOT EXISTS members (user_id TEXT PRIMARY KEY, joined_at INTEGER NOT NULL,
       read_seq INTEGER NOT NULL DEFAULT 0, role TEXT NOT NULL DEFAULT 'member',
       read_copied INTEGER NOT NULL DEFAULT 0)`,
    );
    // Rooms made before roles: their members table gains the column, and the creator is the owner.
    if (!this.ctx.storage.kv.get("members_roles")) {
      const columns = this.sql.exec<{ name: string }>(`PRAGMA table_info(members)`).toArray();
      if (!columns.some((c) => c.name === "role"))
        this.sql.exec(`ALTER TABLE members ADD COLUMN role TEXT NOT NULL DEFAULT 'member'`);
      this.sql.exec(`UPDATE members SET role = 'owner' WHERE user_id IN (SELECT created_by FROM room)`);
      this.ctx.storage.kv.put("members_roles", 1);
    }
    // Rooms made before the copied read mark kept the marks still to copy in a table of their own.
    if (!this.ctx.storage.kv.get("read_copied")) {
      addReadCopied(this.ctx.storage);
      this.ctx.storage.kv.put("read_copied", 1);
    }
    return opened;
  }

  private get sql(): SqlStorage {
    return this.ctx.storage.sql;
  }

  private get room(): LoggedChat<ChatRoomStoredFrame> {
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
      this.insertMember(room.createdBy, room.createdAt, "owner");
      return room;
    });
  }

  /**
   * Creates a direct conversation of `room.createdBy` and `peer`, both plain members, with the
   * blocks between them; idempotent (two calls at once, in either order, make it once).
   */
  initializeDirect(room: Room, peer: string, blocks: BlockPair[]): Promise<Result<Room>> {
    const fresh = !this.exists();
    this.kept.create();
    return this.rpc("initializeDirect", () => {
      if (fresh) {
        this.ctx.storage.kv.put("direct", true);
        this.direct = true;
        this.sql.exec(
          `INSERT INTO room (id, name, private, created_by, created_at) VALUES (?, ?, 1, ?, ?)
           ON CONFLICT (id) DO NOTHING`,
          room.id,
          room.name,
          room.createdBy,
          room.createdAt,
        );
        this.insertMember(room.createdBy, room.createdAt, "member");
        this.insertMember(peer, room.createdAt, "member");
        for (const pair of blocks) this.blocks.set(pair, true);
      }
      if (!this.isDirect) throw directRoom("not a direct conversation");
      return room;
    });
  }

  /**
   * Adds a member (the Worker has written D1 already) with the blocks between them and the
   * members here; idempotent. A join is not (yet) an event on the log: connections see it as
   * the member's presence and in the next welcome. Nobody joins a direct conversation.
   */
  addMember(userId: string, blocks: BlockPair[] = []): Promise<Result<true>> {
    return this.rpc("addMember", () => {
      if (this.isDirect && !this.isMember(userId)) throw directRoom();
      // A new member starts having read what came before them: only what follows is unread (D1 counts every
      // earlier message as unread for them until it has the mark, which markRead copies within a second).
      if (this.insertMember(userId, Date.now(), "member")) this.markRead(userId, this.room.log.lastSeq);
      this.blocks.replaceFor(userId, blocks);
      return true as const;
    });
  }

  /** `blocker` blocked `target` (`on`), or lifted it; the Worker has written D1 already. */
  setBlock(blocker: string, target: string, on: boolean): Promise<Result<true>> {
    return this.rpc("setBlock", () => {
      this.blocks.set({ blocker, blocked: target }, on);
      return true as const;
    });
  }

  /**
   * A member is gone (the Worker has written D1 already): they left, or `by` removed (or banned)
   * them. Logged as an event, and their sockets, streams and waiting polls here end at once.
   * Idempotent: someone already gone is only disconnected again.
   */
  endMembership(userId: string, event: "left" | "removed", by?: string, banned?: boolean): Promise<Result<true>> {
    return this.rpc("endMembership", () => {
      this.blocks.replaceFor(userId);
      this.readMarks.forget(userId);
      this.deliveredMarks.forget(userId);
      if (this.deleteMember(userId))
        this.appendMember({
          userId,
          event,
          ...(by && by !== userId ? { by } : {}),
          ...(banned ? { banned: true as const } : {}),
          at: Date.now(),
        });
      const reason = event === "left" ? "you left the room" : banned ? "banned from the room" : "removed from the room";
      this.connections.closeUser(userId, MEMBERSHIP_ENDED_CLOSE_CODE, reason);
      return true as const;
    });
  }

  /** Members' new roles (the Worker has written D1 already), each a `role` event; unchanged ones are not logged. */
  setRoles(changes: { userId: string; role: MemberRole }[], by: string): Promise<Result<true>> {
    return this.rpc("setRoles", () => {
      const at = Date.now();
      for (const { userId, role } of changes) {
        const updated = this.sql
          .exec(`UPDATE members SET role = ? WHERE user_id = ? AND role != ? RETURNING user_id`, role, userId, role)
          .toArray();
        if (updated.length > 0) this.appendMember({ userId, event: "role", role, by, at });
      }
      return true as const;
    });
  }

  /** A message (`text` may be empty with attachments), or a reply; `attachmentKeys` name the sender's uploads. */
  postMessage(
    identity: Identity,
    text: string,
    idempotencyKey?: string,
    replyTo?: number,
    attachmentKeys?: string[],
    traceId?: string,
  ): Promise<Result<Message>> {
    return this.tracedRpc(traceId, "postMessage", async () => {
      this.requireMember(identity.userId);
      const posted =
        replyTo === undefined
          ? this.postAndNotify(identity, text, idempotencyKey, attachmentKeys)
          : await this.replyAndNotify(identity, text, replyTo, idempotencyKey, attachmentKeys);
      return this.room.chat.messageOf(this.roomId(), posted);
    });
  }

  /**
   * An upload URL is about to be signed for `upload.key`: the member's unattached bytes in this
   * room must leave room for it (UPLOAD_PENDING_MAX_BYTES, 429 otherwise), and the room records
   * it, so that its upload can claim it and the sweep can find it.
   */
  grantUpload(
    upload: { key: string; userId: string; contentType: AttachmentContentType; filename: string; size: number },
    expiresAt: number,
  ): Promise<Result<true>> {
    return this.rpc("grantUpload", () => {
      this.requireMember(upload.userId);
      const now = Date.now();
      this.uploads.grant(upload, expiresAt, this.config.UPLOAD_PENDING_MAX_BYTES, now);
      this.clock.wakeAt(now + this.config.UPLOAD_UNATTACHED_TTL_MS);
      return true as const;
    });
  }

  /**
   * An upload to `key` starts (the Worker has checked its signed grant): the uploader must still
   * be a member, and the key is taken once, so the same upload URL never uploads twice.
   */
  claimUpload(userId: string, key: string): Promise<Result<true>> {
    return this.rpc("claimUpload", () => {
      this.requireMember(userId);
      this.uploads.claim(key, userId, Date.now());
      return true as const;
    });
  }

  /** The claimed upload's bytes are in R2 and passed the checks: a message of its uploader may carry it now. */
  storeUpload(userId: string, key: string, file: StoredFile): Promise<Result<Attachment>> {
    return this.rpc("storeUpload", () => this.uploads.store(key, userId, file));
  }

  /** The claimed upload's bytes were refused (and deleted from R2). */
  rejectUpload(key: string): Promise<Result<true>> {
    return this.rpc("rejectUpload", () => {
      this.uploads.reject(key);
      return true as const;
    });
  }

  /** A stored upload, for a current member to download (403 for anyone else, 404 for a stranger to a direct room). */
  attachment(identity: Identity, key: string): Promise<Result<Attachment>> {
    return this.rpc("attachment", () => {
      this.requireMember(identity.userId);
      return this.uploads.stored(key);
    });
  }

  /**
   * A message a backend published through the server API (http/routes/server-api.ts), as
   * `system:<sender>`: stored, sent, resumed and notified like a member's. The Worker has checked
   * the key's scopes; `keyId` owns the idempotency key. A direct conversation is not there for a
   * server (404, as for anyone outside it): it is two people's, and a key's scope is a pattern.
   */
  postSystem(keyId: string, sender: string, text: string, idempotencyKey?: string): Promise<Result<Message>> {
    return this.rpc("postSystem", async () => {
      if (this.isDirect) throw notFound("room not found");
      const author = systemUserId(sender);
      const posted = this.room.chat.postAs(this.roomId(), author, `apikey:${keyId}`, text, idempotencyKey);
      if (posted.message) this.notifyOffline(posted.message, sender);
      return this.room.chat.messageOf(this.roomId(), posted);
    });
  }

  /** History for a server API key with `read` scope: the page a member gets, blocks aside (a key blocks nobody). */
  systemHistory(before: number | undefined, limit: number): Promise<Result<HistoryResponse>> {
    return this.rpc("systemHistory", () => {
      if (this.isDirect) throw notFound("room not found");
      return this.room.chat.history(this.roomId(), before, limit);
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

  /** The `read` frame over HTTP (for clients on SSE or long poll); answers the caller's mark now. */
  markReadOver(identity: Identity, seq: number): Promise<Result<number>> {
    return this.rpc("markRead", () => {
      this.requireMember(identity.userId);
      this.markRead(identity.userId, seq);
      return this.sql
        .exec<{ read_seq: number }>(`SELECT read_seq FROM members WHERE user_id = ?`, identity.userId)
        .one().read_seq;
    });
  }

  history(identity: Identity, before: number | undefined, limit: number): Promise<Result<HistoryResponse>> {
    return this.rpc("history", async () => {
      this.requireMember(identity.userId);
      const page = await this.room.chat.history(this.roomId(), before, limit, identity.userId);
      const withState = { ...page, ...this.deliveryState(identity.userId, page.messages) };
      if (this.isDirect || !this.blocks.hidesAnyone(identity.userId)) return withState;
      // `nextBefore` stays the unfiltered page's: the next page starts where this one ended.
      return { ...withState, messages: page.messages.filter((m) => !this.blocks.hides(identity.userId, m.userId)) };
    });
  }

  /**
   * The notifications consumer delivered a push of the message at `seq` to `userId`
   * (notify/chat-delivered.ts): their delivered mark moves to it. A user who is not a member
   * (any more) is ignored: a late report must not give a mark to someone who left.
   */
  pushDelivered(userId: string, seq: number): Promise<Result<boolean>> {
    return this.rpc("pushDelivered", () => {
      if (!this.isMember(userId)) return false;
      return this.deliver(userId, Math.min(seq, this.room.log.lastSeq));
    });
  }

  // ---- hub hooks ----------------------------------------------------------------------------

  protected exists(): boolean {
    return this.kept.exists;
  }

  protected override replayLog(): ReadableLog {
    return this.room.log;
  }

  protected override replayLogFor(identity: Identity): ReadableLog {
    if (this.isDirect || !this.blocks.hidesAnyone(identity.userId)) return this.room.log;
    return this.blocks.viewOf(this.room.log, identity.userId);
  }

  /**
   * A stored event to every connection; in a group room where someone blocks its actor, they
   * get a `hidden` frame instead. With no blocks here (the usual room) nothing is parsed.
   */
  protected override publish(stored: { seq: number; text: string }): void {
    const actor = this.isDirect || !this.blocks.any ? null : actorOf(stored.text);
    const hiding = actor === null ? undefined : this.blocks.viewersHiding(actor);
    if (hiding) this.connections.publishHiding(stored.text, stored.seq, hiding, hiddenText(stored.seq));
    else super.publish(stored);
  }

  protected override wakeNeeded(now: number): number | null {
    const log = this.kept.wakeNeeded(now);
    if (!this.exists()) return log;
    const due = [log, this.uploads.nextSweepAt(this.config.UPLOAD_UNATTACHED_TTL_MS)];
    if (this.readMarks.pending) due.push(now + this.config.OUTBOX_FLUSH_DELAY_MS);
    const set = due.filter((at): at is number => at !== null);
    return set.length === 0 ? null : Math.min(...set);
  }

  /**
   * The online members' delivered marks (what being online implied) into storage, one row for
   * all of them, then the log's share (its outbox to D1), then the read marks' copy; a failed copy
   * is tried again. The log wakes the room after each new event, so the marks are stored lazily,
   * and survive a restart that closes the sockets with no close event. Uploads no message carried
   * within UPLOAD_UNATTACHED_TTL_MS are swept too.
   */
  protected override async onAlarm(now: number): Promise<number | null> {
    const lastSeq = this.room.log.lastSeq;
    this.deliveredMarks.storeOnline(new Set(this.onlineUsers()), lastSeq);
    const retry = await this.room.log.onAlarm(now);
    const sweep = await this.sweepUploads(now);
    const due = [retry, sweep].filter((at): at is number => at !== null);
    try {
      await this.readMarks.flush(this.roomId());
    } catch (err) {
      this.logError("flushReadMarks", err);
      due.push(Date.now() + 5_000);
    }
    return due.length === 0 ? null : Math.min(...due);
  }

  /**
   * Forgets the uploads no message carried in time and deletes their bytes; answers when the next
   * one is due. A failed R2 delete leaves bytes nobody can reach (as a deleted message's do).
   */
  private async sweepUploads(now: number): Promise<number | null> {
    const ttl = this.config.UPLOAD_UNATTACHED_TTL_MS;
    const keys = this.uploads.sweep(ttl, now);
    if (keys.length > 0) await this.env.FILES.delete(keys).catch((err) => this.logError("sweepUploads", err));
    return this.uploads.nextSweepAt(ttl);
  }

  protected denyConnection(identity: Identity): ApiError | null {
    return this.isMember(identity.userId) ? null : this.notMember();
  }

  /** A user who is not (or no longer) a member is refused, and their waiting long poll answered 403. */
  protected override refusalOf(userId: string): string | null {
    const refused = super.refusalOf(userId);
    if (refused || !this.exists()) return refused;
    // A stranger to a direct conversation is answered as for a room that does not exist (denyConnection).
    if (this.isMember(userId) || this.isDirect) return null;
    return "you are not a member of this room";
  }

  protected welcomeSnapshot(): WelcomeSnapshot<ChatRoomFrame> {
    const rows = this.sql
      .exec<{ user_id: string; read_seq: number; role: MemberRole }>(
        `SELECT user_id, read_seq, role FROM members ORDER BY joined_at, user_id`,
      )
      .toArray();
    const reads: Record<string, number> = {};
    const roles: Record<string, "owner" | "admin"> = {};
    for (const row of rows) {
      if (row.read_seq > 0) reads[row.user_id] = row.read_seq;
      if (row.role !== "member") roles[row.user_id] = row.role;
    }
    const online = this.onlineUsers();
    const onlineSet = new Set(online);
    const lastSeq = this.room.log.lastSeq;
    const delivered: Record<string, number> = {};
    for (const row of rows) {
      const mark = this.deliveredMarks.effective(row.user_id, onlineSet.has(row.user_id), lastSeq);
      if (mark > 0) delivered[row.user_id] = mark;
    }
    return { members: rows.map((r) => r.user_id), online, reads, roles, delivered };
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
      case "message": {
        const keys = frame.attachments?.map((a) => a.key);
        if (frame.replyTo === undefined) return this.postAndNotify(identity, frame.text ?? "", frame.id, keys).seq;
        return this.replyAndNotify(identity, frame.text ?? "", frame.replyTo, frame.id, keys).then(
          (posted) => posted.seq,
        );
      }
      case "edit":
        return this.edit(identity, frame.seq, frame.text, frame.id).then((stored) => stored.seq);
      case "delete":
        return this.remove(identity, frame.seq, frame.id).then((stored) => stored.seq);
      case "react":
        return this.reactTo(identity, frame.seq, frame.emoji, frame.on, frame.id).then((stored) => stored.seq);
      case "typing":
        if (this.isDirect && this.blocks.any) return null;
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

  /**
   * A member's first connection has the room through its welcome's seq, and their last one had
   * every event up to its close: both store the delivered mark that being online implied. No
   * `delivered` frame: the `presence` frame says it already (an online member's mark is the seq).
   */
  protected override onPresence(userId: string, event: "join" | "leave"): void {
    this.broadcast({ type: "presence", event, userId });
    if (!this.exists() || !this.isMember(userId)) return;
    if (event === "join") this.deliveredMarks.joined(userId, this.room.log.lastSeq);
    else this.deliveredMarks.left(userId, this.room.log.lastSeq);
  }

  protected override onPollAnswered(userId: string, seq: number): void {
    this.deliver(userId, seq);
  }

  // ---- internals ----------------------------------------------------------------------------

  /** Adds a member with `role`; true when they were not one yet. */
  private insertMember(userId: string, joinedAt: number, role: MemberRole): boolean {
    const added = this.sql
      .exec(
        `INSERT INTO members (user_id, joined_at, role) VALUES (?, ?, ?)
         ON CONFLICT (user_id) DO NOTHING RETURNING user_id`,
        userId,
        joinedAt,
        role,
      )
      .toArray().length;
    if (this.members !== null) this.members += added;
    return added > 0;
  }

  /** Removes a member; true when they were one. */
  private deleteMember(userId: string): boolean {
    const removed = this.sql.exec(`DELETE FROM members WHERE user_id = ? RETURNING user_id`, userId).toArray().length;
    if (this.members !== null) this.members -= removed;
    return removed > 0;
  }

  /** A change of membership on the log: stored, sent to connections and resumed like a message. */
  private appendMember(change: Omit<MemberEvent, "roomId">): void {
    const roomId = this.roomId();
    const appended = this.room.log.append((seq) => ({ type: "member", seq, member: { roomId, ...change } }));
    this.publish(appended);
  }

  private roleOf(userId: string): MemberRole | null {
    return (
      this.sql.exec<{ role: MemberRole }>(`SELECT role FROM members WHERE user_id = ?`, userId).toArray()[0]?.role ??
      null
    );
  }

  private memberCount(): number {
    this.members ??= this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM members`).one().n;
    return this.members;
  }

  /** Stores a message; a new one is also queued as a notification to each member with no socket here. */
  private postAndNotify(
    identity: Identity,
    text: string,
    commandId?: string,
    attachmentKeys?: string[],
  ): PostedMessage {
    this.requireNotBlocked(identity.userId);
    const attachments = this.attachmentsOf(identity.userId, attachmentKeys);
    const posted = this.room.chat.post(this.roomId(), identity.userId, text, commandId, undefined, attachments);
    if (posted.message) this.carried(attachmentKeys, posted.message, identity.name);
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
    attachmentKeys?: string[],
  ): Promise<PostedMessage> {
    this.requireNotBlocked(identity.userId);
    const attachments = this.attachmentsOf(identity.userId, attachmentKeys);
    await this.room.chat.original(this.roomId(), replyTo);
    const posted = this.room.chat.post(this.roomId(), identity.userId, text, commandId, replyTo, attachments);
    if (posted.message) this.carried(attachmentKeys, posted.message, identity.name);
    return posted;
  }

  /** A new message is stored: its uploads are attached now (the sweep leaves them), and it is notified. */
  private carried(attachmentKeys: string[] | undefined, message: Message, senderName: string): void {
    if (attachmentKeys) this.uploads.markAttached(attachmentKeys);
    this.notifyOffline(message, senderName);
  }

  /** The uploads a message names, as the room recorded them; each must be the sender's (403 otherwise). */
  private attachmentsOf(userId: string, keys: string[] | undefined): Attachment[] | undefined {
    return keys === undefined ? undefined : this.uploads.ownedBy(userId, keys);
  }

  /** An edit is stored and sent to connections, but not notified: the message was already. */
  private edit(identity: Identity, seq: number, text: string, commandId?: string): Promise<StoredChange> {
    this.requireMember(identity.userId);
    this.requireNotBlocked(identity.userId);
    return this.room.chat.edit(this.roomId(), identity.userId, seq, text, commandId);
  }

  /**
   * The room's owner and admins, and operators (account role `admin`), moderate: they may delete
   * any message. A deleted message's files go with it: nobody downloads them again, and R2
   * deletes them (after the answer; a failed delete leaves bytes nobody can reach).
   */
  private async remove(identity: Identity, seq: number, commandId?: string): Promise<StoredChange> {
    const role = this.roleOf(identity.userId);
    if (role === null) throw this.notMember();
    const moderator = identity.role === "admin" || role !== "member";
    // The message as posted, before the delete: the log keeps it, but D1's copy loses its files.
    const original = await this.room.chat.original(this.roomId(), seq);
    const stored = await this.room.chat.remove(this.roomId(), identity.userId, seq, moderator, commandId);
    const keys = original.attachments?.map((a) => a.key) ?? [];
    if (stored.seq !== null && keys.length > 0) {
      this.uploads.discard(keys);
      this.ctx.waitUntil(this.env.FILES.delete(keys).catch((err) => this.logError("deleteFiles", err)));
    }
    return stored;
  }

  private reactTo(
    identity: Identity,
    seq: number,
    emoji: string,
    on: boolean | undefined,
    commandId?: string,
  ): Promise<StoredChange> {
    this.requireMember(identity.userId);
    this.requireNotBlocked(identity.userId);
    return this.room.chat.react(this.roomId(), identity.userId, seq, emoji, on, commandId);
  }

  private notifyOffline(message: Message, senderName: string): void {
    // Only members can connect, so when as many users are online as there are members (the
    // sender aside, who may be posting over HTTP), nobody is offline: no query, no set.
    // A server's message (`system:<sender>`) has no member sending it: every member is a recipient.
    const onlineOthers = this.connections.userCount - (this.isOnline(message.userId) ? 1 : 0);
    const recipients = this.memberCount() - (isSystemUserId(message.userId) ? 0 : 1);
    if (onlineOthers >= recipients) return;
    notifyLater(
      this.ctx,
      this.env.NOTIFICATIONS,
      () => {
        const online = new Set(this.onlineUsers());
        // Nobody is told of a message from a user they block.
        const hiding = this.blocks.viewersHiding(message.userId);
        return this.sql
          .exec<{ user_id: string }>(`SELECT user_id FROM members WHERE user_id != ?`, message.userId)
          .toArray()
          .filter((row) => !online.has(row.user_id) && !hiding?.has(row.user_id))
          .map((row) => chatNotification(message, row.user_id, senderName));
      },
      (err) => this.logError("notify", err),
    );
  }

  /** Moves a member's delivered mark and, when it moved, tells connections (coalesced); true when it moved. */
  private deliver(userId: string, seq: number): boolean {
    if (!this.deliveredMarks.advance(userId, seq)) return false;
    this.deliveredFrames.add(userId, seq);
    return true;
  }

  /** A `delivered` frame; not in a direct conversation while either member blocks the other (as for typing). */
  private announceDelivered(userId: string, seq: number): void {
    try {
      if (this.isDirect && this.blocks.any) return;
      this.broadcast({ type: "delivered", userId, seq });
    } catch (err) {
      this.logError("announceDelivered", err);
    }
  }

  /**
   * The delivery state a history page carries for `viewer`: a receipt for each of their own
   * messages, counting the other members but those who block them; in a direct conversation
   * also the other member's marks (null while that member blocks the viewer: a block hides it).
   */
  private deliveryState(
    viewer: string,
    messages: readonly { seq: number; userId: string }[],
  ): { receipts: MessageReceipt[]; peer?: PeerMarks | null } {
    const own = messages.filter((m) => m.userId === viewer);
    // A group page with none of the viewer's messages has nothing to count: no members read.
    if (own.length === 0 && !this.isDirect) return { receipts: [] };
    const online = new Set(this.onlineUsers());
    const lastSeq = this.room.log.lastSeq;
    const hiding = this.blocks.viewersHiding(viewer);
    const others = this.sql
      .exec<{ user_id: string; read_seq: number }>(`SELECT user_id, read_seq FROM members WHERE user_id != ?`, viewer)
      .toArray()
      .filter((row) => !hiding?.has(row.user_id))
      .map((row) => ({
        userId: row.user_id,
        read: row.read_seq,
        delivered: this.deliveredMarks.effective(row.user_id, online.has(row.user_id), lastSeq),
      }));
    const receipts = own.map((m) => receiptOf(m.seq, others));
    if (!this.isDirect) return { receipts };
    const other = others[0];
    const peer = other
      ? { userId: other.userId, deliveredThrough: Math.max(other.delivered, other.read), readThrough: other.read }
      : null;
    return { receipts, peer };
  }

  /**
   * Read marks only move forward, and never past the newest message. The members see a mark at
   * once (the `read` frame); D1's copy, which the unread counts of `GET /v1/rooms` read, follows
   * within OUTBOX_FLUSH_DELAY_MS, with whatever messages wait: a reader who reloads their list
   * right after reading expects the count gone (test/e2e/web-sizes.test.ts).
   */
  private markRead(userId: string, seq: number): null {
    const mark = Math.min(seq, this.room.log.lastSeq);
    if (this.readMarks.mark(userId, mark)) {
      this.broadcast({ type: "read", userId, seq: mark });
      this.wakeAt(Date.now() + this.config.OUTBOX_FLUSH_DELAY_MS);
    }
    return null;
  }

  private isMember(userId: string): boolean {
    return this.sql.exec(`SELECT 1 FROM members WHERE user_id = ?`, userId).toArray().length > 0;
  }

  private requireMember(userId: string): void {
    if (!this.isMember(userId)) throw this.notMember();
  }

  /** A group room asks a stranger to join; a direct conversation does not exist for them. */
  private notMember(): ApiError {
    return this.isDirect ? notFound(`${this.kind} not found`) : forbidden("join the room first");
  }

  /** In a direct conversation, nothing is sent while either member blocks the other. */
  private requireNotBlocked(userId: string): void {
    if (!this.isDirect || !this.blocks.any) return;
    throw this.blocks.viewersHiding(userId)
      ? blocked("you cannot send messages to this user")
      : blocked("you blocked this user: unblock them to send messages");
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
