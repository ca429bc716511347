// Trips at each stage of the happy path, and assertions on apply's results, for the trip tests.
import { expect } from "vitest";
import { apply, type TripCommand, type TripResult, type TripState } from "../../../src/domain/trip";
import { newTrip, T0 } from "./fixtures";

export const OFFER_MS = 15_000;

export function must(result: TripResult): Extract<TripResult, { ok: true }> {
  if (!result.ok) throw new Error(`expected success, got ${result.error.code}: ${result.error.message}`);
  return result;
}

/** Applies commands in order, failing the test at the first refusal. */
export function run(state: TripState, ...commands: TripCommand[]): TripState {
  return commands.reduce((s, c) => must(apply(s, c)).state, state);
}

export const offered = (driverId = "d1", now = T0 + 1_000) =>
  run(newTrip(), { type: "offer", driverId, now, timeoutMs: OFFER_MS });
export const accepted = (driverId = "d1") => run(offered(driverId), { type: "accept", driverId, now: T0 + 5_000 });
export const arrived = () => run(accepted(), { type: "arrived", driverId: "d1", now: T0 + 300_000 });
export const inProgress = () => run(arrived(), { type: "start", driverId: "d1", now: T0 + 360_000 });
export const fare = { amount: 2_480, currency: "USD" };

export function refused(result: TripResult, code: string): void {
  expect(result.ok).toBe(false);
  if (!result.ok) expect(result.error.code).toBe(code);
}
