/**
 * @module domain/trip-watchdog
 * A trip that cannot get stuck: while a driver is assigned (accepted or arrived), the trip keeps one
 * deadline and its alarm looks at it then. A driver who sent no fix for `driverSilentMs` (their app
 * gone: the session's grace period is far shorter) loses the trip, which goes back to matching
 * without them; a driver who arrived and never started the ride for `arrivedNoStartMs` sees the
 * service cancel it. The deadline moves with fixes without costing anything per fix: the trip
 * already holds the time of the latest one, and the alarm set for the old deadline finds the new one.
 */
import type { TripCommand, TripState } from "./trip";

/** The moves the watchdog makes. */
export type WatchdogCommand = Extract<TripCommand, { type: "driver_silent" | "arrived_no_start" }>;

export type WatchdogSettings = {
  /** No fix from the assigned driver for this long: the trip goes back to matching. */
  driverSilentMs: number;
  /** Arrived and not started for this long: the service cancels the trip. */
  arrivedNoStartMs: number;
};

/** The driver's silence and the wait at the pickup, each with when it runs out (null: it does not apply). */
function limits(state: TripState, lastFixAt: number | null, settings: WatchdogSettings) {
  if (state.driverId === null || (state.status !== "accepted" && state.status !== "arrived")) return null;
  // A fix from before this driver accepted is another assignment's (the trip forgets it on a change).
  const heardAt = Math.max(state.acceptedAt ?? state.updatedAt, lastFixAt ?? 0);
  const silentAt = heardAt + settings.driverSilentMs;
  const noStartAt =
    state.status === "arrived" ? (state.arrivedAt ?? state.updatedAt) + settings.arrivedNoStartMs : null;
  return { silentAt, noStartAt };
}

/** When the watchdog must look at the trip next, or null while nothing can get stuck (no driver assigned). */
export function watchdogDeadline(
  state: TripState,
  lastFixAt: number | null,
  settings: WatchdogSettings,
): number | null {
  const due = limits(state, lastFixAt, settings);
  if (due === null) return null;
  return due.noStartAt === null ? due.silentAt : Math.min(due.silentAt, due.noStartAt);
}

/**
 * The move the watchdog makes `now`, or null when the trip is fine. A silent driver is handled first:
 * a ride that did not start because its driver vanished is theirs, not the rider's no-show.
 */
export function watchdogCommand(
  state: TripState,
  lastFixAt: number | null,
  now: number,
  settings: WatchdogSettings,
): WatchdogCommand | null {
  const due = limits(state, lastFixAt, settings);
  if (due === null) return null;
  if (now >= due.silentAt) return { type: "driver_silent", now };
  if (due.noStartAt !== null && now >= due.noStartAt) return { type: "arrived_no_start", now };
  return null;
}
