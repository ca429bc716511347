/**
 * @module rooms/lazy-tables
 * Tables an object makes only when it first writes to them. Most trips never set an arrival SMS
 * timer, a schedule or a share link; a CREATE for each of those on every new trip was a third of
 * the trip's SQLite statements (bench/PROFILE.md). A part whose table may be missing writes
 * through `ensure` and reads nothing while `has` says the table is not there.
 *
 * Which tables exist is read once per activation, with the first question (one statement on
 * `sqlite_master`), then kept in memory: the object is the only writer of its SQLite. A
 * transaction that rolls back may have taken a CREATE with it, so the room calls `forget` then.
 */
export class LazyTables {
  private existing: Set<string> | null = null;

  constructor(readonly sql: SqlStorage) {}

  /** Whether `table` exists. */
  has(table: string): boolean {
    return this.names().has(table);
  }

  /** Creates `table` with `ddl` (its CREATE TABLE, then any index) unless it exists. */
  ensure(table: string, ...ddl: string[]): void {
    const names = this.names();
    if (names.has(table)) return;
    for (const statement of ddl) this.sql.exec(statement);
    names.add(table);
  }

  /** Reads the tables again at the next question (after a rolled-back transaction). */
  forget(): void {
    this.existing = null;
  }

  private names(): Set<string> {
    this.existing ??= new Set(
      this.sql
        .exec<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table'`)
        .toArray()
        .map((row) => row.name),
    );
    return this.existing;
  }
}
