/**
 * @module db/driver-documents
 * Drivers' documents in D1: the row a grant makes (`awaiting_upload`), the upload claiming it
 * once (`uploading`; a second PUT with the same URL finds it taken), the checked bytes making it
 * `pending` review (or the refused ones `upload_failed`), and an operator's review with its
 * audit record. The bytes are in R2 under the row's key (files/upload-grant.ts names it).
 */
import { newId } from "../ids";
import type {
  DocumentContentType,
  DocumentKind,
  DocumentStatus,
  DriverDocument,
  ReviewBody,
} from "../protocol/vehicles";
import { auditInsert } from "./audit";
import { reviewedNow } from "./vehicles";

type DocumentRow = {
  id: string;
  driver_id: string;
  vehicle_id: string | null;
  kind: DocumentKind;
  key: string;
  filename: string;
  content_type: DocumentContentType;
  size: number | null;
  status: DocumentStatus;
  review_reason: string | null;
  reviewed_at: number | null;
  created_at: number;
};

/** A document with its object key, which only the Worker sees. */
export type StoredDocument = DriverDocument & { key: string };

function toDocument(row: DocumentRow): StoredDocument {
  return {
    id: row.id,
    driverId: row.driver_id,
    kind: row.kind,
    vehicleId: row.vehicle_id,
    filename: row.filename,
    contentType: row.content_type,
    size: row.size,
    status: row.status,
    reviewReason: row.review_reason,
    reviewedAt: row.reviewed_at,
    createdAt: row.created_at,
    key: row.key,
  };
}

/** The document as the API shows it: without its object key. */
export function publicDocument({ key: _key, ...document }: StoredDocument): DriverDocument {
  return document;
}

export type NewDocument = {
  driverId: string;
  vehicleId: string | null;
  kind: DocumentKind;
  key: string;
  filename: string;
  contentType: DocumentContentType;
};

/**
 * The row of a document about to be uploaded. A vehicle's paper is inserted only if the vehicle
 * is the driver's own (null otherwise: someone else's vehicle id and an unknown one look alike);
 * and at most `maxOpen` of the driver's documents may await their upload at once, so grants
 * nobody uses cannot pile up.
 */
export async function insertDocument(
  d1: D1Database,
  doc: NewDocument,
  maxOpen: number,
  now: number,
): Promise<StoredDocument | "not_your_vehicle" | "too_many_open"> {
  const open = await d1
    .prepare(`SELECT COUNT(*) AS n FROM driver_documents WHERE driver_id = ? AND status = 'awaiting_upload'`)
    .bind(doc.driverId)
    .first<{ n: number }>();
  if ((open?.n ?? 0) >= maxOpen) return "too_many_open";
  const row = await d1
    .prepare(
      `INSERT INTO driver_documents (id, driver_id, vehicle_id, kind, key, filename, content_type, status, created_at)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, 'awaiting_upload', ?8
       WHERE ?3 IS NULL OR EXISTS (SELECT 1 FROM vehicles WHERE id = ?3 AND driver_id = ?2)
       RETURNING *`,
    )
    .bind(newId("doc"), doc.driverId, doc.vehicleId, doc.kind, doc.key, doc.filename, doc.contentType, now)
    .first<DocumentRow>();
  return row ? toDocument(row) : "not_your_vehicle";
}

/** Takes the document's one upload: true the first time, false for a used (or unknown) grant. */
export async function claimDocumentUpload(d1: D1Database, id: string, driverId: string): Promise<boolean> {
  const { meta } = await d1
    .prepare(
      `UPDATE driver_documents SET status = 'uploading'
       WHERE id = ? AND driver_id = ? AND status = 'awaiting_upload'`,
    )
    .bind(id, driverId)
    .run();
  return meta.changes > 0;
}

/** The upload's bytes passed their checks: the document waits for review. */
export async function storeDocumentUpload(d1: D1Database, id: string, size: number): Promise<StoredDocument> {
  const row = await d1
    .prepare(
      `UPDATE driver_documents SET status = 'pending', size = ? WHERE id = ? AND status = 'uploading' RETURNING *`,
    )
    .bind(size, id)
    .first<DocumentRow>();
  if (!row) throw new Error("the document was not waiting for its bytes");
  return toDocument(row);
}

/** The upload's bytes were refused (and deleted): the grant is spent, the driver asks for a new one. */
export async function failDocumentUpload(d1: D1Database, id: string): Promise<void> {
  await d1
    .prepare(`UPDATE driver_documents SET status = 'upload_failed' WHERE id = ? AND status = 'uploading'`)
    .bind(id)
    .run();
}

export async function findDocument(d1: D1Database, id: string): Promise<StoredDocument | null> {
  const row = await d1.prepare(`SELECT * FROM driver_documents WHERE id = ?`).bind(id).first<DocumentRow>();
  return row ? toDocument(row) : null;
}

/** A driver's documents, newest first (the latest 200), whatever their status. */
export async function documentsOf(d1: D1Database, driverId: string): Promise<StoredDocument[]> {
  const { results } = await d1
    .prepare(`SELECT * FROM driver_documents WHERE driver_id = ? ORDER BY created_at DESC, id LIMIT 200`)
    .bind(driverId)
    .all<DocumentRow>();
  return results.map(toDocument);
}

/**
 * An operator's decision on an uploaded document, with its audit record: "not_found" for no
 * such document, "not_uploaded" for one whose bytes are not (or not validly) in R2.
 */
export async function reviewDocument(
  d1: D1Database,
  id: string,
  actorId: string,
  review: ReviewBody,
  now: number,
): Promise<StoredDocument | "not_found" | "not_uploaded"> {
  const status = review.decision === "approve" ? "approved" : "rejected";
  const [updated] = await d1.batch([
    d1
      .prepare(
        `UPDATE driver_documents SET status = ?, review_reason = ?, reviewed_by = ?, reviewed_at = ?
         WHERE id = ? AND status IN ('pending', 'approved', 'rejected') RETURNING *`,
      )
      .bind(status, review.reason ?? null, actorId, now, id),
    auditInsert(
      d1,
      {
        at: now,
        actorId,
        action: review.decision === "approve" ? "document.approve" : "document.reject",
        target: { kind: "driver_document", id },
        reason: review.reason ?? "approved",
        details: null,
      },
      reviewedNow("driver_documents", id, actorId, now),
    ),
  ]);
  const row = updated?.results[0] as DocumentRow | undefined;
  if (row) return toDocument(row);
  return (await findDocument(d1, id)) ? "not_uploaded" : "not_found";
}
