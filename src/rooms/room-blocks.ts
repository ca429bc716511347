/**
 * @module rooms/room-blocks
 * A chat room's copy of the blocks between its members (db/blocks.ts is the record; the Worker
 * tells the room of each change, and of a joiner's blocks). In a group room a blocker does not
 * see what the user they block does there: that user's messages, edits, deletes and reactions
 * reach the blocker as a `hidden` frame that only carries the seq (their client's cursor moves
 * on, with no gap to resume), in replays and long polls too, and history leaves them out. In a
 * direct conversation a block stops the sending instead (chat-room.ts).
 *
 * The common case is a room where nobody blocks anybody: `any` is a field read, and the message
 * path then does exactly what it did before blocks existed (no parse, no lookup per socket).
 */
import type { HiddenFrame } from "../protocol/frames";
import type { ReadableLog } from "./resume";

export type BlockPair = { blocker: string; blocked: string };

/** Stored frames that carry an actor, each under a key named as the frame's type. */
const ACTED = new Set(["message", "edit", "delete", "reaction"]);

/** The user who did what a stored frame records (a message's author, a reaction's user…), or null. */
export function actorOf(text: string): string | null {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof data !== "object" || data === null) return null;
  const frame = data as Record<string, unknown>;
  if (typeof frame.type !== "string" || !ACTED.has(frame.type)) return null;
  const body = frame[frame.type];
  const userId = typeof body === "object" && body !== null ? (body as Record<string, unknown>).userId : undefined;
  return typeof userId === "string" ? userId : null;
}

/** What a viewer gets instead of a stored frame they hide: the seq alone. */
export function hiddenText(seq: number): string {
  return JSON.stringify({ type: "hidden", seq } satisfies HiddenFrame);
}

export class RoomBlocks {
  /**
   * Who hides whom: blocked user → the users who block them. Loaded from the table on first
   * use after a wake, then kept with it; lives as long as the object is awake.
   */
  private byBlocked: Map<string, Set<string>> | null = null;

  constructor(private readonly sql: SqlStorage) {
    sql.exec(
      `CREATE TABLE IF NOT EXISTS blocks (blocker TEXT NOT NULL, blocked TEXT NOT NULL,
       PRIMARY KEY (blocker, blocked))`,
    );
  }

  private get map(): Map<string, Set<string>> {
    if (this.byBlocked === null) {
      this.byBlocked = new Map();
      for (const row of this.sql.exec<BlockPair>(`SELECT blocker, blocked FROM blocks`)) this.remember(row);
    }
    return this.byBlocked;
  }

  private remember({ blocker, blocked }: BlockPair): void {
    const viewers = this.map.get(blocked) ?? new Set<string>();
    viewers.add(blocker);
    this.map.set(blocked, viewers);
  }

  /** Whether anybody here blocks anybody. */
  get any(): boolean {
    return this.map.size > 0;
  }

  set(pair: BlockPair, on: boolean): void {
    if (on) {
      this.sql.exec(
        `INSERT INTO blocks (blocker, blocked) VALUES (?, ?) ON CONFLICT DO NOTHING`,
        pair.blocker,
        pair.blocked,
      );
      this.remember(pair);
      return;
    }
    this.sql.exec(`DELETE FROM blocks WHERE blocker = ? AND blocked = ?`, pair.blocker, pair.blocked);
    this.forget(pair);
  }

  private forget({ blocker, blocked }: BlockPair): void {
    const viewers = this.map.get(blocked);
    viewers?.delete(blocker);
    if (viewers?.size === 0) this.map.delete(blocked);
  }

  /** Forgets every block involving `userId` (they left), then holds `pairs` (theirs as they join). */
  replaceFor(userId: string, pairs: readonly BlockPair[] = []): void {
    const gone = this.sql
      .exec<BlockPair>(`DELETE FROM blocks WHERE blocker = ? OR blocked = ? RETURNING blocker, blocked`, userId, userId)
      .toArray();
    for (const pair of gone) this.forget(pair);
    for (const pair of pairs) if (pair.blocker === userId || pair.blocked === userId) this.set(pair, true);
  }

  /** The users who hide what `actor` does, if any. */
  viewersHiding(actor: string): ReadonlySet<string> | undefined {
    return this.map.get(actor);
  }

  hides(viewer: string, actor: string): boolean {
    return this.map.get(actor)?.has(viewer) ?? false;
  }

  /** Whether `viewer` blocks anybody here. */
  hidesAnyone(viewer: string): boolean {
    if (!this.any) return false;
    for (const viewers of this.map.values()) if (viewers.has(viewer)) return true;
    return false;
  }

  /** `log` as `viewer` reads it: the frames of users they block replaced by `hidden` ones. */
  viewOf(log: ReadableLog, viewer: string): ReadableLog {
    const hides = (actor: string | null) => actor !== null && this.hides(viewer, actor);
    return {
      get lastSeq() {
        return log.lastSeq;
      },
      get firstSeq() {
        return log.firstSeq;
      },
      *after(since: number) {
        for (const event of log.after(since))
          yield hides(actorOf(event.frame)) ? { seq: event.seq, frame: hiddenText(event.seq) } : event;
      },
    };
  }
}
