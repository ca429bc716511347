/**
 * @module rooms/trip-dispatch
 * The trip room's side of dispatch: the dispatch saga's ports that reach beyond the trip (the
 * geo index for candidates, the drivers' sessions to reserve, release and show an offer), its
 * reservation table in the trip's SQLite, and what the trip tells drivers' sessions
 * (`tellDrivers`) and its pickup's cell (`tellPickupCell`) after each move it commits.
 */
import type { Config } from "../config";
import { offerBatchSizeAt } from "../domain/service-area";
import { isActive, type TripEvent, type TripState } from "../domain/trip";
import { unwrap } from "../errors";
import type { Trip } from "../protocol/dispatch";
import type { DispatchPorts, DispatchSettings, ReservationTable } from "./dispatch-saga";
import { CANDIDATES_PER_CELL, matchingSearch } from "../domain/area-search";
import { defaultTierOf } from "../domain/tiers";
import { candidatesBestFirst, noteTripInCell, withdrawDemand } from "./geo-cell-client";
import type { ReservedDriver } from "./driver-record";
import { driverSession } from "./stubs";
import { currentTraceId } from "../trace";

/** Drivers a pass is reserving and has not yet recorded an offer to; see dispatch-saga's ReservationTable. */
export const RESERVING_SCHEMA = `CREATE TABLE IF NOT EXISTS reserving (driver_id TEXT PRIMARY KEY)`;

export function reservationTable(sql: SqlStorage): ReservationTable {
  return {
    note: (driverId) => void sql.exec(`INSERT OR IGNORE INTO reserving (driver_id) VALUES (?)`, driverId),
    forget: (driverId) => void sql.exec(`DELETE FROM reserving WHERE driver_id = ?`, driverId),
    list: () =>
      sql
        .exec<{ driver_id: string }>(`SELECT driver_id FROM reserving`)
        .toArray()
        .map((r) => r.driver_id),
  };
}

export function dispatchSettings(config: Config): DispatchSettings {
  return {
    offerTimeoutMs: config.OFFER_TIMEOUT_MS,
    matchTimeoutMs: config.MATCH_TIMEOUT_MS,
    scheduleGraceMs: config.SCHEDULE_NO_DRIVER_GRACE_MS,
    matchRetryMs: config.MATCH_RETRY_MS,
    offerBatchSize: (pickup) => offerBatchSizeAt(config.SERVICE_AREAS, config.OFFER_BATCH_SIZE, pickup),
  };
}

/** Candidates near the pickup, then once in the wider ring, best first (see matchingSearch). */
export function candidatesFor(env: Env, config: Config): DispatchPorts["candidates"] {
  return (trip, now) =>
    candidatesBestFirst(env, config, matchingSearch(config, trip.pickup), now, {
      point: trip.pickup,
      limit: CANDIDATES_PER_CELL,
      exclude: [...trip.excludedDrivers, trip.riderId],
      // Only drivers who serve the quote's tier; a quote from before tiers was the default tier's.
      tier: trip.quote.tier ?? defaultTierOf(config.TIERS),
    });
}

/**
 * The saga's calls to drivers' sessions: the lock first, the offer shown only once the trip recorded it. A
 * reservation's answer carries the driver's rating and car, which `noteReserved` keeps for the rider.
 */
export function driverSessions(
  env: Env,
  noteReserved: (driverId: string, driver: ReservedDriver) => void,
): Pick<DispatchPorts, "reserve" | "release" | "showOffer"> {
  return {
    reserve: async (driverId, tripId) => {
      const answer = await driverSession(env, driverId).reserve(tripId);
      if (!answer.ok) return "no_answer";
      if (!answer.value.reserved) return "busy";
      noteReserved(driverId, answer.value.driver);
      return "reserved";
    },
    release: async (driverId, tripId, reason) => {
      unwrap(await driverSession(env, driverId).release(tripId, reason));
    },
    showOffer: async (driverId, offer) => {
      // The trip's request, when dispatch runs for one: the driver's offer push carries its trace id.
      unwrap(await driverSession(env, driverId).showOffer(offer, currentTraceId()));
    },
  };
}

/**
 * How a driver's move reached the trip: "shown to driver" when the driver's own session sent it (a move on the
 * channel) and shows the trip it gets back to the driver's apps itself.
 */
export type DriverReply = "shown to driver";

/**
 * Tells drivers' sessions what the trip decided; the trip's own state is already stored. `driverSawReply`: the
 * move came from the assigned driver's session, which already shows its reply, so an arrival or a start needs no
 * call of its own.
 */
export async function tellDrivers(
  env: Env,
  state: TripState,
  trip: Trip,
  events: readonly TripEvent[],
  driverSawReply: boolean,
  logError: (where: string, err: unknown) => void,
): Promise<void> {
  for (const event of events) {
    try {
      switch (event.type) {
        case "offer_declined":
          await driverSession(env, event.driverId).release(state.id, "declined");
          break;
        case "offer_expired":
          await driverSession(env, event.driverId).release(state.id, "expired");
          break;
        case "driver_cancelled":
          // A driver's own cancel is answered to them; one the watchdog or an operator made is news to their apps.
          await driverSession(env, event.driverId).release(state.id, "cancelled", event.by ? trip : undefined);
          break;
        case "offer_withdrawn":
          // Not the driver's doing: it does not count against their acceptance, and they see offer.expired.
          await driverSession(env, event.driverId).release(state.id, "cancelled");
          break;
        case "accepted":
          await driverSession(env, event.driverId).confirm(state.id, trip);
          break;
        case "arrived":
        case "started":
          if (!driverSawReply) await driverSession(env, event.driverId).tripChanged(trip);
          break;
        case "completed":
          await driverSession(env, event.driverId).release(state.id, "finished", trip);
          break;
        case "cancelled":
        case "no_driver":
          if (event.releasedDriverId)
            await driverSession(env, event.releasedDriverId).release(state.id, "cancelled", trip);
          break;
        case "offered":
          // The saga shows the offer itself, once the trip has recorded it.
          break;
      }
    } catch (err) {
      logError(`sideEffect.${event.type}`, err);
    }
  }
}

/** What a commit did to the trip's status: made the trip, changed its status, or neither. */
export type StatusChange = "created" | "changed" | "none";

/**
 * What the pickup's cell hears of a move: the trip's status when it changed (the cell counts the
 * trips that are not over, for the operations view), with the new trip's request, which counts
 * towards the pickup's surge; and a request its rider called off for free, which is no demand,
 * so the pickup's surge stops counting it.
 */
export async function tellPickupCell(
  env: Env,
  config: Config,
  state: TripState,
  events: readonly TripEvent[],
  change: StatusChange,
  logError: (where: string, err: unknown) => void,
): Promise<void> {
  const calls: Promise<unknown>[] = [];
  if (change !== "none") {
    const trip = { id: state.id, status: state.status, active: isActive(state.status), at: state.updatedAt };
    const requestedBy =
      change === "created"
        ? { riderId: state.riderId, tier: state.quote.tier ?? defaultTierOf(config.TIERS) }
        : undefined;
    calls.push(
      noteTripInCell(env, config, state.pickup, trip, requestedBy).catch((err) => logError("noteTripInCell", err)),
    );
  }
  if (events.some((event) => event.type === "cancelled" && event.cancellationFee === null))
    calls.push(withdrawDemand(env, config, state.pickup, state.id).catch((err) => logError("withdrawDemand", err)));
  await Promise.all(calls);
}
