// Rows written per chat message: the unit docs/SCALE.md bills chat storage by (each row per message
// is about $52,000 a month at the rate). Counted, not timed: every statement the room runs
// is wrapped to read its cursor's `rowsWritten` (index entries count, and so do the later deletes
// of trimming and of expired command ids), and the D1 archive's batch reports `meta.rows_written`.
// The budgets below are the measured counts (bench/PROFILE.md): a new row or index per message fails here.
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Commands } from "../../src/rooms/commands";
import { call, connectOk, createRoom, joinRoom, registerUser, unique } from "../helpers/api";
import { eventStorageOf, flushOutbox, postMessage, roomStub, settle, wsPath } from "../helpers/chat";
import { chatShard, copiedMark } from "../helpers/shards";

const DAY_MS = 24 * 60 * 60 * 1000;
const MESSAGES = 10;

type Tally = Map<string, number>;

/** Statements the room ran while `work` ran, with the rows each wrote (summed over runs). */
async function roomRowsDuring(roomId: string, work: () => Promise<void>): Promise<Tally> {
  const cursors: { query: string; cursor: SqlStorageCursor<Record<string, SqlStorageValue>> }[] = [];
  const proto = await runInDurableObject(roomStub(roomId), (_room, state) => Object.getPrototypeOf(state.storage.sql));
  const exec = proto.exec;
  proto.exec = function (this: SqlStorage, query: string, ...bindings: unknown[]) {
    const cursor = exec.call(this, query, ...bindings);
    cursors.push({ query: query.replace(/\s+/g, " ").trim(), cursor });
    return cursor;
  };
  try {
    await work();
  } finally {
    proto.exec = exec;
  }
  const tally: Tally = new Map();
  for (const { query, cursor } of cursors)
    if (cursor.rowsWritten > 0) tally.set(query, (tally.get(query) ?? 0) + cursor.rowsWritten);
  return tally;
}

/** Rows D1 reported written by the batches (the archive's write-behind) run while `work` ran. */
async function d1RowsDuring(d1: D1Database, work: () => Promise<void>): Promise<number> {
  let rows = 0;
  const proto = Object.getPrototypeOf(d1);
  const batch = proto.batch;
  proto.batch = async function (this: D1Database, statements: D1PreparedStatement[]) {
    const results: D1Result[] = await batch.call(this, statements);
    for (const result of results) rows += result.meta.rows_written ?? 0;
    return results;
  };
  try {
    await work();
  } finally {
    proto.batch = batch;
  }
  return rows;
}

/** The command ids inside a room object (inside `runInDurableObject`), to sweep them a day early. */
function commandsOf(instance: unknown): Commands {
  return (instance as { kept: { opened: { log: { commands: Commands } } } }).kept.opened.log.commands;
}

const total = (tally: Tally) => [...tally.values()].reduce((sum, n) => sum + n, 0);

describe("rows written per chat message", () => {
  it("stays within budget in the room (stored, then trimmed and its id swept) and in D1", async () => {
    const ada = await registerUser();
    const room = await createRoom(ada);
    const socket = await connectOk(wsPath(room.id), ada.token);
    await settle(socket);

    // Half over HTTP with an Idempotency-Key, half as frames with a client id: both are deduplicated.
    const stored = await roomRowsDuring(room.id, async () => {
      for (let i = 0; i < MESSAGES / 2; i++)
        await postMessage(ada, room.id, `http ${i}`, { "Idempotency-Key": unique("k") });
      for (let i = 0; i < MESSAGES / 2; i++) {
        const id = unique("c");
        socket.send({ type: "message", id, text: `ws ${i}` });
        await socket.next((f) => f.type === "ack" && f.id === id);
      }
    });
    const archived = await d1RowsDuring(chatShard(room.id), () => flushOutbox(room.id));
    // What retention later removes: the events (all copied to D1 by now) and the expired ids.
    const removed = await roomRowsDuring(room.id, () =>
      runInDurableObject(roomStub(room.id), (instance) => {
        eventStorageOf(instance).trim(0);
        commandsOf(instance).sweep(Date.now() + 2 * DAY_MS);
      }),
    );
    socket.close();

    const report = { stored: Object.fromEntries(stored), removed: Object.fromEntries(removed), archived };
    console.log(`rows written for ${MESSAGES} messages: ${JSON.stringify(report, null, 1)}`);
    // Budgets per message, the measured counts: stored 2 (the event, the command id), removed 2, D1 2
    // (the row and its (room_id, seq) key). Before: stored 4 (the command's rowid table had a key
    // index and a created_at index), removed 2, D1 3 (an `id` key besides the (room_id, seq) index).
    expect(total(stored) / MESSAGES, JSON.stringify(report)).toBeLessThanOrEqual(2);
    // The trim also moves its watermark in log_meta: two rows per trim, whatever its size (100+ in a room).
    expect(total(removed) - 2, JSON.stringify(report)).toBeLessThanOrEqual(2 * MESSAGES);
    expect(archived / MESSAGES, JSON.stringify(report)).toBeLessThanOrEqual(2);
  });
});

describe("rows written per read mark", () => {
  it("is one per mark moved, and the copy to D1 one per member who moved, however often", async () => {
    const ada = await registerUser();
    const bob = await registerUser();
    const room = await createRoom(ada);
    await joinRoom(bob, room.id);
    const reader = await connectOk(wsPath(room.id), bob.token);
    await settle(reader);
    const seqs: number[] = [];
    for (let i = 0; i < MESSAGES; i++) seqs.push((await postMessage(ada, room.id, `read me ${i}`)).seq);
    await flushOutbox(room.id);

    // Bob reads each message in turn, as the web app marks each message it shows.
    const marked = await roomRowsDuring(room.id, async () => {
      for (const [i, seq] of seqs.entries()) {
        reader.send({ type: "read", id: `r${i}`, seq });
        await reader.next((f) => f.type === "ack" && f.id === `r${i}`);
      }
    });
    const copied = await roomRowsDuring(room.id, () => flushOutbox(room.id));
    reader.close();

    const report = { marked: Object.fromEntries(marked), copied: Object.fromEntries(copied) };
    console.log(`rows written for ${MESSAGES} read marks: ${JSON.stringify(report, null, 1)}`);
    // Budgets, the measured counts: the mark's own row (members.read_seq) per read, and one row per
    // member whose mark moved per copy to D1. Before: 2 per read (the mark and an outbox row), and the
    // copy deleted each member's outbox row (2 with its key).
    expect(total(marked) / MESSAGES, JSON.stringify(report)).toBeLessThanOrEqual(1);
    expect(total(copied), JSON.stringify(report)).toBeLessThanOrEqual(1);
    expect(await copiedMark(room.id, bob.user.id)).toBe(seqs.at(-1));
  });
});

describe("a room stored with the older commands table (a rowid, a created_at index, no fingerprint)", () => {
  it("is rebuilt once when it wakes, and still recognises the ids it remembered", async () => {
    const ada = await registerUser();
    const room = await createRoom(ada);
    const key = unique("k");
    const first = await postMessage(ada, room.id, "once", { "Idempotency-Key": key });
    // The shape rooms were created with before: rebuilt here from what the room stored.
    await runInDurableObject(roomStub(room.id), (_room, state) => {
      const sql = state.storage.sql;
      sql.exec(`ALTER TABLE commands RENAME TO commands_new`);
      sql.exec(
        `CREATE TABLE commands (user_id TEXT NOT NULL, command_id TEXT NOT NULL,
         seq INTEGER, created_at INTEGER NOT NULL, PRIMARY KEY (user_id, command_id))`,
      );
      sql.exec(`CREATE INDEX commands_created_idx ON commands (created_at)`);
      sql.exec(`INSERT INTO commands SELECT user_id, command_id, seq, created_at FROM commands_new`);
      sql.exec(`DROP TABLE commands_new`);
    });
    await evictDurableObject(roomStub(room.id));

    const again = await call("POST", `/v1/rooms/${room.id}/messages`, {
      token: ada.token,
      body: { text: "once" },
      headers: { "Idempotency-Key": key },
    });
    expect(again.body.message.seq).toBe(first.seq);
    const schema = await runInDurableObject(roomStub(room.id), (_room, state) =>
      state.storage.sql
        .exec<{ name: string; sql: string }>(`SELECT name, sql FROM sqlite_master WHERE tbl_name LIKE 'commands%'`)
        .toArray(),
    );
    expect(schema.map((s) => s.name)).toEqual(["commands"]);
    expect(schema[0]?.sql).toMatch(/WITHOUT ROWID/);
    const columns = await runInDurableObject(roomStub(room.id), (_room, state) =>
      state.storage.sql
        .exec<{ name: string }>(`PRAGMA table_info(commands)`)
        .toArray()
        .map((c) => c.name),
    );
    expect(columns).toContain("fingerprint");
  });
});

describe("a room stored with the older read marks (an outbox table, no read_copied)", () => {
  it("gains the column once when it wakes, and still copies the marks its outbox held", async () => {
    const ada = await registerUser();
    const bob = await registerUser();
    const carol = await registerUser();
    const room = await createRoom(ada);
    await joinRoom(bob, room.id);
    await joinRoom(carol, room.id);
    const first = await postMessage(ada, room.id, "one");
    const second = await postMessage(ada, room.id, "two");
    await flushOutbox(room.id);
    const readOver = async (user: typeof bob, seq: number) =>
      expect((await call("POST", `/v1/rooms/${room.id}/read`, { token: user.token, body: { seq } })).status).toBe(200);
    // Carol's mark reached D1 before the change; Bob's was still waiting in the outbox.
    await readOver(carol, first.seq);
    await flushOutbox(room.id);
    await readOver(bob, second.seq);
    await runInDurableObject(roomStub(room.id), (_room, state) => {
      const sql = state.storage.sql;
      sql.exec(`CREATE TABLE read_outbox (user_id TEXT PRIMARY KEY, seq INTEGER NOT NULL)`);
      sql.exec(`INSERT INTO read_outbox (user_id, seq) VALUES (?, ?)`, bob.user.id, second.seq);
      sql.exec(`ALTER TABLE members DROP COLUMN read_copied`);
      state.storage.kv.delete("read_copied");
    });
    await evictDurableObject(roomStub(room.id));

    await flushOutbox(room.id);
    const d1Mark = (user: typeof bob) => copiedMark(room.id, user.user.id);
    expect(await d1Mark(bob)).toBe(second.seq);
    expect(await d1Mark(carol)).toBe(first.seq);
    const shape = await runInDurableObject(roomStub(room.id), (_room, state) => ({
      outbox: state.storage.sql.exec(`SELECT 1 FROM sqlite_master WHERE name = 'read_outbox'`).toArray().length,
      columns: state.storage.sql
        .exec<{ name: string }>(`PRAGMA table_info(members)`)
        .toArray()
        .map((c) => c.name),
      waiting: state.storage.sql.exec(`SELECT 1 FROM members WHERE read_seq > read_copied`).toArray().length,
    }));
    expect(shape).toEqual({ outbox: 0, columns: expect.arrayContaining(["read_copied"]), waiting: 0 });
  });
});
