/**
 * @module domain/rider-slot
 * When a rider's active-trip slot (db/trips.ts) may be taken from the trip holding it. The slot
 * is freed behind the trip's end (its write-behind), so a request may find it held by a trip that
 * is over; and it is claimed before the trip object is created, so a request may find it held by
 * a trip that does not exist yet.
 */
import type { Result } from "../errors";
import { isActive, type TripStatus } from "./trip";

/**
 * How long a claimed slot may name a trip that does not exist: the request that claimed it is
 * still creating it. Past this the request is taken to have died between the claim and the
 * create, and the slot is free. A create takes milliseconds; this leaves room for a slow one.
 */
export const SLOT_CREATE_GRACE_MS = 30_000;

/**
 * What the trip holding the slot is, from its own answer (`holder`, the trip object's) and when
 * it claimed the slot (`claimedAt`): `active` keeps the slot; `over` (ended, or never created
 * and past the grace) gives it up; `being_created` is a request still on its way, to be asked
 * again in a moment rather than robbed of the slot it holds.
 */
export function slotHolderState(
  holder: Result<{ status: TripStatus }>,
  claimedAt: number,
  now: number,
): "active" | "over" | "being_created" {
  if (holder.ok) return isActive(holder.value.status) ? "active" : "over";
  if (holder.error.code !== "not_found") return "active";
  return now - claimedAt < SLOT_CREATE_GRACE_MS ? "being_created" : "over";
}
