import { describe, expect, it } from "vitest";
import {
  apply,
  createTrip,
  FREE_CANCEL_WINDOW_MS,
  FREE_PICKUP_WAIT_MS,
  type TripCommand,
  TripState,
} from "../../../src/domain/trip";
import { deepFreeze, newTrip, rules, T0 } from "./fixtures";
import { accepted, arrived, fare, inProgress, must, OFFER_MS, offered, refused, run } from "./trip-helpers";

describe("a rider's cancel", () => {
  const cancel = (state: TripState, now: number, extra: Partial<TripCommand> = {}) =>
    apply(state, { type: "cancel", by: "rider", userId: "rider-1", now, ...extra } as TripCommand);

  it("is free while matching and releases an offered driver", () => {
    const result = must(cancel(offered("d1"), T0 + 900_000));
    expect(result.state).toMatchObject({ status: "cancelled", offer: null, driverId: null, cancellationFee: null });
    expect(result.events).toEqual([
      {
        type: "cancelled",
        at: T0 + 900_000,
        by: "rider",
        releasedDriverId: "d1",
        cancellationFee: null,
        reason: null,
        reasonCode: null,
        userId: "rider-1",
      },
    ]);
  });

  it("is free within two minutes of the acceptance", () => {
    const result = must(cancel(accepted(), T0 + 5_000 + FREE_CANCEL_WINDOW_MS));
    expect(result.state.cancellationFee).toBeNull();
    expect(result.events[0]).toMatchObject({ releasedDriverId: "d1" });
  });

  it("costs the fee once the window passed, at any stage before the ride starts", () => {
    for (const state of [accepted(), arrived()]) {
      const result = must(cancel(state, T0 + 5_001 + FREE_CANCEL_WINDOW_MS + 360_000, { reason: "changed my mind" }));
      expect(result.state).toMatchObject({
        status: "cancelled",
        driverId: null,
        cancellationFee: { amount: 500, currency: "USD" },
        cancelReason: "changed my mind",
      });
    }
  });

  it("takes the window from the command, then the quote's rules", () => {
    const late = T0 + 5_000 + 30_001;
    expect(must(cancel(accepted(), late, { freeCancelWindowMs: 30_000 })).state.cancellationFee).not.toBeNull();
    const strict = run(
      newTrip({ rules: { ...rules, freeCancelWindowMs: 30_000 } }),
      { type: "offer", driverId: "d1", now: T0 + 1_000, timeoutMs: OFFER_MS },
      { type: "accept", driverId: "d1", now: T0 + 5_000 },
    );
    expect(must(cancel(strict, late)).state.cancellationFee).toEqual({ amount: 500, currency: "USD" });
  });

  it("charges nothing when the rules have no fee", () => {
    const free = run(
      newTrip({ rules: { ...rules, cancellationFeeMinor: 0 } }),
      { type: "offer", driverId: "d1", now: T0 + 1_000, timeoutMs: OFFER_MS },
      { type: "accept", driverId: "d1", now: T0 + 5_000 },
    );
    expect(must(cancel(free, T0 + 3_600_000)).state.cancellationFee).toBeNull();
  });

  it("belongs to the trip's rider", () => {
    refused(apply(accepted(), { type: "cancel", by: "rider", userId: "rider-2", now: T0 + 9_000 }), "forbidden");
  });

  it("is refused once the ride is under way, whenever it comes: the driver ends the ride", () => {
    for (const now of [T0 + 360_001, T0 + 5_000 + FREE_CANCEL_WINDOW_MS + 10 * 60_000]) {
      const result = cancel(inProgress(), now);
      refused(result, "conflict");
      if (!result.ok) expect(result.error.message).toMatch(/under way/);
    }
  });

  it("costs the fee inside the free window once the driver has waited at the pickup longer than the free wait", () => {
    // A driver near the pickup: accepted at T0 + 5 s, arrived (their fix at the pickup) at T0 + 20 s.
    const waiting = run(accepted(), { type: "arrived", driverId: "d1", now: T0 + 20_000, atPickup: true });
    const inWindow = T0 + 5_000 + FREE_CANCEL_WINDOW_MS - 1;
    expect(must(cancel(waiting, T0 + 20_000 + FREE_PICKUP_WAIT_MS)).state.cancellationFee).toBeNull();
    expect(inWindow - (T0 + 20_000)).toBeGreaterThan(FREE_PICKUP_WAIT_MS);
    expect(must(cancel(waiting, inWindow)).state.cancellationFee).toEqual({ amount: 500, currency: "USD" });
    // The wait comes from the command, then the quote's rules.
    expect(must(cancel(waiting, T0 + 30_001, { freePickupWaitMs: 10_000 })).state.cancellationFee).not.toBeNull();
    const patient = run(
      newTrip({ rules: { ...rules, freePickupWaitMs: 110_000 } }),
      { type: "offer", driverId: "d1", now: T0 + 1_000, timeoutMs: OFFER_MS },
      { type: "accept", driverId: "d1", now: T0 + 5_000 },
      { type: "arrived", driverId: "d1", now: T0 + 20_000, atPickup: true },
    );
    expect(must(cancel(patient, inWindow)).state.cancellationFee).toBeNull();
    // A driver who said they arrived from elsewhere has not been waiting at the pickup.
    const elsewhere = run(accepted(), { type: "arrived", driverId: "d1", now: T0 + 20_000, atPickup: false });
    expect(must(cancel(elsewhere, inWindow)).state.cancellationFee).toBeNull();
    expect(
      must(cancel(run(accepted(), { type: "arrived", driverId: "d1", now: T0 + 20_000 }), inWindow)).state
        .cancellationFee,
    ).toBeNull();
    // A driver still on the way has not waited: only the window counts.
    expect(must(cancel(accepted(), inWindow)).state.cancellationFee).toBeNull();
  });
});

describe("a driver's cancel", () => {
  it("sends the trip back to matching without that driver", () => {
    const command: TripCommand = { type: "cancel", by: "driver", userId: "d1", now: T0 + 400_000, reason: "flat tyre" };
    const result = must(apply(arrived(), command));
    expect(result.state).toMatchObject({
      status: "matching",
      driverId: null,
      offer: null,
      excludedDrivers: ["d1"],
      acceptedAt: null,
      arrivedAt: null,
      matchingStartedAt: T0 + 400_000,
    });
    expect(result.events).toEqual([
      { type: "driver_cancelled", at: T0 + 400_000, driverId: "d1", reason: "flat tyre", reasonCode: null },
    ]);
    const reoffer = (driverId: string) =>
      apply(result.state, { type: "offer", driverId, now: T0 + 401_000, timeoutMs: OFFER_MS });
    refused(reoffer("d1"), "conflict");
    expect(reoffer("d2").ok).toBe(true);
  });

  it("is refused once the ride is in progress", () => {
    refused(apply(inProgress(), { type: "cancel", by: "driver", userId: "d1", now: T0 + 9e5 }), "conflict");
  });

  it("belongs to the assigned driver, not an offered or other one", () => {
    refused(apply(accepted(), { type: "cancel", by: "driver", userId: "d2", now: T0 + 9_000 }), "forbidden");
    refused(apply(offered("d1"), { type: "cancel", by: "driver", userId: "d1", now: T0 + 2_000 }), "forbidden");
  });
});

describe("apply", () => {
  const everyCommand: TripCommand[] = [
    { type: "offer", driverId: "d9", now: T0 + 1e7, timeoutMs: OFFER_MS },
    { type: "accept", driverId: "d1", now: T0 + 1e7 },
    { type: "decline", driverId: "d1", now: T0 + 1e7 },
    { type: "offer_timeout", now: T0 + 1e7 },
    { type: "give_up", now: T0 + 1e7 },
    { type: "arrived", driverId: "d1", now: T0 + 1e7 },
    { type: "start", driverId: "d1", now: T0 + 1e7 },
    { type: "complete", driverId: "d1", now: T0 + 1e7, fare },
    { type: "cancel", by: "rider", userId: "rider-1", now: T0 + 1e7 },
    { type: "cancel", by: "driver", userId: "d1", now: T0 + 1e7 },
  ];

  it("accepts nothing once the trip ended", () => {
    const ended = [
      run(inProgress(), { type: "complete", driverId: "d1", now: T0 + 9e5, fare }),
      run(accepted(), { type: "cancel", by: "rider", userId: "rider-1", now: T0 + 9e5 }),
      run(newTrip(), { type: "give_up", now: T0 + 9e5 }),
    ];
    for (const state of ended) for (const command of everyCommand) refused(apply(state, command), "conflict");
  });

  it("never mutates its input", () => {
    for (const state of [newTrip(), offered(), accepted(), arrived(), inProgress()]) {
      const frozen = deepFreeze(TripState.parse(JSON.parse(JSON.stringify(state))));
      for (const command of everyCommand) apply(frozen, command);
      expect(frozen).toEqual(state);
    }
  });

  it("keeps time moving forward when the clock lags", () => {
    const state = offered("d1", T0 + 10_000);
    const result = must(apply(state, { type: "accept", driverId: "d1", now: T0 + 2_000 }));
    expect(result.state.acceptedAt).toBe(T0 + 10_000);
    expect(result.state.updatedAt).toBe(T0 + 10_000);
  });

  it("refuses a command without a usable time", () => {
    refused(apply(newTrip(), { type: "give_up", now: Number.NaN }), "conflict");
  });

  it("refuses an unknown command instead of throwing", () => {
    refused(apply(newTrip(), { type: "teleport", now: T0 } as unknown as TripCommand), "conflict");
  });

  it("creates trips that satisfy their own schema", () => {
    const trip = createTrip({ ...newTrip(), now: T0 });
    expect(TripState.safeParse(trip).success).toBe(true);
  });
});
