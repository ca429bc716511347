import { describe, expect, it } from "vitest";
import { apply } from "../../../src/domain/trip";
import { watchdogCommand, watchdogDeadline } from "../../../src/domain/trip-watchdog";
import { newTrip, T0 } from "./fixtures";
import { accepted, arrived, inProgress, must, offered, refused, run } from "./trip-helpers";

const settings = { driverSilentMs: 120_000, arrivedNoStartMs: 900_000 };
// accepted() accepts at T0 + 5 s, arrived() arrives at T0 + 300 s.
const ACCEPTED_AT = T0 + 5_000;
const ARRIVED_AT = T0 + 300_000;

describe("the watchdog's deadline", () => {
  it("is none while no driver is assigned, or once the ride is under way", () => {
    for (const state of [newTrip(), offered(), inProgress()]) {
      expect(watchdogDeadline(state, null, settings)).toBeNull();
      expect(watchdogCommand(state, null, T0 + 10_000_000, settings)).toBeNull();
    }
  });

  it("counts the driver's silence from the acceptance, then from their latest fix", () => {
    const state = accepted();
    expect(watchdogDeadline(state, null, settings)).toBe(ACCEPTED_AT + 120_000);
    expect(watchdogDeadline(state, ACCEPTED_AT + 60_000, settings)).toBe(ACCEPTED_AT + 180_000);
    // A fix older than the acceptance (another assignment's) does not shorten it.
    expect(watchdogDeadline(state, T0, settings)).toBe(ACCEPTED_AT + 120_000);
    expect(watchdogCommand(state, null, ACCEPTED_AT + 119_999, settings)).toBeNull();
    expect(watchdogCommand(state, null, ACCEPTED_AT + 120_000, settings)).toEqual({
      type: "driver_silent",
      now: ACCEPTED_AT + 120_000,
    });
    expect(watchdogCommand(state, ACCEPTED_AT + 60_000, ACCEPTED_AT + 150_000, settings)).toBeNull();
  });

  it("at the pickup, is the earlier of the silence and the wait, and a silent driver is handled first", () => {
    const state = arrived();
    const heard = ARRIVED_AT + 890_000;
    expect(watchdogDeadline(state, heard, settings)).toBe(ARRIVED_AT + 900_000);
    expect(watchdogCommand(state, heard, ARRIVED_AT + 900_000, settings)?.type).toBe("arrived_no_start");
    // No fix since the acceptance: the silence runs out first, and wins over the wait.
    expect(watchdogDeadline(state, null, settings)).toBe(ACCEPTED_AT + 120_000);
    expect(watchdogCommand(state, null, ARRIVED_AT + 900_000, settings)?.type).toBe("driver_silent");
  });
});

describe("the watchdog's moves", () => {
  it("hands a silent driver's trip back to matching, that driver excluded, by the service", () => {
    for (const state of [accepted(), arrived()]) {
      const result = must(apply(state, { type: "driver_silent", now: T0 + 1_000_000 }));
      expect(result.state).toMatchObject({
        status: "matching",
        driverId: null,
        acceptedAt: null,
        arrivedAt: null,
        matchingStartedAt: T0 + 1_000_000,
      });
      expect(result.state.excludedDrivers).toContain("d1");
      expect(result.events).toEqual([
        expect.objectContaining({
          type: "driver_cancelled",
          driverId: "d1",
          by: "system",
          reasonCode: "driver_silent",
        }),
      ]);
    }
  });

  it("refuses a silent-driver hand-back or a reassign with no driver on the way", () => {
    for (const state of [newTrip(), offered(), inProgress()]) {
      refused(apply(state, { type: "driver_silent", now: T0 + 1_000_000 }), "conflict");
      refused(apply(state, { type: "admin_reassign", adminId: "op", reason: "x", now: T0 + 1_000_000 }), "conflict");
    }
  });

  it("cancels a ride never started with the fee only when the driver arrived at the pickup", () => {
    const atPickup = run(accepted(), { type: "arrived", driverId: "d1", now: ARRIVED_AT, atPickup: true });
    const far = arrived();
    const fee = must(apply(atPickup, { type: "arrived_no_start", now: ARRIVED_AT + 900_000 }));
    expect(fee.state).toMatchObject({
      status: "cancelled",
      cancelledBy: "system",
      cancelReasonCode: "arrived_no_start",
      driverId: null,
    });
    expect(fee.state.cancellationFee?.amount).toBe(atPickup.quote.rules.cancellationFeeMinor);
    expect(fee.events).toEqual([expect.objectContaining({ type: "cancelled", by: "system", releasedDriverId: "d1" })]);
    const free = must(apply(far, { type: "arrived_no_start", now: ARRIVED_AT + 900_000 }));
    expect(free.state.cancellationFee).toBeNull();
    refused(apply(accepted(), { type: "arrived_no_start", now: ARRIVED_AT + 900_000 }), "conflict");
  });

  it("records an operator's reassign as theirs", () => {
    const result = must(
      apply(accepted(), { type: "admin_reassign", adminId: "op", reason: "stuck", now: T0 + 60_000 }),
    );
    expect(result.state.status).toBe("matching");
    expect(result.events).toEqual([
      expect.objectContaining({
        type: "driver_cancelled",
        driverId: "d1",
        by: "admin",
        adminId: "op",
        reason: "stuck",
      }),
    ]);
  });
});
