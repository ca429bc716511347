/**
 * @module db/audit
 * The audit log of operators' actions in D1. An action's record is written as a raw statement
 * so that it can ride in the same batch (one transaction) as the action's own effect: the ban
 * with the user row, the refund with its ledger entry. Reads page newest first by id.
 */
import { and, desc, eq, lt, sql, type SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { AuditAction, AuditQuery, AuditRecord, AuditTargetKind } from "../protocol/admin";
import type { SqlCondition } from "./sql-condition";
import { auditLog } from "./schema";

export type NewAuditRecord = {
  at: number;
  actorId: string;
  action: AuditAction;
  target: { kind: AuditTargetKind; id: string };
  reason: string;
  details: unknown;
};

/** A row as a raw statement answers it (details as JSON text). */
type AuditRow = {
  id: number;
  at: number;
  actor_id: string;
  action: string;
  target_kind: string;
  target_id: string;
  reason: string;
  details: string | null;
};
/** A row as drizzle answers it (details parsed). */
type AuditSelect = typeof auditLog.$inferSelect;

/**
 * The insert of one record, answering the stored row (RETURNING), to put in a batch. With
 * `onlyIf`, the record is written only when that condition holds inside the same transaction
 * (the refund it records was posted), and the statement answers no row otherwise.
 */
export function auditInsert(d1: D1Database, record: NewAuditRecord, onlyIf?: SqlCondition): D1PreparedStatement {
  return d1
    .prepare(
      `INSERT INTO audit_log (at, actor_id, action, target_kind, target_id, reason, details)
       SELECT ?, ?, ?, ?, ?, ?, ?
       WHERE ${onlyIf?.sql ?? "1"} RETURNING *`,
    )
    .bind(
      record.at,
      record.actorId,
      record.action,
      record.target.kind,
      record.target.id,
      record.reason,
      record.details === undefined ? null : JSON.stringify(record.details),
      ...(onlyIf?.params ?? []),
    );
}

/** The record an `auditInsert` answered in its batch, if it wrote one. */
export function insertedAudit(result: D1Result | undefined): AuditRecord | undefined {
  const row = result?.results[0] as AuditRow | undefined;
  return row ? toAuditRecord(row) : undefined;
}

export async function writeAudit(d1: D1Database, record: NewAuditRecord): Promise<AuditRecord> {
  const row = await auditInsert(d1, record).first<AuditRow>();
  if (!row) throw new Error("the audit record was not written");
  return toAuditRecord(row);
}

function toAuditRecord(row: AuditRow): AuditRecord {
  return fromSelect({
    id: row.id,
    at: row.at,
    actorId: row.actor_id,
    action: row.action,
    targetKind: row.target_kind,
    targetId: row.target_id,
    reason: row.reason,
    details: parseDetails(row.details),
  });
}

function fromSelect(row: AuditSelect): AuditRecord {
  return {
    id: row.id,
    at: row.at,
    actorId: row.actorId,
    action: row.action,
    target: { kind: row.targetKind, id: row.targetId },
    reason: row.reason,
    details: row.details ?? null,
  };
}

function parseDetails(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** A page of records, newest first, filtered by target and/or actor; `nextBefore` continues it. */
export async function listAudit(
  d1: D1Database,
  query: AuditQuery,
): Promise<{ records: AuditRecord[]; nextBefore: number | null }> {
  const conditions: SQL[] = [];
  if (query.before !== undefined) conditions.push(lt(auditLog.id, query.before));
  if (query.targetKind !== undefined && query.targetId !== undefined)
    conditions.push(eq(auditLog.targetKind, query.targetKind), eq(auditLog.targetId, query.targetId));
  if (query.actorId !== undefined) conditions.push(eq(auditLog.actorId, query.actorId));
  // One extra row tells whether another page exists.
  const rows = await drizzle(d1)
    .select()
    .from(auditLog)
    .where(conditions.length === 0 ? undefined : and(...conditions))
    .orderBy(desc(auditLog.id))
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit).map(fromSelect);
  return { records: page, nextBefore: rows.length > query.limit ? (page.at(-1)?.id ?? null) : null };
}

/** The record of the refund posted under `ledgerKey`, to answer a retried refund request with. */
export async function findRefundAudit(
  d1: D1Database,
  tripId: string,
  ledgerKey: string,
): Promise<AuditRecord | undefined> {
  const [row] = await drizzle(d1)
    .select()
    .from(auditLog)
    .where(
      and(
        eq(auditLog.targetKind, "trip"),
        eq(auditLog.targetId, tripId),
        eq(auditLog.action, "trip.refund"),
        sql`json_extract(${auditLog.details}, '$.ledgerKey') = ${ledgerKey}`,
      ),
    )
    .limit(1);
  return row ? fromSelect(row) : undefined;
}
