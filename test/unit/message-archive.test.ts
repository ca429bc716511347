// The write-behind copy of chat messages to D1: one INSERT … SELECT over json_each of the stored
// frames per flush (split only when the JSON would outgrow D1's limit on one value, which local
// D1 in the worker tests does not enforce, so it is checked here on the statements themselves).
// Edits, deletes and reactions follow the inserts, in seq order. The worker tests run the SQL.
import { describe, expect, it } from "vitest";
import { MAX_ARCHIVE_JSON_CHARS, messageInserts } from "../../src/db/messages";
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

describe("messageInserts", () => {
  it("copies a whole flush of messages in one statement, the stored frames as one JSON parameter", () => {
    const events = Array.from({ length: 100 }, (_, i) => messageEvent(i + 1, i % 2 === 0 ? 1 : undefined));
    const statements = messageInserts(events);
    expect(statements).toHaveLength(1);
    const [insert] = statements;
    expect(insert!.sql).toMatch(/^insert into "messages" .* select .* from json_each\(\?\)/is);
    expect(insert!.sql).toMatch(/on conflict do nothing$/i);
    expect(insert!.params).toHaveLength(1);
    // The exact stored text, in seq order: nothing re-serialised on the way.
    expect(insert!.params[0]).toBe(`[${events.map((e) => e.frame).join(",")}]`);
  });

  it("skips events that are not chat messages, and builds nothing for none", () => {
    const statements = messageInserts([otherEvent(1), messageEvent(2), otherEvent(3)]);
    expect(statements).toHaveLength(1);
    expect(JSON.parse(statements[0]!.params[0] as string)).toEqual([JSON.parse(messageEvent(2).frame)]);
    expect(messageInserts([otherEvent(1)])).toEqual([]);
  });

  it("splits a flush of long messages so that no parameter outgrows D1's limit on a value", () => {
    const long = (seq: number): StoredEvent => {
      const message = { id: `msg_room_${seq}`, roomId: "room", seq, userId: "usr_a", text: "x".repeat(120_000) };
      return {
        seq,
        frame: JSON.stringify({ type: "message", seq, message: { ...message, createdAt: 1 } }),
        createdAt: 1,
      };
    };
    const events = Array.from({ length: 10 }, (_, i) => long(i + 1));
    const statements = messageInserts(events);
    expect(statements.length).toBeGreaterThan(1);
    for (const s of statements) expect((s.params[0] as string).length).toBeLessThanOrEqual(MAX_ARCHIVE_JSON_CHARS);
    const seqs = statements.flatMap((s) => (JSON.parse(s.params[0] as string) as { seq: number }[]).map((f) => f.seq));
    expect(seqs).toEqual(events.map((e) => e.seq));
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
    const statements = messageInserts(events);
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
    // A tombstone keeps no attachments either.
    expect(remove!.params).toEqual(["", null, null, at, 6, null, "room", 1, 6]);
  });
});
