// The dispatch saga in Node, with in-memory fakes for the trip, the drivers' sessions, the
// reservation table, the clock and the alarm. The trip is the real state machine (domain/trip).
import { describe, expect, it } from "vitest";
import type { RankedDriver } from "../../src/domain/matching";
import { apply, openOffers, type TripCommand, type TripState } from "../../src/domain/trip";
import type { Offer } from "../../src/protocol/dispatch";
import {
  DispatchSaga,
  type DispatchPorts,
  type DispatchSettings,
  nextDispatchDeadline,
  type Reservation,
} from "../../src/rooms/dispatch-saga";
import { newTrip, T0 } from "./domain/fixtures";

const settings: DispatchSettings = { offerTimeoutMs: 15_000, matchTimeoutMs: 120_000, matchRetryMs: 5_000 };

type FakeDriver = { answer: Reservation; heldFor: string | null; shown: Offer[] };

/** Everything the saga touches, in memory; `calls` is the order in which it asked for what. */
class World {
  trip: TripState = newTrip();
  now = T0 + 1_000;
  calls: string[] = [];
  reserving = new Set<string>();
  wakes: number[] = [];
  errors: string[] = [];
  candidates: RankedDriver[] = [];
  drivers = new Map<string, FakeDriver>();
  /** What the trip held when each offer was shown: the offer's driver and the reservation rows. */
  seenAtShow: { recordedFor: string | null; reserving: string[] }[] = [];
  /** Runs while a reservation is in flight, as another request landing on the trip would. */
  duringReserve: ((driverId: string) => Promise<void> | void) | null = null;
  showFails = false;

  driver(driverId: string, answer: Reservation = "reserved"): this {
    this.drivers.set(driverId, { answer, heldFor: null, shown: [] });
    this.candidates.push({ driverId, pickupEtaSec: 60 * (this.candidates.length + 1) });
    return this;
  }

  apply(command: TripCommand): boolean {
    const result = apply(this.trip, command);
    if (result.ok) this.trip = result.state;
    return result.ok;
  }

  /** `batchSize`: how many drivers a pass offers the trip at once (K). */
  saga(batchSize = 1): DispatchSaga {
    const ports: DispatchPorts = {
      trip: () => this.trip,
      commit: (command) => {
        const ok = this.apply(command);
        this.calls.push(`commit:${command.type}${ok ? "" : ":refused"}`);
        return ok;
      },
      candidates: (trip) => this.candidatesOf(trip),
      reserve: async (driverId, tripId) => {
        this.calls.push(`reserve:${driverId}`);
        await this.duringReserve?.(driverId);
        const driver = this.drivers.get(driverId);
        if (!driver) return "no_answer";
        if (driver.answer === "reserved") driver.heldFor = tripId;
        return driver.answer;
      },
      release: async (driverId, tripId, reason) => {
        this.calls.push(`release:${driverId}:${reason}`);
        const driver = this.drivers.get(driverId);
        if (driver?.heldFor === tripId) driver.heldFor = null;
      },
      showOffer: async (driverId, offer) => {
        this.calls.push(`show:${driverId}`);
        this.seenAtShow.push({ recordedFor: this.trip.offer?.driverId ?? null, reserving: [...this.reserving] });
        if (this.showFails) throw new Error("the session did not answer");
        this.drivers.get(driverId)?.shown.push(offer);
      },
      reservations: {
        note: (driverId) => void this.reserving.add(driverId),
        forget: (driverId) => void this.reserving.delete(driverId),
        list: () => [...this.reserving],
      },
      now: () => this.now,
      wakeAt: (at) => void this.wakes.push(at),
      logError: (where) => void this.errors.push(where),
    };
    return new DispatchSaga(ports, batchSize === 1 ? settings : { ...settings, offerBatchSize: () => batchSize });
  }

  private async *candidatesOf(trip: TripState): AsyncGenerator<RankedDriver> {
    for (const candidate of this.candidates) if (!trip.excludedDrivers.includes(candidate.driverId)) yield candidate;
  }
}

const giveUpAt = (world: World) => world.trip.matchingStartedAt + settings.matchTimeoutMs;

describe("an offer", () => {
  it("goes to the first candidate who can be reserved, recorded, then shown", async () => {
    const world = new World().driver("d1").driver("d2");
    await world.saga().pass();
    expect(world.calls).toEqual(["reserve:d1", "commit:offer", "show:d1"]);
    expect(world.trip.offer).toMatchObject({ driverId: "d1", expiresAt: world.now + settings.offerTimeoutMs });
    expect(world.drivers.get("d1")?.shown).toEqual([
      {
        tripId: world.trip.id,
        pickup: world.trip.pickup,
        dropoff: world.trip.dropoff,
        fare: world.trip.quote.fare,
        pickupEtaSec: 60,
        expiresAt: world.now + settings.offerTimeoutMs,
      },
    ]);
    expect(world.reserving.size).toBe(0);
    expect(world.wakes).toEqual([world.now + settings.offerTimeoutMs]);
    expect(world.drivers.get("d2")?.heldFor).toBeNull();
  });

  it("is recorded before the driver sees it, with the reservation row already gone", async () => {
    const world = new World().driver("d1");
    await world.saga().pass();
    expect(world.seenAtShow).toEqual([{ recordedFor: "d1", reserving: [] }]);
  });

  it("stays recorded when showing it fails: it times out like an unanswered one", async () => {
    const world = new World().driver("d1");
    world.showFails = true;
    await world.saga().pass();
    expect(world.trip.offer?.driverId).toBe("d1");
    expect(world.errors).toEqual(["showOffer"]);
    expect(world.wakes).toEqual([world.trip.offer?.expiresAt]);
  });

  it("moves on to the next candidate when one is busy, and keeps the row of one who did not answer", async () => {
    const world = new World().driver("busy", "busy").driver("silent", "no_answer").driver("d3");
    await world.saga().pass();
    expect(world.calls).toEqual(["reserve:busy", "reserve:silent", "reserve:d3", "commit:offer", "show:d3"]);
    expect(world.trip.offer?.driverId).toBe("d3");
    // The silent session may hold the driver: the next pass lets them go.
    expect([...world.reserving]).toEqual(["silent"]);
  });

  it("is never shown when the trip moved on while the driver was being reserved: the driver is released", async () => {
    const world = new World().driver("d1").driver("d2");
    world.duringReserve = () => {
      world.apply({ type: "cancel", by: "rider", userId: world.trip.riderId, now: world.now });
    };
    await world.saga().pass();
    expect(world.calls).toEqual(["reserve:d1", "commit:offer:refused", "release:d1:cancelled"]);
    expect(world.trip.status).toBe("cancelled");
    expect(world.drivers.get("d1")).toMatchObject({ heldFor: null, shown: [] });
    expect(world.reserving.size).toBe(0);
  });

  it("finds nobody: the pass tries again after the retry delay, never after giving up", async () => {
    const world = new World();
    await world.saga().pass();
    expect(world.wakes).toEqual([world.now + settings.matchRetryMs]);
    world.now = giveUpAt(world) - 1_000;
    await world.saga().pass();
    expect(world.wakes.at(-1)).toBe(giveUpAt(world));
  });
});

describe("a later pass", () => {
  it("releases drivers an earlier pass reserved and never recorded, before anything else", async () => {
    const world = new World().driver("d1");
    world.reserving.add("stranded");
    await world.saga().pass();
    expect(world.calls).toEqual(["release:stranded:expired", "reserve:d1", "commit:offer", "show:d1"]);
    expect(world.reserving.size).toBe(0);
  });

  it("does not release a reserved driver whose offer the trip did record", async () => {
    const world = new World();
    world.apply({ type: "offer", driverId: "d1", now: world.now, timeoutMs: settings.offerTimeoutMs });
    world.reserving.add("d1");
    await world.saga().pass();
    expect(world.calls).toEqual([]);
    expect(world.reserving.size).toBe(0);
  });

  it("waits for an open offer until it expires", async () => {
    const world = new World().driver("d2");
    world.apply({ type: "offer", driverId: "d1", now: world.now, timeoutMs: settings.offerTimeoutMs });
    world.now += 1_000;
    await world.saga().pass();
    expect(world.calls).toEqual([]);
    expect(world.wakes).toEqual([world.trip.offer?.expiresAt]);
  });

  it("times out an expired offer and offers the trip to the next driver", async () => {
    const world = new World().driver("d1").driver("d2");
    world.apply({ type: "offer", driverId: "d1", now: world.now, timeoutMs: settings.offerTimeoutMs });
    world.now += settings.offerTimeoutMs;
    await world.saga().pass();
    expect(world.calls).toEqual(["commit:offer_timeout", "reserve:d2", "commit:offer", "show:d2"]);
    expect(world.trip.excludedDrivers).toContain("d1");
  });

  it("gives up at the match timeout, even with an offer open", async () => {
    const world = new World().driver("d1");
    world.apply({ type: "offer", driverId: "d1", now: giveUpAt(world) - 1_000, timeoutMs: settings.offerTimeoutMs });
    world.now = giveUpAt(world);
    await world.saga().pass();
    expect(world.calls).toEqual(["commit:give_up"]);
    expect(world.trip.status).toBe("no_driver");
    expect(world.wakes).toEqual([]);
  });

  it("does nothing once the trip is out of matching", async () => {
    const world = new World().driver("d1");
    world.apply({ type: "cancel", by: "rider", userId: world.trip.riderId, now: world.now });
    await world.saga().pass();
    expect(world.calls).toEqual([]);
  });
});

describe("passes", () => {
  it("never overlap: one asked for while another runs does nothing", async () => {
    const world = new World().driver("d1").driver("d2");
    let letGo = () => {};
    const blocked = new Promise<void>((resolve) => {
      letGo = resolve;
    });
    let reserving = () => {};
    const reserveAsked = new Promise<void>((resolve) => {
      reserving = resolve;
    });
    world.duringReserve = () => {
      reserving();
      return blocked;
    };
    const saga = world.saga();
    const first = saga.pass();
    await reserveAsked;
    await saga.pass();
    expect(world.calls).toEqual(["reserve:d1"]);
    letGo();
    await first;
    expect(world.calls).toEqual(["reserve:d1", "commit:offer", "show:d1"]);
    // Once the first is over, the next one runs again.
    world.now = world.trip.offer?.expiresAt ?? 0;
    world.duringReserve = null;
    await saga.pass();
    expect(world.calls.slice(3)).toEqual(["commit:offer_timeout", "reserve:d2", "commit:offer", "show:d2"]);
  });

  it("log a failure and try again after the retry delay", async () => {
    const world = new World().driver("d1");
    world.duringReserve = () => {
      throw new Error("the geo cell did not answer");
    };
    await world.saga().pass();
    expect(world.errors).toEqual(["dispatch"]);
    expect(world.wakes).toEqual([world.now + settings.matchRetryMs]);
    // The row noted before asking stays for the next pass to undo.
    expect([...world.reserving]).toEqual(["d1"]);
  });
});

describe("nextDispatchDeadline", () => {
  it("is the open offer's expiry or the next retry, never after giving up, and none out of matching", () => {
    const world = new World();
    expect(nextDispatchDeadline(world.trip, world.now, settings)).toBe(world.now + settings.matchRetryMs);
    expect(nextDispatchDeadline(world.trip, giveUpAt(world) - 1, settings)).toBe(giveUpAt(world));
    world.apply({ type: "offer", driverId: "d1", now: world.now, timeoutMs: settings.offerTimeoutMs });
    expect(nextDispatchDeadline(world.trip, world.now, settings)).toBe(world.trip.offer?.expiresAt);
    world.apply({ type: "cancel", by: "rider", userId: world.trip.riderId, now: world.now });
    expect(nextDispatchDeadline(world.trip, world.now, settings)).toBeNull();
  });
});

describe("a batch of offers (K = 3)", () => {
  const offered = (world: World) => openOffers(world.trip).map((o) => o.driverId);

  it("goes to the best three drivers who can be reserved, each recorded before it is shown", async () => {
    const world = new World().driver("d1").driver("busy", "busy").driver("d2").driver("d3").driver("d4");
    await world.saga(3).pass();
    expect(world.calls).toEqual([
      "reserve:d1",
      "commit:offer",
      "show:d1",
      "reserve:busy",
      "reserve:d2",
      "commit:offer",
      "show:d2",
      "reserve:d3",
      "commit:offer",
      "show:d3",
    ]);
    expect(offered(world)).toEqual(["d1", "d2", "d3"]);
    expect(world.seenAtShow.map((s) => s.reserving)).toEqual([[], [], []]);
    expect(world.drivers.get("d4")?.heldFor).toBeNull();
    expect(world.reserving.size).toBe(0);
  });

  it("stops when a driver accepts mid-batch: the one being reserved is let go and never shown the offer", async () => {
    const world = new World().driver("d1").driver("d2").driver("d3");
    world.duringReserve = (driverId) => {
      if (driverId === "d3") expect(world.apply({ type: "accept", driverId: "d1", now: world.now })).toBe(true);
    };
    await world.saga(3).pass();
    expect(world.trip).toMatchObject({ status: "accepted", driverId: "d1", offer: null });
    expect(world.calls.slice(-2)).toEqual(["commit:offer:refused", "release:d3:cancelled"]);
    expect(world.drivers.get("d3")?.shown).toEqual([]);
    expect(world.drivers.get("d3")?.heldFor).toBeNull();
  });

  it("keeps the others open when one declines, and sends no new batch until every offer is answered", async () => {
    const world = new World().driver("d1").driver("d2").driver("d3").driver("d4").driver("d5");
    const saga = world.saga(3);
    await saga.pass();
    world.now += 1_000;
    expect(world.apply({ type: "decline", driverId: "d2", now: world.now })).toBe(true);
    world.calls = [];
    await saga.pass();
    expect(world.calls).toEqual([]);
    expect(offered(world)).toEqual(["d1", "d3"]);
    expect(world.wakes.at(-1)).toBe(world.trip.offer?.expiresAt);
    expect(world.apply({ type: "decline", driverId: "d1", now: world.now })).toBe(true);
    expect(world.apply({ type: "decline", driverId: "d3", now: world.now })).toBe(true);
    await saga.pass();
    expect(offered(world)).toEqual(["d4", "d5"]);
  });

  it("times out the whole batch at its expiry and offers the next drivers", async () => {
    const world = new World().driver("d1").driver("d2").driver("d3").driver("d4");
    const saga = world.saga(3);
    await saga.pass();
    world.now = world.trip.offer?.expiresAt ?? 0;
    world.calls = [];
    await saga.pass();
    expect(world.calls.slice(0, 2)).toEqual(["commit:offer_timeout", "reserve:d4"]);
    expect(world.trip.excludedDrivers).toEqual(["d1", "d2", "d3"]);
    expect(offered(world)).toEqual(["d4"]);
  });

  it("releases an abandoned reservation but not a driver whose offer of the batch is recorded", async () => {
    const world = new World().driver("d1").driver("d2");
    const saga = world.saga(3);
    await saga.pass();
    world.reserving.add("d2");
    world.reserving.add("ghost");
    world.drivers.set("ghost", { answer: "reserved", heldFor: world.trip.id, shown: [] });
    world.calls = [];
    await saga.pass();
    expect(world.calls).toContain("release:ghost:expired");
    expect(world.calls).not.toContain("release:d2:expired");
    expect(offered(world)).toEqual(["d1", "d2"]);
  });
});
