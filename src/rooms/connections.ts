/**
 * @module rooms/connections
 * Who is connected to a room object, in memory: its hibernatable sockets with the identity and
 * token expiry from their attachments (rebuilt after a wake), each socket's abuse guard, and a
 * count of live connections (sockets and SSE streams) per user, so presence and "is anyone
 * offline" are O(1) rather than a scan of every socket per message.
 */
import type { GuardSettings } from "./socket-guard";
import { SocketGuard } from "./socket-guard";
import { SocketAttachment } from "./identity";

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

  constructor(private readonly guardSettings: GuardSettings) {}

  /** Takes in a socket (just accepted, or found again after a wake) with what its attachment says. */
  add(ws: WebSocket, who: SocketAttachment): void {
    this.sockets.set(ws, who);
    this.count(who.userId);
    this.earliestExpiry = Math.min(this.earliestExpiry ?? Number.POSITIVE_INFINITY, who.expiresAt);
  }

  /** A socket's identity and session, or undefined once it is forgotten. */
  of(ws: WebSocket): SocketAttachment | undefined {
    return this.sockets.get(ws);
  }

  /** A renewed token: same user, later expiry. */
  renew(ws: WebSocket, who: SocketAttachment): void {
    if (this.sockets.has(ws)) this.sockets.set(ws, who);
  }

  /**
   * Drops a socket; returns whose it was, or null if it was dropped before. A socket whose close
   * event wakes the object is not among the sockets rebuilt after the wake; its attachment
   * still says whose it was.
   */
  forget(ws: WebSocket): string | null {
    if (this.forgotten.has(ws)) return null;
    this.forgotten.add(ws);
    const counted = this.sockets.get(ws);
    if (counted) {
      this.sockets.delete(ws);
      this.uncount(counted.userId);
      return counted.userId;
    }
    const parsed = SocketAttachment.safeParse(ws.deserializeAttachment());
    return parsed.success ? parsed.data.userId : null;
  }

  /** Every open socket with its identity. */
  all(): IterableIterator<[WebSocket, SocketAttachment]> {
    return this.sockets.entries();
  }

  /** Every open socket. */
  openSockets(): IterableIterator<WebSocket> {
    return this.sockets.keys();
  }

  /** One more live connection of this user (a socket, or an SSE stream). */
  count(userId: string): void {
    this.perUser.set(userId, (this.perUser.get(userId) ?? 0) + 1);
  }

  uncount(userId: string): void {
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

  /** The sockets whose token has expired by `now`; recomputes the next expiry from the others. */
  expired(now: number): WebSocket[] {
    if (this.earliestExpiry === null || this.earliestExpiry > now) return [];
    const due: WebSocket[] = [];
    let next: number | null = null;
    for (const [ws, who] of this.sockets) {
      if (who.expiresAt <= now) due.push(ws);
      else next = Math.min(next ?? Number.POSITIVE_INFINITY, who.expiresAt);
    }
    this.earliestExpiry = next;
    return due;
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
