/**
 * The move of a deployment's chat archive, notification log and ledger out of `DB` into the
 * shards (src/db/shard-move.ts, scripts/migrate-to-shards.ts), on generated rows in the real local
 * D1 databases: run in steps, stopped between a copy and its delete (and, for the ledger, after any
 * one statement), resumed, and run again; every row ends once in the shard its key routes to, as
 * it was (a ledger entry as its legs, a trip as its rider's and driver's history rows), and nothing
 * is left behind. Then a SHARD_MAP change moves only the rows of the buckets that changed hands.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  DIRECTORY_TABLES,
  MOVED_TABLES,
  moveRows,
  type SqlDatabase,
  sqlLiteral,
  targetUnder,
} from "../../src/db/shard-move";
import { allShards, bucketOf, parseShardMap, shardBindingFor, type ShardKind } from "../../src/db/shards";
import { ledgerProblems } from "../../src/db/ledger-checks";
import { drivePendingTransfers } from "../../src/db/ledger-transfers";
import { firstLegOf } from "../../src/db/postings";
import { chargeEntry, chargeKey } from "../../src/domain/charges";
import { accountKind, accountOwner, type ChargeData, type Entry } from "../../src/domain/ledger-entries";
import { legsOf } from "../../src/domain/ledger-legs";
import { payoutEntry, payoutPaidEntry } from "../../src/domain/payouts";
import { partialRefundEntry, tripRefundKey } from "../../src/domain/refunds";
import { tipEntry, tipKey } from "../../src/domain/tips";
import { holdEntry, releaseEntry, topUpEntry } from "../../src/domain/wallet-entries";
import { historyRowsOf, writeTripHistory } from "../../src/db/trip-history";
import type { Trip } from "../../src/protocol/dispatch";
import { movable, putDirectoryTrip, storedTrip } from "../helpers/shards";

const shards = new Map(allShards(env).map(({ binding, db }) => [binding, movable(db)]));
const directory = { name: "DB", db: movable(env.DB) };

type Generated = Record<string, Record<string, unknown>[]>;

/** Rooms and users with messages, reactions, notifications and channels, as the single DB held them. */
function generate(prefix: string, messageCount: number, notificationCount: number): Generated {
  const rooms = Array.from({ length: 24 }, (_, i) => `${prefix}-room-${i}`);
  const users = Array.from({ length: 16 }, (_, i) => `${prefix}-usr-${i}`);
  const messages = Array.from({ length: messageCount }, (_, i) => {
    const roomId = rooms[i % rooms.length] as string;
    const seq = Math.floor(i / rooms.length) + 1;
    return {
      id: `msg_${roomId}_${seq}`,
      room_id: roomId,
      seq,
      user_id: users[i % users.length],
      text: i % 7 === 0 ? `it's "quoted", ünïcode ✓ and 'apostrophes' #${i}` : `message ${i}`,
      created_at: 1_700_000_000_000 + i,
      reply_to: seq > 1 && i % 5 === 0 ? seq - 1 : null,
      edited_at: i % 11 === 0 ? 1_700_000_100_000 + i : null,
      deleted_at: null,
      change_seq: i % 11 === 0 ? seq + 1 : null,
      attachments: i % 13 === 0 ? JSON.stringify([{ key: `k${i}`, name: "a.png", size: 10, type: "image/png" }]) : null,
    };
  });
  const reactions = messages
    .filter((_, i) => i % 3 === 0)
    .map((m, i) => ({ room_id: m.room_id, seq: m.seq, emoji: "👍", user_id: users[i % users.length], created_at: 1 }));
  const notifications = Array.from({ length: notificationCount }, (_, i) => {
    const userId = users[i % users.length] as string;
    return {
      id: `chat:${prefix}:${i}:${userId}`,
      user_id: userId,
      type: "chat_message",
      payload: JSON.stringify({ preview: `n${i}` }),
      status: i % 4 === 0 ? "pending" : "delivered",
      attempts: i % 3,
      last_error: i % 9 === 0 ? "HTTP 500" : null,
      delivered_to: JSON.stringify(i % 2 ? ["dev_1"] : []),
      lease_until: null,
      acked_at: i % 6 === 0 ? 1_700_000_200_000 : null,
      created_at: 1_700_000_000_000 + i,
      updated_at: 1_700_000_000_500 + i,
    };
  });
  const channels = notifications.flatMap((n, i) =>
    ["webhook", "email"].slice(0, 1 + (i % 2)).map((channel) => ({
      notification_id: n.id,
      channel,
      user_id: n.user_id,
      outcome: "delivered",
      attempts: 1,
      last_error: null,
      reserved_at: channel === "email" ? 1_700_000_000_000 + i : null,
      updated_at: 1_700_000_000_600 + i,
    })),
  );
  return { messages, message_reactions: reactions, notifications, notification_channels: channels };
}

async function fillDirectory(rows: Generated): Promise<void> {
  for (const table of DIRECTORY_TABLES) {
    const statements = (rows[table.name] ?? []).map(
      (row) =>
        `INSERT INTO ${table.name} (${table.columns.join(", ")}) VALUES (${table.columns
          .map((c) => sqlLiteral(row[c]))
          .join(", ")})`,
    );
    for (let i = 0; i < statements.length; i += 100) await directory.db.run(statements.slice(i, i + 100));
  }
}

const ordered = (table: (typeof MOVED_TABLES)[number]) => `ORDER BY ${table.primaryKey.join(", ")}`;

/** A table's rows of this run (keys start with `prefix`), in one database, in primary-key order. */
async function rowsIn(db: SqlDatabase, table: (typeof MOVED_TABLES)[number], prefix: string) {
  return db.query(
    `SELECT ${table.columns.join(", ")} FROM ${table.name}
     WHERE ${table.key} LIKE ${sqlLiteral(`${prefix}-%`)} ${ordered(table)}`,
  );
}

const sortByKey = (table: (typeof MOVED_TABLES)[number], rows: Record<string, unknown>[]) =>
  [...rows].sort((a, b) => {
    const ka = JSON.stringify(table.primaryKey.map((c) => a[c]));
    const kb = JSON.stringify(table.primaryKey.map((c) => b[c]));
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });

describe("moving DB's chat archive and notification log into the shards", () => {
  it("moves every row once to its key's shard, in steps, across a stop between copy and delete", async () => {
    const prefix = "gen1";
    const generated = generate(prefix, 600, 300);
    await fillDirectory(generated);
    const job = {
      job: "test-move-1",
      source: directory,
      tables: DIRECTORY_TABLES,
      targetOf: (kind: ShardKind, key: string) => shardBindingFor(env, kind, key),
      targets: shards,
      pageSize: 64,
    };

    // A few steps, then a stop.
    const first = await moveRows({ ...job, maxSteps: 3 });
    expect(first.find((t) => t.table === "messages")).toMatchObject({ moved: 192, done: false });

    // A crash after a page was copied and before it was deleted from DB.
    await expect(
      moveRows({
        ...job,
        afterCopy: (table, step) => {
          if (table === "messages" && step === 2) throw new Error("the operator's laptop went to sleep");
        },
      }),
    ).rejects.toThrow("laptop");

    // Resumed to the end, then run again: the second run finds nothing more to do.
    const done = await moveRows(job);
    expect(done.every((t) => t.done)).toBe(true);
    expect(await moveRows(job)).toEqual(done);
    expect(done.map((t) => [t.table, t.moved])).toEqual(
      DIRECTORY_TABLES.map((t) => [t.name, generated[t.name]?.length ?? 0]),
    );

    for (const table of DIRECTORY_TABLES.filter((t) => t.kind !== "ledger" && !t.into)) {
      // Nothing of this run is left in DB.
      expect(await rowsIn(directory.db, table, prefix)).toEqual([]);
      const expected = generated[table.name] ?? [];
      const perShard = new Map<string, Record<string, unknown>[]>();
      for (const [binding, db] of shards) perShard.set(binding, await rowsIn(db, table, prefix));
      // Each row in the shard its key routes to, exactly as it was; both shards got some.
      for (const [binding, rows] of perShard) {
        const mine = expected.filter((row) => shardBindingFor(env, table.kind, String(row[table.key])) === binding);
        expect(rows.length).toBeGreaterThan(0);
        expect(sortByKey(table, rows)).toEqual(sortByKey(table, mine));
      }
      expect([...perShard.values()].reduce((n, rows) => n + rows.length, 0)).toBe(expected.length);
    }
  });

  it("leaves a row the Worker wrote to the shard since as the Worker wrote it", async () => {
    const prefix = "gen2";
    const generated = generate(prefix, 24, 16);
    await fillDirectory(generated);
    const notification = generated.notifications?.[0] as Record<string, unknown>;
    const userId = String(notification.user_id);
    const home = shards.get(shardBindingFor(env, "notifications", userId)) as SqlDatabase;
    // Redelivered after the deploy, the consumer logged and settled it in the user's shard.
    await home.run([
      `INSERT INTO notifications (id, user_id, type, payload, status, attempts, delivered_to, created_at, updated_at)
       VALUES (${sqlLiteral(notification.id)}, ${sqlLiteral(userId)}, 'chat_message', '{}', 'failed', 5, '[]', 1, 2)`,
    ]);
    await moveRows({
      job: "test-move-2",
      source: directory,
      tables: DIRECTORY_TABLES,
      targetOf: (kind, key) => shardBindingFor(env, kind, key),
      targets: shards,
      pageSize: 10,
    });
    const [kept] = await home.query(
      `SELECT status, attempts FROM notifications WHERE id = ${sqlLiteral(notification.id)}`,
    );
    expect(kept).toEqual({ status: "failed", attempts: 5 });
    const notifications = MOVED_TABLES.find((t) => t.name === "notifications") as (typeof MOVED_TABLES)[number];
    expect(await rowsIn(directory.db, notifications, prefix)).toEqual([]);
  });
});

describe("moving buckets after a SHARD_MAP change", () => {
  it("moves only the rows of the buckets that changed shard, and keeps the rest", async () => {
    const prefix = "gen3";
    const generated = generate(prefix, 240, 0);
    await fillDirectory(generated);
    const routeNow = (kind: ShardKind, key: string) => shardBindingFor(env, kind, key);
    await moveRows({
      job: "test-move-3",
      source: directory,
      tables: DIRECTORY_TABLES,
      targetOf: routeNow,
      targets: shards,
      pageSize: 100,
    });

    // SHARD_1 takes buckets 384-511 over from SHARD_0.
    const after = parseShardMap("0-383:SHARD_0,384-1023:SHARD_1", () => true);
    const before0 = await rowsIn(
      shards.get("SHARD_0") as SqlDatabase,
      MOVED_TABLES[0] as (typeof MOVED_TABLES)[number],
      prefix,
    );
    const leaving = before0.filter((row) => bucketOf(String(row.room_id)) >= 384);
    expect(leaving.length).toBeGreaterThan(0);
    const progress = await moveRows({
      job: "test-rebalance",
      source: { name: "SHARD_0", db: shards.get("SHARD_0") as SqlDatabase },
      tables: MOVED_TABLES,
      targetOf: targetUnder(after.byBucket, "SHARD_0"),
      targets: shards,
      pageSize: 50,
      maxSteps: 1_000,
    });
    const messages = progress.find((t) => t.table === "messages");
    expect(messages?.moved).toBeGreaterThanOrEqual(leaving.length);
    for (const table of MOVED_TABLES.filter((t) => t.kind === "chat")) {
      const in0 = await rowsIn(shards.get("SHARD_0") as SqlDatabase, table, prefix);
      const in1 = await rowsIn(shards.get("SHARD_1") as SqlDatabase, table, prefix);
      expect(in0.every((row) => bucketOf(String(row.room_id)) < 384)).toBe(true);
      expect(in1.every((row) => bucketOf(String(row.room_id)) >= 384)).toBe(true);
      expect(sortByKey(table, [...in0, ...in1])).toEqual(sortByKey(table, generated[table.name] ?? []));
    }
  });
});

// ---- the ledger ---------------------------------------------------------------------------------

const USD = (amount: number) => ({ amount, currency: "USD" });
const BREAKDOWN = { base: 300, distance: 700, time: 400, surge: 0, fee: 100 };

/** The first id `<prefix>-<role>-<n>` whose bucket is in [from, to]: users placed in the shard a test needs. */
function userInBuckets(prefix: string, role: string, from: number, to: number): string {
  for (let n = 0; ; n++) {
    const id = `${prefix}-${role}-${n}`;
    const bucket = bucketOf(id);
    if (bucket >= from && bucket <= to) return id;
  }
}

type DirectoryLedger = { entries: Entry[]; payouts: Record<string, unknown>[]; provider: string };

/**
 * A ledger as `DB` held it before the shards, each rider with its own trips: top-ups, a cancelled
 * trip's hold and release, a ride's hold, release and capture, a tip, a partial refund, a fee the
 * wallet could not cover (a receivable) and a top-up after it, and a driver's payout paid and one pending.
 */
function directoryLedger(prefix: string, riders: string[], drivers: string[]): DirectoryLedger {
  const provider = `prov-${prefix}`;
  const entries: Entry[] = [];
  const payouts: Record<string, unknown>[] = [];
  const add = (entry: Entry | null) => {
    if (entry) entries.push(entry);
  };
  riders.forEach((rider, i) => {
    const driver = drivers[i % drivers.length] as string;
    const trip = (n: number) => `${prefix}-trip-${i}-${n}`;
    let wallet = 5_000 + 100 * i;
    add(topUpEntry(`${prefix}-tu-${i}`, rider, USD(wallet), provider));
    add(holdEntry(trip(1), rider, USD(2_000)));
    add(releaseEntry(trip(1), rider, USD(2_000)));
    add(holdEntry(trip(2), rider, USD(1_500)));
    add(releaseEntry(trip(2), rider, USD(1_500)));
    const capture = chargeEntry({
      kind: "capture",
      tripId: trip(2),
      riderId: rider,
      driverId: driver,
      charge: USD(1_500 + 10 * i),
      breakdown: BREAKDOWN,
      available: wallet,
      commissionBps: 2_500,
    });
    add(capture);
    wallet -= 1_500 + 10 * i;
    add(tipEntry(tipKey(trip(2), `tip-${i}`), trip(2), rider, driver, USD(300)));
    wallet -= 300;
    const charge = capture?.data as ChargeData;
    add(
      partialRefundEntry(
        { chargeKey: chargeKey(trip(2), "capture"), tripId: trip(2), charge, refunded: 0 },
        500,
        tripRefundKey(trip(2), `r-${i}`),
      ),
    );
    wallet += 500;
    // More than the wallet holds: the rest is owed.
    add(
      chargeEntry({
        kind: "fee",
        tripId: trip(3),
        riderId: rider,
        driverId: driver,
        charge: USD(wallet + 400),
        breakdown: BREAKDOWN,
        available: wallet,
        commissionBps: 2_500,
      }),
    );
    // Topped up again once the wallet is empty.
    add(topUpEntry(`${prefix}-tu2-${i}`, rider, USD(700), provider));
  });
  drivers.forEach((driver, i) => {
    for (const [n, status] of [
      [1, "paid"],
      [2, "pending"],
    ] as const) {
      const id = `${prefix}-po-${i}-${n}`;
      const amount = 400 + 100 * n;
      add(payoutEntry(id, driver, USD(amount)));
      if (status === "paid") add(payoutPaidEntry(id, driver, USD(amount), provider));
      payouts.push({
        id,
        driver_id: driver,
        idempotency_key: `${prefix}-key-${i}-${n}`,
        trigger: "request",
        amount,
        currency: "USD",
        provider,
        destination: `acct_${i}`,
        status,
        provider_ref: status === "paid" ? `tr_${prefix}_${i}` : null,
        failure: null,
        attempts: status === "paid" ? 1 : 0,
        created_at: 1_700_000_000_000 + n,
        updated_at: 1_700_000_000_100 + n,
      });
    }
  });
  return { entries, payouts, provider };
}

/** Writes the ledger into `DB`'s old tables, as db/postings.ts did before the shards. */
async function fillDirectoryLedger(prefix: string, users: string[], ledger: DirectoryLedger): Promise<void> {
  const statements = users.map(
    (id) =>
      `INSERT INTO users (id, email, name, role, password_hash, created_at)
       VALUES (${sqlLiteral(id)}, ${sqlLiteral(`${id}@example.test`)}, 'Gen', 'driver', 'x', 1)`,
  );
  ledger.entries.forEach((entry, n) => {
    const id = `je_${prefix}_${n}`;
    const at = 1_700_000_000_000 + 1_000 * n;
    for (const account of new Set(entry.lines.map((l) => l.account)))
      statements.push(
        `INSERT OR IGNORE INTO ledger_accounts (id, kind, owner_id, created_at)
         VALUES (${[account, accountKind(account), accountOwner(account), at].map(sqlLiteral).join(", ")})`,
      );
    statements.push(
      `INSERT INTO journal_entries (id, idempotency_key, kind, trip_id, data, created_at)
       VALUES (${[id, entry.key, entry.kind, entry.tripId, entry.data && JSON.stringify(entry.data), at]
         .map(sqlLiteral)
         .join(", ")})`,
      ...entry.lines.map(
        (l) =>
          `INSERT INTO journal_lines (entry_id, account_id, amount, currency, created_at)
           VALUES (${[id, l.account, l.amount, l.currency, at].map(sqlLiteral).join(", ")})`,
      ),
    );
  });
  for (const row of ledger.payouts) {
    const columns = Object.keys(row);
    statements.push(
      `INSERT INTO payouts (${columns.join(", ")}) VALUES (${columns.map((c) => sqlLiteral(row[c])).join(", ")})`,
    );
  }
  for (let i = 0; i < statements.length; i += 100) await directory.db.run(statements.slice(i, i + 100));
}

/** Keys of this run's entries and legs contain `prefix`: balances are summed over them alone. */
const ofRun = (prefix: string) => `e.idempotency_key LIKE ${sqlLiteral(`%${prefix}-%`)}`;

type Balance = { account: string; currency: string; balance: number };

/** Each account's balance over this run's entries, in one database. */
async function balancesIn(db: SqlDatabase, prefix: string): Promise<Balance[]> {
  return db.query<Balance>(
    `SELECT l.account_id AS account, l.currency AS currency, SUM(l.amount) AS balance
     FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id
     WHERE ${ofRun(prefix)} GROUP BY l.account_id, l.currency ORDER BY l.account_id, l.currency`,
  );
}

/** This run's balances over every shard: each user's account in its owner's shard only, the rest summed. */
async function shardBalances(prefix: string, route: (owner: string) => string): Promise<Map<string, number>> {
  const sums = new Map<string, number>();
  for (const [binding, db] of shards) {
    for (const { account, currency, balance } of await balancesIn(db, prefix)) {
      const owner = accountOwner(account);
      if (owner !== null) expect(route(owner), `${account} in ${binding}`).toBe(binding);
      const key = `${account} ${currency}`;
      sums.set(key, (sums.get(key) ?? 0) + balance);
    }
  }
  for (const [key, balance] of sums) if (balance === 0 && key.startsWith("transit:")) sums.delete(key);
  return sums;
}

const asMap = (rows: Balance[]) => new Map(rows.map((r) => [`${r.account} ${r.currency}`, r.balance]));

/** A deterministic random source (mulberry32), so a failing sequence of stops can be run again. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * A database as scripts/migrate-to-shards.ts may reach it: each statement on its own, and the
 * connection lost now and then, after a statement ran or before a read.
 */
function unreliable(db: SqlDatabase, random: () => number, chance: number): SqlDatabase {
  const lost = () => {
    if (random() < chance) throw new Error("connection lost");
  };
  return {
    async query<T extends Record<string, unknown>>(sql: string) {
      lost();
      return db.query<T>(sql);
    },
    async run(statements: string[]) {
      for (const statement of statements) {
        await db.run([statement]);
        lost();
      }
    },
  };
}

/**
 * A database run one statement at a time that stops once, right after the first statement
 * `at` matches: between the deletes of an entry's lines and of the entry, say.
 */
function stopAfterOnce(db: SqlDatabase, at: (statement: string) => boolean): SqlDatabase {
  let stopped = false;
  return {
    query: (sql) => db.query(sql),
    async run(statements: string[]) {
      for (const statement of statements) {
        await db.run([statement]);
        if (!stopped && at(statement)) {
          stopped = true;
          throw new Error("stopped after a statement");
        }
      }
    },
  };
}

const linesDeleted = (statement: string) => statement.startsWith("DELETE FROM journal_lines");

/** The ledger's entries and lines of this run left in `DB`. */
async function directoryLedgerRows(prefix: string) {
  const [row] = await directory.db.query<{ entries: number; lines: number; payouts: number }>(
    `SELECT (SELECT COUNT(*) FROM journal_entries e WHERE ${ofRun(prefix)}) AS entries,
            (SELECT COUNT(*) FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id
              WHERE ${ofRun(prefix)}) AS lines,
            (SELECT COUNT(*) FROM payouts WHERE id LIKE ${sqlLiteral(`${prefix}-%`)}) AS payouts`,
  );
  return row;
}

const sortedLines = (lines: { account: string; amount: number; currency: string }[]) =>
  [...lines].map((l) => `${l.account} ${l.amount} ${l.currency}`).sort();

describe("moving DB's ledger into the shards", () => {
  const routeNow = (owner: string) => shardBindingFor(env, "ledger", owner);

  it("splits each entry into its owners' legs once, keeps every balance, survives any stop", async () => {
    const prefix = "led1";
    // Riders in SHARD_0, drivers in SHARD_1 (SHARD_MAP in wrangler.toml), and one rider beside them.
    const riders = [0, 1, 2].map((n) => userInBuckets(`${prefix}r${n}`, "rider", 0, 511));
    riders.push(userInBuckets(prefix, "rider", 512, 1023));
    const drivers = [0, 1].map((n) => userInBuckets(`${prefix}d${n}`, "driver", 512, 1023));
    const ledger = directoryLedger(prefix, riders, drivers);
    await fillDirectoryLedger(prefix, [...riders, ...drivers], ledger);
    const before = asMap(await balancesIn(directory.db, prefix));
    expect(await directoryLedgerRows(prefix)).toMatchObject({ entries: ledger.entries.length, payouts: 4 });

    const job = {
      job: "test-ledger-1",
      source: directory,
      tables: DIRECTORY_TABLES,
      targetOf: (kind: ShardKind, key: string) => shardBindingFor(env, kind, key),
      targets: shards,
      pageSize: 4,
    };
    // A few steps, a stop between a copy and its delete, then the script's way: one statement at a
    // time, the connection lost after any of them, run again until it is done.
    await moveRows({ ...job, maxSteps: 2 });
    await expect(
      moveRows({
        ...job,
        afterCopy: (table, step) => {
          if (table === "journal_entries" && step > 1) throw new Error("the operator's laptop went to sleep");
        },
      }),
    ).rejects.toThrow("laptop");
    // Stopped with a page's lines deleted from DB and its entries not yet: the next run finds
    // those entries in the shards and deletes them.
    await expect(
      moveRows({ ...job, source: { name: "DB", db: stopAfterOnce(directory.db, linesDeleted) } }),
    ).rejects.toThrow("stopped after a statement");
    const bare = await directory.db.query(
      `SELECT e.id FROM journal_entries e WHERE ${ofRun(prefix)}
         AND NOT EXISTS (SELECT 1 FROM journal_lines l WHERE l.entry_id = e.id)`,
    );
    expect(bare.length).toBeGreaterThan(0);
    expect(await directory.db.query("SELECT id FROM ledger_move_lock")).toEqual([{ id: 1 }]);
    const random = seeded(7);
    let stops = 0;
    for (let run = 0; run < 500; run++) {
      try {
        await moveRows({
          ...job,
          source: { name: "DB", db: unreliable(directory.db, random, 0.06) },
          targets: new Map([...shards].map(([binding, db]) => [binding, unreliable(db, random, 0.06)])),
        });
        break;
      } catch (err) {
        expect((err as Error).message).toBe("connection lost");
        stops++;
      }
    }
    expect(stops).toBeGreaterThan(5);
    const done = await moveRows(job);
    expect(done.every((t) => t.done)).toBe(true);
    // (The totals undercount here: a run stopped after its deletes and before its cursor moved
    // counted nothing. The rows below are what counts.)
    expect(done.find((t) => t.table === "journal_entries")?.moved).toBeGreaterThan(0);

    // Nothing of the ledger is left in DB, and no lock row.
    expect(await directoryLedgerRows(prefix)).toEqual({ entries: 0, lines: 0, payouts: 0 });
    expect(await directory.db.query("SELECT id FROM ledger_move_lock")).toEqual([]);

    // Each entry is its legs, each leg once, in its owner's shard, with its lines.
    const everywhere: Record<string, unknown>[] = [];
    for (const [binding, db] of shards)
      for (const row of await db.query<{ key: string; owner_id: string; id: string }>(
        `SELECT e.idempotency_key AS key, e.owner_id, e.id, e.created_at, e.data,
                json_group_array(l.account_id || ' ' || l.amount || ' ' || l.currency || ' ' || l.owner_id) AS lines
         FROM journal_entries e JOIN journal_lines l ON l.entry_id = e.id WHERE ${ofRun(prefix)} GROUP BY e.id`,
      ))
        everywhere.push({ ...row, binding });
    const byKey = new Map(everywhere.map((row) => [row.key, row]));
    let legCount = 0;
    ledger.entries.forEach((entry, n) => {
      legsOf(entry).forEach((leg, i) => {
        legCount++;
        const row = byKey.get(leg.entry.key) as Record<string, unknown>;
        expect(row, leg.entry.key).toBeDefined();
        expect(row.binding).toBe(routeNow(leg.owner));
        expect(row.owner_id).toBe(leg.owner);
        expect(row.created_at).toBe(1_700_000_000_000 + 1_000 * n);
        expect(row.data).toBe(entry.data && JSON.stringify(entry.data));
        if (i === 0) expect(row.id).toBe(`je_${prefix}_${n}`);
        const lines = (JSON.parse(String(row.lines)) as string[]).sort();
        expect(lines).toEqual(sortedLines(leg.entry.lines).map((l) => `${l} ${leg.owner}`));
      });
    });
    expect(everywhere).toHaveLength(legCount);
    // Some entries were split across the two shards.
    expect(legCount).toBeGreaterThan(ledger.entries.length);

    // Every balance as DB had it: users' in their own shard, the platform's and the provider's summed.
    expect(await shardBalances(prefix, routeNow)).toEqual(before);
    expect(await ledgerProblems(env)).toEqual([]);

    // The payouts, as they were, in their driver's shard.
    for (const payout of ledger.payouts) {
      const home = shards.get(routeNow(String(payout.driver_id))) as SqlDatabase;
      const [row] = await home.query(`SELECT * FROM payouts WHERE id = ${sqlLiteral(payout.id)}`);
      expect(row).toEqual(payout);
    }

    // Run again: nothing more moves.
    expect(await moveRows(job)).toEqual(done);
    expect(await moveRows({ ...job, job: "test-ledger-1-again" })).toEqual(
      DIRECTORY_TABLES.map((t) => ({ table: t.name, moved: 0, kept: 0, done: true })),
    );
    expect(await shardBalances(prefix, routeNow)).toEqual(before);
  });

  it("after a SHARD_MAP change, moves a bucket's ledger rows and a pending transfer, balances unchanged", async () => {
    const prefix = "led2";
    // One rider and one driver in buckets SHARD_1 takes over (384-511), one rider who stays in SHARD_0.
    const moving = userInBuckets(prefix, "rider", 384, 511);
    const movingDriver = userInBuckets(prefix, "driver", 384, 511);
    const staying = userInBuckets(`${prefix}s`, "rider", 0, 383);
    const driver = userInBuckets(prefix, "far-driver", 512, 1023);
    const ledger = directoryLedger(prefix, [moving, staying], [movingDriver, driver]);
    await fillDirectoryLedger(prefix, [moving, staying, movingDriver, driver], ledger);
    const before = asMap(await balancesIn(directory.db, prefix));
    await moveRows({
      job: "test-ledger-2",
      source: directory,
      tables: DIRECTORY_TABLES,
      targetOf: (kind, key) => shardBindingFor(env, kind, key),
      targets: shards,
      pageSize: 50,
    });
    // A tip whose driver's leg is still on its way: its transfer waits, pending, beside the first leg.
    const tip = tipEntry(tipKey(`${prefix}-trip-0-2`, "late"), `${prefix}-trip-0-2`, moving, driver, USD(50));
    const firstLeg = firstLegOf(env, tip, 1_700_100_000_000);
    const [posted] = await firstLeg.d1.batch(firstLeg.statements);
    expect(posted?.meta.changes).toBe(1);
    expect(await ledgerProblems(env)).toEqual([]);

    const after = parseShardMap("0-383:SHARD_0,384-1023:SHARD_1", () => true);
    const routeAfter = (owner: string) => after.byBucket[bucketOf(owner)] as string;
    const shard0 = shards.get("SHARD_0") as SqlDatabase;
    const rebalance = {
      job: "test-ledger-rebalance",
      source: { name: "SHARD_0", db: shard0 },
      // The ledger's tables only: the test above moves the others, and SHARD_0 holds its rows.
      tables: MOVED_TABLES.filter((t) => t.kind === "ledger"),
      targetOf: targetUnder(after.byBucket, "SHARD_0"),
      targets: shards,
      pageSize: 5,
    };
    await expect(
      moveRows({
        ...rebalance,
        afterCopy: (table) => {
          if (table === "journal_entries") throw new Error("the operator's laptop went to sleep");
        },
      }),
    ).rejects.toThrow("laptop");
    await expect(
      moveRows({ ...rebalance, source: { name: "SHARD_0", db: stopAfterOnce(shard0, linesDeleted) } }),
    ).rejects.toThrow("stopped after a statement");
    const random = seeded(11);
    for (let run = 0; run < 500; run++) {
      try {
        await moveRows({ ...rebalance, source: { name: "SHARD_0", db: unreliable(shard0, random, 0.06) } });
        break;
      } catch (err) {
        expect((err as Error).message).toBe("connection lost");
      }
    }
    const progress = await moveRows(rebalance);
    expect(progress.every((t) => t.done)).toBe(true);
    expect(progress.find((t) => t.table === "journal_entries")?.kept).toBeGreaterThan(0);

    // The moving owners' rows are all in SHARD_1 now; the staying rider's are still in SHARD_0.
    for (const [table, column] of [
      ["journal_entries", "owner_id"],
      ["journal_lines", "owner_id"],
      ["ledger_transfers", "from_owner_id"],
      ["payouts", "driver_id"],
    ] as const) {
      for (const owner of [moving, movingDriver]) {
        const count = `SELECT COUNT(*) AS n FROM ${table} WHERE ${column} = ${sqlLiteral(owner)}`;
        expect(await shard0.query(count), `${table} of ${owner}`).toEqual([{ n: 0 }]);
      }
    }
    expect(
      (await shard0.query(`SELECT id FROM journal_entries WHERE owner_id = ${sqlLiteral(staying)}`)).length,
    ).toBeGreaterThan(0);
    const shard1 = shards.get("SHARD_1") as SqlDatabase;
    expect(
      await shard1.query(`SELECT status FROM ledger_transfers WHERE from_owner_id = ${sqlLiteral(moving)}`),
    ).toEqual([{ status: "pending" }]);
    expect(await shard0.query("SELECT id FROM ledger_move_lock")).toEqual([]);

    // Balances unchanged (the late tip's money is on transit until its leg arrives), the rules hold,
    // and the pending leg is posted from its new shard.
    const withTip = new Map(before);
    withTip.set(`wallet:${moving} USD`, (withTip.get(`wallet:${moving} USD`) ?? 0) - 50);
    withTip.set("transit:shards USD", 50);
    expect(await shardBalances(prefix, routeAfter)).toEqual(withTip);
    expect(await ledgerProblems(env)).toEqual([]);
    expect(await drivePendingTransfers(env, 1_700_100_000_001, 100, 1_700_100_000_001)).toBe(1);
    withTip.delete("transit:shards USD");
    withTip.set(`earnings:${driver} USD`, (withTip.get(`earnings:${driver} USD`) ?? 0) + 50);
    expect(await shardBalances(prefix, routeAfter)).toEqual(withTip);
    expect(await ledgerProblems(env)).toEqual([]);
    expect(await moveRows(rebalance)).toEqual(progress);
  });
});

describe("a ledger entry the shard already has under another id", () => {
  it("stops the move and stays in DB: the same money would be in both", async () => {
    const prefix = "led3";
    const rider = userInBuckets(prefix, "rider", 0, 1023);
    const topUp = topUpEntry(`${prefix}-tu`, rider, USD(900), `prov-${prefix}`);
    await fillDirectoryLedger(prefix, [rider], { entries: [topUp], payouts: [], provider: `prov-${prefix}` });
    // Posted again in the shard after the deploy (a webhook retried), before the move ran.
    const leg = firstLegOf(env, topUp, 1_700_200_000_000);
    await leg.d1.batch(leg.statements);
    await expect(
      moveRows({
        job: "test-ledger-3",
        source: directory,
        tables: DIRECTORY_TABLES,
        targetOf: (kind, key) => shardBindingFor(env, kind, key),
        targets: shards,
        pageSize: 10,
      }),
    ).rejects.toThrow(`has that key posted as ${leg.entryId} since`);
    expect(await directoryLedgerRows(prefix)).toEqual({ entries: 1, lines: 2, payouts: 0 });
    // Without the move's lock row, DB's journal rows still cannot be deleted (migrations/0025).
    await expect(env.DB.prepare("DELETE FROM journal_lines").run()).rejects.toThrow(/immutable/);
    await expect(env.DB.prepare("DELETE FROM journal_entries").run()).rejects.toThrow(/immutable/);
    expect(await balancesIn(shards.get(shardBindingFor(env, "ledger", rider)) as SqlDatabase, prefix)).toEqual([
      { account: `clearing:prov-${prefix}`, currency: "USD", balance: -900 },
      { account: `wallet:${rider}`, currency: "USD", balance: 900 },
    ]);
  });
});

// ---- trip history -------------------------------------------------------------------------------

/** The move of `DB`'s trips alone: the ledger tests above leave an entry in `DB` that stops a whole move. */
const TRIPS_ONLY = DIRECTORY_TABLES.filter((t) => t.name === "trips");

const HISTORY_COLUMNS = "user_id, trip_id, role, status, data, created_at, updated_at";

/** The history rows of this run's trips (ids start with `prefix`) in one shard, by trip and user. */
async function historyIn(db: SqlDatabase, prefix: string) {
  return db.query<Record<string, unknown>>(
    `SELECT ${HISTORY_COLUMNS} FROM trip_history
     WHERE trip_id LIKE ${sqlLiteral(`${prefix}-%`)} ORDER BY trip_id, user_id`,
  );
}

/** This run's trips left in `DB`. */
async function directoryTripsLeft(prefix: string) {
  return directory.db.query(`SELECT id FROM trips WHERE id LIKE ${sqlLiteral(`${prefix}-%`)}`);
}

/** The history row a trip's party should end with after the move, as the Worker would have written it. */
const historyRow = (trip: Trip, userId: string, role: string) => ({
  user_id: userId,
  trip_id: trip.id,
  role,
  status: trip.status,
  data: JSON.stringify(trip),
  created_at: trip.createdAt,
  updated_at: trip.updatedAt,
});

const byTripAndUser = (rows: Record<string, unknown>[]) =>
  [...rows].sort((a, b) => `${a.trip_id} ${a.user_id}`.localeCompare(`${b.trip_id} ${b.user_id}`));

describe("moving DB's trips into their parties' trip history", () => {
  const routeNow = (userId: string) => shardBindingFor(env, "trips", userId);
  const job = {
    source: directory,
    tables: TRIPS_ONLY,
    targetOf: (kind: ShardKind, key: string) => shardBindingFor(env, kind, key),
    targets: shards,
  };

  it("cuts each trip into its rider's and driver's rows in their shards, across a stop after a copy", async () => {
    const prefix = "trp1";
    // Riders and drivers in both shards (SHARD_MAP in wrangler.toml: 0-511 SHARD_0, 512-1023 SHARD_1).
    const riders = [0, 1].flatMap((n) => [
      userInBuckets(`${prefix}r${n}`, "rider", 0, 511),
      userInBuckets(`${prefix}r${n}`, "rider", 512, 1023),
    ]);
    const drivers = [userInBuckets(prefix, "driver", 0, 511), userInBuckets(prefix, "driver", 512, 1023)];
    const statuses = ["completed", "cancelled", "accepted", "in_progress"] as const;
    const trips = Array.from({ length: 45 }, (_, i) => {
      const withoutDriver = i % 3 === 0;
      return storedTrip({
        // Ids out of the order of the rows' rowids, and one with a quote in it.
        id: `${prefix}-trip-${(i * 7) % 45}${i === 5 ? "-o'clock" : ""}`,
        riderId: riders[i % riders.length] as string,
        driverId: withoutDriver ? null : (drivers[i % drivers.length] as string),
        status: withoutDriver ? (i % 2 ? "matching" : "no_driver") : (statuses[i % statuses.length] as Trip["status"]),
        createdAt: 1_700_000_000_000 + 1_000 * i,
        updatedAt: 1_700_000_000_500 + 1_000 * i,
      });
    });
    for (const trip of trips) await putDirectoryTrip(trip);
    const moveTrips = { ...job, job: "test-trips-1", pageSize: 8 };

    const first = await moveRows({ ...moveTrips, maxSteps: 2 });
    expect(first).toEqual([{ table: "trips", moved: 16, kept: 0, done: false }]);
    // A crash after a page's rows were copied to both parties' shards, before the trips left DB.
    await expect(
      moveRows({
        ...moveTrips,
        afterCopy: (table, step) => {
          if (table === "trips" && step === 2) throw new Error("the operator's laptop went to sleep");
        },
      }),
    ).rejects.toThrow("laptop");
    expect(await directoryTripsLeft(prefix)).toHaveLength(45 - 16 - 8);

    const done = await moveRows(moveTrips);
    expect(done).toEqual([{ table: "trips", moved: 45, kept: 0, done: true }]);
    expect(await directoryTripsLeft(prefix)).toEqual([]);
    // Run again, under its cursor and from the start: nothing more moves.
    expect(await moveRows(moveTrips)).toEqual(done);
    expect(await moveRows({ ...moveTrips, job: "test-trips-1-again" })).toEqual([
      { table: "trips", moved: 0, kept: 0, done: true },
    ]);

    // Each party's row in their own shard, once, with the trip as DB had it.
    const expected = trips.flatMap((trip) => [
      { binding: routeNow(trip.riderId), row: historyRow(trip, trip.riderId, "rider") },
      ...(trip.driverId ? [{ binding: routeNow(trip.driverId), row: historyRow(trip, trip.driverId, "driver") }] : []),
    ]);
    expect(expected).toHaveLength(45 + 30);
    for (const [binding, db] of shards) {
      const rows = await historyIn(db, prefix);
      expect(rows).toEqual(byTripAndUser(expected.filter((e) => e.binding === binding).map((e) => e.row)));
      // Both shards hold riders' and drivers' rows.
      expect(new Set(rows.map((row) => row.role))).toEqual(new Set(["rider", "driver"]));
    }
  });

  it("keeps a newer row the Worker wrote since, and a former driver's row whatever its time", async () => {
    const prefix = "trp2";
    const rider = userInBuckets(prefix, "rider", 0, 511);
    const driver = userInBuckets(prefix, "driver", 512, 1023);
    const next = userInBuckets(prefix, "next-driver", 0, 1023);
    const at = 1_700_100_000_000;
    const trip = (id: string, fields: Partial<Trip>) =>
      storedTrip({
        id: `${prefix}-${id}`,
        riderId: rider,
        driverId: driver,
        status: "accepted",
        createdAt: at,
        updatedAt: at,
        ...fields,
      });

    // Flushed to DB by the version before the deploy, then completed by the Worker after it.
    const finished = trip("finished", {});
    await putDirectoryTrip(finished);
    const finishedSince = { ...finished, status: "completed" as const, updatedAt: at + 60_000 };
    await writeTripHistory(env, finishedSince, historyRowsOf(finishedSince, [driver]));
    // Handed back by `driver` and taken by `next`; DB's copy, naming `driver`, is the newer one
    // here (as by a clock behind): the former driver's row is kept all the same.
    const handedBack = { ...trip("handed-back", {}), driverId: next, updatedAt: at + 1_000 };
    await writeTripHistory(env, handedBack, historyRowsOf(handedBack, [driver, next]));
    const inDirectory = trip("handed-back", { updatedAt: at + 2_000 });
    await putDirectoryTrip(inDirectory);

    await moveRows({ ...job, job: "test-trips-2", pageSize: 10 });
    expect(await directoryTripsLeft(prefix)).toEqual([]);
    const rows = [];
    for (const db of shards.values()) rows.push(...(await historyIn(db, prefix)));
    expect(byTripAndUser(rows)).toEqual(
      byTripAndUser([
        historyRow(finishedSince, rider, "rider"),
        historyRow(finishedSince, driver, "driver"),
        // The rider's row takes DB's newer copy; the new driver's, which DB does not know, stays.
        historyRow(inDirectory, rider, "rider"),
        historyRow(handedBack, driver, "former_driver"),
        historyRow(handedBack, next, "driver"),
      ]),
    );
  });

  it("copies again a trip a Worker from before the deploy flushed to DB after its copy", async () => {
    const prefix = "trp3";
    const rider = userInBuckets(prefix, "rider", 512, 1023);
    const driver = userInBuckets(prefix, "driver", 0, 511);
    const accepted = storedTrip({
      id: `${prefix}-trip`,
      riderId: rider,
      driverId: driver,
      status: "accepted",
      createdAt: 1_700_200_000_000,
      updatedAt: 1_700_200_000_000,
    });
    await putDirectoryTrip(accepted);
    const started = { ...accepted, status: "in_progress" as const, updatedAt: accepted.updatedAt + 5_000 };
    let flushed = false;
    await moveRows({
      ...job,
      job: "test-trips-3",
      pageSize: 10,
      afterCopy: async () => {
        if (flushed) return;
        flushed = true;
        await putDirectoryTrip(started);
      },
    });
    expect(await directoryTripsLeft(prefix)).toEqual([]);
    const rows = [];
    for (const db of shards.values()) rows.push(...(await historyIn(db, prefix)));
    expect(byTripAndUser(rows)).toEqual(
      byTripAndUser([historyRow(started, rider, "rider"), historyRow(started, driver, "driver")]),
    );
  });
});

describe("moving trip history after a SHARD_MAP change", () => {
  it("moves a moving bucket's rows, keeps the newer row of a trip in both shards, and leaves the rest", async () => {
    const prefix = "trp4";
    // SHARD_1 takes buckets 384-511 over from SHARD_0.
    const after = parseShardMap("0-383:SHARD_0,384-1023:SHARD_1", () => true);
    const moving = userInBuckets(prefix, "rider", 384, 511);
    const staying = userInBuckets(prefix, "rider", 0, 383);
    const shard0 = shards.get("SHARD_0") as SqlDatabase;
    const shard1 = shards.get("SHARD_1") as SqlDatabase;
    const at = 1_700_300_000_000;
    const trip = (n: number, riderId: string, status: Trip["status"], updatedAt: number) =>
      storedTrip({ id: `${prefix}-trip-${n}`, riderId, driverId: null, status, createdAt: at + n, updatedAt });
    const put = (db: SqlDatabase, rows: ReturnType<typeof historyRow>[]) =>
      db.run(
        rows.map(
          (row) =>
            `INSERT INTO trip_history (${HISTORY_COLUMNS}) VALUES (${Object.values(row).map(sqlLiteral).join(", ")})`,
        ),
      );
    // In SHARD_0 before the change: the moving rider's trips 1-120, more than one delete may name
    // (MAX_OR_TERMS), and the staying rider's trip 0.
    const old = Array.from({ length: 120 }, (_, i) => trip(i + 1, moving, "matching", at + 10));
    await put(shard0, [
      ...old.map((t) => historyRow(t, moving, "rider")),
      historyRow(trip(0, staying, "completed", at), staying, "rider"),
    ]);
    // Since the deploy, the Worker wrote trip 1 (newer) to SHARD_1; trip 2's copy there is older.
    const newer = trip(1, moving, "no_driver", at + 20);
    const older = trip(2, moving, "scheduled", at);
    await put(shard1, [historyRow(newer, moving, "rider"), historyRow(older, moving, "rider")]);

    const rebalance = {
      job: "test-trips-rebalance",
      source: { name: "SHARD_0", db: shard0 },
      tables: MOVED_TABLES.filter((t) => t.name === "trip_history"),
      targetOf: targetUnder(after.byBucket, "SHARD_0"),
      targets: shards,
      pageSize: 200,
    };
    await expect(
      moveRows({
        ...rebalance,
        afterCopy: () => {
          throw new Error("the operator's laptop went to sleep");
        },
      }),
    ).rejects.toThrow("laptop");
    const progress = await moveRows(rebalance);
    expect(progress).toEqual([
      { table: "trip_history", moved: expect.any(Number), kept: expect.any(Number), done: true },
    ]);
    expect(await moveRows(rebalance)).toEqual(progress);

    expect(await historyIn(shard0, prefix)).toEqual([historyRow(trip(0, staying, "completed", at), staying, "rider")]);
    expect(byTripAndUser(await historyIn(shard1, prefix))).toEqual(
      byTripAndUser([historyRow(newer, moving, "rider"), ...old.slice(1).map((t) => historyRow(t, moving, "rider"))]),
    );
  });
});
