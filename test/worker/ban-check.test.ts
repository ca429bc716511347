// The ban check reads the nearest D1 read replica (http/ban-check.ts). Read replication has no
// local form, so a second database with the directory's schema stands in for a replica that
// lags: the tests write to it what a replica would hold a moment behind the primary.
import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { assertNotBanned, forgetBanLook } from "../../src/http/ban-check";
import { registerUser, unique } from "../helpers/api";

const NO_CACHE = 0;

/** One look, past what this isolate remembers (the test shares the isolate whose requests signed the user up). */
function look(db: D1Database, userId: string): Promise<boolean | undefined> {
  forgetBanLook(userId);
  return assertNotBanned(db, userId, NO_CACHE, Date.now());
}

/** DB as its binding looks with read replication on: unconstrained sessions read `replica`. */
function replicated(replica: D1Database): D1Database & { sessions: string[] } {
  const sessions: string[] = [];
  return {
    sessions,
    withSession(constraint?: string) {
      sessions.push(constraint ?? "first-unconstrained");
      return constraint === "first-primary" ? env.DB.withSession(constraint) : replica.withSession(constraint);
    },
  } as unknown as D1Database & { sessions: string[] };
}

/** The user's row as the replica has it: a copy of the primary's with `ban` in it, or nothing yet. */
async function replicaHolds(userId: string, ban: { bannedAt: number | null; reason: string | null } | null) {
  await env.REPLICA_STAND_IN.prepare(`DELETE FROM users WHERE id = ?`).bind(userId).run();
  if (ban === null) return;
  const row = await env.DB.prepare(`SELECT * FROM users WHERE id = ?`).bind(userId).first();
  const copy = { ...row, banned_at: ban.bannedAt, ban_reason: ban.reason };
  const columns = Object.keys(copy);
  await env.REPLICA_STAND_IN.prepare(
    `INSERT INTO users (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`,
  )
    .bind(...Object.values(copy))
    .run();
}

beforeAll(async () => {
  await applyD1Migrations(env.REPLICA_STAND_IN, env.TEST_MIGRATIONS);
});

describe("the ban check on a read replica", () => {
  it("answers from the replica alone when it has the account", async () => {
    const ada = await registerUser();
    await replicaHolds(ada.user.id, { bannedAt: null, reason: null });
    const db = replicated(env.REPLICA_STAND_IN);
    expect(await look(db, ada.user.id)).toBe(true);
    expect(db.sessions).toEqual(["first-unconstrained"]);
  });

  it("asks the primary when the replica has not seen an account made a moment ago", async () => {
    const ada = await registerUser();
    const db = replicated(env.REPLICA_STAND_IN);
    expect(await look(db, ada.user.id)).toBe(true);
    expect(db.sessions).toEqual(["first-unconstrained", "first-primary"]);
    // An id no database knows: no account, from the primary's word.
    expect(await look(db, unique("usr"))).toBe(false);
  });

  it("refuses a ban the replica has, and one it has not seen yet once it catches up", async () => {
    const bob = await registerUser();
    const banned = { bannedAt: Date.now(), reason: "fraud" };
    await env.DB.prepare(`UPDATE users SET banned_at = ?, ban_reason = ? WHERE id = ?`)
      .bind(banned.bannedAt, banned.reason, bob.user.id)
      .run();
    const db = replicated(env.REPLICA_STAND_IN);
    // The replica is behind: it still has the account unbanned, which is the lag the docs bound.
    await replicaHolds(bob.user.id, { bannedAt: null, reason: null });
    expect(await look(db, bob.user.id)).toBe(true);
    await replicaHolds(bob.user.id, banned);
    await expect(look(db, bob.user.id)).rejects.toMatchObject({
      status: 403,
      code: "account_banned",
    });
  });
});
