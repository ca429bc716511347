/**
 * @module rooms/commands
 * The command ids a room has applied, per user, in the object's own SQLite: what makes a frame
 * or an HTTP request with an `Idempotency-Key` apply once and be acknowledged again. Each
 * record keeps the seq the command stored (if any) and a digest of what it carried, so that an
 * id reused for something else is told apart from a retry. Records expire after a day.
 */
import { conflict } from "../errors";

/** How long a command id is remembered: a client retrying later than this applies it again. */
export const COMMAND_TTL_MS = 24 * 60 * 60 * 1000;
/** Expired ids are swept this often at most: a day's TTL does not need a sweep per alarm. */
const COMMAND_SWEEP_MS = 60 * 60 * 1000;

/** The kinds of operation whose ids are deduplicated apart (see `once`). */
export type CommandKind = "message" | "typing" | "move" | "edit" | "delete" | "react";

export type AppliedCommand = { seq: number | null; fingerprint: string | null };

export class Commands {
  private readonly sql: SqlStorage;
  /** When expired ids were last swept; memory only, so a woken object sweeps on its first alarm. */
  private sweptAt = Number.NEGATIVE_INFINITY;

  /** `fresh`: the table is made now, in its current shape, so there is no older one to bring up to date. */
  constructor(storage: DurableObjectStorage, fresh = false) {
    const sql = storage.sql;
    this.sql = sql;
    // `fingerprint`: what the command carried (a digest), so that an id reused for something else is told apart.
    // WITHOUT ROWID and no index on created_at: a claim writes one row (and its expiry deletes one),
    // where a rowid table with a key index and a created_at index wrote three. The hourly sweep
    // reads the table through instead of an index: rows read cost a thousandth of rows written.
    sql.exec(
      `CREATE TABLE IF NOT EXISTS commands (user_id TEXT NOT NULL, command_id TEXT NOT NULL,
       seq INTEGER, created_at INTEGER NOT NULL, fingerprint TEXT,
       PRIMARY KEY (user_id, command_id)) WITHOUT ROWID`,
    );
    if (!fresh) migrateToWithoutRowid(storage);
  }

  /** What this user's command `kind:id` stored, if they sent it before. */
  recall(userId: string, kind: CommandKind, commandId: string): AppliedCommand | undefined {
    return this.sql
      .exec<AppliedCommand>(
        `SELECT seq, fingerprint FROM commands WHERE user_id = ? AND command_id = ?`,
        userId,
        keyOf(kind, commandId),
      )
      .toArray()[0];
  }

  remember(
    userId: string,
    kind: CommandKind,
    commandId: string,
    seq: number | null,
    now: number,
    fingerprint: string | null = null,
  ): void {
    this.sql.exec(
      `INSERT INTO commands (user_id, command_id, seq, created_at, fingerprint) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (user_id, command_id) DO NOTHING`,
      userId,
      keyOf(kind, commandId),
      seq,
      now,
      fingerprint,
    );
  }

  /**
   * Runs `apply` once per (user, kind, command id): a repeat returns the seq of the first run
   * and applies nothing. Ids live in one namespace per kind of operation: a chat message's id is
   * the same whether it came as a frame or as an HTTP Idempotency-Key (the SDK re-sends an
   * unacknowledged frame over HTTP with its id as the key), but a typing frame's id never
   * answers a message. The same id with a different `fingerprint` (another text) is refused
   * with 409 `conflict`.
   *
   * `expectedSeq` is the seq `apply` will store (the log's next one; null if it stores none).
   * The id is claimed first, with that seq, by one INSERT whose conflict is the repeat: a new
   * command costs one statement here and no transaction of its own, since the claim and what
   * `apply` writes run with no await between them and so commit together. Should `apply` throw,
   * the claim is taken back, so that a retry applies it then.
   */
  once<T extends { seq: number | null }>(
    userId: string,
    kind: CommandKind,
    commandId: string | undefined,
    expectedSeq: number | null,
    apply: () => T,
    fingerprint: string | null = null,
  ): { repeated: true; seq: number | null } | { repeated: false; value: T } {
    if (commandId === undefined) return { repeated: false, value: apply() };
    const key = keyOf(kind, commandId);
    // Told by the rows it wrote rather than by `RETURNING`, which cost 40% more per claim (bench/PROFILE.md).
    const claimed =
      this.sql.exec(
        `INSERT INTO commands (user_id, command_id, seq, created_at, fingerprint) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (user_id, command_id) DO NOTHING`,
        userId,
        key,
        expectedSeq,
        Date.now(),
        fingerprint,
      ).rowsWritten > 0;
    if (!claimed) {
      const seen = this.recall(userId, kind, commandId);
      if (seen && seen.fingerprint !== null && fingerprint !== null && seen.fingerprint !== fingerprint)
        throw conflict(`this id was already used for a different ${kind}`, { id: commandId });
      return { repeated: true, seq: seen?.seq ?? null };
    }
    let value: T;
    try {
      value = apply();
    } catch (err) {
      this.sql.exec(`DELETE FROM commands WHERE user_id = ? AND command_id = ?`, userId, key);
      throw err;
    }
    if (value.seq !== expectedSeq)
      this.sql.exec(`UPDATE commands SET seq = ? WHERE user_id = ? AND command_id = ?`, value.seq, userId, key);
    return { repeated: false, value };
  }

  /** Forgets ids older than the TTL, at most once an hour (called from the alarm). */
  sweep(now: number): void {
    if (now - this.sweptAt < COMMAND_SWEEP_MS) return;
    this.sql.exec(`DELETE FROM commands WHERE created_at < ?`, now - COMMAND_TTL_MS);
    this.sweptAt = now;
  }
}

/**
 * Rooms created before the table lost its rowid and its created_at index (and perhaps before it
 * had `fingerprint`) are rebuilt once, in one transaction: the ids they remember carry over.
 */
function migrateToWithoutRowid(storage: DurableObjectStorage): void {
  const sql = storage.sql;
  const table = sql
    .exec<{ sql: string }>(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'commands'`)
    .one().sql;
  if (/WITHOUT ROWID/i.test(table)) return;
  const hasFingerprint = sql
    .exec<{ name: string }>(`PRAGMA table_info(commands)`)
    .toArray()
    .some((c) => c.name === "fingerprint");
  storage.transactionSync(() => {
    sql.exec(`ALTER TABLE commands RENAME TO commands_rowid`);
    sql.exec(`DROP INDEX IF EXISTS commands_created_idx`);
    sql.exec(
      `CREATE TABLE commands (user_id TEXT NOT NULL, command_id TEXT NOT NULL,
       seq INTEGER, created_at INTEGER NOT NULL, fingerprint TEXT,
       PRIMARY KEY (user_id, command_id)) WITHOUT ROWID`,
    );
    sql.exec(
      `INSERT INTO commands (user_id, command_id, seq, created_at, fingerprint)
       SELECT user_id, command_id, seq, created_at, ${hasFingerprint ? "fingerprint" : "NULL"} FROM commands_rowid`,
    );
    sql.exec(`DROP TABLE commands_rowid`);
  });
}

/**
 * The stored key. Chat rooms and trips prefix the kind; the driver channel's trip moves were
 * stored under the bare frame id before kinds existed, and keep that key so that a retry
 * across a deploy is still recognised.
 */
function keyOf(kind: CommandKind, commandId: string): string {
  return kind === "move" ? commandId : `${kind}:${commandId}`;
}
