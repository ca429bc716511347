// Read marks in the chat shards (db/read-marks.ts) compare as numbers: SQLite's max() of two TEXT
// values is a text comparison ('9' > '10'), and of TEXT against INTEGER always picks the TEXT. Marks
// and seqs past 9 catch either, in the upsert, in the settled count and in the count during a move.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { readMarksIn, saveReadMarks } from "../../src/db/read-marks";
import { bucketOf } from "../../src/db/shards";
import { registerUser, unique } from "../helpers/api";
import { chatShard, copiedMark, directoryRoom, unreadIn } from "../helpers/shards";

const SEQS = Array.from({ length: 12 }, (_, i) => i + 1);

async function archive(db: D1Database, roomId: string, seqs: number[]): Promise<void> {
  await db.batch(
    seqs.map((seq) =>
      db
        .prepare(`INSERT INTO messages (id, room_id, seq, user_id, text, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)`)
        .bind(`msg_${roomId}_${seq}`, roomId, seq, "usr_writer", `m ${seq}`, 1_000 + seq),
    ),
  );
}

describe("read marks past 9", () => {
  it("the upsert keeps the higher mark as a number", async () => {
    const roomId = unique("room");
    const shard = chatShard(roomId);
    await saveReadMarks(shard, roomId, [{ userId: "usr_a", seq: 9 }]);
    await saveReadMarks(shard, roomId, [{ userId: "usr_a", seq: 10 }]);
    expect(await copiedMark(roomId, "usr_a")).toBe(10);
    await saveReadMarks(shard, roomId, [{ userId: "usr_a", seq: 9 }]);
    expect(await copiedMark(roomId, "usr_a")).toBe(10);
    const { results } = await shard
      .prepare(`SELECT typeof(read_seq) AS t FROM read_marks WHERE room_id = ?`)
      .bind(roomId)
      .all<{ t: string }>();
    expect(results).toEqual([{ t: "integer" }]);
  });

  it("counts from the higher of DB's mark and the shard's, 9 against 10 either way", async () => {
    const reader = await registerUser();
    const shardHigher = unique("room");
    const dbHigher = unique("room");
    await directoryRoom(shardHigher, reader.user.id, 9);
    await directoryRoom(dbHigher, reader.user.id, 10);
    await archive(chatShard(shardHigher), shardHigher, SEQS);
    await archive(chatShard(dbHigher), dbHigher, SEQS);
    await saveReadMarks(chatShard(shardHigher), shardHigher, [{ userId: reader.user.id, seq: 10 }]);
    await saveReadMarks(chatShard(dbHigher), dbHigher, [{ userId: reader.user.id, seq: 9 }]);
    expect(await unreadIn(env, reader.user.id, shardHigher)).toBe(2);
    expect(await unreadIn(env, reader.user.id, dbHigher)).toBe(2);
  });

  it("while a room's bucket moves, the highest mark of either shard counts: 10 against 9", async () => {
    const before = "0-511:SHARD_0,512-1023:SHARD_1";
    const after = "0-383:SHARD_0,384-1023:SHARD_1";
    const moving = { ...env, SHARD_MAP: after, SHARD_MAP_PREVIOUS: before } as Env;
    let roomId = "";
    for (let i = 0; ; i++) {
      roomId = `room_${unique("k")}_${i}`;
      if (bucketOf(roomId) >= 384 && bucketOf(roomId) <= 511) break;
    }
    const reader = await registerUser();
    await directoryRoom(roomId, reader.user.id, 2);
    await archive(env.SHARD_0, roomId, SEQS);
    await archive(env.SHARD_1, roomId, SEQS.slice(6));
    await saveReadMarks(env.SHARD_0, roomId, [{ userId: reader.user.id, seq: 10 }]);
    await saveReadMarks(env.SHARD_1, roomId, [{ userId: reader.user.id, seq: 9 }]);
    expect(await readMarksIn(env.SHARD_0, reader.user.id, [roomId])).toEqual(new Map([[roomId, 10]]));
    expect(await unreadIn(moving, reader.user.id, roomId)).toBe(2);
  });
});
