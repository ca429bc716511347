/**
 * @module client/delivery
 * Delivery state on the client (docs/API.md, "Delivery state"): `DeliveryTracker` follows a
 * chat connection's frames and says of each message whether it is sent, delivered or read (a
 * direct conversation's ticks) and to how many members (a group's counts). The server's rule
 * is followed as it is: a member's delivered mark comes from `welcome.delivered` and
 * `delivered` frames, and while the member is online (presence) every stored event reaches them
 * as it is sent, so their mark follows the room's seq with no frame; read marks come from
 * `welcome.reads` and `read` frames, and reading implies delivery.
 *
 * Live counts include every member; history's `receipts` (from `messages()`) leave out members
 * who block the author, which a client cannot know: prefer those for a page you loaded.
 */
import { type ChatServerFrame, STORED_TYPES } from "./frames";

/** Where one message is for one recipient, or for the best of them. */
export type DeliveryStatus = "sent" | "delivered" | "read";

/** One message's state: its direct-conversation tick, and the group counts. */
export type MessageDelivery = { status: DeliveryStatus; deliveredTo: number; readBy: number };

export class DeliveryTracker {
  private readonly delivered = new Map<string, number>();
  private readonly reads = new Map<string, number>();
  private readonly online = new Set<string>();
  private members: string[] = [];
  /** The newest stored seq this connection has seen. */
  private seq = 0;

  /** Takes one frame of a chat connection (pass every `frame` event). */
  apply(frame: ChatServerFrame): void {
    switch (frame.type) {
      case "welcome":
        this.members = [...frame.members];
        this.delivered.clear();
        this.reads.clear();
        this.online.clear();
        for (const userId of frame.online) this.online.add(userId);
        for (const [userId, seq] of Object.entries(frame.delivered ?? {})) this.delivered.set(userId, seq);
        for (const [userId, seq] of Object.entries(frame.reads)) this.reads.set(userId, seq);
        this.seq = frame.seq;
        return;
      case "presence":
        if (frame.event === "join") this.online.add(frame.userId);
        else {
          // What being online implied stays: the server keeps it as the member's mark.
          this.raise(this.delivered, frame.userId, this.seq);
          this.online.delete(frame.userId);
        }
        return;
      case "delivered":
        this.raise(this.delivered, frame.userId, frame.seq);
        return;
      case "read":
        this.raise(this.reads, frame.userId, frame.seq);
        return;
      case "member":
        if (frame.member.event === "left" || frame.member.event === "removed") {
          this.members = this.members.filter((m) => m !== frame.member.userId);
          this.delivered.delete(frame.member.userId);
          this.reads.delete(frame.member.userId);
          this.online.delete(frame.member.userId);
        }
        this.seq = Math.max(this.seq, frame.seq);
        return;
      default:
        // Only a stored event moves the room's seq (a `delivered` or `read` frame carries a mark).
        if (STORED_TYPES.chat.has(frame.type) && "seq" in frame && typeof frame.seq === "number")
          this.seq = Math.max(this.seq, frame.seq);
    }
  }

  /** Through which seq everything reached `userId` (reading counts). */
  deliveredThrough(userId: string): number {
    const implied = this.online.has(userId) ? this.seq : 0;
    return Math.max(this.delivered.get(userId) ?? 0, this.reads.get(userId) ?? 0, implied);
  }

  readThrough(userId: string): number {
    return this.reads.get(userId) ?? 0;
  }

  /**
   * The state of the message at `seq` by `author`, over the other members: `read` when one read
   * it, else `delivered` when it reached one, else `sent`; and how many it reached and read it.
   */
  stateOf(seq: number, author: string): MessageDelivery {
    let deliveredTo = 0;
    let readBy = 0;
    for (const userId of this.members) {
      if (userId === author) continue;
      if (this.deliveredThrough(userId) >= seq) deliveredTo++;
      if (this.readThrough(userId) >= seq) readBy++;
    }
    const status = readBy > 0 ? "read" : deliveredTo > 0 ? "delivered" : "sent";
    return { status, deliveredTo, readBy };
  }

  private raise(marks: Map<string, number>, userId: string, seq: number): void {
    if (seq > (marks.get(userId) ?? 0)) marks.set(userId, seq);
  }
}
