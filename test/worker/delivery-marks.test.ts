// The delivered marks a chat room stores (rooms/delivery-marks.ts): what being online implied is
// one row for every online member, and a restart that closed their sockets with no close event
// leaves each the mark they had, never the events stored after it.
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { DeliveryMarks } from "../../src/rooms/delivery-marks";
import { unique } from "../helpers/api";
import { roomStub } from "../helpers/chat";

/** Runs `work` with the storage of a fresh room object, which it may open DeliveryMarks on as often as it likes. */
const withRoomSql = (work: (sql: SqlStorage) => void) =>
  runInDurableObject(roomStub(unique("marks")), (_room, state) => work(state.storage.sql));

/** Rows written by `work`, summed over every statement it ran on `sql`. */
function rowsWritten(sql: SqlStorage, work: () => void): number {
  const exec = sql.exec;
  let rows = 0;
  const cursors: SqlStorageCursor<Record<string, SqlStorageValue>>[] = [];
  sql.exec = ((query: string, ...bindings: unknown[]) => {
    const cursor = exec.call(sql, query, ...bindings);
    cursors.push(cursor);
    return cursor;
  }) as SqlStorage["exec"];
  try {
    work();
  } finally {
    sql.exec = exec;
  }
  for (const cursor of cursors) rows += cursor.rowsWritten;
  return rows;
}

describe("delivered marks", () => {
  it("stores what being online implied as one row for all online members, and only when it moved", async () => {
    await withRoomSql((sql) => {
      const marks = new DeliveryMarks(sql);
      const members = Array.from({ length: 50 }, (_, i) => `usr_${i}`);
      for (const id of members) marks.joined(id, 3);
      const online = new Set(members);
      expect(rowsWritten(sql, () => marks.storeOnline(online, 10))).toBe(1);
      expect(members.map((id) => marks.stored(id))).toEqual(members.map(() => 10));
      // Nothing new since: nothing written.
      expect(rowsWritten(sql, () => marks.storeOnline(online, 10))).toBe(0);
      expect(rowsWritten(sql, () => marks.storeOnline(online, 11))).toBe(1);
    });
  });

  it("writes nothing for a room with nobody online", async () => {
    await withRoomSql((sql) => {
      const marks = new DeliveryMarks(sql);
      marks.advance("usr_a", 4);
      expect(rowsWritten(sql, () => marks.storeOnline(new Set(), 9))).toBe(0);
      expect(marks.stored("usr_a")).toBe(4);
    });
  });

  it("keeps the mark of a member who left, and gives them nothing stored after", async () => {
    await withRoomSql((sql) => {
      const marks = new DeliveryMarks(sql);
      marks.joined("usr_a", 1);
      marks.joined("usr_b", 1);
      marks.storeOnline(new Set(["usr_a", "usr_b"]), 5);
      marks.left("usr_b", 7);
      marks.storeOnline(new Set(["usr_a"]), 12);
      expect(marks.stored("usr_a")).toBe(12);
      expect(marks.stored("usr_b")).toBe(7);
      // The same, read back from storage by the next run of the object.
      const again = new DeliveryMarks(sql);
      expect([again.stored("usr_a"), again.stored("usr_b")]).toEqual([12, 7]);
    });
  });

  it("after a restart with no close event, leaves each member the mark they had until they come back", async () => {
    await withRoomSql((sql) => {
      const before = new DeliveryMarks(sql);
      for (const id of ["usr_a", "usr_b", "usr_c"]) before.joined(id, 2);
      before.storeOnline(new Set(["usr_a", "usr_b", "usr_c"]), 8);

      // The object restarts: its sockets are gone with no close event. usr_c reconnects at seq 9.
      const after = new DeliveryMarks(sql);
      expect(["usr_a", "usr_b", "usr_c"].map((id) => after.stored(id))).toEqual([8, 8, 8]);
      after.joined("usr_c", 9);
      after.storeOnline(new Set(["usr_c"]), 15);
      expect(["usr_a", "usr_b", "usr_c"].map((id) => after.stored(id))).toEqual([8, 8, 15]);
      expect(new DeliveryMarks(sql).stored("usr_a")).toBe(8);
    });
  });

  it("moves a member's own mark forward only", async () => {
    await withRoomSql((sql) => {
      const marks = new DeliveryMarks(sql);
      marks.joined("usr_a", 6);
      marks.storeOnline(new Set(["usr_a"]), 10);
      expect(marks.advance("usr_a", 9)).toBe(false);
      expect(marks.advance("usr_a", 11)).toBe(true);
      marks.left("usr_a", 3);
      expect(marks.stored("usr_a")).toBe(11);
      marks.forget("usr_a");
      expect(marks.stored("usr_a")).toBe(0);
    });
  });

  it("brings a room's table from before the online flag up to date, keeping its marks", async () => {
    await withRoomSql((sql) => {
      sql.exec(`CREATE TABLE delivered (user_id TEXT PRIMARY KEY, seq INTEGER NOT NULL)`);
      sql.exec(`INSERT INTO delivered VALUES ('usr_a', 4)`);
      const marks = new DeliveryMarks(sql);
      expect(marks.stored("usr_a")).toBe(4);
      marks.joined("usr_a", 5);
      marks.storeOnline(new Set(["usr_a"]), 9);
      expect(new DeliveryMarks(sql).stored("usr_a")).toBe(9);
    });
  });
});
