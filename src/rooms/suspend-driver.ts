/**
 * @module rooms/suspend-driver
 * Takes a banned driver off the road: their session goes offline and leaves the geo index at
 * once (DriverSession.suspend), and whatever they held goes back to its trip. An open offer is
 * declined, so the trip offers itself to the next driver now rather than at its timeout. A trip
 * before pickup is handed back (the rider gets another driver, this one is never offered it
 * again); a trip in progress cannot be handed back and nobody could complete it any more, so
 * it is force-cancelled like an operator's cancel: no fee, the hold released.
 */
import type { Identity } from "../auth/jwt";
import { ApiError, unwrap } from "../errors";
import type { Trip } from "../protocol/dispatch";
import { driverSession, tripRoom } from "./stubs";

export type SuspendOutcome = {
  /** The trip whose offer was declined. */
  declinedOfferOf: string | null;
  /** The trip handed back to matching. */
  handedBack: string | null;
  /** The trip in progress that was force-cancelled. */
  cancelled: Trip | null;
};

export async function suspendDriver(
  env: Env,
  driverId: string,
  adminId: string,
  reason: string,
): Promise<SuspendOutcome> {
  const outcome: SuspendOutcome = { declinedOfferOf: null, handedBack: null, cancelled: null };
  const held = await driverSession(env, driverId).suspend();
  // No session: the driver never went online, and holds nothing.
  if (!held.ok) return outcome;
  // The trip room checks only the user id of a driver's move; the name is not shown anywhere.
  const driver: Identity = { userId: driverId, role: "driver", name: "" };
  const { offeredTripId, tripId } = held.value;
  if (offeredTripId) {
    // The offer may have timed out meanwhile: then the trip moved on by itself.
    const declined = await tripRoom(env, offeredTripId).decline(driver);
    if (declined.ok) outcome.declinedOfferOf = offeredTripId;
  }
  if (tripId) {
    const trip = tripRoom(env, tripId);
    try {
      unwrap(await trip.cancel(driver, { reasonCode: "admin", note: "the driver was removed by an operator" }));
      outcome.handedBack = tripId;
    } catch (err) {
      // 409: in progress, which a driver cannot hand back. Anything else: the trip is over already.
      if (!(err instanceof ApiError) || err.status !== 409) return outcome;
      const cancelled = await trip.adminCancel(adminId, `the driver was banned: ${reason}`);
      if (cancelled.ok) outcome.cancelled = cancelled.value.trip;
    }
  }
  return outcome;
}
