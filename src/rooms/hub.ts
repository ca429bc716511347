/**
 * @module rooms/hub
 * The shared WebSocket hub every room object extends: hibernatable sockets with identity in
 * their attachments, the seq'd event log with resume (`welcome`, replay, `synced` or `reset`),
 * commands applied once, frame validation and abuse limits, presence, and the write-behind
 * outbox drained by the object's alarm. Subclasses supply the room's frames and decisions
 * through a few hooks; the runtime handlers here stay fixed, catch everything, and never let
 * one bad frame kill a socket or the object.
 */
import { DurableObject } from "cloudflare:workers";
import type { z } from "zod";
import type { Identity } from "../auth/jwt";
import { loadConfig, type Config } from "../config";
import { ApiError, conflict, fail, notFound, ok, type Result } from "../errors";
import type { NotificationMessage } from "../notify/message";
import { notifyBehind } from "../notify/producer";
import { redactSecrets } from "../redact";
import type { Message } from "../protocol/common";
import {
  AuthFrame,
  LooseFrame,
  SESSION_ENDED_CLOSE_CODE,
  TOKEN_EXPIRED_CLOSE_CODE,
  type ChatMessageFrame,
} from "../protocol/frames";
import { PollQuery, SinceQuery } from "../protocol/http";
import { EventLog, type StoredEvent } from "./event-log";
import { EventStreams, LongPolls, sseEvent } from "./fallbacks";
import { readIdentity, readSession, SocketAttachment } from "./identity";
import { archivedMessagesBefore, messageOf } from "../db/messages";
import { renewSocketSession } from "./socket-auth";
import { SocketGuard } from "./socket-guard";

/** Close codes a peer may not send back (RFC 6455 §7.4.1): never echo them in a close. */
const UNSENDABLE_CLOSE_CODES = new Set([1005, 1006, 1015]);
const COMMAND_TTL_MS = 24 * 60 * 60 * 1000;
/** Expired command ids are swept this often at most: a day's TTL does not need a sweep per alarm. */
const COMMAND_SWEEP_MS = 60 * 60 * 1000;
/** The log may outgrow its retention by this share (at least TRIM_MIN_SLACK events) before a trim. */
const TRIM_SLACK = 0.1;
const TRIM_MIN_SLACK = 100;
const MAX_OUTBOX_RETRY_MS = 60_000;

type ClientFrameBase = { type: string; id?: string | undefined };

/** The kinds of operation whose ids are deduplicated apart (see `once`). */
export type CommandKind = "message" | "typing";

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

export abstract class RoomHub<ClientFrame extends ClientFrameBase> extends DurableObject<Env> {
  protected readonly config: Config;
  /** The log, once this object holds a room; null for an id nobody created (nothing is written then). */
  private eventLog: EventLog | null = null;
  /** Open sockets and who they belong to; rebuilt from attachments in the constructor after waking. */
  private readonly sockets = new Map<WebSocket, SocketAttachment>();
  /** Per-socket abuse limits; memory only, see SocketGuard. */
  private readonly guards = new WeakMap<WebSocket, SocketGuard>();
  /** Sockets already forgotten: one closed for abuse is not announced again by its close event. Memory only. */
  private readonly forgotten = new WeakSet<WebSocket>();
  /**
   * No socket's token expires before this (epoch ms; null: no socket). May be early (a socket
   * that left or renewed), never late; the alarm closes what expired and recomputes it. Rebuilt
   * from the attachments after waking.
   */
  private socketsExpireAt: number | null = null;
  /** When the alarm is set for, read once at wake; lets `wakeAt` skip redundant setAlarm calls. */
  private alarmAt: number | null = null;
  /** Consecutive failed write-behind attempts; sets the retry backoff. Memory only. */
  private outboxFailures = 0;
  /** When expired command ids were last swept; memory only, so a woken object sweeps on its first alarm. */
  private commandsSweptAt = Number.NEGATIVE_INFINITY;
  /**
   * Live connections (sockets in `sockets`, and SSE streams) per user: who is online, in O(1),
   * without scanning every socket on each message. Memory only, like what it counts.
   */
  private readonly connections = new Map<string, number>();
  /**
   * SSE streams and waiting long polls, the fallbacks for clients without WebSockets; memory only (see fallbacks.ts).
   */
  private readonly eventStreams = new EventStreams((identity) => {
    this.uncount(identity.userId);
    this.connectionEnded(identity.userId);
  });
  private readonly longPolls = new LongPolls();

  /** Names the room kind in logs. */
  protected abstract readonly kind: string;
  /** zod schema of every frame a client may send to this room. */
  protected abstract readonly clientFrames: z.ZodType<ClientFrame>;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.config = loadConfig(env);
    const holdsRoom =
      ctx.storage.sql.exec(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'`).toArray().length > 0;
    if (holdsRoom) this.openStorage();
    for (const ws of ctx.getWebSockets()) {
      const attachment = SocketAttachment.safeParse(ws.deserializeAttachment());
      if (attachment.success) {
        this.sockets.set(ws, attachment.data);
        this.count(attachment.data.userId);
        this.socketsExpireAt = Math.min(this.socketsExpireAt ?? Number.POSITIVE_INFINITY, attachment.data.expiresAt);
      } else ws.close(1011, "lost session");
    }
    // Answered by the runtime without waking the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('{"type":"ping"}', '{"type":"pong"}'));
    ctx.blockConcurrencyWhile(async () => {
      this.alarmAt = await ctx.storage.getAlarm();
      // Events waiting for D1 always have an alarm coming, even one whose setAlarm was lost.
      if (this.eventLog && this.eventLog.pendingCount > 0) this.wakeAt(Date.now() + this.config.OUTBOX_FLUSH_DELAY_MS);
    });
  }

  // ---- hooks for subclasses -------------------------------------------------------------

  /** Creates the subclass's own tables; called once when the room is first created. */
  protected abstract createSchema(): void;
  /** Null when this user may open a socket here; otherwise the error to answer with. */
  protected abstract denySocket(identity: Identity): ApiError | null;
  /** Room-specific fields of the `welcome` frame. */
  protected abstract welcomeSnapshot(identity: Identity): object;
  /** Applies one validated frame; returns the seq it stored, if any, for the ack. */
  protected abstract onClientFrame(
    ws: WebSocket,
    identity: Identity,
    frame: ClientFrame,
  ): Promise<number | null> | number | null;
  /** Copies a batch of outbox events to D1; must be idempotent (it may run twice). */
  protected abstract writeBehind(events: StoredEvent[]): Promise<void>;
  /** A user's first socket opened, or last socket closed. */
  protected onPresence(_userId: string, _event: "join" | "leave"): void {}

  /**
   * A cheaper check for the room's hottest frames, run before zod. It may only return a frame
   * that `clientFrames` would accept, equal to what zod would return for it; anything else (and
   * anything unusual) must be undefined, so that zod parses it and words the error.
   */
  protected fastFrame(_data: unknown): ClientFrame | undefined {
    return undefined;
  }

  /**
   * The seq up to which `identity` may not read this room's log (0: all of it). A resume from
   * below it gets `reset { seq: floor }` and then the events after the floor, so the client goes
   * on gaplessly from there: a trip's second driver does not read the first one's chat.
   */
  protected replayFloor(_identity: Identity): number {
    return 0;
  }
  /** The subclass's next timer (epoch ms), if any, for the shared alarm. */
  protected nextDeadline(): number | null {
    return null;
  }
  /** Runs due subclass timers. */
  protected async onDeadline(_now: number): Promise<void> {}

  // ---- storage ----------------------------------------------------------------------------

  protected get initialized(): boolean {
    return this.eventLog !== null;
  }

  protected get log(): EventLog {
    if (!this.eventLog) throw notFound(`${this.kind} not found`);
    return this.eventLog;
  }

  /** Creates the room's tables if needed; idempotent. */
  protected openStorage(): void {
    if (this.eventLog) return;
    this.eventLog = new EventLog(this.ctx.storage);
    this.createSchema();
  }

  protected get sql(): SqlStorage {
    return this.ctx.storage.sql;
  }

  /**
   * Runs `apply` once per (user, kind, command id): a repeat returns the seq of the first run
   * and applies nothing. The command record and whatever `apply` writes commit together.
   * Ids live in one namespace per kind of operation: a chat message's id is the same whether
   * it came as a frame or as an HTTP Idempotency-Key (the SDK re-sends an unacknowledged frame
   * over HTTP with its id as the key), but a typing frame's id never answers a message. The
   * same id with a different `fingerprint` (another text) is refused with 409 `conflict`.
   */
  protected once<T extends { seq: number | null }>(
    userId: string,
    kind: CommandKind,
    commandId: string | undefined,
    apply: () => T,
    fingerprint: string | null = null,
  ): { repeated: true; seq: number | null } | { repeated: false; value: T } {
    const key = commandId === undefined ? undefined : `${kind}:${commandId}`;
    if (key !== undefined) {
      const seen = this.log.recall(userId, key);
      if (seen) {
        if (seen.fingerprint !== null && fingerprint !== null && seen.fingerprint !== fingerprint) {
          throw conflict(`this id was already used for a different ${kind}`, { id: commandId });
        }
        return { repeated: true, seq: seen.seq };
      }
    }
    const value = this.ctx.storage.transactionSync(() => {
      const result = apply();
      if (key !== undefined) this.log.remember(userId, key, result.seq, Date.now(), fingerprint);
      return result;
    });
    return { repeated: false, value };
  }

  /**
   * Appends an event for D1 and asks the alarm to copy it: after `delayMs` (OUTBOX_FLUSH_DELAY_MS
   * unless the caller names its own: MESSAGE_ARCHIVE_DELAY_MS for chat, a longer one for an
   * active trip's moves), so that one flush carries many events, or at once when a whole batch is
   * waiting. An alarm set earlier for another reason copies it then.
   */
  protected appendForWriteBehind(
    build: (seq: number) => object,
    delayMs = this.config.OUTBOX_FLUSH_DELAY_MS,
  ): { seq: number; text: string } {
    const now = Date.now();
    const stored = this.log.append(build, now, true);
    this.wakeAt(this.log.pendingCount >= this.config.OUTBOX_BATCH_SIZE ? now : now + delayMs);
    return stored;
  }

  // ---- chat, shared by chat rooms and trip chat ------------------------------------------------

  /** Stores and broadcasts a chat message once per command id; a repeat returns the first seq. */
  protected storeMessage(
    roomId: string,
    userId: string,
    text: string,
    commandId?: string,
  ): { seq: number; message?: Message } {
    const result = this.once(
      userId,
      "message",
      commandId,
      () => {
        let message: Message | undefined;
        const stored = this.appendForWriteBehind((seq) => {
          message = { id: `msg_${roomId}_${seq}`, roomId, seq, userId, text, createdAt: Date.now() };
          const frame: ChatMessageFrame = { type: "message", seq, message };
          return frame;
        }, this.config.MESSAGE_ARCHIVE_DELAY_MS);
        return { seq: stored.seq, text: stored.text, message };
      },
      commandId === undefined ? null : textFingerprint(text),
    );
    if (result.repeated) return { seq: result.seq ?? 0 };
    this.publish(result.value);
    return { seq: result.value.seq, message: result.value.message };
  }

  /** The message stored at `seq`, from the log or, once trimmed, from D1. */
  protected async messageAt(roomId: string, seq: number): Promise<Message> {
    const local = this.log.before(seq + 1, 1, "message")[0];
    const fromLog = local && local.seq === seq ? messageOf(local) : null;
    if (fromLog) return fromLog;
    const [archived] = await archivedMessagesBefore(this.env.DB, roomId, seq + 1, 1);
    if (archived?.seq === seq) return archived;
    throw notFound("message not found");
  }

  // ---- sockets ------------------------------------------------------------------------------

  /** Sends a stored event to every socket and SSE stream, and answers the long polls waiting for it. */
  protected publish(stored: { seq: number; text: string }): void {
    for (const ws of this.sockets.keys()) this.trySend(ws, stored.text);
    this.eventStreams.send(sseEvent(stored.text, stored.seq));
    this.longPolls.stored(stored.seq);
  }

  /** Sends an ephemeral frame (no seq, not kept) to every socket but `except`, and every SSE stream. */
  protected broadcast(text: string, except?: WebSocket): void {
    for (const ws of this.sockets.keys()) if (ws !== except) this.trySend(ws, text);
    this.eventStreams.send(sseEvent(text));
  }

  /** Sends an ephemeral frame to one user's sockets and streams; returns how many it reached. */
  protected sendToUser(userId: string, text: string): number {
    let sent = 0;
    for (const [ws, who] of this.sockets) if (who.userId === userId && this.trySend(ws, text)) sent++;
    return sent + this.eventStreams.send(sseEvent(text), userId);
  }

  /** Users with a socket or an SSE stream here: both are a live connection (presence, notifications). */
  protected onlineUsers(): string[] {
    return [...this.connections.keys()];
  }

  /** How many users `onlineUsers` would list. */
  protected onlineCount(): number {
    return this.connections.size;
  }

  protected isOnline(userId: string): boolean {
    return this.connections.has(userId);
  }

  private count(userId: string): void {
    this.connections.set(userId, (this.connections.get(userId) ?? 0) + 1);
  }

  private uncount(userId: string): void {
    const left = (this.connections.get(userId) ?? 0) - 1;
    if (left > 0) this.connections.set(userId, left);
    else this.connections.delete(userId);
  }

  /** Ends a user's sockets and SSE streams here, e.g. when they are no longer a party to the room. */
  protected disconnectUser(userId: string, reason: string): void {
    for (const ws of this.ctx.getWebSockets(userId)) {
      try {
        ws.close(1008, reason);
      } catch {
        // already closing
      }
    }
    this.eventStreams.closeUser(userId);
  }

  // ---- operators ------------------------------------------------------------------------------

  /**
   * RPC from rooms/disconnect.ts: closes every socket (with `code` and `reason`) and SSE stream
   * that `userId` has here, answers their waiting long polls now, and, until `refuseNewUntil`
   * (epoch ms; null: not at all), answers their new ones 403 with `reason`. The refusal is
   * stored (sync KV), so it outlives a hibernation; it only has to bridge the moments in which
   * a Worker that has not yet heard of a ban may still let a socket through. Returns how many
   * connections it ended.
   */
  async closeUserConnections(
    userId: string,
    code: number,
    reason: string,
    refuseNewUntil: number | null,
  ): Promise<number> {
    // A close reason is at most 123 bytes; ours are short, and this keeps a long one legal.
    const closeReason = reason.slice(0, 100);
    if (refuseNewUntil !== null && refuseNewUntil > Date.now() && this.initialized)
      this.ctx.storage.kv.put(refusalKey(userId), { until: refuseNewUntil, reason: closeReason });
    let closed = 0;
    for (const ws of this.ctx.getWebSockets(userId)) {
      try {
        ws.close(code, closeReason);
        closed++;
      } catch {
        // already closing
      }
      // Counted out now: presence and notifications must not wait for the client's close frame.
      this.forget(ws);
    }
    return closed + this.eventStreams.closeUser(userId) + this.longPolls.wakeUser(userId);
  }

  /** Why this user's new connections are refused here, or null; an expired refusal is dropped. */
  protected refusalOf(userId: string): string | null {
    const refusal = this.ctx.storage.kv.get<{ until: number; reason: string }>(refusalKey(userId));
    if (!refusal) return null;
    if (refusal.until > Date.now()) return refusal.reason;
    this.ctx.storage.kv.delete(refusalKey(userId));
    return null;
  }

  protected sendFrame(ws: WebSocket, frame: object): void {
    this.trySend(ws, JSON.stringify(frame));
  }

  private trySend(ws: WebSocket, text: string): boolean {
    try {
      ws.send(text);
      return true;
    } catch {
      // The socket is closing; its close handler cleans up.
      return false;
    }
  }

  private sendError(ws: WebSocket, code: string, message: string, id?: string): void {
    this.sendFrame(ws, { type: "error", ...(id === undefined ? {} : { id }), code, message });
  }

  /**
   * Requests forwarded by the Worker, which has already checked the token: a WebSocket
   * upgrade (`/ws`), an SSE stream (`/events`) or a long poll (`/poll`).
   */
  override async fetch(request: Request): Promise<Response> {
    try {
      const identity = readIdentity(request);
      if (!identity) return jsonError(new ApiError(401, "unauthorized", "missing identity"));
      const refused = this.refusalOf(identity.userId);
      if (refused) return jsonError(new ApiError(403, "forbidden", refused));
      const url = new URL(request.url);
      const upgrade = request.headers.get("Upgrade")?.toLowerCase() === "websocket";
      if (url.pathname === "/ws" && !upgrade)
        return jsonError(new ApiError(400, "invalid_request", "expected a WebSocket upgrade"));
      if (!this.initialized) return jsonError(notFound(`${this.kind} not found`));
      const denial = this.denySocket(identity);
      if (denial) return jsonError(denial);
      // What the token allows: nothing outlives it (socket, stream, or a poll's wait).
      const session = readSession(request);
      if (!session) return jsonError(new ApiError(401, "unauthorized", "missing session"));
      if (url.pathname === "/poll") return await this.longPoll(url, identity, session.expiresAt);
      // Sockets and streams cost the room memory and a send per event each: a user gets a few
      // (tabs, a reconnect racing its old socket's close), not hundreds.
      const open = this.connections.get(identity.userId) ?? 0;
      if (open >= this.config.MAX_CONNECTIONS_PER_USER_PER_ROOM) {
        return jsonError(
          new ApiError(
            429,
            "too_many_connections",
            `at most ${this.config.MAX_CONNECTIONS_PER_USER_PER_ROOM} open sockets and streams per user here; ` +
              "close one first",
            { max: this.config.MAX_CONNECTIONS_PER_USER_PER_ROOM },
          ),
        );
      }
      const sinceParam = url.searchParams.get("since");
      const since = sinceParam === null ? null : SinceQuery.safeParse(sinceParam);
      if (since && !since.success)
        return jsonError(new ApiError(400, "invalid_request", "since must be a non-negative integer"));
      if (url.pathname === "/events") {
        // A stream is a connection like a socket: the first of a user's joins, the last leaves.
        const firstConnection = !this.isOnline(identity.userId);
        // Counted before the prelude, so the welcome lists its own user online; a stream that
        // fails in its prelude is dropped, and the drop uncounts it.
        this.count(identity.userId);
        const response = this.eventStreams.open(
          identity,
          session,
          () => this.resume(identity, since ? since.data : null).map((frame) => sseEvent(frame.text, frame.id)),
          this.config.SSE_MAX_BUFFERED_BYTES,
        );
        // A prelude over the stream's bound ends it at once (slow_consumer): no join then.
        if (firstConnection && this.isOnline(identity.userId)) this.onPresence(identity.userId, "join");
        return response;
      }

      const { 0: client, 1: server } = new WebSocketPair();
      this.ctx.acceptWebSocket(server, [identity.userId]);
      const attachment: SocketAttachment = { ...identity, connectedAt: Date.now(), ...session };
      server.serializeAttachment(attachment);
      this.expireSocketAt(session.expiresAt);
      const firstSocket = !this.isOnline(identity.userId);
      this.sockets.set(server, attachment);
      this.count(identity.userId);
      this.greet(server, identity, since ? since.data : null);
      if (firstSocket) this.onPresence(identity.userId, "join");
      return new Response(null, { status: 101, webSocket: client });
    } catch (err) {
      this.logError("fetch", err);
      return jsonError(err instanceof ApiError ? err : new ApiError(500, "internal", "internal error"));
    }
  }

  /** `welcome`, then with `since` either the missed events and `synced`, or `reset`. */
  private greet(ws: WebSocket, identity: Identity, since: number | null): void {
    for (const frame of this.resume(identity, since)) this.trySend(ws, frame.text);
  }

  /**
   * The frames that open a connection. `id` is the SSE event id, the seq the client stands at
   * once it has the frame: a stored event's own seq; a fresh welcome's seq (nothing to replay,
   * so a browser that reconnects resumes from there rather than skipping what came meanwhile);
   * a reset's seq (else the browser would resume from the same lost seq again and again). A
   * welcome before a replay has none: the client still stands at its `since`.
   */
  private resume(identity: Identity, since: number | null): { text: string; id?: number }[] {
    const seq = this.log.lastSeq;
    const welcome = JSON.stringify({ type: "welcome", seq, ...this.welcomeSnapshot(identity) });
    if (since === null) return [{ text: welcome, id: seq }];
    if (since < this.log.firstSeq - 1 || since > seq)
      return [{ text: welcome }, { text: JSON.stringify({ type: "reset", seq }), id: seq }];
    const frames: { text: string; id?: number }[] = [{ text: welcome }];
    const floor = this.replayFloor(identity);
    if (since < floor) {
      frames.push({ text: JSON.stringify({ type: "reset", seq: floor }), id: floor });
      since = floor;
    }
    for (const event of this.log.after(since)) frames.push({ text: event.frame, id: event.seq });
    return [...frames, { text: JSON.stringify({ type: "synced", seq }) }];
  }

  /**
   * `{ events, seq }`: the stored events after `since` (a page of at most POLL_PAGE), at once
   * when there are any, else after waiting up to `timeout` seconds for the next one.
   */
  private async longPoll(url: URL, identity: Identity, tokenExpiresAt: number): Promise<Response> {
    const query = PollQuery.safeParse(Object.fromEntries(url.searchParams));
    if (!query.success)
      return jsonError(
        new ApiError(400, "invalid_request", "since must be a non-negative integer and timeout 0 to 30 seconds"),
      );
    const { since, timeout } = query.data;
    if (since < this.log.firstSeq - 1 || since > this.log.lastSeq)
      return pollAnswer([JSON.stringify({ type: "reset", seq: this.log.lastSeq })], this.log.lastSeq);
    const floor = this.replayFloor(identity);
    if (since < floor) return pollAnswer([JSON.stringify({ type: "reset", seq: floor })], floor);
    const wait = Math.min(timeout * 1000, tokenExpiresAt - Date.now());
    if (this.log.lastSeq === since && wait > 0) {
      await this.longPolls.wait(since, wait, identity.userId);
      // Woken because the user's connections were ended here (a ban): no answer but the refusal.
      const refused = this.refusalOf(identity.userId);
      if (refused) return jsonError(new ApiError(403, "forbidden", refused));
    }
    const texts: string[] = [];
    let last = since;
    for (const event of this.log.after(since)) {
      texts.push(event.frame);
      last = event.seq;
      if (texts.length === POLL_PAGE) break;
    }
    return pollAnswer(texts, last);
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    let id: string | undefined;
    try {
      const who = this.sockets.get(ws);
      if (!who) return ws.close(1011, "unknown socket");
      const guard = this.guardOf(ws);
      const now = Date.now();
      // The alarm closes expired sockets; a frame that beats it to one is not taken either.
      if (who.expiresAt <= now) return this.closeSocket(ws, TOKEN_EXPIRED_CLOSE_CODE, "token expired");
      if (typeof message !== "string")
        return this.badFrame(ws, guard, "invalid_request", "binary frames are not supported");
      if (exceedsBytes(message, this.config.MAX_FRAME_BYTES)) {
        return this.badFrame(
          ws,
          guard,
          "payload_too_large",
          `frames are limited to ${this.config.MAX_FRAME_BYTES} bytes`,
          undefined,
          1009,
        );
      }
      let data: unknown;
      try {
        data = JSON.parse(message);
      } catch {
        return this.badFrame(ws, guard, "invalid_request", "frame is not JSON");
      }
      // The loose parse, only there to echo an `id` on an error, runs on error paths only:
      // a valid frame is parsed once.
      if (!guard.take(now))
        return this.badFrame(ws, guard, "rate_limited", "too many frames; slow down", looseFrameOf(data)?.id);
      if (isAuthFrame(data)) return await this.renewToken(ws, who, guard, data);
      let frame = this.fastFrame(data);
      if (frame === undefined) {
        const parsed = this.clientFrames.safeParse(data);
        if (!parsed.success) {
          const loose = looseFrameOf(data);
          id = loose?.id;
          const type = loose?.type;
          // A discriminated union reports an unknown `type` as a union failure on that field.
          const unknownType =
            type === undefined || parsed.error.issues.some((i) => i.code === "invalid_union" && i.path[0] === "type");
          const text = unknownType
            ? `unknown frame type ${JSON.stringify(type ?? null)}`
            : `invalid ${type} frame: ${describeIssues(parsed.error)}`;
          return this.badFrame(ws, guard, "invalid_request", text, id);
        }
        frame = parsed.data;
      }
      id = frame.id;
      if (frame.type === "ping") {
        this.sendFrame(ws, { type: "pong" });
        // Every frame with an id is answered; only the exact `{"type":"ping"}` is auto-answered.
        if (frame.id !== undefined) this.sendFrame(ws, { type: "ack", id: frame.id });
        return;
      }
      const seq = await this.onClientFrame(ws, who, frame);
      if (frame.id !== undefined) this.sendFrame(ws, { type: "ack", id: frame.id, ...(seq === null ? {} : { seq }) });
    } catch (err) {
      if (err instanceof ApiError) return this.sendError(ws, err.code, err.message, id);
      this.logError("webSocketMessage", err);
      this.sendError(ws, "internal", "internal error", id);
    }
  }

  /** The `auth` frame: a later token for this socket, or an error frame (counted as a bad frame). */
  private async renewToken(ws: WebSocket, who: SocketAttachment, guard: SocketGuard, data: unknown): Promise<void> {
    const parsed = AuthFrame.safeParse(data);
    const id = parsed.success ? parsed.data.id : looseFrameOf(data)?.id;
    if (!parsed.success)
      return this.badFrame(ws, guard, "invalid_request", `invalid auth frame: ${describeIssues(parsed.error)}`, id);
    try {
      const session = await renewSocketSession(this.config, this.env.DB, who, parsed.data.token, Date.now());
      const current = this.sockets.get(ws);
      if (!current) return;
      const renewed: SocketAttachment = { ...current, ...session };
      ws.serializeAttachment(renewed);
      this.sockets.set(ws, renewed);
      if (id !== undefined) this.sendFrame(ws, { type: "ack", id });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      this.badFrame(ws, guard, err.code, err.message, id);
    }
  }

  /**
   * Closes this user's sockets and streams opened with tokens of `sessions` (or all of theirs):
   * the sessions were revoked. Called by the Worker after a logout or a reused refresh token.
   */
  async endSessions(userId: string, sessions: string[] | "all"): Promise<number> {
    let ended = 0;
    try {
      const matches = (sid: string) => sessions === "all" || sessions.includes(sid);
      for (const [ws, who] of this.sockets) {
        if (who.userId !== userId || !matches(who.sid)) continue;
        this.closeSocket(ws, SESSION_ENDED_CLOSE_CODE, "session ended");
        ended++;
      }
      ended += this.eventStreams.closeSessions(userId, matches);
    } catch (err) {
      this.logError("endSessions", err);
    }
    return ended;
  }

  /** Makes the alarm close sockets no later than `expiresAt`. */
  private expireSocketAt(expiresAt: number): void {
    this.socketsExpireAt = Math.min(this.socketsExpireAt ?? Number.POSITIVE_INFINITY, expiresAt);
    this.wakeAt(expiresAt);
  }

  /** Closes sockets whose token expired (4001; the client reconnects with a new one) and finds the next expiry. */
  private closeExpiredSockets(now: number): void {
    if (this.socketsExpireAt === null || this.socketsExpireAt > now) return;
    let next: number | null = null;
    for (const [ws, who] of this.sockets) {
      if (who.expiresAt <= now) this.closeSocket(ws, TOKEN_EXPIRED_CLOSE_CODE, "token expired");
      else next = Math.min(next ?? Number.POSITIVE_INFINITY, who.expiresAt);
    }
    this.socketsExpireAt = next;
  }

  private closeSocket(ws: WebSocket, code: number, reason: string): void {
    try {
      ws.close(code, reason);
    } catch {
      // already closing
    }
    this.forget(ws);
  }

  private badFrame(
    ws: WebSocket,
    guard: SocketGuard,
    code: string,
    message: string,
    id?: string,
    closeCode = 1008,
  ): void {
    this.sendError(ws, code, message, id);
    if (guard.recordBadFrame(Date.now())) {
      try {
        ws.close(closeCode, closeCode === 1009 ? "frames too large" : "too many bad frames");
      } catch {
        // already closing
      }
      this.forget(ws);
    }
  }

  private guardOf(ws: WebSocket): SocketGuard {
    let guard = this.guards.get(ws);
    if (!guard) {
      guard = new SocketGuard(
        {
          ratePerSecond: this.config.FRAME_RATE_PER_SECOND,
          burst: this.config.FRAME_BURST,
          badFramesBeforeClose: this.config.BAD_FRAMES_BEFORE_CLOSE,
          badFrameWindowMs: this.config.BAD_FRAME_WINDOW_MS,
        },
        Date.now(),
      );
      this.guards.set(ws, guard);
    }
    return guard;
  }

  override async webSocketClose(ws: WebSocket, code: number, _reason: string, _wasClean: boolean): Promise<void> {
    try {
      this.forget(ws);
      if (!UNSENDABLE_CLOSE_CODES.has(code)) ws.close(code, "closing");
    } catch {
      // The runtime may already have answered the close.
    }
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    this.logError("webSocketError", error);
    this.forget(ws);
  }

  private forget(ws: WebSocket): void {
    if (this.forgotten.has(ws)) return;
    this.forgotten.add(ws);
    // A socket whose close event wakes the object is already left out of ctx.getWebSockets()
    // in the constructor, so it is missing from the map; its attachment still says whose it was.
    const counted = this.sockets.get(ws);
    const who = counted ?? attachmentOf(ws);
    if (!who) return;
    if (counted) {
      this.sockets.delete(ws);
      this.uncount(who.userId);
    }
    this.connectionEnded(who.userId);
  }

  /** A socket or an SSE stream of this user ended: the user leaves with their last one. */
  private connectionEnded(userId: string): void {
    try {
      if (!this.isOnline(userId)) this.onPresence(userId, "leave");
    } catch (err) {
      this.logError("presence", err);
    }
  }

  // ---- alarm: outbox, retention, subclass timers ------------------------------------------

  /** Makes sure the alarm fires no later than `at`. Setting it earlier is always safe. */
  protected wakeAt(at: number): void {
    if (this.alarmAt !== null && this.alarmAt <= at) return;
    this.alarmAt = at;
    void this.ctx.storage.setAlarm(at);
  }

  override async alarm(): Promise<void> {
    this.alarmAt = null;
    const now = Date.now();
    let retryAt: number | null = null;
    try {
      this.closeExpiredSockets(now);
    } catch (err) {
      this.logError("closeExpiredSockets", err);
    }
    try {
      if (this.initialized) {
        retryAt = await this.drainOutbox();
        this.keepRetention(now);
        await this.onDeadline(now);
      }
    } catch (err) {
      this.logError("alarm", err);
      retryAt = Date.now() + 1_000;
    }
    const deadlines = [retryAt, this.socketsExpireAt, this.initialized ? this.nextDeadline() : null].filter(
      (t): t is number => t !== null,
    );
    if (deadlines.length > 0) this.wakeAt(Math.min(...deadlines));
  }

  /**
   * Copies the outbox to D1 in batches, up to the events stored when the alarm began; returns
   * when to try again after a failure. Events stored while a batch is in flight set their own
   * alarm and wait for it, so a busy room writes one batch per beat, not a trailing one too.
   */
  private async drainOutbox(): Promise<number | null> {
    const upTo = this.log.lastSeq;
    for (;;) {
      const batch = this.log.pendingOutbox(this.config.OUTBOX_BATCH_SIZE);
      if (batch.events.length === 0) {
        // Nothing to copy, but the watermark may still pass events never meant for D1.
        this.log.markFlushed(batch);
        break;
      }
      try {
        await this.writeBehind(batch.events);
      } catch (err) {
        this.outboxFailures++;
        this.logError("writeBehind", err);
        const delay = Math.min(MAX_OUTBOX_RETRY_MS, 1_000 * 2 ** (this.outboxFailures - 1));
        return Date.now() + delay;
      }
      this.outboxFailures = 0;
      this.log.markFlushed(batch);
      if (batch.through >= upTo) break;
    }
    return null;
  }

  /**
   * Trims the log back to its retention once it is over by a margin, so a trim deletes a slice
   * now and then rather than one row per alarm; sweeps expired command ids hourly.
   */
  private keepRetention(now: number): void {
    const keep = this.config.ROOM_RETENTION_EVENTS;
    if (this.log.size > keep + Math.max(TRIM_MIN_SLACK, Math.ceil(keep * TRIM_SLACK))) this.log.trim(keep);
    if (now - this.commandsSweptAt >= COMMAND_SWEEP_MS) {
      this.log.forgetCommands(now - COMMAND_TTL_MS);
      this.commandsSweptAt = now;
    }
  }

  /**
   * Runs an RPC method for the Worker: thrown ApiErrors become a `Result` (an exception loses
   * its class and fields crossing RPC), anything else is logged and answered as internal.
   */
  protected async rpc<T>(handler: string, run: () => Promise<T> | T): Promise<Result<T>> {
    try {
      if (!this.initialized) throw notFound(`${this.kind} not found`);
      return ok(await run());
    } catch (err) {
      if (err instanceof ApiError) return fail(err);
      this.logError(handler, err);
      return fail(new ApiError(500, "internal", "internal error"));
    }
  }

  /**
   * Queues notifications behind the reply. The event they tell of is stored and broadcast
   * already: a failure here (building them, or the queue) is logged and undoes nothing.
   */
  protected notify(build: () => readonly NotificationMessage[]): void {
    try {
      notifyBehind(this.ctx, this.env.NOTIFICATIONS, build(), (err) => this.logError("notify", err));
    } catch (err) {
      this.logError("notify", err);
    }
  }

  protected logError(handler: string, err: unknown): void {
    // Class and handler name only: never message bodies, tokens or coordinates (a platform
    // error's message may quote a URL with its query: redacted).
    const reason = err instanceof Error ? redactSecrets(`${err.name}: ${err.message}`) : typeof err;
    console.error(JSON.stringify({ level: "error", where: `${this.kind}.${handler}`, reason }));
  }
}

/** A cheap look at the type before the room's own schema, which knows nothing of `auth`. */
function isAuthFrame(data: unknown): boolean {
  return typeof data === "object" && data !== null && (data as { type?: unknown }).type === "auth";
}

function looseFrameOf(data: unknown): LooseFrame | undefined {
  const loose = LooseFrame.safeParse(data);
  return loose.success ? loose.data : undefined;
}

function attachmentOf(ws: WebSocket): SocketAttachment | undefined {
  const parsed = SocketAttachment.safeParse(ws.deserializeAttachment());
  return parsed.success ? parsed.data : undefined;
}

const refusalKey = (userId: string) => `refused:${userId}`;

/** Events a long poll answers with at most; the client polls again from the last one. */
const POLL_PAGE = 100;

/** The frames are stored as JSON text already: the answer is put together without re-parsing them. */
function pollAnswer(texts: string[], seq: number): Response {
  return new Response(`{"events":[${texts.join(",")}],"seq":${seq}}`, {
    headers: { "Content-Type": "application/json" },
  });
}

function jsonError(err: ApiError): Response {
  return Response.json(err.toBody(), { status: err.status });
}

function exceedsBytes(text: string, limit: number): boolean {
  // Encode only when the cheap bounds cannot decide: a UTF-16 unit is 1 to 3 UTF-8 bytes.
  if (text.length > limit) return true;
  if (text.length * 3 <= limit) return false;
  return new TextEncoder().encode(text).length > limit;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join(".") || "frame"}: ${i.message}`)
    .join("; ");
}
