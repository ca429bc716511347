// A scheduled ride in the trip state machine (README, "Scheduled rides"): created `scheduled`,
// moved to `matching` when dispatch starts, ended by the rider for free or by the service when
// the hold is refused or the rider is busy; nothing a driver does touches it before dispatch.
import { describe, expect, it } from "vitest";
import { giveUpAtOf } from "../../../src/rooms/dispatch-saga";
import { apply, isActive, TripState } from "../../../src/domain/trip";
import { newTrip, T0 } from "./fixtures";
import { must, OFFER_MS, refused } from "./trip-helpers";

const PICKUP = T0 + 2 * 3_600_000;
const scheduled = () => newTrip({ scheduledAt: PICKUP });

describe("a scheduled ride", () => {
  it("starts scheduled with its pickup time, active, as storable JSON", () => {
    const trip = scheduled();
    expect(trip).toMatchObject({ status: "scheduled", scheduledAt: PICKUP, driverId: null, offer: null });
    expect(isActive(trip.status)).toBe(true);
    expect(TripState.parse(JSON.parse(JSON.stringify(trip)))).toEqual(trip);
    expect(newTrip().scheduledAt).toBeUndefined();
  });

  it("moves to matching when dispatch starts, the search counted from then", () => {
    const start = must(apply(scheduled(), { type: "dispatch_start", now: PICKUP - 600_000 }));
    expect(start.state).toMatchObject({ status: "matching", matchingStartedAt: PICKUP - 600_000 });
    expect(start.events).toEqual([{ type: "dispatch_started", at: PICKUP - 600_000 }]);
    // Only once, and only from scheduled.
    refused(apply(start.state, { type: "dispatch_start", now: PICKUP }), "conflict");
    refused(apply(newTrip(), { type: "dispatch_start", now: T0 }), "conflict");
  });

  it("takes no offer, accept or give-up before dispatch", () => {
    refused(apply(scheduled(), { type: "offer", driverId: "d1", now: T0 + 1, timeoutMs: OFFER_MS }), "conflict");
    refused(apply(scheduled(), { type: "accept", driverId: "d1", now: T0 + 1 }), "conflict");
    refused(apply(scheduled(), { type: "give_up", now: T0 + 1 }), "conflict");
    refused(apply(scheduled(), { type: "cancel", by: "driver", userId: "d1", now: T0 + 1 }), "forbidden");
  });

  it("is cancelled by its rider for free, and by nobody else", () => {
    const cancel = must(apply(scheduled(), { type: "cancel", by: "rider", userId: "rider-1", now: T0 + 1_000 }));
    expect(cancel.state).toMatchObject({ status: "cancelled", cancelledBy: "rider", cancellationFee: null });
    refused(apply(scheduled(), { type: "cancel", by: "rider", userId: "rider-2", now: T0 + 1 }), "forbidden");
  });

  it("lapses by the service, with the reason as its code, only while scheduled", () => {
    for (const reason of ["schedule_unfunded", "schedule_rider_busy"] as const) {
      const lapse = must(apply(scheduled(), { type: "schedule_lapse", now: T0 + 5_000, reason }));
      expect(lapse.state).toMatchObject({
        status: "cancelled",
        cancelledBy: "system",
        cancelReasonCode: reason,
        cancellationFee: null,
        cancelledAt: T0 + 5_000,
      });
      expect(lapse.events).toMatchObject([{ type: "cancelled", by: "system", userId: "rider-1", reasonCode: reason }]);
    }
    refused(apply(newTrip(), { type: "schedule_lapse", now: T0, reason: "schedule_unfunded" }), "conflict");
  });
});

describe("giveUpAtOf", () => {
  const settings = { offerTimeoutMs: 15_000, matchTimeoutMs: 120_000, matchRetryMs: 5_000, scheduleGraceMs: 60_000 };

  it("is the match timeout for a ride now", () => {
    expect(giveUpAtOf(newTrip(), settings)).toBe(T0 + 120_000);
  });

  it("is not before the pickup time and its grace for a scheduled ride", () => {
    const matching = must(apply(scheduled(), { type: "dispatch_start", now: PICKUP - 600_000 })).state;
    expect(giveUpAtOf(matching, settings)).toBe(PICKUP + 60_000);
    // Dispatch that started late (a busy rider) still gets the whole match timeout.
    const late = must(apply(scheduled(), { type: "dispatch_start", now: PICKUP })).state;
    expect(giveUpAtOf(late, settings)).toBe(PICKUP + 120_000);
  });
});
