/**
 * @module rooms/trip-view
 * The trip as its rider and driver see it (the `Trip` of the API and of status frames), and the
 * ETA shown with the assigned driver's position: to the pickup before the ride, to the dropoff
 * during it.
 */
import { conflict } from "../errors";
import { etaSec, type Fix, type LatLng, type TravelModel } from "../domain/geo";
import { isOnTrip, type TripState } from "../domain/trip";
import { StoredStatusFrame, type Quote, type Trip, type TripLocationFrame } from "../protocol/dispatch";
import type { TripDriver } from "../protocol/vehicles";
import type { StoredEvent } from "./event-log";

/** The rider and the assigned driver are the trip's parties: they alone see it and join its room. */
export function isParty(state: TripState, userId: string): boolean {
  return userId === state.riderId || userId === state.driverId;
}

/** Whom a party of a completed trip rates: the rider rates the driver, the driver the rider. */
export function rateeOf(state: TripState, userId: string): { rateeId: string; role: "rider" | "driver" } {
  if (state.status !== "completed" || state.driverId === null) throw conflict("only a completed trip can be rated");
  return userId === state.riderId
    ? { rateeId: state.driverId, role: "driver" }
    : { rateeId: state.riderId, role: "rider" };
}

/** Seconds from `from` to where the assigned driver is headed; null when no driver is on the trip. */
export function tripEta(state: TripState, from: LatLng, model: TravelModel): number | null {
  if (!isOnTrip(state.status)) return null;
  const to = state.status === "in_progress" ? state.dropoff : state.pickup;
  return etaSec(from, to, model);
}

/**
 * The trip now. `driverAt` is the assigned driver's latest position, or null: frames that are
 * stored or sent on leave it out, and it means nothing once the trip is not active. `driver` is
 * the assigned driver's card (name, rating, car), shown from acceptance on; null before.
 */
export function tripView(
  state: TripState,
  quote: Quote,
  driverAt: LatLng | null,
  model: TravelModel,
  driver: TripDriver | null = null,
): Trip {
  const position = driverAt && isOnTrip(state.status) ? { lat: driverAt.lat, lng: driverAt.lng } : null;
  return {
    id: state.id,
    riderId: state.riderId,
    driverId: state.driverId,
    status: state.status,
    pickup: state.pickup,
    dropoff: state.dropoff,
    quote,
    fare: state.fare,
    driverLocation: position,
    etaSec: position ? tripEta(state, position, model) : null,
    createdAt: state.createdAt,
    updatedAt: state.updatedAt,
    ...(state.scheduledAt === undefined ? {} : { scheduledAt: state.scheduledAt }),
    ...(state.cancellationFee ? { cancellationFee: state.cancellationFee } : {}),
    ...(state.cancelledBy ? { cancelledBy: state.cancelledBy } : {}),
    ...(state.status === "cancelled"
      ? { cancellation: { reasonCode: state.cancelReasonCode ?? null, note: state.cancelReason } }
      : {}),
    ...(state.fareDecision ? { fareDecision: state.fareDecision } : {}),
    ...(driver && state.driverId !== null ? { driver } : {}),
    ...(state.rider && state.driverId !== null ? { rider: state.rider } : {}),
  };
}

/** The assigned driver's position as the rider's apps get it, live and never stored. */
export function locationFrame(state: TripState, fix: Fix, model: TravelModel): TripLocationFrame {
  return { type: "location", lat: fix.lat, lng: fix.lng, at: fix.at, etaSec: tripEta(state, fix, model) };
}

/** The trip in the newest stored `status` frame among `events` (the only one D1's history needs), or null. */
export function newestTripOf(events: readonly StoredEvent[]): Trip | null {
  for (const event of events.toReversed()) {
    const parsed = StoredStatusFrame.safeParse(JSON.parse(event.frame));
    if (parsed.success) return parsed.data.trip;
  }
  return null;
}
