// Reads and changes while a shard move runs (SHARD_MAP_PREVIOUS, db/shards.ts `shardHomes`): a
// room's archived history and a user's notifications that the move has not copied yet are read
// where the previous map put them, merged with what the new shard has, and an ack reaches the copy
// that stays; a room's unread count is the union of what the two shards have, from the highest read
// mark either has (and the move keeps the higher mark); an edit of a message
// not copied yet reaches it, and the move carries the edited row; during the first move, a user's
// trips and an operator's list read `DB`'s trips too, each trip once.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { archiveMessages, archivedMessagesBefore, archivedOriginal } from "../../src/db/messages";
import { ackNotification, listNotifications } from "../../src/db/notifications";
import { readMarksIn, saveReadMarks } from "../../src/db/read-marks";
import { MOVED_TABLES, moveRows, targetUnder } from "../../src/db/shard-move";
import { bucketOf, parseShardMap, shardHomes } from "../../src/db/shards";
import {
  historyRowsOf,
  type OpsTripFilter,
  openTripIdsOf,
  opsTripPage,
  userTripPage,
  writeTripHistory,
} from "../../src/db/trip-history";
import type { TripListQuery } from "../../src/protocol/dispatch";
import { registerUser, unique } from "../helpers/api";
import { directoryRoom, movable, putDirectoryTrip, storedTrip, unreadIn } from "../helpers/shards";

const before = "0-511:SHARD_0,512-1023:SHARD_1";
const after = "0-383:SHARD_0,384-1023:SHARD_1";
/** The Worker during the move, and the same Worker once SHARD_MAP_PREVIOUS is gone. */
const moving = { ...env, SHARD_MAP: after, SHARD_MAP_PREVIOUS: before } as Env;
const moved = { ...env, SHARD_MAP: after } as Env;
const oldShard = env.SHARD_0;
const newShard = env.SHARD_1;

/** A key in buckets 384-511: SHARD_0's before the move, SHARD_1's after. */
function keyMovingAway(prefix: string): string {
  for (let i = 0; ; i++) {
    const key = `${prefix}_${unique("k")}_${i}`;
    if (bucketOf(key) >= 384 && bucketOf(key) <= 511) return key;
  }
}

async function archive(db: D1Database, roomId: string, seqs: number[], text: string): Promise<void> {
  await db.batch(
    seqs.map((seq) =>
      db
        .prepare(`INSERT INTO messages (id, room_id, seq, user_id, text, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)`)
        .bind(`msg_${roomId}_${seq}`, roomId, seq, "usr_writer", `${text} ${seq}`, 1_000 + seq),
    ),
  );
}

describe("a room's archive while its bucket moves", () => {
  it("pages through both shards, newest first, each seq once, the new shard's copy first", async () => {
    const roomId = keyMovingAway("room");
    await archive(oldShard, roomId, [1, 2, 3, 4, 5, 6], "old");
    await archive(newShard, roomId, [5, 6, 7, 8, 9, 10], "new");
    const homes = shardHomes(moving, "chat", roomId);
    expect(homes).toEqual([newShard, oldShard]);

    const first = await archivedMessagesBefore(homes, roomId, 11, 4);
    expect(first.map((m) => m.seq)).toEqual([10, 9, 8, 7]);
    const second = await archivedMessagesBefore(homes, roomId, 7, 10);
    expect(second.map((m) => [m.seq, "text" in m ? m.text : null])).toEqual([
      [6, "new 6"],
      [5, "new 5"],
      [4, "old 4"],
      [3, "old 3"],
      [2, "old 2"],
      [1, "old 1"],
    ]);
    expect((await archivedOriginal(homes, roomId, 2))?.text).toBe("old 2");
    expect(await archivedOriginal(homes, roomId, 11)).toBeNull();

    // Without the previous map, the rows not copied yet are out of sight: what the fallback is for.
    const withoutFallback = await archivedMessagesBefore(shardHomes(moved, "chat", roomId), roomId, 7, 10);
    expect(withoutFallback.map((m) => m.seq)).toEqual([6, 5]);
  });
});

describe("a user's notifications while their bucket moves", () => {
  async function notify(db: D1Database, id: string, userId: string, createdAt: number): Promise<void> {
    await db
      .prepare(
        `INSERT INTO notifications (id, user_id, type, payload, status, attempts, delivered_to, created_at, updated_at)
         VALUES (?1, ?2, 'chat_message', '{}', 'delivered', 1, '[]', ?3, ?3)`,
      )
      .bind(id, userId, createdAt)
      .run();
  }

  it("lists both shards' rows, newest first, and an ack reaches the row in the old shard", async () => {
    const userId = keyMovingAway("usr");
    const old = unique("ntf_old");
    const fresh = unique("ntf_new");
    await notify(oldShard, old, userId, 1_000);
    await notify(newShard, fresh, userId, 2_000);
    expect((await listNotifications(moving, userId, 10)).map((n) => n.id)).toEqual([fresh, old]);
    expect((await listNotifications(moving, userId, 1)).map((n) => n.id)).toEqual([fresh]);
    expect((await listNotifications(moved, userId, 10)).map((n) => n.id)).toEqual([fresh]);

    expect(await ackNotification(moving, userId, old, 5_000)).toBe(5_000);
    const row = await oldShard.prepare(`SELECT acked_at FROM notifications WHERE id = ?1`).bind(old).first();
    expect(row).toEqual({ acked_at: 5_000 });
    // Another user's id reads as unknown in every home.
    expect(await ackNotification(moving, "usr_someone_else", old, 6_000)).toBeUndefined();
  });
});

describe("the first move, out of DB", () => {
  it('reads DB as the previous home with SHARD_MAP_PREVIOUS "0-1023:DB"', async () => {
    const roomId = unique("room_first_move");
    const fromDb = { ...env, SHARD_MAP_PREVIOUS: "0-1023:DB" } as Env;
    await archive(env.DB, roomId, [1, 2], "db");
    const homes = shardHomes(fromDb, "chat", roomId);
    expect(homes.at(-1)).toBe(env.DB);
    expect((await archivedMessagesBefore(homes, roomId, 10, 10)).map((m) => m.seq)).toEqual([2, 1]);
  });

  it("lists a user's trips still in DB, and a trip in both once, as its newer copy", async () => {
    const fromDb = { ...env, SHARD_MAP_PREVIOUS: "0-1023:DB" } as Env;
    const rider = unique("usr_rider");
    const driver = unique("usr_driver");
    const trip = (name: string, createdAt: number) =>
      storedTrip({
        id: unique(`trp_${name}`),
        riderId: rider,
        driverId: driver,
        status: "accepted",
        createdAt,
        updatedAt: createdAt,
      });
    // Only in DB, not moved yet; in DB and (completed since the deploy) in the parties' shards; only in the shards.
    const waiting = trip("waiting", 1_000);
    await putDirectoryTrip(waiting);
    const both = trip("both", 2_000);
    await putDirectoryTrip(both);
    const bothSince = { ...both, status: "completed" as const, updatedAt: 9_000 };
    await writeTripHistory(env, bothSince, historyRowsOf(bothSince, [driver]));
    const fresh = { ...trip("fresh", 3_000), status: "in_progress" as const };
    await writeTripHistory(env, fresh, historyRowsOf(fresh, [driver]));

    const query = { limit: 10 };
    const listed = async (on: Env, userId: string, q: TripListQuery) => (await userTripPage(on, userId, q)).trips;
    for (const [userId, as] of [
      [rider, "rider"],
      [driver, "driver"],
      [rider, undefined],
    ] as const)
      expect(await listed(fromDb, userId, { ...query, as })).toEqual([fresh, bothSince, waiting]);
    // A page of one: each trip once, and the sign of a next page.
    expect(await userTripPage(fromDb, rider, { limit: 1 })).toEqual({ trips: [fresh], last: fresh, more: true });
    expect(await listed(fromDb, driver, { ...query, status: "completed" })).toEqual([bothSince]);
    // The older copy in DB matches "accepted"; the newer one in the shards does not: not listed.
    expect(await listed(fromDb, driver, { ...query, status: "accepted" })).toEqual([waiting]);
    // Without the previous map, the trip not moved yet is out of sight: what the fallback is for.
    expect(await listed(env, rider, query)).toEqual([fresh, bothSince]);

    expect(await openTripIdsOf(fromDb, driver, 0, 10)).toEqual([both.id, fresh.id, waiting.id]);
    expect(await openTripIdsOf(fromDb, driver, 5_000, 10)).toEqual([both.id, fresh.id, waiting.id]);

    const search = { limit: 10, match: { userIds: [driver], tripId: waiting.id } };
    const ops = async (on: Env, filter: OpsTripFilter) => (await opsTripPage(on, filter)).trips;
    expect(await ops(fromDb, search)).toEqual([fresh, bothSince, waiting]);
    expect(await ops(fromDb, { limit: 10, match: { userIds: [], tripId: both.id } })).toEqual([bothSince]);
    expect(await ops(fromDb, { ...search, status: "accepted" })).toEqual([waiting]);
    expect(await ops(env, search)).toEqual([fresh, bothSince]);
  });

  it("never shows a driver a trip they handed back since, from DB's older copy", async () => {
    const fromDb = { ...env, SHARD_MAP_PREVIOUS: "0-1023:DB" } as Env;
    const rider = unique("usr_rider");
    const first = unique("usr_first");
    const second = unique("usr_second");
    // In DB as accepted by the first driver; since the deploy handed back and completed by the second.
    const before = storedTrip({
      id: unique("trp_handed"),
      riderId: rider,
      driverId: first,
      status: "accepted",
      createdAt: 1_000,
      updatedAt: 1_000,
    });
    await putDirectoryTrip(before);
    const after = { ...before, driverId: second, status: "completed" as const, updatedAt: 8_000 };
    await writeTripHistory(env, after, historyRowsOf(after, [first, second]));

    expect((await userTripPage(fromDb, first, { limit: 10 })).trips).toEqual([]);
    expect((await userTripPage(fromDb, first, { limit: 10, as: "driver" })).trips).toEqual([]);
    expect(await openTripIdsOf(fromDb, first, 0, 10)).toEqual([]);
    expect((await userTripPage(fromDb, second, { limit: 10 })).trips).toEqual([after]);
    expect((await userTripPage(fromDb, rider, { limit: 10, status: "accepted" })).trips).toEqual([]);
    expect((await userTripPage(fromDb, rider, { limit: 10 })).trips).toEqual([after]);
    expect(
      (await opsTripPage(fromDb, { limit: 10, status: "accepted", match: { userIds: [rider], tripId: "" } })).trips,
    ).toEqual([]);
  });
});

/** The move of `tables`' rows in the buckets that leave SHARD_0 for SHARD_1 (`before` to `after`). */
async function moveBucketsAway(tables: (typeof MOVED_TABLES)[number][]): Promise<void> {
  await moveRows({
    job: unique("move"),
    source: { name: "SHARD_0", db: movable(oldShard) },
    targetOf: targetUnder(parseShardMap(after, () => true).byBucket, "SHARD_0"),
    targets: new Map([["SHARD_1", movable(newShard)]]),
    pageSize: 50,
    tables,
  });
}

describe("unread counts while a room's bucket moves", () => {
  it("count each message once, whether the old shard, the new one or both have it", async () => {
    const reader = await registerUser();
    const roomId = keyMovingAway("room");
    await directoryRoom(roomId, reader.user.id, 2);
    // Read through 2; 3-6 not copied yet, 5-6 copied and not yet deleted, 7-9 written since.
    await archive(oldShard, roomId, [1, 2, 3, 4, 5, 6], "old");
    await archive(newShard, roomId, [5, 6, 7, 8, 9], "new");

    const unreadOf = (worker: Env) => unreadIn(worker, reader.user.id, roomId);
    expect(await unreadOf(moving)).toBe(7);
    // Without the previous map, only what the new shard has so far: what the union is for.
    expect(await unreadOf(moved)).toBe(5);
  });

  it("count from the highest read mark, whichever shard has it, and the move keeps the higher one", async () => {
    const reader = await registerUser();
    const roomId = keyMovingAway("room");
    // The mark `DB` kept from before the shards' marks: read through 1.
    await directoryRoom(roomId, reader.user.id, 1);
    await archive(oldShard, roomId, [1, 2, 3, 4, 5, 6], "old");
    await archive(newShard, roomId, [5, 6, 7, 8], "new");
    const unreadOf = (worker: Env) => unreadIn(worker, reader.user.id, roomId);
    expect(await unreadOf(moving)).toBe(7);

    // Read through 6 before the move began (copied to the old shard), then a late copy of an older mark
    // reached the new one: 7 and 8 are unread, counted once each, from either shard.
    await saveReadMarks(oldShard, roomId, [{ userId: reader.user.id, seq: 6 }]);
    await saveReadMarks(newShard, roomId, [{ userId: reader.user.id, seq: 3 }]);
    expect(await unreadOf(moving)).toBe(2);
    // A mark never moves back, however late its copy comes.
    await saveReadMarks(oldShard, roomId, [{ userId: reader.user.id, seq: 4 }]);
    expect(await unreadOf(moving)).toBe(2);

    await moveBucketsAway(MOVED_TABLES.filter((t) => t.kind === "chat"));
    expect(await readMarksIn(newShard, reader.user.id, [roomId])).toEqual(new Map([[roomId, 6]]));
    expect(await readMarksIn(oldShard, reader.user.id, [roomId])).toEqual(new Map());
    expect(await unreadOf(moved)).toBe(2);
  });
});

describe("an edit of a message the move has not copied yet", () => {
  it("reaches the row in the old shard, and the move carries the edited row over", async () => {
    const roomId = keyMovingAway("room");
    await archive(oldShard, roomId, [1, 2], "before");
    const edit = (seq: number, messageSeq: number, text: string) => ({
      seq,
      frame: JSON.stringify({
        type: "edit",
        seq,
        edit: { roomId, messageSeq, text, editedAt: 5_000 + seq, userId: "usr_writer" },
      }),
    });
    const [home, earlier] = shardHomes(moving, "chat", roomId);
    await archiveMessages(home as D1Database, [edit(3, 1, "edited one")] as never, earlier ?? null);
    expect((await archivedOriginal(shardHomes(moving, "chat", roomId), roomId, 1))?.text).toBe("edited one");

    // The move of the room's bucket: the edited row, not the one from before the edit.
    await moveBucketsAway(MOVED_TABLES.filter((t) => t.name === "messages"));
    const rows = await newShard
      .prepare(`SELECT seq, text, change_seq FROM messages WHERE room_id = ? ORDER BY seq`)
      .bind(roomId)
      .all();
    expect(rows.results).toEqual([
      { seq: 1, text: "edited one", change_seq: 3 },
      { seq: 2, text: "before 2", change_seq: null },
    ]);
    const left = await oldShard.prepare(`SELECT COUNT(*) AS n FROM messages WHERE room_id = ?`).bind(roomId).first("n");
    expect(left).toBe(0);
  });
});
