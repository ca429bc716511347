import { describe, expect, it } from "vitest";
import { apply, isActive, isTerminal, TripState, TripStatus } from "../../../src/domain/trip";
import { newTrip, T0 } from "./fixtures";
import { accepted, arrived, fare, inProgress, must, OFFER_MS, offered, refused, run } from "./trip-helpers";

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
