/**
 * @module db/sql-condition
 * A piece of SQL that one statement hands another to put in its WHERE clause, so a write can be
 * made conditional on an earlier write of the same D1 batch (a trip request claims the rider's
 * slot only if the fare's hold was posted, a refund is recorded only if its entry was).
 */

/** A piece of SQL for a WHERE clause and the values of its `?`s. */
export type SqlCondition = { sql: string; params: unknown[] };
