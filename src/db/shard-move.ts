/**
 * @module db/shard-move
 * Moves partitioned rows to the shard their key routes to (db/shards), resumably: the one-time
 * move of a deployment's chat archive, notification log, ledger and trip history out of the
 * directory database `DB`, and the move of buckets to a new shard after SHARD_MAP changes.
 * scripts/migrate-to-shards.ts runs it through `wrangler d1 execute` (local or remote); the tests
 * run it on D1 bindings.
 *
 * Each step reads a page of a table above the job's cursor (rowid order), copies the rows that
 * belong elsewhere with INSERT OR IGNORE on their primary key (a row already there, copied by an
 * earlier run or written since by the Worker, is kept as it is), reads back which of those keys
 * the target now holds, deletes from the source only those, and then advances the cursor, kept in
 * the source database's `shard_move_progress`. A stop anywhere leaves rows copied but not deleted
 * (the next run copies them again, ignored, then deletes them) or a cursor behind (the page is
 * read again): nothing is lost and nothing doubled. A row the target does not confirm stops the
 * move with an error and stays in the source.
 *
 * The ledger's journal moves entry by entry, each with its lines (`moveEntries`): a line's id is
 * an autoincrement of its own database, so copied by id it could meet a line the target already
 * has, be ignored, and be "confirmed" by that other line. Out of `DB`, each entry is split into
 * one leg per owner (domain/ledger-legs) on its way, as the Worker now posts them.
 *
 * `DB`'s `trips` (one row per trip) becomes its parties' `trip_history` rows (`into`), each copied
 * to its user's shard like a row of that table; a trip is deleted from `DB` once all of them are
 * confirmed.
 *
 * Every value goes into the SQL as a literal (`sqlLiteral`), since `wrangler d1 execute` binds no
 * parameters; they are the database's own values, read back from it.
 */
import type { Entry, EntryKind, Line } from "../domain/ledger-entries";
import { legKey, legsOf } from "../domain/ledger-legs";
import { journalEntries } from "./shard-schema";
import { BUCKETS, bucketOf, type ShardKind } from "./shards";

/** A D1 database as the move reaches it: read one statement, or run several as a batch. */
export type SqlDatabase = {
  query<T extends Record<string, unknown>>(sql: string): Promise<T[]>;
  run(statements: string[]): Promise<void>;
};

/** A partitioned table: its columns, its primary key and the column its shard key is in. */
export type MovedTable = {
  name: string;
  kind: ShardKind;
  key: string;
  primaryKey: string[];
  columns: string[];
  /**
   * Columns the Worker may still write in the source while the move copies, each only one way:
   * set once and never cleared (a revocation, a rotation, an ack: "first") or only moved forward
   * (last seen: "max"). A copy merges them with the target's row, and a source row changed after
   * its copy is merged again before it is deleted. Without them, the target's row is kept as it
   * is (INSERT OR IGNORE).
   */
  merge?: Record<string, "first" | "max">;
  /**
   * A column the Worker moves forward whenever it changes a row (a payout's `updated_at`, a
   * transfer's `done_at`, a message's `change_seq`): a copy replaces the target's row only with a
   * newer one, and a source row changed after its copy is copied again before it is deleted.
   */
  newerBy?: string;
  /**
   * `journal_entries`, moved with their `journal_lines` entry by entry (`moveEntries`): "whole"
   * between shards, where an entry is already one owner's leg; "split" out of `DB`, where it is
   * cut into its legs.
   */
  journal?: "whole" | "split";
  /** Only between shards: `DB`'s copy of the table has another shape (db/sessions.ts moves those rows on use). */
  betweenShardsOnly?: boolean;
  /**
   * Out of `DB`, a table of another shape than its partitioned successor: each of its rows becomes
   * `rowsOf` rows of `table`, each copied to the shard its own `table.key` routes to as that
   * table's rows are, and the source row is deleted once every one of them is confirmed there.
   */
  into?: {
    table: MovedTable;
    rowsOf: (row: Record<string, unknown>) => Record<string, unknown>[];
    /** A target row this (SQL on `table`'s row) holds for is kept whatever its `newerBy`. */
    keep?: string;
  };
};

const ENTRY_COLUMNS = ["id", "idempotency_key", "owner_id", "kind", "trip_id", "data", "created_at"];

const PAYOUTS: MovedTable = {
  name: "payouts",
  kind: "ledger",
  key: "driver_id",
  primaryKey: ["id"],
  columns: [
    "id",
    "driver_id",
    "idempotency_key",
    "trigger",
    "amount",
    "currency",
    "provider",
    "destination",
    "status",
    "provider_ref",
    "failure",
    "attempts",
    "created_at",
    "updated_at",
  ],
  // The payout run settles pending payouts (db/payouts.ts), and every change sets updated_at.
  newerBy: "updated_at",
};

const TRIP_HISTORY: MovedTable = {
  name: "trip_history",
  kind: "trips",
  key: "user_id",
  primaryKey: ["trip_id", "user_id"],
  columns: ["user_id", "trip_id", "role", "status", "data", "created_at", "updated_at"],
  // Each flush of the trip writes every party's row with the trip's newer updated_at
  // (db/trip-history.ts), in the new shard only while a move runs.
  newerBy: "updated_at",
  // `DB`'s `trips` holds one row per trip: DIRECTORY_TABLES cuts it into its parties' rows.
  betweenShardsOnly: true,
};

/**
 * The partitioned tables (db/shard-schema.ts), messages before their reactions (and the rooms' read
 * marks), sessions before their tokens, ledger entries (with their lines) before the transfers and
 * payouts. No order is needed for the ledger (no foreign keys in the shards; each entry moves with
 * its lines), and a stop between its tables leaves a pending transfer beside the first leg or away
 * from it, which the reconciliation's sweep drives from wherever it is. Trip history has no order
 * to keep: each row is one user's copy of a trip.
 */
export const MOVED_TABLES: readonly MovedTable[] = [
  {
    name: "messages",
    kind: "chat",
    key: "room_id",
    // The table's key since migrations-shard/0001 and migrations/0024; `id` has no index.
    primaryKey: ["room_id", "seq"],
    columns: [
      "id",
      "room_id",
      "seq",
      "user_id",
      "text",
      "created_at",
      "reply_to",
      "edited_at",
      "deleted_at",
      "change_seq",
      "attachments",
    ],
    // An edit or delete during a move reaches the row in both shards (db/messages.ts
    // `archiveMessages`): a copy keeps the changed row, and a row changed after its copy is
    // copied again before it is deleted.
    newerBy: "change_seq",
  },
  {
    name: "message_reactions",
    kind: "chat",
    key: "room_id",
    primaryKey: ["room_id", "seq", "emoji", "user_id"],
    columns: ["room_id", "seq", "emoji", "user_id", "created_at"],
  },
  {
    name: "read_marks",
    kind: "chat",
    key: "room_id",
    primaryKey: ["room_id", "user_id"],
    columns: ["room_id", "user_id", "read_seq"],
    // A room copies its marks to its new shard while a move runs (db/read-marks.ts); the old shard's
    // may be the higher one until now, and a mark only moves forward.
    merge: { read_seq: "max" },
    // `DB`'s marks are a column of `room_members`, read beside this table (db/rooms.ts), never moved.
    betweenShardsOnly: true,
  },
  {
    name: "notifications",
    kind: "notifications",
    key: "user_id",
    primaryKey: ["id"],
    columns: [
      "id",
      "user_id",
      "type",
      "payload",
      "status",
      "attempts",
      "last_error",
      "delivered_to",
      "lease_until",
      "acked_at",
      "created_at",
      "updated_at",
    ],
    // Acked in every home while a move runs (db/notifications.ts), so an ack is never lost to one.
    merge: { acked_at: "first" },
  },
  {
    name: "notification_channels",
    kind: "notifications",
    key: "user_id",
    primaryKey: ["notification_id", "channel"],
    columns: [
      "notification_id",
      "channel",
      "user_id",
      "outcome",
      "attempts",
      "last_error",
      "reserved_at",
      "updated_at",
    ],
  },
  {
    name: "auth_sessions",
    kind: "sessions",
    key: "user_id",
    primaryKey: ["id"],
    columns: ["id", "user_id", "created_at", "revoked_at", "revoked_reason"],
    merge: { revoked_at: "first", revoked_reason: "first" },
    betweenShardsOnly: true,
  },
  {
    name: "refresh_tokens",
    kind: "sessions",
    key: "user_id",
    primaryKey: ["token_hash"],
    columns: ["token_hash", "session_id", "user_id", "created_at", "expires_at", "rotated_at", "replaced_by"],
    merge: { rotated_at: "first", replaced_by: "first" },
    betweenShardsOnly: true,
  },
  {
    name: "last_seen",
    kind: "sessions",
    key: "user_id",
    primaryKey: ["user_id"],
    columns: ["user_id", "at"],
    merge: { at: "max" },
    // `DB`'s last seen is a column of `users`, read beside this table (db/presence.ts), never moved.
    betweenShardsOnly: true,
  },
  {
    name: "journal_entries",
    kind: "ledger",
    key: "owner_id",
    primaryKey: ["id"],
    columns: ENTRY_COLUMNS,
    journal: "whole",
    // `DB`'s entries have no owner: DIRECTORY_TABLES splits them instead.
    betweenShardsOnly: true,
  },
  {
    name: "ledger_transfers",
    kind: "ledger",
    key: "from_owner_id",
    primaryKey: ["leg_key"],
    columns: ["leg_key", "entry_key", "from_owner_id", "to_owner_id", "leg", "status", "created_at", "done_at"],
    // Marked done (and done_at set) when its leg is posted, also by the reconciliation's sweep.
    newerBy: "done_at",
    betweenShardsOnly: true,
  },
  PAYOUTS,
  TRIP_HISTORY,
];

/**
 * The history rows of one of `DB`'s trips, as a flush writes them now (db/trip-history.ts
 * `historyRowsOf`): the rider's, and the current driver's when it has one. `DB`'s row does not
 * know the drivers who handed the trip back; a `former_driver` row the Worker wrote for one since
 * is kept (`keep` below), so the older copy cannot make them its driver again.
 */
function historyRowsOfDirectoryTrip(trip: Record<string, unknown>): Record<string, unknown>[] {
  const copy = {
    trip_id: trip.id,
    status: trip.status,
    data: trip.data,
    created_at: trip.created_at,
    updated_at: trip.updated_at,
  };
  const rows = [{ ...copy, user_id: trip.rider_id, role: "rider" }];
  const driver = trip.driver_id;
  if (driver !== null && driver !== undefined && driver !== trip.rider_id)
    rows.push({ ...copy, user_id: driver, role: "driver" });
  return rows;
}

/** `DB`'s trips before the partitions: one row per trip, with its rider and its current driver. */
const DIRECTORY_TRIPS: MovedTable = {
  name: "trips",
  kind: "trips",
  // The rider's (the trip's first party); each row it becomes goes by its own user_id.
  key: "rider_id",
  primaryKey: ["id"],
  columns: ["id", "rider_id", "driver_id", "status", "data", "created_at", "updated_at"],
  // A Worker version from before the partitions, still running during the deploy, may flush a
  // trip here after its copy: it is copied again (and kept only if newer) before it is deleted.
  newerBy: "updated_at",
  into: { table: TRIP_HISTORY, rowsOf: historyRowsOfDirectoryTrip, keep: "trip_history.role = 'former_driver'" },
};

/**
 * What the first move reads out of `DB`: the tables that were there before the partitions, the
 * ledger's entries, each split into its legs with `owner_id` (and its lines with it), and the
 * trips, each cut into its parties' history rows. `DB`'s `ledger_accounts` (metadata nothing
 * reads) and its other money tables (`top_ups`, `payout_accounts`, `active_trips`,
 * `trip_requests`) stay where they are.
 */
export const DIRECTORY_TABLES: readonly MovedTable[] = [
  ...MOVED_TABLES.filter((t) => !t.betweenShardsOnly),
  {
    name: "journal_entries",
    kind: "ledger",
    key: "owner_id",
    primaryKey: ["id"],
    columns: ENTRY_COLUMNS.filter((c) => c !== "owner_id"),
    journal: "split",
  },
  DIRECTORY_TRIPS,
];

/** A value as SQL text: NULL, a finite number, or a quoted string. Anything else is refused. */
export function sqlLiteral(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`cannot move the number ${value}`);
    return String(value);
  }
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "string") return `'${value.replaceAll("'", "''")}'`;
  throw new Error(`cannot move a value of type ${typeof value}`);
}

/** D1 takes statements up to 100 KB; inserts are cut well below. */
const MAX_STATEMENT_CHARS = 90_000;

type Row = Record<string, unknown> & { _rowid: number };

export type MoveJob = {
  /** Names the cursor: a re-run with the same job resumes it. */
  job: string;
  /** The database rows move out of, and its name in logs. */
  source: { name: string; db: SqlDatabase };
  /** Where a key's rows belong: a target's name, or null when they stay in the source. */
  targetOf: (kind: ShardKind, key: string) => string | null;
  targets: ReadonlyMap<string, SqlDatabase>;
  /** Rows read per step. */
  pageSize: number;
  /** Stop after this many steps (all tables together); the next run resumes. Infinity: until done. */
  maxSteps?: number;
  /** DIRECTORY_TABLES out of `DB`, MOVED_TABLES between shards. */
  tables: readonly MovedTable[];
  /** Called after each step's copy, before its delete (the tests stop the move here). */
  afterCopy?: (table: string, step: number) => Promise<void> | void;
  log?: (line: string) => void;
};

export type TableProgress = { table: string; moved: number; kept: number; done: boolean };

const PROGRESS_TABLE = `CREATE TABLE IF NOT EXISTS shard_move_progress (job TEXT NOT NULL, table_name TEXT NOT NULL,
  last_rowid INTEGER NOT NULL, moved INTEGER NOT NULL, kept INTEGER NOT NULL, done INTEGER NOT NULL,
  updated_at INTEGER NOT NULL, PRIMARY KEY (job, table_name))`;

/** Runs (or resumes) a move; returns each table's totals so far and whether it is done. */
export async function moveRows(job: MoveJob): Promise<TableProgress[]> {
  const { source } = job;
  const { tables } = job;
  const log = job.log ?? (() => {});
  await source.db.run([PROGRESS_TABLE]);
  const existing = new Set(
    (await source.db.query<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table'`)).map((r) => r.name),
  );
  if (tables.some((t) => t.journal) && existing.has("journal_entries")) {
    if (!existing.has("ledger_move_lock"))
      throw new Error(`${source.name} has no ledger_move_lock table: apply its migrations first`);
    // A lock row left by a run stopped between its statements (the script runs them one by one).
    await source.db.run(["DELETE FROM ledger_move_lock"]);
  }
  let steps = 0;
  const maxSteps = job.maxSteps ?? Number.POSITIVE_INFINITY;
  const progress: TableProgress[] = [];
  for (const table of tables) {
    const state = await progressOf(source.db, job.job, table.name);
    if (!existing.has(table.name)) {
      // A database made after the tables moved never had this one.
      progress.push({ table: table.name, moved: state.moved, kept: state.kept, done: true });
      continue;
    }
    while (!state.done && steps < maxSteps) {
      steps++;
      const page = await source.db.query<Row>(
        `SELECT rowid AS _rowid, ${table.columns.join(", ")} FROM ${table.name}
         WHERE rowid > ${sqlLiteral(state.lastRowid)} ORDER BY rowid LIMIT ${sqlLiteral(job.pageSize)}`,
      );
      if (page.length === 0) {
        state.done = true;
      } else {
        const { moved, kept } = table.journal
          ? await moveEntries(job, table, page, steps)
          : await moveStep(job, table, page, steps);
        state.moved += moved;
        state.kept += kept;
        state.lastRowid = Number(page.at(-1)?._rowid);
      }
      await source.db.run([
        `INSERT INTO shard_move_progress (job, table_name, last_rowid, moved, kept, done, updated_at)
         VALUES (${[job.job, table.name, state.lastRowid, state.moved, state.kept, state.done ? 1 : 0, Date.now()]
           .map(sqlLiteral)
           .join(", ")})
         ON CONFLICT (job, table_name) DO UPDATE SET last_rowid = excluded.last_rowid, moved = excluded.moved,
           kept = excluded.kept, done = excluded.done, updated_at = excluded.updated_at`,
      ]);
      log(`${source.name} ${table.name}: ${state.moved} moved, ${state.kept} kept${state.done ? ", done" : ""}`);
    }
    progress.push({ table: table.name, moved: state.moved, kept: state.kept, done: state.done });
  }
  return progress;
}

async function progressOf(db: SqlDatabase, job: string, table: string) {
  const [row] = await db.query<{ last_rowid: number; moved: number; kept: number; done: number }>(
    `SELECT last_rowid, moved, kept, done FROM shard_move_progress
     WHERE job = ${sqlLiteral(job)} AND table_name = ${sqlLiteral(table)}`,
  );
  return {
    lastRowid: Number(row?.last_rowid ?? 0),
    moved: Number(row?.moved ?? 0),
    kept: Number(row?.kept ?? 0),
    done: row?.done === 1,
  };
}

/** One page: copy what belongs elsewhere, confirm it there, delete the confirmed rows from the source. */
async function moveStep(
  job: MoveJob,
  table: MovedTable,
  page: Row[],
  step: number,
): Promise<{ moved: number; kept: number }> {
  const { byTarget, kept } = routeRows(job, table, page);
  await copyRows(job, table, byTarget);
  await job.afterCopy?.(table.name, step);
  const written = table.into?.table ?? table;
  const confirmed = new Set<number>();
  for (const [target, rows] of byTarget) {
    const present = await presentKeys(job.targets.get(target) as SqlDatabase, written, rows);
    const missing = rows.filter((row) => !present.has(keyOf(written, row)));
    if (missing.length > 0)
      throw new Error(
        `${target} does not hold ${missing.length} ${written.name} rows just copied ` +
          `(first: ${keyOf(written, missing[0] as Row)}); they stay in the source`,
      );
    for (const row of rows) confirmed.add(row._rowid);
  }
  const moved = page.filter((row) => confirmed.has(row._rowid));
  if (moved.length > 0) {
    if (changing(table).length > 0) await deleteUnchanged(job, table, moved);
    else
      await job.source.db.run(
        chunks(
          moved.map((row) => sqlLiteral(row._rowid)),
          (ids) => `DELETE FROM ${table.name} WHERE rowid IN (${ids.join(", ")})`,
        ),
      );
  }
  return { moved: moved.length, kept };
}

/**
 * The rows of `rows` that belong elsewhere, as they are written there (a row `into` another table
 * as its rows), by target; each carries its source row's rowid. `kept`: the rows that stay.
 */
function routeRows(job: MoveJob, table: MovedTable, rows: Row[]): { byTarget: Map<string, Row[]>; kept: number } {
  const byTarget = new Map<string, Row[]>();
  const add = (target: string, row: Row, key: unknown) => {
    if (!job.targets.has(target)) throw new Error(`no database for ${target} (${table.name} ${key})`);
    byTarget.set(target, [...(byTarget.get(target) ?? []), row]);
  };
  let kept = 0;
  for (const row of rows) {
    const into = table.into;
    if (!into) {
      const target = job.targetOf(table.kind, String(row[table.key]));
      if (target === null) kept++;
      else add(target, row, row[table.key]);
      continue;
    }
    for (const part of into.rowsOf(row)) {
      const key = part[into.table.key];
      const target = job.targetOf(into.table.kind, String(key));
      // Only out of `DB`, where nothing stays.
      if (target === null)
        throw new Error(`${table.name} row ${row._rowid} has a row of ${key}, who stays in ${job.source.name}`);
      add(target, { ...part, _rowid: row._rowid }, key);
    }
  }
  return { byTarget, kept };
}

/** Writes each target's rows there (see `inserts`). */
async function copyRows(job: MoveJob, table: MovedTable, byTarget: Map<string, Row[]>): Promise<void> {
  const written = table.into?.table ?? table;
  for (const [target, rows] of byTarget)
    await (job.targets.get(target) as SqlDatabase).run(inserts(written, rows, table.into?.keep));
}

/** The columns the Worker may still change in a source row while it moves (`merge`, `newerBy`). */
const changing = (table: MovedTable): string[] => (table.newerBy ? [table.newerBy] : Object.keys(table.merge ?? {}));

/** Rounds of copy-again before a move gives up on rows the Worker keeps changing. */
const MERGE_ROUNDS = 5;

/**
 * Deletes from the source the copied rows whose merge columns are as they were copied. A row the
 * Worker changed since (a session revoked in the old home while the move ran) stays: it is merged
 * into the target again and then deleted, so the change is never lost with the source's row.
 */
async function deleteUnchanged(job: MoveJob, table: MovedTable, copied: Row[]): Promise<void> {
  const merge = changing(table);
  let rows = copied;
  for (let round = 0; rows.length > 0; round++) {
    if (round === MERGE_ROUNDS)
      throw new Error(
        `${rows.length} ${table.name} rows kept changing in ${job.source.name} while they moved; run again`,
      );
    const same = rows.map(
      (row) => `(rowid = ${sqlLiteral(row._rowid)}${merge.map((c) => ` AND ${c} IS ${sqlLiteral(row[c])}`).join("")})`,
    );
    await job.source.db.run(
      chunkList(same, MAX_OR_TERMS).map((part) => `DELETE FROM ${table.name} WHERE ${part.join(" OR ")}`),
    );
    rows = await job.source.db.query<Row>(
      `SELECT rowid AS _rowid, ${table.columns.join(", ")} FROM ${table.name}
       WHERE rowid IN (${rows.map((row) => sqlLiteral(row._rowid)).join(", ")})`,
    );
    if (rows.length > 0) await copyRows(job, table, routeRows(job, table, rows).byTarget);
  }
}

/**
 * INSERT OR IGNORE (or, with merge columns, merging; with `newerBy`, keeping the newer row, and a
 * row `keep` holds for) statements for `rows`, each under the statement size limit.
 */
function inserts(table: MovedTable, rows: Row[], keep?: string): string[] {
  const values = rows.map((row) => `(${table.columns.map((c) => sqlLiteral(row[c])).join(", ")})`);
  const columns = table.columns.join(", ");
  if (table.newerBy) {
    const set = table.columns
      .filter((c) => !table.primaryKey.includes(c))
      .map((c) => `${c} = excluded.${c}`)
      .join(", ");
    const newer =
      `COALESCE(excluded.${table.newerBy}, 0) > COALESCE(${table.name}.${table.newerBy}, 0)` +
      (keep ? ` AND NOT (${keep})` : "");
    return chunks(
      values,
      (part) =>
        `INSERT INTO ${table.name} (${columns}) VALUES ${part.join(", ")}
         ON CONFLICT (${table.primaryKey.join(", ")}) DO UPDATE SET ${set} WHERE ${newer}`,
    );
  }
  if (!table.merge)
    return chunks(values, (part) => `INSERT OR IGNORE INTO ${table.name} (${columns}) VALUES ${part.join(", ")}`);
  const merged = Object.entries(table.merge)
    .map(([c, rule]) =>
      rule === "first"
        ? `${c} = COALESCE(${table.name}.${c}, excluded.${c})`
        : `${c} = max(COALESCE(${table.name}.${c}, excluded.${c}), COALESCE(excluded.${c}, ${table.name}.${c}))`,
    )
    .join(", ");
  return chunks(
    values,
    (part) =>
      `INSERT INTO ${table.name} (${columns}) VALUES ${part.join(", ")}
       ON CONFLICT (${table.primaryKey.join(", ")}) DO UPDATE SET ${merged}`,
  );
}

/** Which of `rows`' primary keys `db` holds. */
async function presentKeys(db: SqlDatabase, table: MovedTable, rows: Row[]): Promise<Set<string>> {
  const tuples = rows.map((row) => `(${table.primaryKey.map((c) => sqlLiteral(row[c])).join(", ")})`);
  const found = new Set<string>();
  for (const part of chunkList(tuples)) {
    const list = table.primaryKey.join(", ");
    const hits = await db.query(`SELECT ${list} FROM ${table.name} WHERE (${list}) IN (VALUES ${part.join(", ")})`);
    for (const hit of hits) found.add(keyOf(table, hit));
  }
  return found;
}

const keyOf = (table: MovedTable, row: Record<string, unknown>) => JSON.stringify(table.primaryKey.map((c) => row[c]));

/**
 * SQLite nests `a OR b OR c …` one level per term, and D1 refuses an expression deeper than 100
 * ("Expression tree is too large"): a page's delete-if-unchanged is cut into statements of this many.
 */
const MAX_OR_TERMS = 40;

/** Statements made of `parts`, as many parts per statement as fit. */
function chunks(parts: string[], statement: (part: string[]) => string): string[] {
  return chunkList(parts).map(statement);
}

function chunkList(parts: string[], maxParts = 500): string[][] {
  const out: string[][] = [];
  let current: string[] = [];
  let chars = 0;
  for (const part of parts) {
    if (current.length > 0 && (chars + part.length > MAX_STATEMENT_CHARS || current.length >= maxParts)) {
      out.push(current);
      current = [];
      chars = 0;
    }
    current.push(part);
    chars += part.length + 2;
  }
  if (current.length > 0) out.push(current);
  return out;
}

// ---- the ledger's journal ---------------------------------------------------------------------

/** One leg as the move writes it in its owner's shard: the entry row's values and its lines, in order. */
type MovedLeg = {
  id: string;
  key: string;
  owner: string;
  kind: unknown;
  tripId: unknown;
  /** The stored JSON text, carried as it is (each leg of an entry keeps the entry's data). */
  data: unknown;
  createdAt: unknown;
  lines: { account: string; amount: number; currency: string; createdAt: unknown }[];
};

type LineRow = { entry_id: string; account_id: string; amount: number; currency: string; created_at: unknown };

const ENTRY_KINDS: ReadonlySet<string> = new Set(journalEntries.kind.enumValues);

function entryKind(row: Row): EntryKind {
  const kind = String(row.kind);
  if (!ENTRY_KINDS.has(kind)) throw new Error(`journal entry ${row.id} has an unknown kind ${kind}`);
  return kind as EntryKind;
}

/**
 * The legs of one of `DB`'s entries (domain/ledger-legs), as the Worker posts them now: the first
 * keeps the entry's id and key, each following leg gets the id `leg:<owner>:<entry id>` (the same
 * on every run) and the key `legKey(...)`. No `ledger_transfers` row: every leg is written at once,
 * none is ever pending. Each line keeps its `created_at`; a transit line takes the entry's.
 */
function legsOfDirectoryEntry(row: Row, rows: LineRow[]): MovedLeg[] {
  const lines: Line[] = rows.map((l) => ({ account: l.account_id, amount: Number(l.amount), currency: l.currency }));
  const tripId = row.trip_id === null || row.trip_id === undefined ? null : String(row.trip_id);
  // legsOf passes data through untouched; the stored text is written instead of a re-serialised copy.
  const entry: Entry = { key: String(row.idempotency_key), kind: entryKind(row), tripId, lines, data: null };
  // legsOf hands on the entry's own Line objects, so each one finds its row's created_at.
  const createdAtOf = new Map(lines.map((line, i) => [line, rows[i]?.created_at]));
  return legsOf(entry).map((leg, i) => ({
    id: i === 0 ? String(row.id) : legKey(String(row.id), leg.owner),
    key: leg.entry.key,
    owner: leg.owner,
    kind: row.kind,
    tripId: row.trip_id,
    data: row.data,
    createdAt: row.created_at,
    lines: leg.entry.lines.map((line) => ({ ...line, createdAt: createdAtOf.get(line) ?? row.created_at })),
  }));
}

/** A shard's entry: already one owner's leg, moved whole. */
function shardLeg(row: Row, rows: LineRow[]): MovedLeg {
  return {
    id: String(row.id),
    key: String(row.idempotency_key),
    owner: String(row.owner_id),
    kind: row.kind,
    tripId: row.trip_id,
    data: row.data,
    createdAt: row.created_at,
    lines: rows.map((l) => ({
      account: l.account_id,
      amount: Number(l.amount),
      currency: l.currency,
      createdAt: l.created_at,
    })),
  };
}

/**
 * One page of `journal_entries`: each moving entry's legs copied to their owners' shards with its
 * lines, confirmed there, then the entry and its lines deleted from the source together, under the
 * source's `ledger_move_lock` row (the immutability triggers let a delete through only while it
 * exists: migrations/0025, migrations-shard/0005).
 *
 * Each statement may run alone and again (the script runs them one at a time): entries go in with
 * INSERT OR IGNORE on id and key; an entry's lines only if the target holds that entry, with that
 * key, and none of its lines yet, all of them in one statement. A stop between the source's
 * deletes can leave an entry whose lines are gone; it was confirmed before they were deleted, and
 * is deleted once the target is seen to hold it.
 */
async function moveEntries(
  job: MoveJob,
  table: MovedTable,
  page: Row[],
  step: number,
): Promise<{ moved: number; kept: number }> {
  const split = table.journal === "split";
  const moving = split ? page : page.filter((row) => job.targetOf(table.kind, String(row.owner_id)) !== null);
  if (moving.length === 0) return { moved: 0, kept: page.length };
  const linesOf = new Map<string, LineRow[]>();
  for (const part of chunkList(moving.map((row) => sqlLiteral(row.id)))) {
    const rows = await job.source.db.query<LineRow>(
      `SELECT entry_id, account_id, amount, currency, created_at FROM journal_lines
       WHERE entry_id IN (${part.join(", ")}) ORDER BY id`,
    );
    for (const line of rows) linesOf.set(line.entry_id, [...(linesOf.get(line.entry_id) ?? []), line]);
  }
  const byTarget = new Map<string, MovedLeg[]>();
  const bare = new Map<string, Row[]>();
  const targetOf = (owner: string, row: Row) => {
    const target = job.targetOf(table.kind, owner);
    if (target === null)
      throw new Error(`journal entry ${row.id} has a leg of ${owner}, who stays in ${job.source.name}`);
    if (!job.targets.has(target)) throw new Error(`no database for ${target} (journal entry ${row.id}, ${owner})`);
    return target;
  };
  for (const row of moving) {
    const lines = linesOf.get(String(row.id));
    if (!lines) {
      // Out of DB the first leg's shard is not known without the lines: every target is asked.
      for (const target of split ? job.targets.keys() : [targetOf(String(row.owner_id), row)])
        bare.set(target, [...(bare.get(target) ?? []), row]);
      continue;
    }
    for (const leg of split ? legsOfDirectoryEntry(row, lines) : [shardLeg(row, lines)]) {
      const target = targetOf(leg.owner, row);
      byTarget.set(target, [...(byTarget.get(target) ?? []), leg]);
    }
  }
  for (const [target, legs] of byTarget) await (job.targets.get(target) as SqlDatabase).run(legInserts(legs));
  await job.afterCopy?.(table.name, step);
  for (const [target, legs] of byTarget) await confirmLegs(target, job.targets.get(target) as SqlDatabase, legs);
  await confirmBare(job, bare);
  await job.source.db.run([
    "INSERT OR IGNORE INTO ledger_move_lock (id) VALUES (1)",
    // Lines first: `DB`'s lines have a foreign key to their entry.
    ...chunks(
      moving.map((row) => sqlLiteral(row.id)),
      (ids) => `DELETE FROM journal_lines WHERE entry_id IN (${ids.join(", ")})`,
    ),
    ...chunks(
      moving.map((row) => sqlLiteral(row.id)),
      (ids) => `DELETE FROM journal_entries WHERE id IN (${ids.join(", ")})`,
    ),
    "DELETE FROM ledger_move_lock",
  ]);
  return { moved: moving.length, kept: page.length - moving.length };
}

/** The statements that write `legs` in one shard, each safe to run alone and again (see moveEntries). */
function legInserts(legs: MovedLeg[]): string[] {
  const entries = legs.map(
    (leg) =>
      `(${[leg.id, leg.key, leg.owner, leg.kind, leg.tripId, leg.data, leg.createdAt].map(sqlLiteral).join(", ")})`,
  );
  // One part per entry: an entry's lines never straddle two statements, or the second would find
  // the first's lines there and write nothing.
  const lines = legs.map((leg) =>
    leg.lines
      .map(
        (line) =>
          `(${[leg.id, leg.owner, line.account, line.amount, line.currency, line.createdAt, leg.key]
            .map(sqlLiteral)
            .join(", ")})`,
      )
      .join(", "),
  );
  return [
    ...chunks(
      entries,
      (part) =>
        `INSERT OR IGNORE INTO journal_entries (id, idempotency_key, owner_id, kind, trip_id, data, created_at)
         VALUES ${part.join(", ")}`,
    ),
    // SQLite evaluates an INSERT's SELECT in full before it writes a row when the SELECT reads the
    // table written, so NOT EXISTS sees the lines from before this statement only.
    ...chunks(
      lines,
      (part) =>
        `INSERT INTO journal_lines (entry_id, owner_id, account_id, amount, currency, created_at)
         SELECT v.column1, v.column2, v.column3, v.column4, v.column5, v.column6 FROM (VALUES ${part.join(", ")}) AS v
         WHERE EXISTS (SELECT 1 FROM journal_entries e WHERE e.id = v.column1 AND e.idempotency_key = v.column7)
           AND NOT EXISTS (SELECT 1 FROM journal_lines l WHERE l.entry_id = v.column1)`,
    ),
  ];
}

/** Throws unless `db` holds each leg: its entry under its key, and exactly its lines. */
async function confirmLegs(target: string, db: SqlDatabase, legs: MovedLeg[]): Promise<void> {
  const held = new Map<string, { key: string; lines: number; size: number }>();
  for (const part of chunkList(legs.map((leg) => sqlLiteral(leg.id)))) {
    const rows = await db.query<{ id: string; key: string; lines: number; size: number }>(
      `SELECT e.id AS id, e.idempotency_key AS key, COUNT(l.id) AS lines, COALESCE(SUM(ABS(l.amount)), 0) AS size
       FROM journal_entries e LEFT JOIN journal_lines l ON l.entry_id = e.id
       WHERE e.id IN (${part.join(", ")}) GROUP BY e.id`,
    );
    for (const row of rows) held.set(row.id, row);
  }
  const missing = legs.filter((leg) => {
    const row = held.get(leg.id);
    const size = leg.lines.reduce((sum, line) => sum + Math.abs(line.amount), 0);
    return row?.key !== leg.key || Number(row.lines) !== leg.lines.length || Number(row.size) !== size;
  });
  const first = missing[0];
  if (!first) return;
  const [other] = await db.query<{ id: string }>(
    `SELECT id FROM journal_entries WHERE idempotency_key = ${sqlLiteral(first.key)} AND id != ${sqlLiteral(first.id)}`,
  );
  throw new Error(
    `${target} does not hold ${missing.length} journal entries just copied as they are (first: ${first.id}, ` +
      `${first.key}); they stay in the source` +
      (other
        ? `. ${target} has that key posted as ${other.id} since: the same money is in both, settle it by hand`
        : ""),
  );
}

/** Throws unless some target holds each entry whose lines an earlier, stopped run deleted. */
async function confirmBare(job: MoveJob, bare: Map<string, Row[]>): Promise<void> {
  const found = new Set<string>();
  for (const [target, rows] of bare) {
    for (const part of chunkList(rows.map((row) => `(${sqlLiteral(row.id)}, ${sqlLiteral(row.idempotency_key)})`))) {
      const hits = await (job.targets.get(target) as SqlDatabase).query<{ id: string }>(
        `SELECT id FROM journal_entries WHERE (id, idempotency_key) IN (VALUES ${part.join(", ")})
           AND EXISTS (SELECT 1 FROM journal_lines WHERE entry_id = journal_entries.id)`,
      );
      for (const hit of hits) found.add(hit.id);
    }
  }
  const lost = [...bare.values()].flat().find((row) => !found.has(String(row.id)));
  if (lost)
    throw new Error(`journal entry ${lost.id} has no lines in ${job.source.name} and no target holds it; it stays`);
}

/** The buckets whose binding differs between two maps: what a SHARD_MAP change moves. */
export function movedBuckets(before: readonly string[], after: readonly string[]): number[] {
  const moved: number[] = [];
  for (let b = 0; b < BUCKETS; b++) if (before[b] !== after[b]) moved.push(b);
  return moved;
}

/** `targetOf` for a move under `byBucket` (a parsed SHARD_MAP): rows go where their bucket is mapped. */
export function targetUnder(byBucket: readonly string[], stayingIn: string | null) {
  return (_kind: ShardKind, key: string): string | null => {
    const target = byBucket[bucketOf(key)] as string;
    return target === stayingIn ? null : target;
  };
}
