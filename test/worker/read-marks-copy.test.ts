// The copy of read marks in the same D1 batch as the room's messages (rooms/read-marks.ts
// `alongsideMessages`): a batch that fails leaves every mark waiting, and a mark that moves while the
// batch is in flight is copied after it, however the copy alone fares in the same alarm.
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { shardBindingFor } from "../../src/db/shards";
import { call, createRoom, joinRoom, registerUser } from "../helpers/api";
import { archivedSeqs, flushOutbox, postMessage, roomStub } from "../helpers/chat";
import { copiedMark } from "../helpers/shards";

async function runAlarmOnce(roomId: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await runDurableObjectAlarm(roomStub(roomId)))) {
    if (Date.now() > deadline) throw new Error(`no alarm of ${roomId} ran within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

type Shard = {
  prepare: (query: string) => D1PreparedStatement;
  batch: (statements: D1PreparedStatement[]) => Promise<D1Result[]>;
};

/** Replaces the room's chat shard, inside the object, by `wrap(real)`; answers a function that puts it back. */
async function wrapShard(roomId: string, wrap: (real: D1Database, instance: unknown) => Shard): Promise<void> {
  await runInDurableObject(roomStub(roomId), (instance) => {
    const host = instance as unknown as { env: Env; realEnv?: Env };
    host.realEnv ??= host.env;
    const binding = shardBindingFor(host.realEnv, "chat", roomId);
    const real = (host.realEnv as unknown as Record<string, D1Database>)[binding] as D1Database;
    host.env = { ...host.realEnv, [binding]: wrap(real, instance) } as Env;
  });
}

async function unwrapShard(roomId: string): Promise<void> {
  await runInDurableObject(roomStub(roomId), (instance) => {
    const host = instance as unknown as { env: Env; realEnv?: Env };
    if (host.realEnv) host.env = host.realEnv;
  });
}

const marksOf = (roomId: string, userId: string) =>
  runInDurableObject(roomStub(roomId), (_instance, state) =>
    state.storage.sql
      .exec<{ read_seq: number; read_copied: number }>(
        `SELECT read_seq, read_copied FROM members WHERE user_id = ?`,
        userId,
      )
      .one(),
  );

/** A statement of `real` whose `run` fails: the marks' copy alone, while D1 refuses it. */
function failingRun(real: D1Database, query: string): D1PreparedStatement {
  const statement = real.prepare(query);
  const bind = statement.bind.bind(statement);
  return Object.assign(Object.create(statement), {
    bind: (...params: unknown[]) => {
      const bound = bind(...params);
      return Object.assign(Object.create(bound), {
        run: async () => {
          throw new Error("D1 down (marks alone)");
        },
      });
    },
  });
}

/** Ada's room with Bob in it, everything so far copied to D1. */
async function roomOfTwo() {
  const ada = await registerUser();
  const bob = await registerUser();
  const room = await createRoom(ada);
  await joinRoom(bob, room.id);
  await flushOutbox(room.id);
  return { ada, bob, room };
}

/** The same, then a message of Ada's that Bob has read: both wait for the room's next copy. */
async function readMessageWaiting() {
  const { ada, bob, room } = await roomOfTwo();
  const posted = await postMessage(ada, room.id, "read me");
  const read = await call("POST", `/v1/rooms/${room.id}/read`, { token: bob.token, body: { seq: posted.seq } });
  expect(read.status).toBe(200);
  return { bob, room, posted };
}

describe("read marks copied with the room's messages", () => {
  it("go in the same D1 transaction as the messages that wait with them", async () => {
    const { room, bob, posted } = await readMessageWaiting();
    // The room's shard, counted: the size of each batch sent to it.
    const batches: number[] = [];
    await wrapShard(room.id, (real) => ({
      prepare: (query) => real.prepare(query),
      batch: (statements) => {
        batches.push(statements.length);
        return real.batch(statements);
      },
    }));
    await runAlarmOnce(room.id);
    await unwrapShard(room.id);
    // One batch: the message's insert and the mark's upsert.
    expect(batches).toEqual([2]);
    expect(await archivedSeqs(room.id)).toContain(posted.seq);
    expect(await copiedMark(room.id, bob.user.id)).toBe(posted.seq);
  });

  it("a failed batch leaves a mark from before the wake and the message waiting; the next copies both", async () => {
    const { room, bob, posted } = await readMessageWaiting();
    // A new activation: the mark moved before its wake, so only the sweep over the members finds it.
    await evictDurableObject(roomStub(room.id));

    await wrapShard(room.id, (real) => ({
      prepare: (query) => (query.includes("read_marks") ? failingRun(real, query) : real.prepare(query)),
      batch: async () => {
        throw new Error("D1 down");
      },
    }));
    await runAlarmOnce(room.id);
    expect(await marksOf(room.id, bob.user.id)).toEqual({ read_seq: posted.seq, read_copied: 0 });
    expect(await copiedMark(room.id, bob.user.id)).toBeNull();
    expect(await archivedSeqs(room.id)).not.toContain(posted.seq);

    await unwrapShard(room.id);
    await runAlarmOnce(room.id);
    expect(await copiedMark(room.id, bob.user.id)).toBe(posted.seq);
    expect(await archivedSeqs(room.id)).toContain(posted.seq);
    expect(await marksOf(room.id, bob.user.id)).toEqual({ read_seq: posted.seq, read_copied: posted.seq });
  });

  it("a mark moved while the batch is in flight waits for the next copy, the copy alone failing", async () => {
    const { ada, room, bob } = await roomOfTwo();
    const bobIdentity = { userId: bob.user.id, role: "rider" as const, name: "Bob" };
    const readThrough = (seq: number) => call("POST", `/v1/rooms/${room.id}/read`, { token: bob.token, body: { seq } });

    /** Bob at `carried` when the alarm builds its batch, at `next` while D1 has it; the copy alone fails. */
    const copyWhileMoving = async (carried: number, next: number) => {
      await readThrough(carried);
      let bumped = false;
      await wrapShard(room.id, (real, instance) => ({
        prepare: (query) => (query.includes("read_marks") ? failingRun(real, query) : real.prepare(query)),
        batch: async (statements) => {
          if (!bumped) {
            bumped = true;
            await (instance as { markReadOver(i: unknown, seq: number): Promise<unknown> }).markReadOver(
              bobIdentity,
              next,
            );
          }
          return real.batch(statements);
        },
      }));
      await runAlarmOnce(room.id);
      expect(bumped).toBe(true);
      // The batch committed the mark it carried; the newer one waits (its copy alone failed).
      expect(await copiedMark(room.id, bob.user.id)).toBe(carried);
      expect(await marksOf(room.id, bob.user.id)).toEqual({ read_seq: next, read_copied: carried });
      const pending = await runInDurableObject(
        roomStub(room.id),
        (instance) => (instance as unknown as { readMarks: { pending: boolean } }).readMarks.pending,
      );
      expect(pending).toBe(true);
      await unwrapShard(room.id);
      await runAlarmOnce(room.id);
      expect(await copiedMark(room.id, bob.user.id)).toBe(next);
      expect(await marksOf(room.id, bob.user.id)).toEqual({ read_seq: next, read_copied: next });
    };

    // The first copy since the wake sweeps the members.
    const first = await postMessage(ada, room.id, "first");
    const second = await postMessage(ada, room.id, "second");
    await copyWhileMoving(first.seq, second.seq);
    // Then the copy looks up the marks that moved (the object stayed awake).
    const third = await postMessage(ada, room.id, "third");
    const fourth = await postMessage(ada, room.id, "fourth");
    await copyWhileMoving(third.seq, fourth.seq);
  });
});
