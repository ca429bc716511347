import { describe, expect, it } from "vitest";
import {
  apply,
  createTrip,
  FREE_CANCEL_WINDOW_MS,
  isActive,
  isTerminal,
  type TripCommand,
  type TripResult,
  TripState,
  TripStatus,
} from "../../../src/domain/trip";
import { deepFreeze, newTrip, rules, T0 } from "./fixtures";

const OFFER_MS = 15_000;

function must(result: TripResult): Extract<TripResult, { ok: true }> {
  if (!result.ok) throw new Error(`expected success, got ${result.error.code}: ${result.error.message}`);
  return result;
}

/** Applies commands in order, failing the test at the first refusal. */
function run(state: TripState, ...commands: TripCommand[]): TripState {
  return commands.reduce((s, c) => must(apply(s, c)).state, state);
}

const offered = (driverId = "d1", now = T0 + 1_000) =>
  run(newTrip(), { type: "offer", driverId, now, timeoutMs: OFFER_MS });
const accepted = (driverId = "d1") => run(offered(driverId), { type: "accept", driverId, now: T0 + 5_000 });
const arrived = () => run(accepted(), { type: "arrived", driverId: "d1", now: T0 + 300_000 });
const inProgress = () => run(arrived(), { type: "start", driverId: "d1", now: T0 + 360_000 });
const fare = { amount: 2_480, currency: "USD" };

function refused(result: TripResult, code: string) {
  expect(result.ok).toBe(false);
  if (!result.ok) expect(result.error.code).toBe(code);
}

describe("statuses", () => {
  it("are a zod enum and a type of the same name", () => {
    const status: TripStatus = TripStatus.parse("in_progress");
    expect(status).toBe("in_progress");
    expect(TripStatus.safeParse("lost").success).toBe(false);
  });

  it("are active until they end", () => {
    for (const s of TripStatus.options) expect(isActive(s)).toBe(!["completed", "cancelled", "no_driver"].includes(s));
    expect(isTerminal("no_driver")).toBe(true);
    expect(isTerminal("arrived")).toBe(false);
  });
});

describe("createTrip", () => {
  it("starts matching with nobody assigned, as storable JSON", () => {
    const trip = newTrip();
    expect(trip).toMatchObject({ status: "matching", driverId: null, offer: null, excludedDrivers: [] });
    expect(trip).toMatchObject({ createdAt: T0, updatedAt: T0, matchingStartedAt: T0, fare: null });
    expect(TripState.parse(JSON.parse(JSON.stringify(trip)))).toEqual(trip);
  });
});

describe("the happy path", () => {
  it("goes matching → accepted → arrived → in_progress → completed", () => {
    const offer = must(apply(newTrip(), { type: "offer", driverId: "d1", now: T0 + 1_000, timeoutMs: OFFER_MS }));
    expect(offer.state.offer).toEqual({ driverId: "d1", offeredAt: T0 + 1_000, expiresAt: T0 + 16_000 });
    expect(offer.events).toEqual([{ type: "offered", at: T0 + 1_000, driverId: "d1", expiresAt: T0 + 16_000 }]);

    const accept = must(apply(offer.state, { type: "accept", driverId: "d1", now: T0 + 5_000 }));
    expect(accept.state).toMatchObject({ status: "accepted", driverId: "d1", offer: null, acceptedAt: T0 + 5_000 });

    const end = run(
      accept.state,
      { type: "arrived", driverId: "d1", now: T0 + 300_000 },
      { type: "start", driverId: "d1", now: T0 + 360_000 },
    );
    const done = must(apply(end, { type: "complete", driverId: "d1", now: T0 + 1_800_000, fare }));
    expect(done.state).toMatchObject({
      status: "completed",
      driverId: "d1",
      fare,
      arrivedAt: T0 + 300_000,
      startedAt: T0 + 360_000,
      completedAt: T0 + 1_800_000,
      updatedAt: T0 + 1_800_000,
    });
    expect(done.events).toEqual([{ type: "completed", at: T0 + 1_800_000, driverId: "d1", fare }]);
    expect(TripState.safeParse(done.state).success).toBe(true);
  });
});

describe("offers", () => {
  it("go to one driver at a time", () => {
    refused(apply(offered("d1"), { type: "offer", driverId: "d2", now: T0 + 2_000, timeoutMs: OFFER_MS }), "conflict");
  });

  it("replace an offer that expired without a timeout, timing it out on the way", () => {
    const next = must(apply(offered("d1"), { type: "offer", driverId: "d2", now: T0 + 20_000, timeoutMs: OFFER_MS }));
    expect(next.events.map((e) => e.type)).toEqual(["offer_expired", "offered"]);
    expect(next.state.excludedDrivers).toEqual(["d1"]);
    expect(next.state.offer?.driverId).toBe("d2");
  });

  it("are never made to a driver who passed, nor to the rider", () => {
    const declined = run(offered("d1"), { type: "decline", driverId: "d1", now: T0 + 2_000 });
    refused(apply(declined, { type: "offer", driverId: "d1", now: T0 + 3_000, timeoutMs: OFFER_MS }), "conflict");
    refused(apply(newTrip(), { type: "offer", driverId: "rider-1", now: T0, timeoutMs: OFFER_MS }), "forbidden");
  });

  it("are only made while matching, with a positive timeout", () => {
    refused(apply(accepted(), { type: "offer", driverId: "d2", now: T0 + 9_000, timeoutMs: OFFER_MS }), "conflict");
    refused(apply(newTrip(), { type: "offer", driverId: "d2", now: T0, timeoutMs: 0 }), "conflict");
  });

  it("can be accepted only by the offered driver, before they expire", () => {
    refused(apply(offered("d1"), { type: "accept", driverId: "d2", now: T0 + 2_000 }), "forbidden");
    refused(apply(newTrip(), { type: "accept", driverId: "d1", now: T0 + 2_000 }), "forbidden");
    refused(apply(offered("d1"), { type: "accept", driverId: "d1", now: T0 + 16_000 }), "offer_expired");
    expect(apply(offered("d1"), { type: "accept", driverId: "d1", now: T0 + 15_999 }).ok).toBe(true);
  });

  it("are gone (409) for a driver who declined or timed out, and after someone accepted", () => {
    const declined = run(offered("d1"), { type: "decline", driverId: "d1", now: T0 + 2_000 });
    refused(apply(declined, { type: "accept", driverId: "d1", now: T0 + 2_500 }), "conflict");
    refused(apply(declined, { type: "decline", driverId: "d1", now: T0 + 2_500 }), "conflict");
    refused(apply(accepted("d1"), { type: "accept", driverId: "d1", now: T0 + 6_000 }), "conflict");
  });

  it("time out only once expired, excluding the driver", () => {
    refused(apply(offered("d1"), { type: "offer_timeout", now: T0 + 15_999 }), "conflict");
    refused(apply(newTrip(), { type: "offer_timeout", now: T0 + 99_999 }), "conflict");
    const timedOut = must(apply(offered("d1"), { type: "offer_timeout", now: T0 + 16_000 }));
    expect(timedOut.state).toMatchObject({ status: "matching", offer: null, excludedDrivers: ["d1"] });
    expect(timedOut.events).toEqual([{ type: "offer_expired", at: T0 + 16_000, driverId: "d1" }]);
  });
});

describe("giving up", () => {
  it("ends matching with no_driver and releases an open offer", () => {
    const result = must(apply(offered("d1"), { type: "give_up", now: T0 + 120_000 }));
    expect(result.state).toMatchObject({ status: "no_driver", offer: null, driverId: null });
    expect(result.events).toEqual([{ type: "no_driver", at: T0 + 120_000, releasedDriverId: "d1" }]);
  });

  it("is not possible once a driver accepted", () => {
    refused(apply(accepted(), { type: "give_up", now: T0 + 120_000 }), "conflict");
  });
});

describe("the driver's steps", () => {
  it("belong to the trip's driver", () => {
    refused(apply(accepted(), { type: "arrived", driverId: "d2", now: T0 + 9_000 }), "forbidden");
    refused(apply(newTrip(), { type: "arrived", driverId: "d1", now: T0 + 9_000 }), "forbidden");
    refused(apply(inProgress(), { type: "complete", driverId: "d2", now: T0 + 9e5, fare }), "forbidden");
  });

  it("come in order", () => {
    refused(apply(accepted(), { type: "start", driverId: "d1", now: T0 + 9_000 }), "conflict");
    refused(apply(arrived(), { type: "complete", driverId: "d1", now: T0 + 9e5, fare }), "conflict");
    refused(apply(inProgress(), { type: "arrived", driverId: "d1", now: T0 + 9e5 }), "conflict");
  });

  it("complete with a whole fare in the quote's currency", () => {
    const wrong = (f: { amount: number; currency: string }) =>
      apply(inProgress(), { type: "complete", driverId: "d1", now: T0 + 9e5, fare: f });
    refused(wrong({ amount: 2_480, currency: "EUR" }), "conflict");
    refused(wrong({ amount: 24.8, currency: "USD" }), "conflict");
    refused(wrong({ amount: -1, currency: "USD" }), "conflict");
  });
});

describe("a rider's cancel", () => {
  const cancel = (state: TripState, now: number, extra: Partial<TripCommand> = {}) =>
    apply(state, { type: "cancel", by: "rider", userId: "rider-1", now, ...extra } as TripCommand);

  it("is free while matching and releases an offered driver", () => {
    const result = must(cancel(offered("d1"), T0 + 900_000));
    expect(result.state).toMatchObject({ status: "cancelled", offer: null, driverId: null, cancellationFee: null });
    expect(result.events).toEqual([
      { type: "cancelled", at: T0 + 900_000, by: "rider", releasedDriverId: "d1", cancellationFee: null, reason: null },
    ]);
  });

  it("is free within two minutes of the acceptance", () => {
    const result = must(cancel(accepted(), T0 + 5_000 + FREE_CANCEL_WINDOW_MS));
    expect(result.state.cancellationFee).toBeNull();
    expect(result.events[0]).toMatchObject({ releasedDriverId: "d1" });
  });

  it("costs the fee once the window passed, at any stage before the end", () => {
    for (const state of [accepted(), arrived(), inProgress()]) {
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
      { type: "driver_cancelled", at: T0 + 400_000, driverId: "d1", reason: "flat tyre" },
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
