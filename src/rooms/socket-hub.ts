/**
 * @module rooms/socket-hub
 * The base of every room object, in the style of partyserver's `Server`: hibernatable sockets
 * with identity in their attachments, SSE streams and long polls as the transports for clients
 * without WebSockets, frame intake with abuse limits, token expiry and renewal, presence, the
 * object's one alarm, RPC answers and logging. It stores nothing of the room: a room composes
 * what it keeps (rooms/sequenced-log.ts, rooms/chat-log.ts) and supplies its frames and
 * decisions through a few hooks. The runtime handlers here stay fixed, catch everything, and
 * never let one bad frame kill a socket or the object.
 *
 * Typed by the room's frames: `ClientFrame` is what its zod schema accepts, `RoomFrame` what
 * it sends besides the control frames (ack, error, pong, synced, reset) that every room sends.
 */
import { DurableObject } from "cloudflare:workers";
import type { z } from "zod";
import type { Identity } from "../auth/jwt";
import { loadConfig, type Config } from "../config";
import { ApiError, badRequest, fail, forbidden, notFound, ok, type Result, unauthorized } from "../errors";
import { errorReason } from "../redact";
import { LastSeenThrottle } from "../domain/last-seen";
import { logJson } from "../log";
import { type Counter, type MetricRow, metrics } from "../metrics";
import { flushMetricsIfDue } from "../metrics-flush";
import { newTraceId, TRACE_HEADER, TRACE_ID, withTraceId } from "../trace";
import {
  SESSION_ENDED_CLOSE_CODE,
  TOKEN_EXPIRED_CLOSE_CODE,
  type ControlFrame,
  type ErrorFrame,
} from "../protocol/frames";
import { Connections, trySend } from "./connections";
import { checkConnectionLimit, sinceOf } from "./connect-request";
import { AlarmClock } from "./alarm-clock";
import { answerLongPoll, errorResponse, sseEvent } from "./fallbacks";
import { takeFrame, type ClientFrameBase } from "./frame-intake";
import { readIdentity, readSession, type SocketAttachment, type SocketSession } from "./identity";
import { refuseUntil, refusalOf } from "./refusals";
import type { StoredEvent } from "./event-log";
import { EMPTY_LOG, openingFrames, type ReadableLog } from "./resume";
import type { Appended, LogHost } from "./sequenced-log";
import { writeLastSeen } from "./last-seen";
import { renewFromFrame } from "./socket-auth";
import { guardSettings, type SocketGuard } from "./socket-guard";
import { opsDesk } from "./stubs";

/** A log's host (rooms/sequenced-log.ts), and how the room sends what the log appended. */
export type RoomLogHost = LogHost & { publish(appended: Appended): void };

/** The room's own fields of its `welcome` frame (the hub adds `type` and `seq`). */
export type WelcomeSnapshot<RoomFrame> = Omit<Extract<RoomFrame, { type: "welcome" }>, "type" | "seq">;

/** The hub's counters (src/metrics.ts), keyed by the room's kind; held so a frame costs one addition. */
type HubCounters = Record<"frameIn" | "frameOut" | "delivery" | "ack" | "open" | "close" | "resume" | "reset", Counter>;

function hubCounters(kind: string): HubCounters {
  return {
    frameIn: metrics.counter("frame_in", kind),
    frameOut: metrics.counter("frame_out", kind),
    delivery: metrics.counter("delivery", kind),
    ack: metrics.counter("ack", kind),
    open: metrics.counter("connection_open", kind),
    close: metrics.counter("connection_close", kind),
    resume: metrics.counter("resume", kind),
    reset: metrics.counter("reset", kind),
  };
}

/** A trace id handed over RPC or in a forwarded request's header, if it is one (src/trace.ts). */
export function traceIdOf(value: unknown): string | undefined {
  return typeof value === "string" && TRACE_ID.test(value) ? value : undefined;
}

export abstract class SocketHub<
  ClientFrame extends ClientFrameBase,
  RoomFrame extends { type: string },
> extends DurableObject<Env> {
  protected readonly config: Config;
  protected readonly connections: Connections;
  protected readonly clock: AlarmClock;
  /** Flushes the isolate's counts a few seconds after this object counted something; lives with the object. */
  /** Made on first use (the room's `kind` is set after this constructor); lives with the object. */
  private hubCountsOf?: HubCounters;

  /** Names the room kind in logs. */
  protected abstract readonly kind: string;
  /**
   * Writes its users' last seen as they come and go (domain/last-seen.ts's throttle), or null: a room whose
   * connections are not a user being seen (the trip room: its rider and driver are seen in chat and on the channel).
   */
  protected readonly lastSeen: LastSeenThrottle | null = new LastSeenThrottle();
  /** zod schema of every frame a client may send to this room. */
  protected abstract readonly clientFrames: z.ZodType<ClientFrame>;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.config = loadConfig(env);
    this.clock = new AlarmClock(ctx.storage);
    this.connections = new Connections(guardSettings(this.config), (userId) => this.connectionEnded(userId), {
      sent: (frames) => this.counts.frameOut.add(frames),
      delivered: (frames) => this.counts.delivery.add(frames),
    });
    this.connections.restore(ctx.getWebSockets());
    // Answered by the runtime without waking the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('{"type":"ping"}', '{"type":"pong"}'));
    ctx.blockConcurrencyWhile(async () => {
      await this.clock.load();
      // Runs after the room's own constructor: what it keeps may need the alarm (a lost setAlarm).
      this.clock.wakeAtEarliest(this.wakeNeeded(Date.now()));
    });
  }

  /** This room kind's counters. */
  protected get counts(): HubCounters {
    this.hubCountsOf ??= hubCounters(this.kind);
    return this.hubCountsOf;
  }

  /** Where this object's flush sends the isolate's counts: the operations desk (which overrides it). */
  protected sendMetrics(rows: MetricRow[], at: number): Promise<unknown> {
    return opsDesk(this.env).recordMetrics(rows, at);
  }

  /**
   * After each handler: the isolate's counts go out if a flush is due (cheap when none is). No timer: a pending
   * timer would keep the object awake and out of hibernation, so counts made just before a quiet spell wait for
   * the isolate's next event (a Worker request or any object's handler).
   */
  protected flushMetricsIfDue(): void {
    const flush = flushMetricsIfDue(this.env, (rows, at) => this.sendMetrics(rows, at));
    if (flush) this.ctx.waitUntil(flush);
  }

  // ---- hooks for rooms ----------------------------------------------------------------------

  /** Whether this object holds a room yet (an id nobody created answers 404 and writes nothing). */
  protected abstract exists(): boolean;
  /** Null when this user may connect here; otherwise the error to answer with. */
  protected abstract denyConnection(identity: Identity): ApiError | null;
  /** The room's fields of the `welcome` frame. */
  protected abstract welcomeSnapshot(identity: Identity): WelcomeSnapshot<RoomFrame>;
  /** Applies one validated frame; returns the seq it stored, if any, for the ack. */
  protected abstract onClientFrame(
    ws: WebSocket,
    identity: Identity,
    frame: ClientFrame,
  ): Promise<number | null> | number | null;
  /** A user's first connection opened, or last one closed. */
  protected onPresence(_userId: string, _event: "join" | "leave"): void {}

  /** A long poll of this user was answered with the events through `seq`. */
  protected onPollAnswered(_userId: string, _seq: number): void {}

  /**
   * A cheaper check for the room's hottest frames, run before zod. It may only return a frame
   * that `clientFrames` would accept, equal to what zod would return for it; anything else (and
   * anything unusual) must be undefined, so that zod parses it and words the error.
   */
  protected fastFrame(_data: unknown): ClientFrame | undefined {
    return undefined;
  }

  /** The log that connections resume from; a room without one replays nothing (seq 0). */
  protected replayLog(): ReadableLog {
    return EMPTY_LOG;
  }

  /** The log as `identity` reads it (a chat room hides the events of users they block). */
  protected replayLogFor(_identity: Identity): ReadableLog {
    return this.replayLog();
  }

  /** The seq up to which `identity` may not read the log (0: all of it); see rooms/resume. */
  protected replayFloor(_identity: Identity): number {
    return 0;
  }

  /** When the room needs its alarm after the object wakes (its kept state says), if at all. */
  protected wakeNeeded(_now: number): number | null {
    return null;
  }

  /** The room's share of the alarm; returns when it needs the next one, if at all. */
  protected async onAlarm(_now: number): Promise<number | null> {
    return null;
  }

  // ---- sending --------------------------------------------------------------------------------

  /** Sends a stored event (as its log appended it) to every socket and stream, and answers the waiting polls. */
  protected publish(stored: { seq: number; text: string }): void {
    this.connections.publish(stored.text, stored.seq);
  }

  /** Sends an ephemeral frame (no seq, not kept) to every socket but `except`, and every SSE stream. */
  protected broadcast(frame: RoomFrame, except?: WebSocket): void {
    this.connections.broadcast(JSON.stringify(frame), except);
  }

  /** Sends an ephemeral frame to one user's sockets and streams; returns how many it reached. */
  protected sendToUser(userId: string, frame: RoomFrame): number {
    return this.connections.sendTo(userId, JSON.stringify(frame));
  }

  protected sendFrame(ws: WebSocket, frame: RoomFrame | ControlFrame): void {
    if (trySend(ws, JSON.stringify(frame))) this.counts.frameOut.add(1);
  }

  private sendError(ws: WebSocket, code: string, message: string, id?: string): void {
    this.sendFrame(ws, { type: "error", ...(id === undefined ? {} : { id }), code, message } satisfies ErrorFrame);
  }

  /**
   * What a log the room composes needs of the room: its config, its alarm, its sends and its
   * error log; `writeBehind` copies a batch of the log's events to D1.
   */
  protected logHost(writeBehind: (events: StoredEvent[]) => Promise<void>): RoomLogHost {
    return {
      config: this.config,
      wakeAt: (at) => this.wakeAt(at),
      writeBehind,
      publish: (appended) => this.publish(appended),
      logError: (where, err) => this.logError(where, err),
    };
  }

  // ---- who is here ------------------------------------------------------------------------------

  /** Users with a socket or an SSE stream here: both are a live connection (presence, notifications). */
  protected onlineUsers(): string[] {
    return this.connections.users();
  }

  protected isOnline(userId: string): boolean {
    return this.connections.isOnline(userId);
  }

  /** Ends a user's connections here, e.g. when they are no longer a party to the room. */
  protected disconnectUser(userId: string, reason: string): void {
    this.connections.closeUser(userId, 1008, reason);
  }

  /**
   * RPC from rooms/disconnect.ts: closes every socket (with `code` and `reason`) and SSE stream
   * that `userId` has here, answers their waiting long polls now, and, until `refuseNewUntil`
   * (epoch ms; null: not at all), answers their new ones 403 with `reason` (rooms/refusals.ts).
   * Returns how many connections it ended.
   */
  async closeUserConnections(
    userId: string,
    code: number,
    reason: string,
    refuseNewUntil: number | null,
  ): Promise<number> {
    // A close reason is at most 123 bytes; ours are short, and this keeps a long one legal.
    const closeReason = reason.slice(0, 100);
    if (refuseNewUntil !== null && refuseNewUntil > Date.now() && this.exists())
      refuseUntil(this.ctx.storage, userId, refuseNewUntil, closeReason);
    return this.connections.closeUser(userId, code, closeReason);
  }

  /** Why this user's new connections are refused here, or null. */
  protected refusalOf(userId: string): string | null {
    return refusalOf(this.ctx.storage, userId);
  }

  /**
   * Closes this user's sockets and streams opened with tokens of `sessions` (or all of theirs):
   * the sessions were revoked. Called by the Worker after a logout or a reused refresh token.
   */
  async endSessions(userId: string, sessions: string[] | "all"): Promise<number> {
    try {
      const matches = (sid: string) => sessions === "all" || sessions.includes(sid);
      return this.connections.closeSessions(userId, matches, SESSION_ENDED_CLOSE_CODE);
    } catch (err) {
      this.logError("endSessions", err);
      return 0;
    }
  }

  // ---- connecting ---------------------------------------------------------------------------------

  /**
   * Requests forwarded by the Worker, which has already checked the token: a WebSocket
   * upgrade (`/ws`), an SSE stream (`/events`) or a long poll (`/poll`).
   */
  override async fetch(request: Request): Promise<Response> {
    const traceId = traceIdOf(request.headers.get(TRACE_HEADER));
    try {
      return traceId === undefined
        ? await this.serveConnection(request)
        : await withTraceId(traceId, () => this.serveConnection(request));
    } finally {
      this.flushMetricsIfDue();
    }
  }

  private async serveConnection(request: Request): Promise<Response> {
    try {
      const identity = readIdentity(request);
      if (!identity) throw unauthorized("missing identity");
      const refused = this.refusalOf(identity.userId);
      if (refused) throw forbidden(refused);
      const url = new URL(request.url);
      const upgrade = request.headers.get("Upgrade")?.toLowerCase() === "websocket";
      if (url.pathname === "/ws" && !upgrade) throw badRequest("expected a WebSocket upgrade");
      if (!this.exists()) throw notFound(`${this.kind} not found`);
      const denial = this.denyConnection(identity);
      if (denial) throw denial;
      // What the token allows: nothing outlives it (socket, stream, or a poll's wait).
      const session = readSession(request);
      if (!session) throw unauthorized("missing session");
      if (url.pathname === "/poll")
        return await answerLongPoll(url, {
          log: () => this.replayLogFor(identity),
          floor: this.replayFloor(identity),
          userId: identity.userId,
          tokenExpiresAt: session.expiresAt,
          polls: this.connections.longPolls,
          refusal: () => this.refusalOf(identity.userId),
          answered: (seq) => this.onPollAnswered(identity.userId, seq),
        });
      checkConnectionLimit(this.connections.openBy(identity.userId), this.config.MAX_CONNECTIONS_PER_USER_PER_ROOM);
      const from = sinceOf(url);
      if (url.pathname === "/events") return this.openStream(identity, session, from);
      return this.acceptSocket(identity, session, from);
    } catch (err) {
      if (err instanceof ApiError) return errorResponse(err);
      this.logError("fetch", err);
      return errorResponse(new ApiError(500, "internal", "internal error"));
    }
  }

  private acceptSocket(identity: Identity, session: SocketSession, since: number | null): Response {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [identity.userId]);
    const attachment: SocketAttachment = { ...identity, connectedAt: Date.now(), ...session };
    server.serializeAttachment(attachment);
    const firstConnection = !this.isOnline(identity.userId);
    this.connections.add(server, attachment);
    this.wakeAt(session.expiresAt);
    this.counts.open.add(1);
    const opening = this.opening(identity, since);
    for (const frame of opening) trySend(server, frame.text);
    this.counts.frameOut.add(opening.length);
    if (firstConnection) this.presenceChanged(identity.userId, "join");
    return new Response(null, { status: 101, webSocket: client });
  }

  private openStream(identity: Identity, session: SocketSession, since: number | null): Response {
    // A stream is a connection like a socket: the first of a user's joins, the last leaves.
    const firstConnection = !this.isOnline(identity.userId);
    this.counts.open.add(1);
    // Counted before the prelude, so the welcome lists its own user online; a stream that
    // fails in its prelude is dropped, and the drop uncounts it.
    const response = this.connections.openStream(
      identity,
      session,
      () => this.opening(identity, since).map((frame) => sseEvent(frame.text, frame.id)),
      this.config.SSE_MAX_BUFFERED_BYTES,
    );
    // A prelude over the stream's bound ends it at once (slow_consumer): no join then.
    if (firstConnection && this.isOnline(identity.userId)) this.presenceChanged(identity.userId, "join");
    return response;
  }

  /** `welcome`, then with `since` the missed events and `synced`, or `reset` (rooms/resume.ts). */
  private opening(identity: Identity, since: number | null) {
    const log = this.replayLogFor(identity);
    const welcome = JSON.stringify({ type: "welcome", seq: log.lastSeq, ...this.welcomeSnapshot(identity) });
    const frames = openingFrames(log, welcome, since, this.replayFloor(identity));
    if (since !== null) {
      this.counts.resume.add(1);
      if (frames.some((frame) => frame.text.startsWith('{"type":"reset"'))) this.counts.reset.add(1);
    }
    return frames;
  }

  // ---- frames -------------------------------------------------------------------------------------

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    let id: string | undefined;
    try {
      this.counts.frameIn.add(1);
      const who = this.connections.of(ws);
      if (!who) return ws.close(1011, "unknown socket");
      const now = Date.now();
      // The alarm closes expired sockets; a frame that beats it to one is not taken either.
      if (who.expiresAt <= now) return this.connections.close(ws, TOKEN_EXPIRED_CLOSE_CODE, "token expired");
      const guard = this.connections.guardOf(ws, now);
      const intake = takeFrame(message, {
        maxFrameBytes: this.config.MAX_FRAME_BYTES,
        takeToken: () => guard.take(now),
        fastFrame: (data) => this.fastFrame(data),
        schema: this.clientFrames,
      });
      if (intake.kind === "bad")
        return this.badFrame(ws, guard, intake.code, intake.message, intake.id, intake.closeCode);
      if (intake.kind === "auth") return await this.renewToken(ws, who, guard, intake.data);
      const frame = intake.frame;
      id = frame.id;
      if (frame.type === "ping") {
        this.sendFrame(ws, { type: "pong" });
        // Every frame with an id is answered; only the exact `{"type":"ping"}` is auto-answered.
        if (frame.id !== undefined) this.sendAck(ws, frame.id);
        return;
      }
      const seq = await this.onClientFrame(ws, who, frame);
      if (frame.id !== undefined) this.sendAck(ws, frame.id, seq);
    } catch (err) {
      if (err instanceof ApiError) return this.sendError(ws, err.code, err.message, id);
      this.logError("webSocketMessage", err);
      this.sendError(ws, "internal", "internal error", id);
    } finally {
      this.flushMetricsIfDue();
    }
  }

  private sendAck(ws: WebSocket, id: string, seq: number | null = null): void {
    this.sendFrame(ws, { type: "ack", id, ...(seq === null ? {} : { seq }) });
    this.counts.ack.add(1);
  }

  /** The `auth` frame: a later token for this socket, or an error frame (counted as a bad frame). */
  private async renewToken(ws: WebSocket, who: SocketAttachment, guard: SocketGuard, data: unknown): Promise<void> {
    const renewal = await renewFromFrame(this.config, this.env, who, data, Date.now());
    if ("error" in renewal) return this.badFrame(ws, guard, renewal.error.code, renewal.error.message, renewal.id);
    const current = this.connections.of(ws);
    if (!current) return;
    const renewed: SocketAttachment = { ...current, ...renewal.session };
    ws.serializeAttachment(renewed);
    this.connections.renew(ws, renewed);
    if (renewal.id !== undefined) this.sendAck(ws, renewal.id);
  }

  private badFrame(ws: WebSocket, guard: SocketGuard, code: string, message: string, id?: string, closeCode = 1008) {
    this.sendError(ws, code, message, id);
    if (guard.recordBadFrame(Date.now()))
      this.connections.close(ws, closeCode, closeCode === 1009 ? "frames too large" : "too many bad frames");
  }

  // ---- closing --------------------------------------------------------------------------------------

  override async webSocketClose(ws: WebSocket, code: number, _reason: string, _wasClean: boolean): Promise<void> {
    try {
      this.connections.closedByClient(ws, code);
    } catch (err) {
      this.logError("webSocketClose", err);
    }
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    this.logError("webSocketError", error);
    this.connections.forget(ws);
  }

  /** The room's presence hook, and the user's last seen (rooms/last-seen.ts) as they come and go. */
  private presenceChanged(userId: string, event: "join" | "leave"): void {
    if (this.lastSeen?.shouldWrite(userId, event, Date.now()))
      writeLastSeen(this.ctx, this.env, userId, (where, err) => this.logError(where, err));
    this.onPresence(userId, event);
  }

  /** A socket or an SSE stream of this user ended: the user leaves with their last one. */
  private connectionEnded(userId: string): void {
    this.counts.close.add(1);
    try {
      if (!this.isOnline(userId)) this.presenceChanged(userId, "leave");
    } catch (err) {
      this.logError("presence", err);
    }
  }

  // ---- alarm ------------------------------------------------------------------------------------------

  /** Makes sure the alarm fires no later than `at` (rooms/alarm-clock.ts). */
  protected wakeAt(at: number): void {
    this.clock.wakeAt(at);
  }

  /** As `wakeAt`, reading the alarm from storage first: for a caller who suspects it was lost. */
  protected async wakeAtChecked(at: number): Promise<void> {
    await this.clock.load();
    this.clock.wakeAt(at);
  }

  /**
   * Closes sockets whose token expired (4001; the client reconnects with a new one), then the room's share. Each run is
   * a trace of its own (src/trace.ts): what an alarm does (an offer that ran out, a trip the watchdog moved, a
   * scheduled ride's dispatch) is no request's, yet its log lines, the RPCs it makes and the notifications it queues
   * carry one id that ties them together.
   */
  override async alarm(): Promise<void> {
    await withTraceId(newTraceId(), () => this.runAlarm());
  }

  private async runAlarm(): Promise<void> {
    this.clock.rang();
    const now = Date.now();
    let next: number | null = null;
    try {
      this.connections.closeExpired(now, TOKEN_EXPIRED_CLOSE_CODE);
    } catch (err) {
      this.logError("closeExpiredSockets", err);
    }
    try {
      if (this.exists()) next = await this.onAlarm(now);
    } catch (err) {
      this.logError("alarm", err);
      next = Date.now() + 1_000;
    }
    this.clock.wakeAtEarliest(next, this.connections.nextExpiry);
    this.flushMetricsIfDue();
  }

  // ---- RPC and logs -----------------------------------------------------------------------------------

  /**
   * Runs an RPC method for the Worker: thrown ApiErrors become a `Result` (an exception loses
   * its class and fields crossing RPC), anything else is logged and answered as internal.
   */
  protected rpc<T>(handler: string, run: () => Promise<T> | T): Promise<Result<T>> {
    return this.tracedRpc(undefined, handler, run);
  }

  /**
   * As `rpc`, for a method that acts for a request: `traceId`, the caller's (src/trace.ts), is the
   * current trace id while it runs, so the object's log lines and the notifications it queues on
   * the way carry it, as the Worker's do.
   */
  protected async tracedRpc<T>(
    traceId: string | undefined,
    handler: string,
    run: () => Promise<T> | T,
  ): Promise<Result<T>> {
    const trace = traceIdOf(traceId);
    try {
      return trace === undefined
        ? await this.answer(handler, run)
        : await withTraceId(trace, () => this.answer(handler, run));
    } finally {
      this.flushMetricsIfDue();
    }
  }

  private async answer<T>(handler: string, run: () => Promise<T> | T): Promise<Result<T>> {
    try {
      if (!this.exists()) throw notFound(`${this.kind} not found`);
      return ok(await run());
    } catch (err) {
      if (err instanceof ApiError) return fail(err);
      this.logError(handler, err);
      return fail(new ApiError(500, "internal", "internal error"));
    }
  }

  protected logError(handler: string, err: unknown): void {
    // Class and handler name only: never message bodies, tokens or coordinates. The trace id, when
    // the object works for a request that named one (an RPC's argument, a forwarded request's header).
    logJson("error", { where: `${this.kind}.${handler}`, reason: errorReason(err) });
  }
}
