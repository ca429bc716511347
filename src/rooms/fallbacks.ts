/**
 * @module rooms/fallbacks
 * The two fallbacks for clients whose network breaks WebSockets, served by the room object
 * from the same log as its sockets: Server-Sent Events (`id:` is the seq, `Last-Event-ID`
 * resumes) and long polls (answered at once when newer events exist, else on the next one or
 * at the timeout). Both live in memory only: an open stream or a waiting poll keeps the
 * object awake, and a client that loses one comes back with its last seq. A stream ends when
 * its token expires (the client reconnects with a fresh one), or when its session is ended.
 */
import type { Identity } from "../auth/jwt";
import { ApiError } from "../errors";
import { PollQuery } from "../protocol/http";
import type { SlowConsumerFrame } from "../protocol/frames";
import type { SocketSession } from "./identity";
import { pollPage, type ReadableLog } from "./resume";

const HEARTBEAT_MS = 15_000;
/** The `id:` line that starts a stored event (see `sseEvent`). */
const STORED_EVENT_ID = /^id: (\d+)\n/;
const encoder = new TextEncoder();

type Stream = {
  identity: Identity;
  /** The token's session and expiry: the stream ends when it does. */
  session: SocketSession;
  /** The timer that ends the stream at its token's expiry. */
  expiry: ReturnType<typeof setTimeout> | null;
  writer: WritableStreamDefaultWriter<Uint8Array>;
  /** Bytes written and not yet taken by the client's side (a write settles once it is read). */
  queuedBytes: number;
  /** Past this many queued bytes the client is too slow: the stream ends with `slow_consumer`. */
  maxQueuedBytes: number;
  /** The newest seq written to this stream, for the `slow_consumer` frame. */
  lastSeq: number | null;
};

/** How long a cut-off stream may take to hand over what it holds before it is aborted. */
const CUT_OFF_GRACE_MS = 30_000;

export const SSE_HEADERS = {
  "Content-Type": "text/event-stream; charset=utf-8",
  "Cache-Control": "no-cache, no-transform",
  "X-Accel-Buffering": "no",
};

/**
 * An SSE event. `id` is the seq the client has seen once it holds this event: a stored
 * frame's own seq; none for an ephemeral frame, which leaves the browser's Last-Event-ID as
 * it was (SSE keeps the last id it was given).
 */
export function sseEvent(text: string, id?: number): string {
  return `${id === undefined ? "" : `id: ${id}\n`}data: ${text}\n\n`;
}

export class EventStreams {
  /** Open SSE streams; gone when the object is evicted, which also ends them. */
  private readonly streams = new Set<Stream>();
  /**
   * Comment lines keep proxies from closing an idle stream. A timer is right here (unlike
   * for sockets, which hibernate): an open stream keeps the object awake anyway.
   */
  private heartbeat: ReturnType<typeof setInterval> | null = null;

  /** `ended` hears of every stream that ends, whoever ended it (the client, or `closeUser`). */
  constructor(private readonly ended: (identity: Identity) => void) {}

  /**
   * Opens a stream and writes `prelude()` first (welcome, replay, synced or reset). The stream
   * is counted open before the prelude is built, so a welcome lists its own user online.
   */
  open(identity: Identity, session: SocketSession, prelude: () => string[], maxQueuedBytes: number): Response {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const stream: Stream = {
      identity,
      session,
      expiry: null,
      writer: writable.getWriter(),
      queuedBytes: 0,
      maxQueuedBytes,
      lastSeq: null,
    };
    this.streams.add(stream);
    try {
      for (const chunk of prelude()) this.write(stream, chunk);
    } catch (err) {
      this.drop(stream);
      throw err;
    }
    // A client that goes away cancels the readable side, which errors the writer at once:
    // the stream is noticed closed without waiting for the next write or heartbeat.
    stream.writer.closed.then(
      () => this.drop(stream),
      () => this.drop(stream),
    );
    this.heartbeat ??= setInterval(() => this.each(() => true, ": heartbeat\n\n"), HEARTBEAT_MS);
    // A timer is right here as for the heartbeat: the open stream keeps the object awake anyway.
    stream.expiry = setTimeout(() => this.drop(stream), Math.max(0, session.expiresAt - Date.now()));
    return new Response(readable, { headers: SSE_HEADERS });
  }

  /** How many streams are open. */
  get count(): number {
    return this.streams.size;
  }

  /** Writes to every stream, or to one user's; returns how many streams it went to. */
  send(chunk: string, userId?: string): number {
    return this.each((s) => userId === undefined || s.identity.userId === userId, chunk);
  }

  /** Writes to the streams of the users `match` takes; returns how many streams it went to. */
  sendWhere(chunk: string, match: (userId: string) => boolean): number {
    return this.each((s) => match(s.identity.userId), chunk);
  }

  /** Ends one user's streams (they lost access to the room), after what was already written; returns how many. */
  closeUser(userId: string): number {
    let closed = 0;
    for (const stream of [...this.streams]) {
      if (stream.identity.userId !== userId) continue;
      this.drop(stream);
      closed++;
    }
    return closed;
  }

  /** Ends the user's streams opened with a token of a session that `ended` matches; answers how many. */
  closeSessions(userId: string, ended: (sid: string) => boolean): number {
    let closed = 0;
    for (const stream of [...this.streams]) {
      if (stream.identity.userId !== userId || !ended(stream.session.sid)) continue;
      this.drop(stream);
      closed++;
    }
    return closed;
  }

  private each(match: (stream: Stream) => boolean, chunk: string): number {
    let sent = 0;
    for (const stream of [...this.streams]) {
      if (!match(stream)) continue;
      if (this.write(stream, chunk)) sent++;
    }
    return sent;
  }

  /**
   * Writes one event, unless the client has left too much unread: a stream's queue lives in
   * this object's memory, so a reader that stops reading is cut off (see `cutOff`) rather than
   * buffered without bound. False when it was not written.
   */
  private write(stream: Stream, chunk: string): boolean {
    const bytes = encoder.encode(chunk);
    if (stream.queuedBytes + bytes.length > stream.maxQueuedBytes) {
      this.cutOff(stream);
      return false;
    }
    stream.queuedBytes += bytes.length;
    const seq = STORED_EVENT_ID.exec(chunk);
    if (seq) stream.lastSeq = Number(seq[1]);
    // A client that went away makes the write fail; `closed` has dropped the stream already.
    stream.writer.write(bytes).then(
      () => (stream.queuedBytes -= bytes.length),
      () => this.drop(stream),
    );
    return true;
  }

  /**
   * Ends a stream whose client fell behind: a last `error` event (code `slow_consumer`, with
   * the newest seq the stream was given) says to come back with its Last-Event-ID, which
   * replays what it missed from the log. The queue already held is handed over if the client
   * reads it soon; otherwise the stream is aborted and its memory freed.
   */
  private cutOff(stream: Stream): void {
    if (!this.streams.has(stream)) return;
    const frame = {
      type: "error",
      code: "slow_consumer",
      message: "this stream fell too far behind; reconnect with your Last-Event-ID to resume",
      seq: stream.lastSeq,
    } satisfies SlowConsumerFrame;
    stream.writer.write(encoder.encode(sseEvent(JSON.stringify(frame)))).catch(() => undefined);
    const grace = setTimeout(() => stream.writer.abort("slow consumer").catch(() => undefined), CUT_OFF_GRACE_MS);
    stream.writer.closed.then(
      () => clearTimeout(grace),
      () => clearTimeout(grace),
    );
    this.drop(stream);
  }

  private drop(stream: Stream): void {
    if (!this.streams.delete(stream)) return;
    if (stream.expiry !== null) clearTimeout(stream.expiry);
    stream.writer.close().catch(() => undefined);
    if (this.streams.size === 0 && this.heartbeat !== null) {
      clearInterval(this.heartbeat);
      this.heartbeat = null;
    }
    this.ended(stream.identity);
  }
}

type Waiter = { since: number; userId: string | undefined; wake: () => void };

export class LongPolls {
  /** Polls waiting for an event after their `since`; memory only. */
  private readonly waiters = new Set<Waiter>();

  /** Resolves when an event after `since` is stored, after `timeoutMs`, or when `wakeUser` names `userId`. */
  wait(since: number, timeoutMs: number, userId?: string): Promise<void> {
    return new Promise((resolve) => {
      const waiter: Waiter = {
        since,
        userId,
        wake: () => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(waiter.wake, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Answers this user's waiting polls now (their connections are being ended); returns how many. */
  wakeUser(userId: string): number {
    let woken = 0;
    for (const waiter of [...this.waiters]) {
      if (waiter.userId !== userId) continue;
      waiter.wake();
      woken++;
    }
    return woken;
  }

  /** A new event with this seq was stored. */
  stored(seq: number): void {
    for (const waiter of [...this.waiters]) if (seq > waiter.since) waiter.wake();
  }
}

/** What a long poll needs of its room. */
export type PollContext = {
  log: () => ReadableLog;
  /** The seq below which this reader may not read (rooms/resume.ts). */
  floor: number;
  userId: string;
  /** A poll never waits past its token's expiry. */
  tokenExpiresAt: number;
  polls: LongPolls;
  /** Why the user's connections are refused here now (a ban), or null. */
  refusal: () => string | null;
  /** The answer carries the events through `seq` to this user (a chat room's delivered mark). */
  answered?: (seq: number) => void;
};

/**
 * `{ events, seq }`: the stored events after `since` (a page), at once when there are any,
 * else after waiting up to `timeout` seconds for the next one.
 */
export async function answerLongPoll(url: URL, room: PollContext): Promise<Response> {
  const query = PollQuery.safeParse(Object.fromEntries(url.searchParams));
  if (!query.success)
    return errorResponse(
      new ApiError(400, "invalid_request", "since must be a non-negative integer and timeout 0 to 30 seconds"),
    );
  const { since, timeout } = query.data;
  const ready = pollPage(room.log(), since, room.floor);
  if (ready) {
    room.answered?.(ready.seq);
    return pollAnswer(ready.texts, ready.seq);
  }
  const wait = Math.min(timeout * 1000, room.tokenExpiresAt - Date.now());
  if (wait > 0) {
    await room.polls.wait(since, wait, room.userId);
    // Woken because the user's connections were ended here (a ban): no answer but the refusal.
    const refused = room.refusal();
    if (refused) return errorResponse(new ApiError(403, "forbidden", refused));
  }
  const page = pollPage(room.log(), since, room.floor) ?? { texts: [], seq: since };
  if (page.texts.length > 0) room.answered?.(page.seq);
  return pollAnswer(page.texts, page.seq);
}

/** The frames are stored as JSON text already: the answer is put together without re-parsing them. */
function pollAnswer(texts: string[], seq: number): Response {
  return new Response(`{"events":[${texts.join(",")}],"seq":${seq}}`, {
    headers: { "Content-Type": "application/json" },
  });
}

export function errorResponse(err: ApiError): Response {
  return Response.json(err.toBody(), { status: err.status });
}
