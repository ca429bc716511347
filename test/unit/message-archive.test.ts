// The write-behind copy of chat messages to D1 is several rows per INSERT, and D1 refuses a
// statement that binds more than 100 parameters. Local D1 (the worker tests) does not enforce
// that limit, so it is checked here on the statements themselves; 16 rows of 6 columns fit (a
// reply binds a 7th). Edits, deletes and reactions follow the inserts, in seq order.
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import { D1_MAX_BOUND_PARAMETERS, MESSAGE_ROWS_PER_INSERT, messageInserts } from "../../src/db/messages";
import type { StoredEvent } from "../../src/rooms/event-log";

function messageEvent(seq: number, replyTo?: number): StoredEvent {
  const message = {
    id: `msg_room_${seq}`,
    roomId: "room",
    seq,
    userId: "usr_a",
    text: `hello ${seq}`,
    createdAt: 1_000 + seq,
    ...(replyTo === undefined ? {} : { replyTo }),
  };
  return { seq, frame: JSON.stringify({ type: "message", seq, message }), createdAt: 1_000 + seq };
}

function otherEvent(seq: number): StoredEvent {
  return { seq, frame: JSON.stringify({ type: "status", seq, trip: { id: "trp_x" } }), createdAt: 1_000 + seq };
}

// Statements are only built and rendered to SQL here, never run, so no database is needed.
const db = drizzle({} as D1Database);

describe("messageInserts", () => {
  it("puts as many rows in one statement as D1's parameter limit allows, and never more", () => {
    const events = Array.from({ length: 40 }, (_, i) => messageEvent(i + 1));
    const statements = messageInserts(db, events).map((insert) => insert.toSQL());
    expect(MESSAGE_ROWS_PER_INSERT).toBe(16);
    expect(statements.map((s) => s.params.length / 6)).toEqual([16, 16, 8]);
    for (const s of statements) {
      expect(s.params.length).toBeLessThanOrEqual(D1_MAX_BOUND_PARAMETERS);
      expect(s.sql).toMatch(/on conflict do nothing$/i);
    }
    // Every message once, in seq order.
    const ids = statements.flatMap((s) => s.params.filter((p) => typeof p === "string" && p.startsWith("msg_")));
    expect(ids).toEqual(events.map((e) => `msg_room_${e.seq}`));
  });

  it("skips events that are not chat messages, and builds nothing for none", () => {
    const statements = messageInserts(db, [otherEvent(1), messageEvent(2), otherEvent(3)]).map((insert) =>
      insert.toSQL(),
    );
    expect(statements).toHaveLength(1);
    expect(statements[0]!.params).toEqual(["msg_room_2", "room", 2, "usr_a", "hello 2", 1_002]);
    expect(messageInserts(db, [otherEvent(1)])).toEqual([]);
  });

  it("packs replies, which bind reply_to too, within the limit as well", () => {
    const events = Array.from({ length: 40 }, (_, i) => messageEvent(i + 1, i % 2 === 0 ? 1 : undefined));
    const statements = messageInserts(db, events).map((insert) => insert.toSQL());
    for (const s of statements) expect(s.params.length).toBeLessThanOrEqual(D1_MAX_BOUND_PARAMETERS);
    expect(statements.reduce((rows, s) => rows + (s.sql.match(/\(/g)?.length ?? 0), 0)).toBeGreaterThan(40);
    const ids = statements.flatMap((s) => s.params.filter((p) => typeof p === "string" && p.startsWith("msg_")));
    expect(ids).toEqual(events.map((e) => `msg_room_${e.seq}`));
  });

  it("applies edits, deletes and reactions after the inserts, in seq order, each guarded by its seq", () => {
    const change = (seq: number, frame: object): StoredEvent => ({
      seq,
      frame: JSON.stringify({ seq, ...frame }),
      createdAt: 1_000 + seq,
    });
    const at = 5_000;
    const events = [
      change(2, { type: "edit", edit: { roomId: "room", messageSeq: 1, userId: "usr_a", text: "new", editedAt: at } }),
      messageEvent(3),
      change(4, {
        type: "reaction",
        reaction: { roomId: "room", messageSeq: 3, userId: "usr_b", emoji: "👍", on: true, count: 1, at },
      }),
      change(5, {
        type: "reaction",
        reaction: { roomId: "room", messageSeq: 3, userId: "usr_b", emoji: "👍", on: false, count: 0, at },
      }),
      change(6, { type: "delete", delete: { roomId: "room", messageSeq: 1, userId: "usr_a", deletedAt: at } }),
      // Not a change this module knows: left alone.
      change(7, { type: "edit", edit: { roomId: "room" } }),
    ];
    const statements = messageInserts(db, events).map((s) => s.toSQL());
    expect(statements.map((s) => s.sql.split(" ").slice(0, 3).join(" "))).toEqual([
      'insert into "messages"',
      'update "messages" set',
      'insert into "message_reactions"',
      'delete from "message_reactions"',
      'update "messages" set',
      'delete from "message_reactions"',
    ]);
    const [, edit, , , remove] = statements;
    expect(edit!.sql).toMatch(/coalesce\("messages"\."change_seq", 0\) < \?\)$/);
    expect(edit!.params).toEqual(["new", at, 2, "room", 1, 2]);
    expect(remove!.params).toEqual(["", null, null, at, 6, "room", 1, 6]);
  });
});
