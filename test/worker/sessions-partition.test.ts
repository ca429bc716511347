// Sessions in the user's partition database (db/sessions.ts, docs/DATA-LAYOUT.md): new ones are
// written only to the user's shard; one from before the partitions, still in `DB`, keeps working
// and moves to the shard on its first refresh, with revocations reaching both copies; while a shard
// move runs (SHARD_MAP_PREVIOUS), a session not copied yet is found where it was; and the move
// itself never loses a revocation or a later last seen the Worker wrote behind it.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { fromBase64Url } from "../../src/auth/encoding";
import { hashRefreshToken, newRefreshToken } from "../../src/auth/refresh-token";
import { noteLastSeen } from "../../src/db/presence";
import { MOVED_TABLES, moveRows, type SqlDatabase, targetUnder } from "../../src/db/shard-move";
import { changePassword, openSession, revokeSession, rotateRefreshToken, sessionIsLive } from "../../src/db/sessions";
import { allShards, bucketOf, parseShardMap, shardDatabase } from "../../src/db/shards";
import { call, registerUser, unique } from "../helpers/api";
import { expectError } from "../helpers/chat";
import { movable } from "../helpers/shards";

const DAY_MS = 86_400_000;

const refresh = (refreshToken: unknown) => call("POST", "/v1/auth/refresh", { body: { refreshToken } });

function sidOf(token: string): string {
  return JSON.parse(new TextDecoder().decode(fromBase64Url(token.split(".")[1] as string))).sid;
}

async function countIn(db: D1Database, table: string, where: string, value: string): Promise<number> {
  const row = await db
    .prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${where} = ?1`)
    .bind(value)
    .first<{ n: number }>();
  return Number(row?.n ?? 0);
}

/** A session and refresh token as the release before the partitions wrote them: in `DB`, no bucket. */
async function legacySession(userId: string): Promise<{ sessionId: string; refreshToken: string }> {
  const sessionId = unique("ses_legacy");
  const refreshToken = newRefreshToken();
  const now = Date.now();
  await env.DB.batch([
    env.DB.prepare(`INSERT INTO auth_sessions (id, user_id, created_at) VALUES (?1, ?2, ?3)`).bind(
      sessionId,
      userId,
      now,
    ),
    env.DB.prepare(
      `INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)`,
    ).bind(await hashRefreshToken(refreshToken), sessionId, now, now + DAY_MS),
  ]);
  return { sessionId, refreshToken };
}

describe("sessions in the user's shard", () => {
  it("writes a new session and its tokens to the user's shard only, and names the bucket in the token", async () => {
    const ada = await registerUser("rider", "Ada", { funds: 0 });
    const shard = shardDatabase(env, "sessions", ada.user.id);
    const sid = sidOf(ada.token);
    expect(String(ada.refreshToken).startsWith(`${bucketOf(ada.user.id)}.`)).toBe(true);
    expect(await countIn(shard, "auth_sessions", "id", sid)).toBe(1);
    expect(await countIn(shard, "refresh_tokens", "session_id", sid)).toBe(1);
    expect(await countIn(env.DB, "auth_sessions", "user_id", ada.user.id)).toBe(0);

    const next = await refresh(ada.refreshToken);
    expect(next.status).toBe(200);
    expect(next.body.refreshToken.startsWith(`${bucketOf(ada.user.id)}.`)).toBe(true);
    expect(await countIn(shard, "refresh_tokens", "session_id", sid)).toBe(2);
    expect(await countIn(env.DB, "refresh_tokens", "session_id", sid)).toBe(0);
  });

  it("refuses a token whose bucket was changed, and does not spend it", async () => {
    const ada = await registerUser("rider", "Ada", { funds: 0 });
    const [bucket, secret] = String(ada.refreshToken).split(".") as [string, string];
    for (const forged of [`${(Number(bucket) + 1) % 1024}.${secret}`, `9999.${secret}`, secret, `${bucket}.${secret}x`])
      expectError(await refresh(forged), 401, "unauthorized");
    expect((await refresh(ada.refreshToken)).status).toBe(200);
  });
});

describe("a session from before the partitions", () => {
  it("is live, refreshes once into the user's shard, and its reuse ends it in both places", async () => {
    const ada = await registerUser("rider", "Ada", { funds: 0 });
    const legacy = await legacySession(ada.user.id);
    expect(await sessionIsLive(env, legacy.sessionId, ada.user.id)).toBe(true);

    const moved = await refresh(legacy.refreshToken);
    expect(moved.status).toBe(200);
    expect(moved.body.refreshToken.startsWith(`${bucketOf(ada.user.id)}.`)).toBe(true);
    expect(sidOf(moved.body.token)).toBe(legacy.sessionId);
    const shard = shardDatabase(env, "sessions", ada.user.id);
    expect(await countIn(shard, "auth_sessions", "id", legacy.sessionId)).toBe(1);
    // The successor lives in the shard and rotates there.
    const again = await refresh(moved.body.refreshToken);
    expect(again.status).toBe(200);

    // The old token, copied by a thief, comes back: the session ends in DB and in the shard.
    expectError(await refresh(legacy.refreshToken), 401, "unauthorized");
    expectError(await refresh(again.body.refreshToken), 401, "unauthorized");
    expect(await sessionIsLive(env, legacy.sessionId, ada.user.id)).toBe(false);
    for (const db of [env.DB, shard]) {
      const row = await db
        .prepare(`SELECT revoked_reason FROM auth_sessions WHERE id = ?1`)
        .bind(legacy.sessionId)
        .first<{ revoked_reason: string }>();
      expect(row?.revoked_reason).toBe("refresh token reused");
    }
  });

  it("lets only one of two concurrent refreshes of a legacy token through", async () => {
    const ada = await registerUser("rider", "Ada", { funds: 0 });
    const legacy = await legacySession(ada.user.id);
    const results = await Promise.all([refresh(legacy.refreshToken), refresh(legacy.refreshToken)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
  });

  it("ends on logout, a password change and a ban, whether it moved or not", async () => {
    const ada = await registerUser("rider", "Ada", { funds: 0 });
    const kept = sidOf(ada.token);
    const unmoved = await legacySession(ada.user.id);
    const moving = await legacySession(ada.user.id);
    const movedPair = await refresh(moving.refreshToken);
    expect(movedPair.status).toBe(200);

    const revoked = await changePassword(env, ada.user.id, "x", kept, Date.now());
    expect(revoked.sort()).toEqual([unmoved.sessionId, moving.sessionId].sort());
    expect(await sessionIsLive(env, unmoved.sessionId, ada.user.id)).toBe(false);
    expect(await sessionIsLive(env, moving.sessionId, ada.user.id)).toBe(false);
    expect(await sessionIsLive(env, kept, ada.user.id)).toBe(true);
    expectError(await refresh(unmoved.refreshToken), 401, "unauthorized");
    expectError(await refresh(movedPair.body.refreshToken), 401, "unauthorized");

    // Logout of one session, by its owner only.
    const other = await legacySession(ada.user.id);
    expect(await revokeSession(env, "usr_someone_else", other.sessionId, Date.now(), "logout")).toBe(false);
    expect(await sessionIsLive(env, other.sessionId, ada.user.id)).toBe(true);
    expect(await revokeSession(env, ada.user.id, other.sessionId, Date.now(), "logout")).toBe(true);
    expectError(await refresh(other.refreshToken), 401, "unauthorized");
  });
});

describe("sessions while a shard move runs", () => {
  const before = "0-511:SHARD_0,512-1023:SHARD_1";
  const after = "0-383:SHARD_0,384-1023:SHARD_1";
  /** The Worker during the move: today's map is the new one, the old one is SHARD_MAP_PREVIOUS. */
  const moving = { ...env, SHARD_MAP: after, SHARD_MAP_PREVIOUS: before } as Env;
  const movingAway = (userId: string) => bucketOf(userId) >= 384 && bucketOf(userId) <= 511;

  async function usersMovingAway(n: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; ids.length < n && i < 10_000; i++) {
      const id = `usr_${unique("mv")}_${i}`;
      if (movingAway(id)) ids.push(id);
    }
    return ids;
  }

  it("finds a session not copied yet in its old shard, rotates it there, and revokes it everywhere", async () => {
    const [userId] = (await usersMovingAway(1)) as [string];
    const now = Date.now();
    const opened = await openSession(env, userId, unique("ses"), now, DAY_MS);
    expect(await countIn(shardDatabase(env, "sessions", userId), "auth_sessions", "id", opened.sessionId)).toBe(1);
    expect(shardDatabase(env, "sessions", userId)).not.toBe(shardDatabase(moving, "sessions", userId));

    expect(await sessionIsLive(moving, opened.sessionId, userId)).toBe(true);
    const rotated = await rotateRefreshToken(moving, opened.refreshToken, now + 1, DAY_MS);
    expect(rotated.outcome).toBe("rotated");
    const second = rotated.outcome === "rotated" ? rotated.refreshToken : "";
    expect((await rotateRefreshToken(moving, second, now + 2, DAY_MS)).outcome).toBe("rotated");
    expect(await revokeSession(moving, userId, opened.sessionId, now + 3, "logout")).toBe(true);
    expect(await sessionIsLive(moving, opened.sessionId, userId)).toBe(false);
    expect(await sessionIsLive(env, opened.sessionId, userId)).toBe(false);
  });

  it("moves sessions and tokens with their bucket, keeping a revocation made in the old shard mid-move", async () => {
    const users = await usersMovingAway(6);
    const now = Date.now();
    const sessions = await Promise.all(users.map((u) => openSession(env, u, unique("ses"), now, DAY_MS)));
    const shards = new Map(allShards(env).map(({ binding, db }) => [binding, movable(db)]));
    const victim = sessions[0] as { sessionId: string; refreshToken: string };
    for (const userId of users) await noteLastSeen(env, userId, now);
    let revokedMidMove = false;
    let seenMidMove = false;
    await moveRows({
      job: unique("test-sessions-rebalance"),
      source: { name: "SHARD_0", db: shards.get("SHARD_0") as SqlDatabase },
      tables: MOVED_TABLES.filter((t) => t.kind === "sessions"),
      targetOf: targetUnder(parseShardMap(after, () => true).byBucket, "SHARD_0"),
      targets: shards,
      pageSize: 500,
      // The Worker (still on the old map) revokes a session after the move copied it.
      afterCopy: async (table) => {
        if (table === "last_seen" && !seenMidMove) {
          // A connection of the second user closes, still written to the old shard.
          await noteLastSeen(env, users[1] as string, now + 100);
          seenMidMove = true;
        }
        if (table !== "auth_sessions" || revokedMidMove) return;
        revokedMidMove = await revokeSession(env, users[0] as string, victim.sessionId, now + 5, "logout");
      },
    });
    expect(revokedMidMove).toBe(true);
    expect(seenMidMove).toBe(true);
    const newShard = shardDatabase(moving, "sessions", users[1] as string);
    const seen = await newShard
      .prepare(`SELECT user_id, at FROM last_seen WHERE user_id IN (?1, ?2)`)
      .bind(users[0], users[1])
      .all<{ user_id: string; at: number }>();
    expect(Object.fromEntries(seen.results.map((r) => [r.user_id, r.at]))).toEqual({
      [users[0] as string]: now,
      [users[1] as string]: now + 100,
    });
    const oldShard = shardDatabase(env, "sessions", users[0] as string);
    for (const [i, userId] of users.entries()) {
      const { sessionId } = sessions[i] as { sessionId: string };
      expect(await countIn(oldShard, "auth_sessions", "id", sessionId)).toBe(0);
      expect(await countIn(oldShard, "refresh_tokens", "session_id", sessionId)).toBe(0);
      expect(await sessionIsLive(moving, sessionId, userId)).toBe(i !== 0);
    }
    expect((await rotateRefreshToken(moving, victim.refreshToken, now + 6, DAY_MS)).outcome).toBe("invalid");
    const live = sessions[1] as { refreshToken: string };
    expect((await rotateRefreshToken(moving, live.refreshToken, now + 6, DAY_MS)).outcome).toBe("rotated");
  });
});
