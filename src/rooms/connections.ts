/**
 * @module rooms/connections
 * Who is connected to a room object, and sending to them, in memory: its hibernatable sockets
 * with the identity and token expiry from their attachments (rebuilt after a wake), each
 * socket's abuse guard, its SSE streams and waiting long polls (rooms/fallbacks.ts), and a
 * count of live connections (sockets and streams) per user, so presence and "is anyone
 * offline" are O(1) rather than a scan of every socket per message.
 */
import type { Identity } from "../auth/jwt";
import { EventStreams, LongPolls, sseEvent } from "./fallbacks";
import { SocketAttachment, type SocketSession } from "./identity";
import type { GuardSettings } from "./socket-guard";
import { SocketGuard } from "./socket-guard";

/** What the sends count (src/metrics.ts): frames out, and of those the stored events (deliveries). */
export type SendCounts = { sent(frames: number): void; delivered(frames: number): void };

const UNCOUNTED: SendCounts = { sent: () => undefined, delivered: () => undefined };

/** Close codes a peer may not send back (RFC 6455 §7.4.1): never echoed in a close. */
const UNSENDABLE_CLOSE_CODES = new Set([1005, 1006, 1015]);

export class Connections {
  private readonly sockets = new Map<WebSocket, SocketAttachment>();
  /** Sockets already forgotten: one closed for abuse is not announced again by its close event. */
  private readonly forgotten = new WeakSet<WebSocket>();
  private readonly guards = new WeakMap<WebSocket, SocketGuard>();
  /** Live connections (sockets and SSE streams) per user. */
  private readonly perUser = new Map<string, number>();
  /**
   * No socket's token expires before this (epoch ms; null: no socket). May be early (a socket
   * that left or renewed), never late; `closeExpired` recomputes it.
   */
  private earliestExpiry: number | null = null;
  private readonly eventStreams: EventStreams;
  readonly longPolls = new LongPolls();

  /** `ended` hears of every socket and stream that ends, once each, after it is counted out. */
  constructor(
    private readonly guardSettings: GuardSettings,
    private readonly ended: (userId: string) => void,
    private readonly counts: SendCounts = UNCOUNTED,
  ) {
    this.eventStreams = new EventStreams((identity) => {
      this.uncount(identity.userId);
      ended(identity.userId);
    });
  }

  // ---- sending ----------------------------------------------------------------------------------

  /** A stored event to every socket and stream; answers the long polls waiting for it. */
  publish(text: string, seq: number): void {
    for (const ws of this.sockets.keys()) trySend(ws, text);
    // Most rooms have no stream open: no SSE event is built for nobody.
    if (this.eventStreams.count > 0) this.eventStreams.send(sseEvent(text, seq));
    this.longPolls.stored(seq);
    this.countSends(this.sockets.size + this.eventStreams.count, true);
  }

  /** One count per send loop (not per socket): a room of 1,000 costs what a room of one does. */
  private countSends(frames: number, stored: boolean): void {
    if (frames === 0) return;
    this.counts.sent(frames);
    if (stored) this.counts.delivered(frames);
  }

  /**
   * A stored event that `hiding` users do not see: they get `instead` (the same seq), everyone
   * else `text`; answers the long polls, which read the log through their own view.
   */
  publishHiding(text: string, seq: number, hiding: ReadonlySet<string>, instead: string): void {
    for (const [ws, who] of this.sockets) trySend(ws, hiding.has(who.userId) ? instead : text);
    if (this.eventStreams.count > 0) {
      this.eventStreams.sendWhere(sseEvent(text, seq), (userId) => !hiding.has(userId));
      this.eventStreams.sendWhere(sseEvent(instead, seq), (userId) => hiding.has(userId));
    }
    this.longPolls.stored(seq);
    this.countSends(this.sockets.size + this.eventStreams.count, true);
  }

  /** An ephemeral frame (no seq, not kept) to every socket but `except`, and every stream. */
  broadcast(text: string, except?: WebSocket): void {
    for (const ws of this.sockets.keys()) if (ws !== except) trySend(ws, text);
    if (this.eventStreams.count > 0) this.eventStreams.send(sseEvent(text));
    this.countSends(this.sockets.size - (except && this.sockets.has(except) ? 1 : 0) + this.eventStreams.count, false);
  }

  /** An ephemeral frame to one user's sockets and streams; returns how many it reached. */
  sendTo(userId: string, text: string): number {
    let sent = 0;
    for (const [ws, who] of this.sockets) if (who.userId === userId && trySend(ws, text)) sent++;
    sent += this.eventStreams.send(sseEvent(text), userId);
    this.countSends(sent, false);
    return sent;
  }

  /** Opens an SSE stream, counted as a connection before its prelude (rooms/fallbacks.ts). */
  openStream(identity: Identity, session: SocketSession, prelude: () => string[], maxQueuedBytes: number): Response {
    this.count(identity.userId);
    return this.eventStreams.open(identity, session, prelude, maxQueuedBytes);
  }

  // ---- ending connections ---------------------------------------------------------------------

  /**
   * Ends everything `userId` has here: sockets (closed with `code`), streams, and waiting polls
   * (answered now). Returns how many. Counted out at once: presence and notifications must not
   * wait for the client's close frame.
   */
  closeUser(userId: string, code: number, reason: string): number {
    let closed = 0;
    for (const [ws, who] of [...this.sockets]) {
      if (who.userId !== userId) continue;
      if (closeQuietly(ws, code, reason)) closed++;
      this.forget(ws);
    }
    return closed + this.eventStreams.closeUser(userId) + this.longPolls.wakeUser(userId);
  }

  /** Ends the user's sockets (4003-style `code`) and streams opened with a session `ended` matches. */
  closeSessions(userId: string, ended: (sid: string) => boolean, code: number): number {
    let closed = 0;
    for (const [ws, who] of [...this.sockets]) {
      if (who.userId !== userId || !ended(who.sid)) continue;
      this.close(ws, code, "session ended");
      closed++;
    }
    return closed + this.eventStreams.closeSessions(userId, ended);
  }

  /** Closes sockets whose token expired by `now` with `code`; recomputes the next expiry from the others. */
  closeExpired(now: number, code: number): void {
    if (this.earliestExpiry === null || this.earliestExpiry > now) return;
    let next: number | null = null;
    for (const [ws, who] of [...this.sockets]) {
      if (who.expiresAt <= now) this.close(ws, code, "token expired");
      else next = Math.min(next ?? Number.POSITIVE_INFINITY, who.expiresAt);
    }
    this.earliestExpiry = next;
  }

  /**
   * The client closed a socket: counts it out and completes the close handshake with the
   * client's code, unless that code is one a peer may not send (RFC 6455 §7.4.1).
   */
  closedByClient(ws: WebSocket, code: number): void {
    this.forget(ws);
    if (!UNSENDABLE_CLOSE_CODES.has(code)) closeQuietly(ws, code, "closing");
  }

  /** Closes one socket and counts it out. */
  close(ws: WebSocket, code: number, reason: string): void {
    closeQuietly(ws, code, reason);
    this.forget(ws);
  }

  // ---- sockets ----------------------------------------------------------------------------------

  /** Takes in a socket (just accepted, or found again after a wake) with what its attachment says. */
  /**
   * The sockets the runtime kept through hibernation, from their attachments; one whose
   * attachment no longer parses cannot be trusted with an identity and is closed.
   */
  restore(sockets: WebSocket[]): void {
    for (const ws of sockets) {
      const attachment = SocketAttachment.safeParse(ws.deserializeAttachment());
      if (attachment.success) this.add(ws, attachment.data);
      else ws.close(1011, "lost session");
    }
  }

  add(ws: WebSocket, who: SocketAttachment): void {
    this.sockets.set(ws, who);
    this.count(who.userId);
    this.earliestExpiry = Math.min(this.earliestExpiry ?? Number.POSITIVE_INFINITY, who.expiresAt);
  }

  /** A socket's identity and session, or undefined once it is forgotten. */
  of(ws: WebSocket): SocketAttachment | undefined {
    return this.sockets.get(ws);
  }

  /** A renewed token (same user, later expiry), or another change to what the socket carries. */
  renew(ws: WebSocket, who: SocketAttachment): void {
    if (this.sockets.has(ws)) this.sockets.set(ws, who);
  }

  /** Every open socket with what its attachment says. */
  entries(): IterableIterator<[WebSocket, SocketAttachment]> {
    return this.sockets.entries();
  }

  /**
   * Counts a socket out (closed, errored, or closed by us) and tells `ended`, once. A socket
   * whose close event wakes the object is not among the sockets rebuilt after the wake; its
   * attachment still says whose it was.
   */
  forget(ws: WebSocket): void {
    if (this.forgotten.has(ws)) return;
    this.forgotten.add(ws);
    const counted = this.sockets.get(ws);
    if (counted) {
      this.sockets.delete(ws);
      this.uncount(counted.userId);
    }
    const who = counted ?? SocketAttachment.safeParse(ws.deserializeAttachment()).data;
    if (who) this.ended(who.userId);
  }

  /** One more live connection of this user (a socket, or an SSE stream). */
  private count(userId: string): void {
    this.perUser.set(userId, (this.perUser.get(userId) ?? 0) + 1);
  }

  private uncount(userId: string): void {
    const left = (this.perUser.get(userId) ?? 0) - 1;
    if (left > 0) this.perUser.set(userId, left);
    else this.perUser.delete(userId);
  }

  /** How many sockets and streams this user has open here. */
  openBy(userId: string): number {
    return this.perUser.get(userId) ?? 0;
  }

  isOnline(userId: string): boolean {
    return this.perUser.has(userId);
  }

  /** Users with a live connection. */
  users(): string[] {
    return [...this.perUser.keys()];
  }

  /** How many users `users` would list. */
  get userCount(): number {
    return this.perUser.size;
  }

  /** When the first socket's token expires, if any socket is open. */
  get nextExpiry(): number | null {
    return this.earliestExpiry;
  }

  /** The socket's abuse guard, made on its first frame (guards live in memory only: see SocketGuard). */
  guardOf(ws: WebSocket, now: number): SocketGuard {
    let guard = this.guards.get(ws);
    if (!guard) {
      guard = new SocketGuard(this.guardSettings, now);
      this.guards.set(ws, guard);
    }
    return guard;
  }
}

/** Closes a socket unless it is closing already; true when this call closed it. */
export function closeQuietly(ws: WebSocket, code: number, reason: string): boolean {
  try {
    ws.close(code, reason);
    return true;
  } catch {
    return false;
  }
}

/** Sends, unless the socket is closing (its close handler cleans up); true when sent. */
export function trySend(ws: WebSocket, text: string): boolean {
  try {
    ws.send(text);
    return true;
  } catch {
    return false;
  }
}
