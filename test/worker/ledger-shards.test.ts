/**
 * The ledger in each user's partition (src/db/postings.ts, domain/ledger-legs): money between a
 * rider and a driver whose money lives in different shards is posted as two legs linked through
 * the transit account (in one transaction when they share a shard); a stop between the legs
 * leaves the money in transit, explained by a pending transfer, until a retry or the
 * reconciliation posts the second leg, once; the check reports transit money nothing explains;
 * and while a shard move takes a user's bucket elsewhere, their money is neither read nor written.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { ledgerProblems } from "../../src/db/ledger-checks";
import { ledgerOf } from "../../src/db/ledger-statements";
import { completeLegs, firstLegOf, postEntry } from "../../src/db/postings";
import { shardBindingFor } from "../../src/db/shards";
import { listPayouts } from "../../src/db/payouts";
import { tipTrip } from "../../src/db/tips";
import { earningsOf, walletOf } from "../../src/db/wallet-views";
import { Account } from "../../src/domain/ledger-entries";
import { legKey } from "../../src/domain/ledger-legs";
import { tipEntry, tipKey } from "../../src/domain/tips";
import { topUpEntry } from "../../src/domain/wallet-entries";
import { reconcile } from "../../src/payments/reconcile";
import { unique } from "../helpers/api";
import { USD } from "../helpers/ledger";

const config = loadConfig(env);

/** A fresh user id whose money lives in `binding` (ids are random: each try lands in a shard at even odds). */
function idIn(binding: string): string {
  for (let i = 0; i < 200; i++) {
    const id = unique("usr");
    if (shardBindingFor(env, "ledger", id) === binding) return id;
  }
  throw new Error(`no id landed in ${binding}`);
}

/** A rider in SHARD_0 with `funds` in their wallet, and a driver in SHARD_1. */
async function riderAndDriverApart(funds: number): Promise<{ riderId: string; driverId: string }> {
  const riderId = idIn("SHARD_0");
  const driverId = idIn("SHARD_1");
  expect(await postEntry(env, topUpEntry(unique("tu"), riderId, USD(funds), "sandbox"), Date.now())).toBe("posted");
  return { riderId, driverId };
}

/** The balance of `account` in one shard, from its lines. */
async function balanceIn(db: D1Database, account: string): Promise<number> {
  const row = await db
    .prepare(`SELECT COALESCE(SUM(amount), 0) AS b FROM journal_lines WHERE account_id = ?`)
    .bind(account)
    .first<{ b: number }>();
  return row?.b ?? 0;
}

async function transferStatus(riderId: string, entryKey: string, driverId: string): Promise<string | undefined> {
  const row = await ledgerOf(env, riderId)
    .prepare(`SELECT status FROM ledger_transfers WHERE leg_key = ?`)
    .bind(legKey(entryKey, driverId))
    .first<{ status: string }>();
  return row?.status;
}

const earnings = async (driverId: string) => (await earningsOf(env, driverId, "USD", 0, Date.now() + 1)).net;

describe("money between two partitions", () => {
  it("posts a rider's tip to a driver in another shard as two legs, each read in its owner's shard", async () => {
    const { riderId, driverId } = await riderAndDriverApart(5_000);
    const tip = tipEntry(unique("tip:trip"), unique("trip"), riderId, driverId, USD(300));
    expect(await postEntry(env, tip, Date.now())).toBe("posted");

    const riderShard = ledgerOf(env, riderId);
    const driverShard = ledgerOf(env, driverId);
    expect(await walletOf(env, riderId, "USD")).toMatchObject({ available: USD(4_700) });
    expect(await earnings(driverId)).toEqual(USD(300));
    // The rider's leg sends 300 into transit; the driver's takes it out: nothing is left in flight.
    expect(await balanceIn(riderShard, Account.transit)).toBeGreaterThanOrEqual(300);
    expect(await balanceIn(riderShard, Account.earnings(driverId))).toBe(0);
    expect(await balanceIn(driverShard, Account.wallet(riderId))).toBe(0);
    expect(await transferStatus(riderId, tip.key, driverId)).toBe("done");
    expect(await ledgerProblems(env)).toEqual([]);

    // A replay posts nothing on either side.
    expect(await postEntry(env, tip, Date.now())).toBe("duplicate");
    expect(await walletOf(env, riderId, "USD")).toMatchObject({ available: USD(4_700) });
    expect(await earnings(driverId)).toEqual(USD(300));
  });

  it("posts both legs in one transaction when rider and driver share a shard, with no transfer", async () => {
    const riderId = idIn("SHARD_1");
    const driverId = idIn("SHARD_1");
    await postEntry(env, topUpEntry(unique("tu"), riderId, USD(1_000), "sandbox"), Date.now());
    const tip = tipEntry(unique("tip:trip"), unique("trip"), riderId, driverId, USD(400));
    expect(await postEntry(env, tip, Date.now())).toBe("posted");
    expect(await walletOf(env, riderId, "USD")).toMatchObject({ available: USD(600) });
    expect(await earnings(driverId)).toEqual(USD(400));
    const shard = ledgerOf(env, riderId);
    const legs = await shard
      .prepare(`SELECT owner_id AS owner FROM journal_entries WHERE idempotency_key IN (?, ?) ORDER BY owner_id`)
      .bind(tip.key, legKey(tip.key, driverId))
      .all<{ owner: string }>();
    expect(legs.results.map((r) => r.owner).sort()).toEqual([driverId, riderId].sort());
    expect(await transferStatus(riderId, tip.key, driverId)).toBeUndefined();
    // Refused as a whole: a tip the wallet no longer covers posts neither leg.
    const over = tipEntry(unique("tip:trip"), unique("trip"), riderId, driverId, USD(700));
    expect(await postEntry(env, over, Date.now())).toBe("refused");
    expect(await earnings(driverId)).toEqual(USD(400));
    expect(await postEntry(env, tip, Date.now())).toBe("duplicate");
    expect(await earnings(driverId)).toEqual(USD(400));
    expect(await ledgerProblems(env)).toEqual([]);
  });

  it("leaves the money in transit after a stop between the legs; a retry posts the second leg once", async () => {
    const { riderId, driverId } = await riderAndDriverApart(1_000);
    const tip = tipEntry(unique("tip:trip"), unique("trip"), riderId, driverId, USD(250));
    // Step one alone, as a request that died right after its first batch leaves it.
    const leg = firstLegOf(env, tip, Date.now());
    await leg.d1.batch(leg.statements);
    expect(await walletOf(env, riderId, "USD")).toMatchObject({ available: USD(750) });
    expect(await earnings(driverId)).toEqual(USD(0));
    expect(await transferStatus(riderId, tip.key, driverId)).toBe("pending");
    // The money in transit is what the pending transfer carries: not a problem.
    expect(await ledgerProblems(env)).toEqual([]);

    expect(await postEntry(env, tip, Date.now())).toBe("duplicate");
    expect(await earnings(driverId)).toEqual(USD(250));
    expect(await transferStatus(riderId, tip.key, driverId)).toBe("done");
    // Driving it again changes nothing.
    await completeLegs(env, leg, "posted", Date.now());
    expect(await earnings(driverId)).toEqual(USD(250));
    expect(await ledgerProblems(env)).toEqual([]);
  });

  it("has a replayed tip post the driver's leg that a stop left pending", async () => {
    const { riderId, driverId } = await riderAndDriverApart(1_000);
    const tripId = unique("trip");
    const requestKey = unique("key");
    const key = tipKey(tripId, requestKey);
    const leg = firstLegOf(env, tipEntry(key, tripId, riderId, driverId, USD(75)), Date.now());
    await leg.d1.batch(leg.statements);
    expect(await earnings(driverId)).toEqual(USD(0));

    const replay = await tipTrip(
      env,
      { tripId, requestKey, riderId, driverId, amount: USD(75), bound: 500 },
      Date.now(),
    );
    expect(replay).toMatchObject({ status: "duplicate", tip: { amount: USD(75), tipped: USD(75) } });
    expect(await earnings(driverId)).toEqual(USD(75));
    expect(await transferStatus(riderId, key, driverId)).toBe("done");
  });

  it("has the reconciliation post a second leg left pending past its grace, once", async () => {
    const { riderId, driverId } = await riderAndDriverApart(1_000);
    const tip = tipEntry(unique("tip:trip"), unique("trip"), riderId, driverId, USD(120));
    const young = tipEntry(unique("tip:trip"), unique("trip"), riderId, driverId, USD(30));
    // Two requests that died after their first leg: one two minutes ago, one just now.
    const old = firstLegOf(env, tip, Date.now() - 120_000);
    await old.d1.batch(old.statements);
    const recent = firstLegOf(env, young, Date.now());
    await recent.d1.batch(recent.statements);

    // The young one is within its grace: its posting is still given the chance to finish it.
    const run = await reconcile(env, config, Date.now());
    expect(run.transfersCompleted).toBeGreaterThanOrEqual(1);
    expect(await earnings(driverId)).toEqual(USD(120));
    expect(await transferStatus(riderId, tip.key, driverId)).toBe("done");
    expect(await transferStatus(riderId, young.key, driverId)).toBe("pending");
    expect(run.ledgerProblems).toEqual([]);
    const again = await reconcile(env, config, Date.now() + 120_000);
    expect(await transferStatus(riderId, young.key, driverId)).toBe("done");
    expect(await earningsOf(env, driverId, "USD", 0, Date.now() + 200_000)).toMatchObject({ net: USD(150) });
    expect(again.ledgerProblems).toEqual([]);
  });

  it("reports money in transit that no pending transfer explains", async () => {
    const { riderId, driverId } = await riderAndDriverApart(1_000);
    const tip = tipEntry(unique("tip:trip"), unique("trip"), riderId, driverId, USD(90));
    const leg = firstLegOf(env, tip, Date.now() - 120_000);
    await leg.d1.batch(leg.statements);
    // A transfer marked done whose leg never arrived: 90 lost between the shards.
    const mark = (status: string) =>
      leg.d1
        .prepare(`UPDATE ledger_transfers SET status = ? WHERE leg_key = ?`)
        .bind(status, legKey(tip.key, driverId))
        .run();
    await mark("done");
    expect(await ledgerProblems(env)).toEqual([{ kind: "transit_mismatch", currency: "USD", transit: 90, pending: 0 }]);

    // Put right, as an operator would: pending again, and the sweep posts the leg.
    await mark("pending");
    await reconcile(env, config, Date.now());
    expect(await earnings(driverId)).toEqual(USD(90));
    expect(await ledgerProblems(env)).toEqual([]);
  });
});

describe("a shard move", () => {
  it("refuses the money of users whose bucket is moving (503), and serves everyone else's", async () => {
    const { riderId, driverId } = await riderAndDriverApart(800);
    // SHARD_1's buckets were SHARD_0's before this move: its users' money may be in either.
    const moving = { ...env, SHARD_MAP_PREVIOUS: "0-1023:SHARD_0" } as Env;
    await expect(walletOf(moving, driverId, "USD")).rejects.toMatchObject({ status: 503 });
    await expect(
      postEntry(moving, topUpEntry(unique("tu"), driverId, USD(10), "sandbox"), Date.now()),
    ).rejects.toMatchObject({ status: 503 });
    expect(await walletOf(moving, riderId, "USD")).toMatchObject({ available: USD(800) });

    // A tip from the rider (not moving) to the driver (moving): the rider's leg goes in, the
    // driver's waits in transit until the move is over, then arrives.
    const tip = tipEntry(unique("tip:trip"), unique("trip"), riderId, driverId, USD(100));
    expect(await postEntry(moving, tip, Date.now())).toBe("posted");
    expect(await walletOf(moving, riderId, "USD")).toMatchObject({ available: USD(700) });
    expect(await transferStatus(riderId, tip.key, driverId)).toBe("pending");
    expect(await postEntry(env, tip, Date.now())).toBe("duplicate");
    expect(await earnings(driverId)).toEqual(USD(100));
    expect(await ledgerProblems(env)).toEqual([]);
  });
});

describe("the checks during a shard move", () => {
  it("leave out what a copy in two shards makes look wrong, still report the rest, list a payout once", async () => {
    // The driver is in SHARD_1, whose buckets were SHARD_0's before the move below; the rider stays.
    const { riderId, driverId } = await riderAndDriverApart(500);
    const moving = { ...env, SHARD_MAP_PREVIOUS: "0-1023:SHARD_0" } as Env;
    const tip = tipEntry(unique("tip:trip"), unique("trip"), riderId, driverId, USD(100));
    expect(await postEntry(env, tip, Date.now())).toBe("posted");
    const [old, now] = [env.SHARD_0, env.SHARD_1];
    const insert = (db: D1Database, table: string, row: Record<string, unknown>) =>
      db
        .prepare(`INSERT INTO ${table} (${Object.keys(row).join(", ")}) VALUES (${Object.keys(row).map(() => "?")})`)
        .bind(...Object.values(row));
    const nextLineId = async (db: D1Database) =>
      ((await db.prepare(`SELECT COALESCE(MAX(id), 0) + 1 AS id FROM journal_lines`).first<{ id: number }>())
        ?.id as number) + 1_000;
    // The driver's leg, copied by the move and not deleted from the old shard yet.
    const leg = await now
      .prepare(`SELECT * FROM journal_entries WHERE idempotency_key = ?`)
      .bind(legKey(tip.key, driverId))
      .first();
    const legLines = (await now.prepare(`SELECT * FROM journal_lines WHERE entry_id = ?`).bind(leg?.id).all()).results;
    const base = await nextLineId(old);
    // What the move has not copied yet of each owner: for the driver, a payout's paid mark whose
    // payout already went (the payout account looks below zero in the old shard); for the rider, who
    // is not moving, the same shape, which is a real problem.
    const strayIds: string[] = [];
    const stray = (owner: string, lineId: number) => {
      const id = unique("je");
      strayIds.push(id);
      return [
        insert(old, "journal_entries", {
          id,
          idempotency_key: id,
          owner_id: owner,
          kind: "payout_paid",
          trip_id: null,
          data: null,
          created_at: Date.now(),
        }),
        insert(old, "journal_lines", {
          id: lineId,
          entry_id: id,
          owner_id: owner,
          account_id: `payout:${owner}`,
          amount: -10,
          currency: "USD",
          created_at: Date.now(),
        }),
        insert(old, "journal_lines", {
          id: lineId + 1,
          entry_id: id,
          owner_id: owner,
          account_id: `clearing:sandbox`,
          amount: 10,
          currency: "USD",
          created_at: Date.now(),
        }),
      ];
    };
    const payout = {
      id: unique("po"),
      driver_id: driverId,
      idempotency_key: unique("key"),
      trigger: "request",
      amount: 1,
      currency: "USD",
      provider: "sandbox",
      destination: "acct_1",
      status: "failed",
      attempts: 1,
      created_at: Date.now(),
      updated_at: Date.now(),
    };
    await old.batch([
      insert(old, "journal_entries", leg as Record<string, unknown>),
      ...legLines.map((line, i) => insert(old, "journal_lines", { ...line, id: base + i })),
      ...stray(driverId, base + 100),
      ...stray(riderId, base + 200),
      insert(old, "payouts", payout),
    ]);
    // Settled in the new shard since its copy: the list shows that copy.
    await insert(now, "payouts", { ...payout, status: "paid", updated_at: payout.updated_at + 1 }).run();

    const riderPayout = expect.objectContaining({ kind: "account_balance", account: `payout:${riderId}` });
    // Read as if no move ran, the copy and the part not yet copied look like money lost or made.
    const unaware = await ledgerProblems(env);
    expect(unaware).toContainEqual({ kind: "transit_mismatch", currency: "USD", transit: -100, pending: 0 });
    expect(unaware).toContainEqual(expect.objectContaining({ kind: "account_balance", account: `payout:${driverId}` }));
    expect(unaware).toContainEqual(riderPayout);
    // During the move, only the rider's (who is not moving) is reported.
    expect(await ledgerProblems(moving)).toEqual([riderPayout]);
    const run = await reconcile(moving, config, Date.now());
    expect(run.transitChecked).toBe(false);
    expect((await listPayouts(moving, {}, 1_000, undefined)).filter((p) => p.id === payout.id)).toEqual([
      expect.objectContaining({ status: "paid" }),
    ]);

    // Put back as it was, under the lock that lets a move's deletes through the immutability triggers.
    await old.batch([
      old.prepare(`INSERT INTO ledger_move_lock (id) VALUES (1)`),
      old.prepare(`DELETE FROM journal_lines WHERE id >= ?`).bind(base),
      old.prepare(`DELETE FROM journal_entries WHERE id IN (?, ?, ?)`).bind(leg?.id, ...strayIds),
      old.prepare(`DELETE FROM payouts WHERE id = ?`).bind(payout.id),
      old.prepare(`DELETE FROM ledger_move_lock`),
    ]);
    expect(await ledgerProblems(env)).toEqual([]);
    expect((await reconcile(env, config, Date.now())).transitChecked).toBe(true);
  });
});
