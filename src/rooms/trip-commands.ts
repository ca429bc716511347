/**
 * @module rooms/trip-commands
 * The trip's commands as the trip room builds them from an RPC call: what the caller asked,
 * plus what only the server knows (its clock, its settings, the driver's last fix, the price of
 * the ride as driven). domain/trip decides each one; a refusal reaches the caller as an ApiError.
 */
import type { CancelReason } from "../domain/cancel-reasons";
import type { Config } from "../config";
import { haversineKm, type Fix } from "../domain/geo";
import type { FareDecision, TracePoint } from "../domain/fare";
import { priceRide } from "../domain/pricing";
import type { TripCommand, TripError, TripState } from "../domain/trip";
import { ApiError } from "../errors";

/** "I have arrived": at the pickup only when the driver's own last fix is within the arrival radius. */
export function arrivedCommand(
  config: Config,
  state: TripState,
  driverId: string,
  lastFix: Fix | null,
  now: number,
): TripCommand {
  const atPickup = lastFix !== null && haversineKm(lastFix, state.pickup) * 1000 <= config.PICKUP_ARRIVAL_RADIUS_M;
  return { type: "arrived", driverId, now, atPickup };
}

/** "The ride is over": priced on the server from the ride's breadcrumb and clock, never by the app. */
export function completeCommand(
  config: Config,
  state: TripState,
  driverId: string,
  trace: readonly TracePoint[],
  now: number,
): { command: TripCommand; decision: FareDecision } {
  const price = priceRide(config, state, trace, now);
  return { command: { type: "complete", driverId, now, ...price }, decision: price.decision };
}

/** A cancel by the rider or the driver, under the service's free-cancel and free-wait windows. */
export function cancelCommand(
  config: Config,
  state: TripState,
  userId: string,
  reason: CancelReason,
  now: number,
): TripCommand {
  return {
    type: "cancel",
    by: userId === state.riderId ? "rider" : "driver",
    userId,
    now,
    ...(reason.note === null ? {} : { reason: reason.note }),
    ...(reason.reasonCode === null ? {} : { reasonCode: reason.reasonCode }),
    freeCancelWindowMs: config.FREE_CANCEL_WINDOW_MS,
    freePickupWaitMs: config.FREE_PICKUP_WAIT_MS,
  };
}

/** Operators find fares waiting for review in the logs as well as on the trip itself. */
export function logFareReview(tripId: string, decision: FareDecision): void {
  if (!decision.review) return;
  console.warn(
    JSON.stringify({ level: "warn", where: "TripRoom.complete", event: "fare_review", tripId, ...decision }),
  );
}

/** A command domain/trip refused, as the caller hears it: 403 for someone not allowed, 409 for a move out of turn. */
export function refusalError(error: TripError): ApiError {
  return error.code === "forbidden"
    ? new ApiError(403, "forbidden", error.message)
    : new ApiError(409, "conflict", error.message);
}
