/**
 * @module rooms/fallbacks
 * The two fallbacks for clients whose network breaks WebSockets, served by the room object
 * from the same log as its sockets: Server-Sent Events (`id:` is the seq, `Last-Event-ID`
 * resumes) and long polls (answer at once when newer events exist, else on the next one or
 * at the timeout). Both live in memory only: an open stream or a waiting poll keeps the
 * object awake, and a client that loses one simply reconnects with its last seq.
 */
import type { Identity } from "../auth/jwt";

const HEARTBEAT_MS = 15_000;
const encoder = new TextEncoder();

type Stream = { identity: Identity; writer: WritableStreamDefaultWriter<Uint8Array> };

export class EventStreams {
  /** Open SSE streams; gone when the object is evicted, which also closes them. */
  private readonly streams = new Set<Stream>();
  /** Comment lines keep proxies from closing an idle stream. A timer is fine here: an open stream already keeps the object awake. */
  private heartbeat: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly onClosed: (identity: Identity) => void) {}

  /** Opens a stream; `prelude` is written first (welcome, replay, synced). */
  open(identity: Identity, prelude: string[]): Response {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const stream: Stream = { identity, writer: writable.getWriter() };
    this.streams.add(stream);
    for (const chunk of prelude) this.write(stream, chunk);
    this.heartbeat ??= setInterval(() => this.each((s) => this.write(s, ": heartbeat\n\n")), HEARTBEAT_MS);
    return new Response(readable, {
      headers: { "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no" },
    });
  }

  /** Writes to every stream, or to one user's. */
  send(chunk: string, userId?: string): void {
    this.each((s) => {
      if (userId === undefined || s.identity.userId === userId) this.write(s, chunk);
    });
  }

  hasUser(userId: string): boolean {
    for (const s of this.streams) if (s.identity.userId === userId) return true;
    return false;
  }

  users(): string[] {
    return [...this.streams].map((s) => s.identity.userId);
  }

  private each(fn: (stream: Stream) => void): void {
    for (const stream of [...this.streams]) fn(stream);
  }

  private write(stream: Stream, chunk: string): void {
    stream.writer.write(encoder.encode(chunk)).catch(() => this.drop(stream));
  }

  private drop(stream: Stream): void {
    if (!this.streams.delete(stream)) return;
    stream.writer.abort().catch(() => undefined);
    if (this.streams.size === 0 && this.heartbeat !== null) {
      clearInterval(this.heartbeat);
      this.heartbeat = null;
    }
    this.onClosed(stream.identity);
  }
}

/** An SSE event for a stored frame (resumable by its seq) or an ephemeral one (no id). */
export function sseEvent(text: string, seq?: number): string {
  return `${seq === undefined ? "" : `id: ${seq}\n`}data: ${text}\n\n`;
}

type Waiter = { since: number; wake: () => void };

export class LongPolls {
  /** Polls waiting for an event after their `since`; memory only. */
  private readonly waiters = new Set<Waiter>();

  /** Resolves when an event after `since` is stored, or after `timeoutMs`. */
  wait(since: number, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const waiter: Waiter = {
        since,
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

  /** A new event with this seq was stored. */
  stored(seq: number): void {
    for (const waiter of [...this.waiters]) if (seq > waiter.since) waiter.wake();
  }
}
