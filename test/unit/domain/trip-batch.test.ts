// Batched offers in the trip state machine: up to `maxOpen` offers open at once, the first accept wins and the
// others are withdrawn in the same move, a decline or a timeout takes only its own offer away.
import { describe, expect, it } from "vitest";
import { apply, openOffers, type TripCommand, type TripState } from "../../../src/domain/trip";
import { newTrip, T0 } from "./fixtures";

const OFFER_MS = 15_000;

function must(state: TripState, command: TripCommand) {
  const result = apply(state, command);
  if (!result.ok) throw new Error(`refused ${command.type}: ${result.error.message}`);
  return result;
}

/** A trip offered to `drivers`, one second apart, with room for `maxOpen` offers. */
function batch(drivers: string[], maxOpen = 3): TripState {
  let state = newTrip();
  for (const [i, driverId] of drivers.entries())
    state = must(state, { type: "offer", driverId, now: T0 + 1_000 * (i + 1), timeoutMs: OFFER_MS, maxOpen }).state;
  return state;
}

const holders = (state: TripState) => openOffers(state).map((o) => o.driverId);

describe("batched offers", () => {
  it("holds up to maxOpen offers, and stores one offer as a trip without batches did", () => {
    const one = batch(["d1"]);
    expect(one.moreOffers).toBeUndefined();
    const three = batch(["d1", "d2", "d3"]);
    expect(holders(three)).toEqual(["d1", "d2", "d3"]);
    const fourth = apply(three, { type: "offer", driverId: "d4", now: T0 + 5_000, timeoutMs: OFFER_MS, maxOpen: 3 });
    expect(fourth).toMatchObject({ ok: false, error: { code: "conflict" } });
    // Without maxOpen the trip keeps to one offer at a time, as before.
    const second = apply(one, { type: "offer", driverId: "d2", now: T0 + 2_000, timeoutMs: OFFER_MS });
    expect(second).toMatchObject({ ok: false, error: { code: "conflict" } });
  });

  it("never offers a driver twice, nor accepts a bad maxOpen", () => {
    const state = batch(["d1", "d2"]);
    const again = apply(state, { type: "offer", driverId: "d1", now: T0 + 3_000, timeoutMs: OFFER_MS, maxOpen: 3 });
    expect(again).toMatchObject({ ok: false, error: { code: "conflict" } });
    for (const maxOpen of [0, -1, 1.5, Number.NaN])
      expect(apply(state, { type: "offer", driverId: "d3", now: T0 + 3_000, timeoutMs: OFFER_MS, maxOpen }).ok).toBe(
        false,
      );
  });

  it("gives the trip to the first accept and withdraws the others in the same move", () => {
    const result = must(batch(["d1", "d2", "d3"]), { type: "accept", driverId: "d2", now: T0 + 6_000 });
    expect(result.state).toMatchObject({ status: "accepted", driverId: "d2", offer: null, excludedDrivers: [] });
    expect(result.state.moreOffers).toBeUndefined();
    expect(result.events.map((e) => [e.type, "driverId" in e ? e.driverId : null])).toEqual([
      ["accepted", "d2"],
      ["offer_withdrawn", "d1"],
      ["offer_withdrawn", "d3"],
    ]);
    const late = apply(result.state, { type: "accept", driverId: "d1", now: T0 + 6_001 });
    expect(late).toMatchObject({ ok: false, error: { code: "conflict" } });
  });

  it("takes away only the decliner's offer", () => {
    const result = must(batch(["d1", "d2", "d3"]), { type: "decline", driverId: "d1", now: T0 + 6_000 });
    expect(holders(result.state)).toEqual(["d2", "d3"]);
    expect(result.state.excludedDrivers).toEqual(["d1"]);
    expect(apply(result.state, { type: "accept", driverId: "d1", now: T0 + 6_001 })).toMatchObject({
      ok: false,
      error: { code: "conflict" },
    });
    expect(must(result.state, { type: "accept", driverId: "d3", now: T0 + 6_001 }).state.driverId).toBe("d3");
  });

  it("times out each offer at its own expiry, and refuses an accept after it", () => {
    const state = batch(["d1", "d2", "d3"]);
    // d1 was offered at T0 + 1 s, so its time is up first.
    const first = must(state, { type: "offer_timeout", now: T0 + 1_000 + OFFER_MS });
    expect(first.events).toEqual([{ type: "offer_expired", at: T0 + 1_000 + OFFER_MS, driverId: "d1" }]);
    expect(holders(first.state)).toEqual(["d2", "d3"]);
    expect(apply(state, { type: "accept", driverId: "d1", now: T0 + 1_000 + OFFER_MS })).toMatchObject({
      ok: false,
      error: { code: "offer_expired" },
    });
    const all = must(first.state, { type: "offer_timeout", now: T0 + 3_000 + OFFER_MS });
    expect(all.events.map((e) => e.type)).toEqual(["offer_expired", "offer_expired"]);
    expect(openOffers(all.state)).toEqual([]);
    expect(all.state.excludedDrivers).toEqual(["d1", "d2", "d3"]);
  });

  it("lets every offered driver go when the rider cancels, an operator cancels or matching gives up", () => {
    const state = batch(["d1", "d2", "d3"]);
    const moves: TripCommand[] = [
      { type: "cancel", by: "rider", userId: state.riderId, now: T0 + 5_000 },
      { type: "admin_cancel", adminId: "admin-1", now: T0 + 5_000, reason: "test" },
      { type: "give_up", now: T0 + 5_000 },
    ];
    for (const move of moves) {
      const result = must(state, move);
      expect(openOffers(result.state)).toEqual([]);
      const released = result.events.flatMap((e) =>
        e.type === "offer_withdrawn" ? [e.driverId] : "releasedDriverId" in e ? [e.releasedDriverId] : [],
      );
      expect(released.sort()).toEqual(["d1", "d2", "d3"]);
    }
  });
});
