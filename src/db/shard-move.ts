/**
 * @module db/shard-move
 * Moves partitioned rows to the shard their key routes to (db/shards), resumably: the one-time
 * move of a deployment's chat archive and notification log out of the directory database `DB`,
 * and the move of buckets to a new shard after SHARD_MAP changes. scripts/migrate-to-shards.ts
 * runs it through `wrangler d1 execute` (local or remote); the tests run it on D1 bindings.
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
 * Every value goes into the SQL as a literal (`sqlLiteral`), since `wrangler d1 execute` binds no
 * parameters; they are the database's own values, read back from it.
 */
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
  /** Only between shards: `DB`'s copy of the table has another shape (db/sessions.ts moves those rows on use). */
  betweenShardsOnly?: boolean;
};

/**
 * The partitioned tables (db/shard-schema.ts), messages before their reactions, sessions before
 * their tokens.
 */
export const MOVED_TABLES: readonly MovedTable[] = [
  {
    name: "messages",
    kind: "chat",
    key: "room_id",
    primaryKey: ["id"],
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
  },
  {
    name: "message_reactions",
    kind: "chat",
    key: "room_id",
    primaryKey: ["room_id", "seq", "emoji", "user_id"],
    columns: ["room_id", "seq", "emoji", "user_id", "created_at"],
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
];

/** What the first move reads out of `DB`: the tables that were there before the partitions. */
export const DIRECTORY_TABLES: readonly MovedTable[] = MOVED_TABLES.filter((t) => !t.betweenShardsOnly);

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
        const { moved, kept } = await moveStep(job, table, page, steps);
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
  const byTarget = new Map<string, Row[]>();
  let kept = 0;
  for (const row of page) {
    const target = job.targetOf(table.kind, String(row[table.key]));
    if (target === null) {
      kept++;
      continue;
    }
    if (!job.targets.has(target)) throw new Error(`no database for ${target} (${table.name} ${row[table.key]})`);
    const rows = byTarget.get(target) ?? [];
    rows.push(row);
    byTarget.set(target, rows);
  }
  for (const [target, rows] of byTarget) await (job.targets.get(target) as SqlDatabase).run(inserts(table, rows));
  await job.afterCopy?.(table.name, step);
  const confirmed: number[] = [];
  for (const [target, rows] of byTarget) {
    const present = await presentKeys(job.targets.get(target) as SqlDatabase, table, rows);
    const missing = rows.filter((row) => !present.has(keyOf(table, row)));
    if (missing.length > 0)
      throw new Error(
        `${target} does not hold ${missing.length} ${table.name} rows just copied ` +
          `(first: ${keyOf(table, missing[0] as Row)}); they stay in the source`,
      );
    confirmed.push(...rows.map((row) => row._rowid));
  }
  if (confirmed.length > 0) {
    if (table.merge) await deleteUnchanged(job, table, byTarget);
    else
      await job.source.db.run(
        chunks(confirmed.map(sqlLiteral), (ids) => `DELETE FROM ${table.name} WHERE rowid IN (${ids.join(", ")})`),
      );
  }
  return { moved: confirmed.length, kept };
}

/** Rounds of copy-again before a move gives up on rows the Worker keeps changing. */
const MERGE_ROUNDS = 5;

/**
 * Deletes from the source the copied rows whose merge columns are as they were copied. A row the
 * Worker changed since (a session revoked in the old home while the move ran) stays: it is merged
 * into the target again and then deleted, so the change is never lost with the source's row.
 */
async function deleteUnchanged(job: MoveJob, table: MovedTable, byTarget: Map<string, Row[]>): Promise<void> {
  const merge = Object.keys(table.merge ?? {});
  for (const [target, copied] of byTarget) {
    let rows = copied;
    for (let round = 0; rows.length > 0; round++) {
      if (round === MERGE_ROUNDS)
        throw new Error(
          `${rows.length} ${table.name} rows kept changing in ${job.source.name} while they moved; run again`,
        );
      const same = rows.map(
        (row) =>
          `(rowid = ${sqlLiteral(row._rowid)}${merge.map((c) => ` AND ${c} IS ${sqlLiteral(row[c])}`).join("")})`,
      );
      await job.source.db.run(chunks(same, (part) => `DELETE FROM ${table.name} WHERE ${part.join(" OR ")}`));
      rows = await job.source.db.query<Row>(
        `SELECT rowid AS _rowid, ${table.columns.join(", ")} FROM ${table.name}
         WHERE rowid IN (${rows.map((row) => sqlLiteral(row._rowid)).join(", ")})`,
      );
      if (rows.length > 0) await (job.targets.get(target) as SqlDatabase).run(inserts(table, rows));
    }
  }
}

/** INSERT OR IGNORE (or, with merge columns, merging) statements for `rows`, each under the statement size limit. */
function inserts(table: MovedTable, rows: Row[]): string[] {
  const values = rows.map((row) => `(${table.columns.map((c) => sqlLiteral(row[c])).join(", ")})`);
  const columns = table.columns.join(", ");
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

/** Statements made of `parts`, as many parts per statement as fit. */
function chunks(parts: string[], statement: (part: string[]) => string): string[] {
  return chunkList(parts).map(statement);
}

function chunkList(parts: string[]): string[][] {
  const out: string[][] = [];
  let current: string[] = [];
  let chars = 0;
  for (const part of parts) {
    if (current.length > 0 && (chars + part.length > MAX_STATEMENT_CHARS || current.length >= 500)) {
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
