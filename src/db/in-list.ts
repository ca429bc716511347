/**
 * @module db/in-list
 * `column IN (…)` for lists of any length. D1 binds at most 100 parameters a statement, and
 * drizzle's `inArray` binds one per value: a page of 100 trip ids or a search's people would pass
 * that. Here the list is one JSON parameter, unpacked by SQLite's `json_each`.
 */
import { type Column, type SQL, sql } from "drizzle-orm";

/** `column IN (values)`, the values bound as one JSON array; an empty list matches nothing. */
export const inList = (column: Column, values: readonly string[]): SQL =>
  sql`${column} IN (SELECT value FROM json_each(${JSON.stringify(values)}))`;
