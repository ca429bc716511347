/**
 * @module web/last-trip
 * The trip a tab last showed, so that a reload after the trip ended comes back on its end
 * (the receipt, the rating, the closed chat) rather than on an empty form: `GET
 * /v1/trips/current` names only trips still going on. Kept in sessionStorage per user and tab,
 * and forgotten once the user moves on (plans another ride, goes back to offers).
 */
import type { RidewireClient, Trip } from "@ridewire/client";

const keyOf = (userId: string) => `ridewire.lastTrip.${userId}`;

export function rememberTrip(userId: string, tripId: string): void {
  sessionStorage.setItem(keyOf(userId), tripId);
}

export function forgetTrip(userId: string): void {
  sessionStorage.removeItem(keyOf(userId));
}

/** The ended trip this tab last showed, read from the service (never from storage), or null. */
export async function endedTrip(api: RidewireClient, userId: string): Promise<Trip | null> {
  const id = sessionStorage.getItem(keyOf(userId));
  if (!id) return null;
  try {
    const trip = await api.trip(id);
    // Every way a trip ends: a ride no driver took is as much news after a reload as one completed.
    if (trip.status === "completed" || trip.status === "cancelled" || trip.status === "no_driver") return trip;
  } catch {
    // Gone, or not this user's: nothing to come back to.
  }
  forgetTrip(userId);
  return null;
}
