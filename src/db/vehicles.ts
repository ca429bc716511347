/**
 * @module db/vehicles
 * Drivers' vehicles in D1, an operator's review of them, and what a driver still lacks before
 * going online (an approved licence and an approved vehicle whose registration and insurance are
 * approved). A review is written in one batch with its audit record.
 */
import { newId } from "../ids";
import {
  type ApprovalGap,
  plateKey,
  type ReviewBody,
  type ReviewStatus,
  type Vehicle,
  type VehicleBody,
} from "../protocol/vehicles";
import { auditInsert } from "./audit";
import type { SqlCondition } from "./sql-condition";

type VehicleRow = {
  id: string;
  driver_id: string;
  make: string;
  model: string;
  colour: string;
  plate: string;
  seats: number;
  tier: string;
  status: ReviewStatus;
  review_reason: string | null;
  reviewed_at: number | null;
  created_at: number;
};

function toVehicle(row: VehicleRow): Vehicle {
  return {
    id: row.id,
    driverId: row.driver_id,
    make: row.make,
    model: row.model,
    colour: row.colour,
    plate: row.plate,
    seats: row.seats,
    tier: row.tier,
    status: row.status,
    reviewReason: row.review_reason,
    reviewedAt: row.reviewed_at,
    createdAt: row.created_at,
  };
}

/**
 * Registers a vehicle, `pending` review: "plate_taken" when a vehicle that is not rejected has
 * the same plate (the unique index decides, so two drivers racing for one plate cannot both win),
 * "too_many" when the driver has `max` vehicles that are not rejected already.
 */
export async function registerVehicle(
  d1: D1Database,
  driverId: string,
  body: VehicleBody,
  max: number,
  now: number,
): Promise<Vehicle | "plate_taken" | "too_many"> {
  const id = newId("veh");
  let row: VehicleRow | null;
  try {
    row = await d1
      .prepare(
        `INSERT INTO vehicles (id, driver_id, make, model, colour, plate, plate_key, seats, tier, status, created_at)
         SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?
         WHERE (SELECT COUNT(*) FROM vehicles WHERE driver_id = ? AND status != 'rejected') < ?
         RETURNING *`,
      )
      .bind(
        id,
        driverId,
        body.make,
        body.model,
        body.colour,
        body.plate,
        plateKey(body.plate),
        body.seats,
        body.tier,
        now,
        driverId,
        max,
      )
      .first<VehicleRow>();
  } catch (err) {
    if (err instanceof Error && /UNIQUE constraint failed/.test(err.message)) return "plate_taken";
    throw err;
  }
  return row ? toVehicle(row) : "too_many";
}

export async function vehiclesOf(d1: D1Database, driverId: string): Promise<Vehicle[]> {
  const { results } = await d1
    .prepare(`SELECT * FROM vehicles WHERE driver_id = ? ORDER BY created_at DESC, id`)
    .bind(driverId)
    .all<VehicleRow>();
  return results.map(toVehicle);
}

export async function findVehicle(d1: D1Database, id: string): Promise<Vehicle | null> {
  const row = await d1.prepare(`SELECT * FROM vehicles WHERE id = ?`).bind(id).first<VehicleRow>();
  return row ? toVehicle(row) : null;
}

/** Whether the row `id` of `table` holds this review: its audit record is written only then, in the same batch. */
export function reviewedNow(
  table: "vehicles" | "driver_documents",
  id: string,
  actorId: string,
  now: number,
): SqlCondition {
  return {
    sql: `EXISTS (SELECT 1 FROM ${table} WHERE id = ? AND reviewed_by = ? AND reviewed_at = ?)`,
    params: [id, actorId, now],
  };
}

/**
 * An operator's decision on a vehicle, with its audit record. An approval needs the vehicle's
 * registration and insurance approved first ("documents_not_approved", with the kinds missing);
 * the check and the update are one statement, so a document rejected meanwhile stops it.
 */
export async function reviewVehicle(
  d1: D1Database,
  vehicleId: string,
  actorId: string,
  review: ReviewBody,
  now: number,
): Promise<Vehicle | "not_found" | { missing: string[] }> {
  const status = review.decision === "approve" ? "approved" : "rejected";
  const papersApproved = `(SELECT COUNT(DISTINCT kind) FROM driver_documents
     WHERE vehicle_id = ?1 AND kind IN ('registration', 'insurance') AND status = 'approved') = 2`;
  const [updated] = await d1.batch([
    d1
      .prepare(
        `UPDATE vehicles SET status = ?2, review_reason = ?3, reviewed_by = ?4, reviewed_at = ?5
         WHERE id = ?1 AND (?2 = 'rejected' OR ${papersApproved}) RETURNING *`,
      )
      .bind(vehicleId, status, review.reason ?? null, actorId, now),
    auditInsert(
      d1,
      {
        at: now,
        actorId,
        action: review.decision === "approve" ? "vehicle.approve" : "vehicle.reject",
        target: { kind: "vehicle", id: vehicleId },
        reason: review.reason ?? "approved",
        details: null,
      },
      reviewedNow("vehicles", vehicleId, actorId, now),
    ),
  ]);
  const row = updated?.results[0] as VehicleRow | undefined;
  if (row) return toVehicle(row);
  if (!(await findVehicle(d1, vehicleId))) return "not_found";
  const { results } = await d1
    .prepare(
      `SELECT DISTINCT kind FROM driver_documents
       WHERE vehicle_id = ? AND kind IN ('registration', 'insurance') AND status = 'approved'`,
    )
    .bind(vehicleId)
    .all<{ kind: string }>();
  const have = new Set(results.map((r) => r.kind));
  return { missing: ["registration", "insurance"].filter((kind) => !have.has(kind)) };
}

/**
 * What stands between a driver and going online, in one read: an approved licence, and an
 * approved vehicle whose registration and insurance are approved (a paper rejected after the
 * vehicle's approval takes it off the road). The vehicle returned is the newest such one; the
 * photo, the driver's newest approved one (optional).
 */
export async function approvalOf(
  d1: D1Database,
  driverId: string,
): Promise<{ missing: ApprovalGap[]; vehicle: Vehicle | null; photoId: string | null }> {
  const [licence, vehicle, photo] = await d1.batch([
    d1
      .prepare(
        `SELECT 1 AS ok FROM driver_documents WHERE driver_id = ? AND kind = 'licence' AND status = 'approved' LIMIT 1`,
      )
      .bind(driverId),
    d1
      .prepare(
        `SELECT v.* FROM vehicles v WHERE v.driver_id = ? AND v.status = 'approved'
         AND (SELECT COUNT(DISTINCT kind) FROM driver_documents d
              WHERE d.vehicle_id = v.id AND d.kind IN ('registration', 'insurance') AND d.status = 'approved') = 2
         ORDER BY v.reviewed_at DESC, v.id LIMIT 1`,
      )
      .bind(driverId),
    // The driver's newest approved photo, if any: not needed to go online.
    d1
      .prepare(
        `SELECT id FROM driver_documents WHERE driver_id = ? AND kind = 'photo' AND status = 'approved'
         ORDER BY created_at DESC, id LIMIT 1`,
      )
      .bind(driverId),
  ]);
  const row = vehicle?.results[0] as VehicleRow | undefined;
  const missing: ApprovalGap[] = [];
  if ((licence?.results.length ?? 0) === 0) missing.push("licence");
  if (!row) missing.push("vehicle");
  const photoId = (photo?.results[0] as { id: string } | undefined)?.id ?? null;
  return { missing, vehicle: row ? toVehicle(row) : null, photoId };
}
