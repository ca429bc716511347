// The reconciliation cron (src/payments/reconcile.ts): holds left behind by requests that never
// made their trip (issue 12) are released once, holds of active trips and young holds are left
// alone, an ended trip settles before anything is released, a run next to a settling trip posts
// each entry once, and ledger accounts that break their rules are reported. Its own file: the
// last test writes a broken entry into this file's D1 on purpose.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { holdFare } from "../../src/db/holds";
import { ledgerOf } from "../../src/db/ledger-statements";
import worker from "../../src/index";
import { reconcile } from "../../src/payments/reconcile";
import { call, registerUser, unique } from "../helpers/api";
import { ledgerRows, USD, walletOf } from "../helpers/ledger";
import {
  acceptedTrip,
  area,
  driverAction,
  offset,
  onlineDriver,
  requestTrip,
  stopTripAlarms,
  waitFor,
} from "../helpers/dispatch";

const config = loadConfig(env);
const GRACE = config.RECONCILE_HOLD_GRACE_MS;

afterAll(stopTripAlarms);

async function entryKinds(tripId: string): Promise<string[]> {
  // A trip's entries are all led by its rider, so their first legs are in one shard, in order.
  const rows = await ledgerRows<{ kind: string }>(
    `SELECT kind FROM journal_entries WHERE trip_id = ? AND idempotency_key NOT LIKE 'leg:%' ORDER BY rowid`,
    tripId,
  );
  return rows.map((r) => r.kind);
}

/** Runs the Worker's `scheduled` handler as the Cron Trigger would, and waits for its work. */
async function runCron(at = Date.now()): Promise<void> {
  const ctx = createExecutionContext();
  worker.scheduled(createScheduledController({ scheduledTime: at, cron: "*/10 * * * *" }), env, ctx);
  await waitOnExecutionContext(ctx);
}

describe("reconciliation of holds", () => {
  it("releases the hold of a request that never made its trip, once, from the Cron Trigger (issue 12)", async () => {
    const rider = await registerUser("rider");
    // What a request that died between its hold and its trip (or whose release failed) leaves.
    const tripId = unique("trip_lost");
    await holdFare(env, tripId, rider.user.id, USD(900), Date.now() - GRACE - 60_000);
    expect(await walletOf(rider)).toMatchObject({ held: USD(900), available: USD(50_000 - 900) });

    await runCron();
    expect(await walletOf(rider)).toMatchObject({ held: USD(0), available: USD(50_000) });
    expect(await entryKinds(tripId)).toEqual(["hold", "release"]);
    // The next run finds nothing left: a release is posted once.
    const again = await reconcile(env, config, Date.now());
    expect(again.released.filter((r) => r.tripId === tripId)).toEqual([]);
    expect(await entryKinds(tripId)).toEqual(["hold", "release"]);
  });

  it(
    "answers with a summary of what it released and left alone, and leaves active trips and young holds " + "be",
    async () => {
      const rider = await registerUser("rider");
      const lost = unique("trip_lost");
      await holdFare(env, lost, rider.user.id, USD(800), Date.now() - GRACE - 1_000);
      const young = unique("trip_young");
      await holdFare(env, young, rider.user.id, USD(700), Date.now());
      const pickup = area(80);
      const active = await requestTrip(await registerUser("rider"), pickup, offset(pickup, 3));

      // Run as if well past the grace of every hold but the young one's.
      const summary = await reconcile(env, config, Date.now() + 5_000);
      expect(summary.released).toContainEqual({
        tripId: lost,
        riderId: rider.user.id,
        amount: USD(800),
        why: "unknown_trip",
      });
      expect(summary.released.map((r) => r.tripId)).not.toContain(young);
      expect(summary.failed).toEqual([]);
      const later = await reconcile(env, config, Date.now() + GRACE + 60_000);
      expect(later.released.map((r) => r.tripId)).toEqual([young]);
      expect(later.active).toBeGreaterThanOrEqual(1);
      expect(await entryKinds(active.id)).toEqual(["hold"]);
    },
  );

  it("lets an ended trip settle first and runs safely next to it: each entry is posted once", async () => {
    const pickup = area(81);
    const driver = await onlineDriver(offset(pickup, 0.3));
    const rider = await registerUser("rider");
    const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
    for (const action of ["arrived", "start"] as const)
      expect((await driverAction(driver, trip.id, action)).status).toBe(200);
    // The completion and a reconciliation (as if long after) race for the trip's hold.
    const [done, summary] = await Promise.all([
      driverAction(driver, trip.id, "complete"),
      reconcile(env, config, Date.now() + GRACE + 60_000),
    ]);
    expect(done.status).toBe(200);
    await reconcile(env, config, Date.now() + GRACE + 60_000);
    const kinds = await waitFor(
      "the capture",
      async () => {
        const k = await entryKinds(trip.id);
        return k.includes("capture") ? k : undefined;
      },
      8_000,
    );
    expect(kinds).toEqual(["hold", "release", "capture"]);
    const fare = done.body.trip.fare;
    expect(await walletOf(rider)).toEqual({
      balance: USD(50_000 - fare.amount),
      held: USD(0),
      available: USD(50_000 - fare.amount),
      owed: USD(0),
    });
    expect(summary.failed).toEqual([]);

    // A cancelled trip whose own settlement has not run yet: the cron makes it run.
    const other = await registerUser("rider");
    const cancelled = await requestTrip(other, area(82), offset(area(82), 3));
    expect((await call("POST", `/v1/trips/${cancelled.id}/cancel`, { token: other.token })).status).toBe(200);
    await Promise.all([
      reconcile(env, config, Date.now() + GRACE + 60_000),
      reconcile(env, config, Date.now() + GRACE + 60_000),
    ]);
    await waitFor("the release", async () => ((await entryKinds(cancelled.id)).includes("release") ? true : undefined));
    expect(await entryKinds(cancelled.id)).toEqual(["hold", "release"]);
    expect(await walletOf(other)).toMatchObject({ held: USD(0), available: USD(50_000) });
    driver.socket.close();
  });
});

describe("the ledger check", () => {
  it("reports an account whose lines break its rules and an entry whose lines do not sum to zero", async () => {
    const clean = await reconcile(env, config, Date.now());
    expect(clean.ledgerProblems).toEqual([]);
    // Written past the posting code on purpose, as a bug or a hand edit would, in the ghost's partition.
    const now = Date.now();
    const ghost = unique("ghost");
    const shard = ledgerOf(env, ghost);
    await shard.batch([
      shard
        .prepare(
          `INSERT INTO journal_entries (id, idempotency_key, owner_id, kind, trip_id, data, created_at) VALUES ` +
            `('je_neg', ?, ?, 'release', NULL, NULL, ?), ('je_odd', ?, ?, 'capture', NULL, NULL, ?)`,
        )
        .bind(unique("k"), ghost, now, unique("k"), ghost, now),
      shard
        .prepare(
          `INSERT INTO journal_lines (entry_id, owner_id, account_id, amount, currency, created_at) VALUES ` +
            `('je_neg', ?1, ?2, -300, 'USD', ?4), ('je_neg', ?1, ?3, 300, 'USD', ?4), ` +
            `('je_odd', ?1, 'platform:revenue', 5, 'USD', ?4)`,
        )
        .bind(ghost, `hold:${ghost}`, `wallet:${ghost}`, now),
    ]);
    const summary = await reconcile(env, config, Date.now());
    expect(summary.ledgerProblems).toContainEqual({
      kind: "account_balance",
      account: `hold:${ghost}`,
      currency: "USD",
      balance: -300,
      rule: "a hold never goes below zero",
    });
    expect(summary.ledgerProblems).toContainEqual({
      kind: "unbalanced_entry",
      entryId: "je_odd",
      currency: "USD",
      sum: 5,
      accounts: ["platform:revenue"],
    });
    expect(summary.ledgerProblems).toHaveLength(2);
  });
});
