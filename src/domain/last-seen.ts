/**
 * @module domain/last-seen
 * Whether a viewer may read a user's last seen: always their own; never while the user blocks
 * them; otherwise as the user's setting says (everyone; contacts, the users they share a direct
 * conversation with; nobody). And when a room writes it: `LastSeenThrottle`.
 */
import type { LastSeenVisibility } from "../protocol/http";

export function lastSeenVisible(facts: {
  self: boolean;
  visibility: LastSeenVisibility;
  blocksViewer: boolean;
  contact: boolean;
}): boolean {
  if (facts.self) return true;
  if (facts.blocksViewer) return false;
  if (facts.visibility === "everyone") return true;
  return facts.visibility === "contacts" && facts.contact;
}

/** Last seen is shown to the minute: a room writes a user's again on a reconnect only a minute after its last write. */
export const LAST_SEEN_RESOLUTION_MS = 60_000;

/**
 * Which of a room's presence changes write a user's last seen. A close always does, so that last seen is right once
 * the user has left. A user's first connection does unless this room wrote theirs less than a minute ago: a reconnect
 * (a flaky network, an app brought back) would move it by less than it is shown to. Memory only, per room object:
 * a woken room writes the next change, as before the throttle.
 */
export class LastSeenThrottle {
  /** When this room last wrote each user's last seen; entries older than the resolution are dropped as it grows. */
  private readonly writtenAt = new Map<string, number>();

  constructor(private readonly sweepAbove = 1_000) {}

  /** Whether `event` of `userId` at `now` writes their last seen; a write it allows counts as done. */
  shouldWrite(userId: string, event: "join" | "leave", now: number): boolean {
    const last = this.writtenAt.get(userId);
    if (event === "join" && last !== undefined && now - last < LAST_SEEN_RESOLUTION_MS) return false;
    this.writtenAt.set(userId, now);
    if (this.writtenAt.size > this.sweepAbove) this.sweep(now);
    return true;
  }

  private sweep(now: number): void {
    for (const [userId, at] of this.writtenAt) {
      if (now - at >= LAST_SEEN_RESOLUTION_MS) this.writtenAt.delete(userId);
    }
  }

  /** How many users the throttle holds (for its tests). */
  get size(): number {
    return this.writtenAt.size;
  }
}
