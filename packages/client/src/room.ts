/**
 * @module client/room
 * A live connection to one channel (a chat room, a trip room or the driver channel) that
 * survives the network:
 *
 * - reconnects with exponential backoff and full jitter, and resumes with `?since=<last seq>`;
 *   stored frames are handed on in seq order exactly once (a repeat, seq <= the last one seen,
 *   is dropped; a gap makes it resume again), and a `reset` is passed on so the app reloads
 *   over HTTP;
 * - an outbox: frames sent with `send` carry a client-chosen `id` and are sent again after
 *   every reconnect until the server acknowledges them (the server applies an id once and
 *   acknowledges a repeat with the same seq);
 * - heartbeats: `{"type":"ping"}` every so often, and a connection whose `pong` does not come
 *   back in time is dead: it is dropped and replaced;
 * - a token hook called before every reconnect (tokens travel as `?access_token=`, since
 *   browsers cannot set headers on a WebSocket), and tokens renewed in-band: before the
 *   socket's token expires, and whenever the client refreshed its session, the new token goes
 *   as an `auth` frame (the server closes a socket whose token expired with 4001, and one
 *   whose session ended with 4003; a connection whose session cannot be refreshed closes);
 * - a fallback for networks that break WebSockets while HTTP works: Server-Sent Events read
 *   from fetch() (`id:` = seq, resumed with `Last-Event-ID`), with chat messages posted over
 *   HTTP with `Idempotency-Key` = the frame's id, and a driver's accepts, declines and fixes
 *   sent to their HTTP routes. WebSockets are tried again later.
 *
 * Web-standard APIs only (fetch, WebSocket, AbortController, TextDecoder, timers).
 */
import { fullJitter, RateBucket } from "./backoff";
import { Emitter } from "./emitter";
import { RidewireError } from "./errors";
import {
  frameHead,
  STORED_TYPES,
  type AckFrame,
  type ChannelFrames,
  type ChatFrames,
  type DriverFrames,
  type OpsDeskFrames,
  type ErrorFrame,
  type TripFrames,
} from "./frames";
import type { FetchLike } from "./types";
import { newId } from "./ids";
import { renewalMarginMs, tokenTimes } from "./session";
import { SseParser } from "./sse";
import {
  CLOSE_BANNED,
  MEMBERSHIP_ENDED_CLOSE_CODE,
  SESSION_ENDED_CLOSE_CODE,
  TOKEN_EXPIRED_CLOSE_CODE,
} from "../../../src/protocol/close-codes";

/** The part of a WebSocket the SDK uses: the browser's, Node 22's, Deno's and Bun's all fit. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "open" | "error", listener: () => void): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  addEventListener(type: "close", listener: (event: { code: number; reason: string }) => void): void;
}
export type WebSocketConstructor = new (url: string) => SocketLike;

export type Transport = "websocket" | "sse";

export type ReconnectInfo = {
  /** Consecutive failed or lost connections so far (1 on the first reconnect). */
  attempt: number;
  transport: Transport;
};

export type RoomOptions = {
  /**
   * Resume from this seq on the first connect: every stored event after it is replayed (0:
   * everything the room keeps). Without it the first connection starts at the room's newest
   * event; load older history over HTTP.
   */
  since?: number;
  /** The token of this connection; by default the HTTP client's. */
  token?: string | (() => string | null | Promise<string | null>);
  /**
   * Called before every reconnect (not before the first connect); what it returns is the token
   * from then on. Refresh an expiring token here: a browser cannot see a 401 on a WebSocket.
   */
  refreshToken?: (info: ReconnectInfo) => string | Promise<string>;
  /** A WebSocket implementation, when the runtime has no global one. */
  WebSocket?: WebSocketConstructor;
  fetch?: FetchLike;
  /** Reconnect delays: full jitter under min(maxDelayMs, initialDelayMs * 2^attempt). Defaults 500 ms and 30 s. */
  backoff?: { initialDelayMs?: number; maxDelayMs?: number };
  /** A ping every `intervalMs` (25 s); no pong within `timeoutMs` (10 s) drops the connection. `false` turns it off. */
  heartbeat?: { intervalMs?: number; timeoutMs?: number } | false;
  /** A connection without its `welcome` after this long is given up (default 10 s). */
  connectTimeoutMs?: number;
  /** "auto" (default): WebSocket, falling back to SSE; or one of them only. */
  transport?: "auto" | Transport;
  /** WebSocket failures in a row, while HTTP works, that switch to SSE (default 3). */
  fallbackAfter?: number;
  /** How long to stay on SSE before trying a WebSocket again (default 5 min). */
  fallbackHoldMs?: number;
  /** An SSE stream silent this long is dead (the server sends a comment every 15 s; default 45 s). */
  sseIdleTimeoutMs?: number;
  /** Frames per second and burst this client sends at most (the server's limits: 10 and 20). */
  rate?: { perSecond: number; burst: number };
};

/** Lifecycle events, next to one event per server frame type. */
export type LifecycleEvents = {
  /** A connection is up: its `welcome` arrived. `resumed` when it continues from an earlier seq. */
  open: { transport: Transport; resumed: boolean };
  /** A connection ended; another follows unless `close()` was called. */
  disconnect: { transport: Transport; code?: number; reason: string };
  /** The next attempt is due in `delayMs`. */
  reconnecting: { attempt: number; delayMs: number; transport: Transport };
  /** The connection switched between WebSocket and SSE. */
  transport: { transport: Transport; reason: string };
  /** `close()` was called. */
  closed: { reason: string };
};

type FrameEvents<F extends { type: string }> = { [T in F["type"]]: Extract<F, { type: T }> };
/** Every event of a connection: lifecycle events, `frame` (any frame handed on) and one per frame type. */
export type RoomEvents<F extends ChannelFrames> = FrameEvents<F["server"]> & LifecycleEvents & { frame: F["server"] };

/** What `send` resolves with: the server's acknowledgement, with the seq of the stored event if one was stored. */
export type Ack = { id: string; seq?: number };

export type ConnectionState = "connecting" | "open" | "waiting" | "closed";

/** What the HTTP client gives a connection: where, with which token, and how to post a chat message. */
export type RoomContext = {
  baseUrl: string;
  /** e.g. "/v1/rooms/room_123"; `/ws`, `/events` and `/messages` are below it. */
  path: string;
  fetch: FetchLike;
  token: () => Promise<string | null>;
  /**
   * The HTTP route that does what `frame` does, for the SSE fallback: resolves with its ack, or
   * null when the frame has no such route (it then waits for a socket). `frame.id` is the
   * Idempotency-Key where the route takes one.
   */
  postFrame: (frame: { type: string; id: string }, signal: AbortSignal) => Promise<Ack | null>;
  /** The same for an ephemeral frame (a driver's fix): false when it has no route. */
  postVolatile: (frame: { type: string }) => boolean;
  /** Hears of every new access token of the client's session; returns the unsubscribe. */
  onToken?: (listener: (token: string) => void) => () => void;
  /**
   * A token from a refresh made now, whatever the current token's expiry: after a 4003 (this
   * session ended) the current token is useless. Throws `session_expired` when the client's
   * session cannot be refreshed.
   */
  refresh?: () => Promise<string | null>;
};

type Kind = keyof typeof STORED_TYPES;
type Pending<C> = {
  frame: C & { id: string };
  resolve: (ack: Ack) => void;
  reject: (err: RidewireError) => void;
  /** The connection it was last sent on; it goes again on any later one. */
  sentOn: number | null;
};

const HEALTH_TIMEOUT_MS = 3_000;

export class RoomConnection<F extends ChannelFrames> extends Emitter<RoomEvents<F>> {
  /** The seq of the last stored event handed on; null before the first welcome (without `since`). */
  lastSeq: number | null;
  /** Stored frames dropped as repeats so far (they reach the client again after a resume). */
  duplicatesDropped = 0;
  /** Connections opened so far (welcomes received). */
  connections = 0;

  private readonly stored: ReadonlySet<string>;
  private readonly WebSocketImpl: WebSocketConstructor | undefined;
  private readonly backoff: { initialDelayMs: number; maxDelayMs: number };
  private readonly heartbeat: { intervalMs: number; timeoutMs: number } | null;
  private readonly bucket: RateBucket;
  /** Unacknowledged frames by id, in the order they were sent. */
  private readonly outbox = new Map<string, Pending<F["client"]>>();

  private stateValue: ConnectionState = "connecting";
  private transportValue: Transport;
  private tokenValue: string | null | undefined;
  /** Identifies the current connection; callbacks of an older one see a different number and stop. */
  private generation = 0;
  /** Failed or lost connections since the last welcome. */
  private failures = 0;
  /** WebSocket attempts in a row that failed while HTTP answered. */
  private wsFailures = 0;
  private fallbackAt = 0;
  private opened = false;
  private socket: SocketLike | null = null;
  private abort: AbortController | null = null;
  /** Timers of the current connection (connect timeout, heartbeat, flush); cleared when it ends. */
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private httpFlushing = false;
  /** The token the current connection was opened or last renewed with. */
  private connectionToken: string | null = null;
  /** The last socket was closed with 4003: the next connect refreshes first. */
  private sessionEnded = false;
  /** Stops hearing of the client's new tokens; called by `close()`. */
  private readonly stopTokens: () => void;

  constructor(
    readonly kind: Kind,
    private readonly context: RoomContext,
    private readonly options: RoomOptions = {},
  ) {
    super();
    this.stored = STORED_TYPES[kind];
    this.lastSeq = options.since ?? null;
    this.WebSocketImpl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    this.backoff = {
      initialDelayMs: options.backoff?.initialDelayMs ?? 500,
      maxDelayMs: options.backoff?.maxDelayMs ?? 30_000,
    };
    this.heartbeat =
      options.heartbeat === false
        ? null
        : { intervalMs: options.heartbeat?.intervalMs ?? 25_000, timeoutMs: options.heartbeat?.timeoutMs ?? 10_000 };
    this.bucket = new RateBucket(options.rate?.perSecond ?? 10, options.rate?.burst ?? 20);
    this.transportValue = options.transport === "sse" ? "sse" : "websocket";
    this.tokenValue = typeof options.token === "string" ? options.token : undefined;
    if (this.transportValue === "websocket" && !this.WebSocketImpl) {
      if (options.transport === "websocket")
        throw new Error("ridewire: this runtime has no WebSocket; pass one as options.WebSocket");
      this.transportValue = "sse";
    }
    // A fixed token of this connection cannot be renewed; otherwise the client's new tokens go on the socket.
    this.stopTokens =
      typeof options.token === "string"
        ? () => undefined
        : (context.onToken?.((token) => this.renew(this.generation, token)) ?? (() => undefined));
    // Listeners are added by the caller right after construction: connect on the next turn.
    setTimeout(() => void this.connect(), 0);
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  get transport(): Transport {
    return this.transportValue;
  }

  /** Frames sent with `send` that wait for their acknowledgement. */
  get pending(): number {
    return this.outbox.size;
  }

  /** Resolves when a connection is open (at once if one is). */
  whenOpen(timeoutMs = 30_000): Promise<void> {
    if (this.stateValue === "open") return Promise.resolve();
    if (this.stateValue === "closed") return Promise.reject(new RidewireError(0, "closed", "the connection is closed"));
    return this.next("open", () => true, timeoutMs).then(() => undefined);
  }

  /**
   * Sends a frame the server applies once and acknowledges: it gets an `id` if it has none,
   * waits in the outbox while disconnected, and goes again after each reconnect until acked.
   * Resolves with the ack (its `seq` is the stored event's); rejects with the server's error
   * frame as a RidewireError, or when the connection is closed.
   */
  send(frame: F["client"]): Promise<Ack> {
    if (this.stateValue === "closed") return Promise.reject(new RidewireError(0, "closed", "the connection is closed"));
    const withId = { ...frame, id: frame.id ?? newId() } as F["client"] & { id: string };
    const existing = this.outbox.get(withId.id);
    if (existing)
      return new Promise((resolve, reject) =>
        this.outbox.set(withId.id, {
          ...existing,
          resolve: chain(existing.resolve, resolve),
          reject: chain(existing.reject, reject),
        }),
      );
    const promise = new Promise<Ack>((resolve, reject) =>
      this.outbox.set(withId.id, { frame: withId, resolve, reject, sentOn: null }),
    );
    this.flush();
    return promise;
  }

  /**
   * Sends an ephemeral frame (typing, a location fix) now, without id or outbox; returns false
   * when it could not go (not connected, over the rate, or on SSE with no HTTP route for it:
   * a driver's fix has one, typing has none).
   */
  sendVolatile(frame: F["client"]): boolean {
    if (this.stateValue !== "open") return false;
    if (this.transportValue === "sse") return this.bucket.take() && this.context.postVolatile(frame);
    if (!this.socket || !this.bucket.take()) return false;
    return this.trySend(JSON.stringify(frame));
  }

  /**
   * Drops the current connection as if the network had (for tests, and for apps that know
   * better, e.g. after the device changed networks); a new one resumes after the usual delay.
   */
  reconnect(reason = "reconnect requested"): void {
    if (this.stateValue === "closed") return;
    if (this.stateValue === "waiting") {
      if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
      this.reconnectTimer = null;
      void this.connect();
      return;
    }
    this.lost(this.generation, { reason }, true);
  }

  /** Closes for good: no reconnect, and frames still in the outbox are rejected with `closed`. */
  close(reason = "closed by the client"): void {
    if (this.stateValue === "closed") return;
    this.stateValue = "closed";
    this.generation++;
    this.stopTokens();
    this.endConnection(1000, reason);
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    for (const pending of this.outbox.values())
      pending.reject(new RidewireError(0, "closed", "the connection was closed before the frame was acknowledged"));
    this.outbox.clear();
    this.fire("closed", { reason });
  }

  // ---- connecting ---------------------------------------------------------------------------

  private async connect(): Promise<void> {
    if (this.stateValue === "closed") return;
    const gen = ++this.generation;
    this.stateValue = "connecting";
    let token: string | null;
    try {
      token = await this.currentToken();
    } catch (err) {
      // The session is over (refresh refused): no token will come, so stop rather than retry forever.
      if (err instanceof RidewireError && err.code === "session_expired")
        return this.close(`session ended: ${err.message}`);
      if (gen === this.generation)
        this.lost(gen, { reason: `token: ${err instanceof Error ? err.message : String(err)}` }, false);
      return;
    }
    if (gen !== this.generation) return;
    this.connectionToken = token;
    this.maybeReturnToWebSocket();
    if (this.transportValue === "websocket") this.openSocket(gen, token);
    else void this.openStream(gen, token);
    const connectTimeout = this.options.connectTimeoutMs ?? 10_000;
    this.later(gen, connectTimeout, () => {
      if (this.stateValue === "connecting") this.lost(gen, { reason: `no welcome within ${connectTimeout} ms` }, false);
    });
  }

  private async currentToken(): Promise<string | null> {
    if (this.sessionEnded && this.context.refresh && typeof this.options.token !== "string") {
      this.sessionEnded = false;
      this.tokenValue = undefined;
      return await this.context.refresh();
    }
    if (this.failures > 0 || this.opened) {
      if (this.options.refreshToken) {
        this.tokenValue = await this.options.refreshToken({
          attempt: Math.max(1, this.failures),
          transport: this.transportValue,
        });
        return this.tokenValue;
      }
    }
    if (this.tokenValue !== undefined) return this.tokenValue;
    const source = this.options.token;
    if (typeof source === "function") return await source();
    return await this.context.token();
  }

  private openSocket(gen: number, token: string | null): void {
    const params = new URLSearchParams();
    if (this.lastSeq !== null) params.set("since", String(this.lastSeq));
    if (token) params.set("access_token", token);
    const url = `${this.context.baseUrl.replace(/^http/i, "ws")}${this.context.path}/ws?${params}`;
    const WebSocketImpl = this.WebSocketImpl;
    let socket: SocketLike;
    try {
      if (!WebSocketImpl) throw new Error("this runtime has no WebSocket");
      socket = new WebSocketImpl(url);
    } catch (err) {
      this.lost(gen, { reason: `WebSocket: ${err instanceof Error ? err.message : String(err)}` }, false);
      return;
    }
    this.socket = socket;
    socket.addEventListener("message", (event) => {
      if (gen !== this.generation) return;
      if (typeof event.data === "string") this.receive(gen, event.data);
    });
    socket.addEventListener("close", (event) => {
      if (gen !== this.generation) return;
      const reason = event.reason || `closed with ${event.code}`;
      if (event.code === CLOSE_BANNED || event.code === MEMBERSHIP_ENDED_CLOSE_CODE) {
        // The account was banned (src/rooms/disconnect.ts), or the user left, was removed or was
        // banned from this room: a reconnect would only be refused.
        this.fire("disconnect", { transport: this.transportValue, code: event.code, reason });
        return this.close(reason);
      }
      // An expired token: reconnect at once, with a fresh one. An ended session: the next
      // connect's token refresh fails if it really ended, and that closes this connection.
      const renewable = event.code === TOKEN_EXPIRED_CLOSE_CODE || event.code === SESSION_ENDED_CLOSE_CODE;
      if (event.code === SESSION_ENDED_CLOSE_CODE) this.sessionEnded = true;
      this.lost(gen, { code: event.code, reason }, renewable);
    });
    // The spec follows an error with a close event, but Node's WebSocket (undici) fires only
    // the error when the handshake fails (a 401, a proxy's 403): the error ends the connection.
    socket.addEventListener("error", () => {
      if (gen === this.generation) this.lost(gen, { reason: "WebSocket error" }, false);
    });
  }

  /** SSE over fetch: the same frames as the socket, one `data:` each, with `id:` = seq. */
  private async openStream(gen: number, token: string | null): Promise<void> {
    const abort = new AbortController();
    this.abort = abort;
    const headers: Record<string, string> = { Accept: "text/event-stream", "Cache-Control": "no-cache" };
    // fetch can send a header, unlike EventSource: the token stays out of URLs and logs.
    if (token) headers.Authorization = `Bearer ${token}`;
    if (this.lastSeq !== null) headers["Last-Event-ID"] = String(this.lastSeq);
    const query = this.lastSeq === null ? "" : `?since=${this.lastSeq}`;
    try {
      const response = await this.context.fetch(`${this.context.baseUrl}${this.context.path}/events${query}`, {
        headers,
        signal: abort.signal,
      });
      if (gen !== this.generation) return void response.body?.cancel().catch(() => undefined);
      if (!response.ok || !response.body) {
        await response.body?.cancel().catch(() => undefined);
        return this.lost(gen, { code: response.status, reason: `SSE answered HTTP ${response.status}` }, false);
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      const parser = new SseParser({ event: (event) => gen === this.generation && this.receive(gen, event.data) });
      const idleMs = this.options.sseIdleTimeoutMs ?? 45_000;
      let idle = this.later(gen, idleMs, () => this.lost(gen, { reason: `SSE silent for ${idleMs} ms` }, false));
      for (;;) {
        const { done, value } = await reader.read();
        if (gen !== this.generation) return void reader.cancel().catch(() => undefined);
        if (done) break;
        this.clear(idle);
        idle = this.later(gen, idleMs, () => this.lost(gen, { reason: `SSE silent for ${idleMs} ms` }, false));
        parser.push(decoder.decode(value, { stream: true }));
      }
      this.lost(gen, { reason: "SSE stream ended" }, false);
    } catch (err) {
      if (gen === this.generation)
        this.lost(gen, { reason: `SSE: ${err instanceof Error ? err.message : String(err)}` }, false);
    }
  }

  // ---- frames in ------------------------------------------------------------------------------

  private receive(gen: number, text: string): void {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      return;
    }
    const head = frameHead(data);
    if (!head) return;
    // The head is checked; the rest of the frame is the server's, typed by `type` (protocol module).
    const frame = data as F["server"];
    switch (head.type) {
      case "welcome":
        this.welcomed(gen, head, frame);
        return;
      case "synced":
        if (head.seq !== undefined) this.lastSeq = Math.max(this.lastSeq ?? 0, head.seq);
        this.hand(frame);
        return;
      case "reset":
        // The log no longer holds our seq: the app reloads over HTTP, and live events continue from here.
        if (head.seq !== undefined) this.lastSeq = head.seq;
        this.hand(frame);
        return;
      case "pong":
        this.pongDue = null;
        this.hand(frame);
        return;
      case "ack":
        this.acked(head);
        this.hand(frame);
        return;
      case "error":
        this.rejected(gen, data as ErrorFrame);
        this.hand(frame);
        return;
    }
    if (this.stored.has(head.type) && head.seq !== undefined) {
      if (this.lastSeq !== null && head.seq <= this.lastSeq) {
        this.duplicatesDropped++;
        return;
      }
      if (this.lastSeq !== null && head.seq > this.lastSeq + 1) {
        // Never skip: resume from the last seq handed on, and the missing ones come first.
        this.lost(gen, { reason: `gap: seq ${head.seq} after ${this.lastSeq}` }, true);
        return;
      }
      this.lastSeq = head.seq;
    }
    this.hand(frame);
  }

  private hand(frame: F["server"]): void {
    this.fire("frame", frame);
    this.fire(frame.type, frame);
  }

  /** `emit` by name: for a generic channel the compiler cannot tell frame events from lifecycle ones. */
  private fire<K extends keyof LifecycleEvents>(type: K, payload: LifecycleEvents[K]): void;
  private fire(type: string, payload: F["server"]): void;
  private fire(type: string, payload: unknown): void {
    (this.emit as (type: string, payload: unknown) => void)(type, payload);
  }

  private welcomed(gen: number, head: { seq?: number }, frame: F["server"]): void {
    const resumed = this.lastSeq !== null;
    // Without a cursor the connection starts at the room's newest event (no replay follows).
    if (this.lastSeq === null && head.seq !== undefined) this.lastSeq = head.seq;
    this.stateValue = "open";
    this.failures = 0;
    if (this.transportValue === "websocket") this.wsFailures = 0;
    this.opened = true;
    this.connections++;
    this.bucket.reset();
    for (const pending of this.outbox.values()) pending.sentOn = null;
    this.hand(frame);
    this.fire("open", { transport: this.transportValue, resumed });
    if (this.transportValue === "websocket") {
      this.beat(gen);
      this.scheduleRenewal(gen);
    }
    this.flush();
  }

  private acked(head: { id?: string; seq?: number }): void {
    if (head.id === undefined) return;
    const pending = this.outbox.get(head.id);
    if (!pending) return;
    this.outbox.delete(head.id);
    pending.resolve({ id: head.id, ...(head.seq === undefined ? {} : { seq: head.seq }) });
  }

  private rejected(gen: number, frame: ErrorFrame): void {
    if (frame.id === undefined) return;
    const pending = this.outbox.get(frame.id);
    if (!pending) return;
    if (frame.code === "rate_limited") {
      // Not applied: it goes again once the bucket refills.
      pending.sentOn = null;
      this.later(gen, 1_000, () => this.flush());
      return;
    }
    this.outbox.delete(frame.id);
    pending.reject(new RidewireError(0, frame.code, frame.message));
  }

  // ---- frames out -----------------------------------------------------------------------------

  /** Sends what the outbox holds that this connection has not sent yet, in order, within the rate. */
  private flush(): void {
    if (this.stateValue !== "open") return;
    if (this.transportValue === "sse") return void this.flushOverHttp(this.generation);
    const gen = this.generation;
    for (const pending of this.outbox.values()) {
      if (pending.sentOn === gen) continue;
      if (!this.bucket.take()) {
        this.later(gen, this.bucket.waitMs(), () => this.flush());
        return;
      }
      if (!this.trySend(JSON.stringify(pending.frame))) return;
      pending.sentOn = gen;
    }
  }

  /**
   * On SSE, frames with an HTTP route go as requests (chat messages with Idempotency-Key = the
   * frame's id, a driver's accept or decline); the others wait for a socket.
   */
  private async flushOverHttp(gen: number): Promise<void> {
    if (this.httpFlushing) return;
    this.httpFlushing = true;
    const abort = this.abort;
    try {
      for (const pending of [...this.outbox.values()]) {
        if (gen !== this.generation || this.stateValue !== "open" || !abort) return;
        const frame = pending.frame;
        if (!this.outbox.has(frame.id)) continue;
        try {
          const ack = await this.context.postFrame(frame, abort.signal);
          if (ack === null) continue;
          this.outbox.delete(frame.id);
          pending.resolve(ack);
        } catch (err) {
          const error = err instanceof RidewireError ? err : new RidewireError(0, "network_error", String(err));
          // The server said no: that is the frame's answer. Anything else: it stays for the next connection.
          if (error.status >= 400 && error.status < 500 && error.status !== 429 && error.status !== 401) {
            this.outbox.delete(frame.id);
            pending.reject(error);
            continue;
          }
          if (gen === this.generation) this.later(gen, (error.retryAfter ?? 1) * 1000, () => this.flush());
          return;
        }
      }
    } finally {
      this.httpFlushing = false;
    }
  }

  private trySend(text: string): boolean {
    try {
      this.socket?.send(text);
      return this.socket !== null;
    } catch {
      // Closing: the close event reconnects, and the outbox goes again then.
      return false;
    }
  }

  // ---- token renewal --------------------------------------------------------------------------------

  /** Shortly before the socket's token expires, fetch a fresh one (the client refreshes) and send it. */
  private scheduleRenewal(gen: number): void {
    const token = this.connectionToken;
    const expiresAt = token ? tokenTimes(token)?.expiresAt : undefined;
    if (!token || expiresAt === undefined || typeof this.options.token === "string") return;
    const due = Math.max(0, expiresAt - renewalMarginMs(token) - Date.now());
    this.later(gen, due, () => {
      this.nextToken().then(
        (next) => {
          if (next) this.renew(gen, next);
        },
        (err: unknown) => {
          if (err instanceof RidewireError && err.code === "session_expired")
            this.close(`session ended: ${err.message}`);
          // Otherwise the server closes at expiry (4001) and the reconnect tries again.
        },
      );
    });
  }

  /** A token for renewal: the connection's own source's, or a fresh one of the client's session. */
  private async nextToken(): Promise<string | null> {
    const source = this.options.token;
    if (typeof source === "function") return await source();
    const token = await this.context.token();
    // A timer may fire a hair early, while the client still hands out this very token: refresh now.
    return token === this.connectionToken && this.context.refresh ? await this.context.refresh() : token;
  }

  /** Sends a new token on the open socket of connection `gen` as an `auth` frame. */
  private renew(gen: number, token: string): void {
    if (gen !== this.generation || this.stateValue !== "open" || this.transportValue !== "websocket") return;
    if (token === this.connectionToken) return;
    // Straight to the socket, not the outbox: if it drops, the reconnect carries the new token anyway.
    if (!this.trySend(JSON.stringify({ type: "auth", id: newId(), token }))) return;
    this.connectionToken = token;
    this.tokenValue = this.tokenValue === undefined ? undefined : token;
    this.scheduleRenewal(gen);
  }

  // ---- heartbeats ---------------------------------------------------------------------------------

  /** When the pong of the last ping is due; null when none is outstanding. */
  private pongDue: number | null = null;

  private beat(gen: number): void {
    const heartbeat = this.heartbeat;
    if (!heartbeat) return;
    this.later(gen, heartbeat.intervalMs, () => {
      // The exact text the rooms answer without waking (setWebSocketAutoResponse). An
      // unanswered ping keeps its deadline: later pings do not move it.
      this.pongDue ??= Date.now() + heartbeat.timeoutMs;
      this.trySend('{"type":"ping"}');
      const due = this.pongDue;
      this.later(gen, Math.max(0, due - Date.now()), () => {
        if (this.pongDue !== null && Date.now() >= this.pongDue)
          this.lost(gen, { reason: `no pong within ${heartbeat.timeoutMs} ms` }, false);
      });
      this.beat(gen);
    });
  }

  // ---- losing a connection ------------------------------------------------------------------------

  /**
   * The connection `gen` is over (closed, failed, silent, or dropped on purpose). Counts the
   * failure, decides on the transport, and schedules the next attempt (at once for `immediate`).
   */
  private lost(gen: number, why: { code?: number; reason: string }, immediate: boolean): void {
    if (gen !== this.generation || this.stateValue === "closed") return;
    const transport = this.transportValue;
    const wasOpen = this.stateValue === "open";
    this.generation++;
    this.endConnection(4000, why.reason);
    this.stateValue = "waiting";
    this.pongDue = null;
    this.fire("disconnect", { transport, ...(why.code === undefined ? {} : { code: why.code }), reason: why.reason });
    if (!immediate) this.failures++;
    const next = this.generation;
    const schedule = () => {
      if (next !== this.generation || this.stateValue !== "waiting") return;
      const delayMs = immediate ? 0 : fullJitter(Math.max(0, this.failures - 1), this.backoff);
      this.fire("reconnecting", { attempt: this.failures, delayMs, transport: this.transportValue });
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = null;
        if (next === this.generation) void this.connect();
      }, delayMs);
    };
    if (transport === "websocket" && !wasOpen && !immediate && this.mayFallBack()) {
      // A socket that never opened: if plain HTTP works, the WebSocket path is what is broken.
      void this.httpWorks().then((works) => {
        if (works) this.wsFailures++;
        if (this.wsFailures >= (this.options.fallbackAfter ?? 3))
          this.switchTransport("sse", `${this.wsFailures} WebSocket attempts failed while HTTP works`);
        schedule();
      });
      return;
    }
    schedule();
  }

  private mayFallBack(): boolean {
    return (this.options.transport ?? "auto") === "auto";
  }

  /** On SSE past the hold time, the next connection tries a WebSocket again (one failure sends it back). */
  private maybeReturnToWebSocket(): void {
    if (this.transportValue !== "sse" || !this.mayFallBack() || !this.WebSocketImpl) return;
    if (Date.now() - this.fallbackAt < (this.options.fallbackHoldMs ?? 300_000)) return;
    this.wsFailures = (this.options.fallbackAfter ?? 3) - 1;
    this.switchTransport("websocket", "trying WebSocket again");
  }

  private switchTransport(transport: Transport, reason: string): void {
    if (this.transportValue === transport) return;
    this.transportValue = transport;
    if (this.holdTimer !== null) clearTimeout(this.holdTimer);
    this.holdTimer = null;
    if (transport === "sse") {
      this.fallbackAt = Date.now();
      // A stream that lives on past the hold time is ended on purpose, so the next connection tries a socket.
      this.holdTimer = setTimeout(() => {
        this.holdTimer = null;
        if (this.transportValue === "sse" && this.stateValue === "open")
          this.lost(this.generation, { reason: "trying WebSocket again" }, true);
      }, this.options.fallbackHoldMs ?? 300_000);
    }
    this.fire("transport", { transport, reason });
  }

  /** Ends the SSE hold (see switchTransport); lives until then or `close()`. */
  private holdTimer: ReturnType<typeof setTimeout> | null = null;

  private async httpWorks(): Promise<boolean> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), HEALTH_TIMEOUT_MS);
    try {
      const response = await this.context.fetch(`${this.context.baseUrl}/health`, { signal: abort.signal });
      await response.body?.cancel().catch(() => undefined);
      return response.ok;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  private endConnection(code: number, reason: string): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      try {
        socket.close(code, reason.slice(0, 120));
      } catch {
        // already closed
      }
    }
    this.abort?.abort();
    this.abort = null;
    if (this.stateValue === "closed" && this.holdTimer !== null) {
      clearTimeout(this.holdTimer);
      this.holdTimer = null;
    }
  }

  /** A timer of connection `gen`: it does nothing once that connection is over. */
  private later(gen: number, ms: number, run: () => void): ReturnType<typeof setTimeout> {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (gen === this.generation) run();
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  private clear(timer: ReturnType<typeof setTimeout>): void {
    clearTimeout(timer);
    this.timers.delete(timer);
  }
}

export type ChatConnection = RoomConnection<ChatFrames>;
export type TripConnection = RoomConnection<TripFrames>;
export type DriverConnection = RoomConnection<DriverFrames>;
export type OpsDeskConnection = RoomConnection<OpsDeskFrames>;

function chain<T>(first: (value: T) => void, second: (value: T) => void): (value: T) => void {
  return (value) => {
    first(value);
    second(value);
  };
}

export type { AckFrame };
