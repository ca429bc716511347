// Random command sequences against the trip state machine: whatever drivers, riders and
// clocks do, the trip must never reach a state the rest of the system cannot trust.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  apply,
  fixTarget,
  isTerminal,
  loggedFrames,
  openOffers,
  type TripCommand,
  type TripEvent,
  TripState,
  type TripStatus,
} from "../../../src/domain/trip";
import { deepFreeze, newTrip, T0 } from "./fixtures";

// "current" stands for whoever holds an offer (one of a batch, picked by the step) or the trip,
// so that random sequences get past matching often; the others are fixed drivers, the rider and a stranger.
const actor = fc.oneof(
  { weight: 4, arbitrary: fc.constant("current") },
  { weight: 1, arbitrary: fc.constantFrom("d1", "d2", "d3", "rider-1", "stranger") },
);
// Mostly small steps around the 15 s offer timeout, some long waits, and a lagging clock.
const dt = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 20_000 }) },
  { weight: 2, arbitrary: fc.integer({ min: 20_000, max: 400_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: -30_000, max: -1 }) },
);

/** Builds a command once the run knows the time and who currently holds the trip. */
type Make = (now: number, current: string) => TripCommand;

function command<T>(
  who: fc.Arbitrary<string>,
  extra: fc.Arbitrary<T>,
  f: (id: string, now: number, x: T) => TripCommand,
): fc.Arbitrary<Make> {
  return fc.tuple(who, extra).map(
    ([w, x]): Make =>
      (now, current) =>
        f(w === "current" ? current : w, now, x),
  );
}
const none = fc.constant(null);
const rider = fc.constantFrom("rider-1", "rider-1", "stranger");
// Moves forward are drawn more often than the ones that end or rewind a trip, so sequences
// reach every status instead of mostly dying in matching.
const often = (arbitrary: fc.Arbitrary<Make>) => ({ weight: 4, arbitrary });
const rarely = (arbitrary: fc.Arbitrary<Make>) => ({ weight: 1, arbitrary });

const makeArb: fc.Arbitrary<Make> = fc.oneof(
  often(
    command(actor, fc.integer({ min: 1, max: 30_000 }), (driverId, now, timeoutMs) => ({
      type: "offer",
      driverId,
      now,
      timeoutMs,
    })),
  ),
  often(command(actor, none, (driverId, now) => ({ type: "accept", driverId, now }))),
  rarely(command(actor, none, (driverId, now) => ({ type: "decline", driverId, now }))),
  rarely(fc.constant<Make>((now) => ({ type: "offer_timeout", now }))),
  rarely(fc.constant<Make>((now) => ({ type: "give_up", now }))),
  often(command(actor, none, (driverId, now) => ({ type: "arrived", driverId, now }))),
  often(command(actor, none, (driverId, now) => ({ type: "start", driverId, now }))),
  often(
    command(actor, fc.integer({ min: 0, max: 10_000 }), (driverId, now, amount) => ({
      type: "complete",
      driverId,
      now,
      fare: { amount, currency: "USD" },
    })),
  ),
  rarely(
    command(rider, fc.option(fc.string(), { nil: undefined }), (userId, now, reason) => ({
      type: "cancel",
      by: "rider",
      userId,
      now,
      reason,
    })),
  ),
  rarely(command(actor, none, (userId, now) => ({ type: "cancel", by: "driver", userId, now }))),
);
/** A step is a command, or a location fix from someone (the room's other input). */
const stepArb = fc.oneof(
  { weight: 4, arbitrary: fc.record({ dt, make: makeArb, pick: fc.nat({ max: 9 }) }) },
  { weight: 1, arbitrary: fc.record({ dt, fixFrom: actor }) },
);

const WITH_DRIVER: ReadonlySet<TripStatus> = new Set(["accepted", "arrived", "in_progress", "completed"]);
const MOVES: Record<TripStatus, readonly TripStatus[]> = {
  scheduled: ["matching", "cancelled"],
  matching: ["matching", "accepted", "cancelled", "no_driver"],
  accepted: ["arrived", "cancelled", "matching"],
  arrived: ["in_progress", "cancelled", "matching"],
  in_progress: ["completed"],
  completed: [],
  cancelled: [],
  no_driver: [],
};

/** `batchSize`: how many offers the run lets be open at once (K). */
function checkState(s: TripState, batchSize: number): void {
  expect(s.driverId !== null).toBe(WITH_DRIVER.has(s.status));
  expect(s.driverId).not.toBe(s.riderId);
  const offers = openOffers(s);
  expect(offers.length).toBeLessThanOrEqual(batchSize);
  // A driver holds at most one offer of the trip, and never the trip and an offer at once.
  expect(new Set(offers.map((o) => o.driverId)).size).toBe(offers.length);
  if (s.offer === null) expect(s.moreOffers ?? []).toEqual([]);
  for (const offer of offers) {
    expect(s.status).toBe("matching");
    expect(s.excludedDrivers).not.toContain(offer.driverId);
    expect(offer.expiresAt).toBeGreaterThan(offer.offeredAt);
  }
  expect(new Set(s.excludedDrivers).size).toBe(s.excludedDrivers.length);
  expect(s.fare !== null).toBe(s.status === "completed");
  expect(s.completedAt !== null).toBe(s.status === "completed");
  expect(s.cancelledAt !== null).toBe(s.status === "cancelled");
  if (s.cancellationFee !== null) expect(s.status).toBe("cancelled");
  if (WITH_DRIVER.has(s.status)) expect(s.acceptedAt).not.toBeNull();
  if (s.status === "in_progress" || s.status === "completed") expect(s.startedAt).not.toBeNull();
  const times = [s.createdAt, s.acceptedAt, s.arrivedAt, s.startedAt, s.completedAt, s.updatedAt];
  const known = times.filter((t): t is number => t !== null);
  expect(known).toEqual([...known].sort((a, b) => a - b));
  expect(s.matchingStartedAt).toBeGreaterThanOrEqual(s.createdAt);
  expect(s.matchingStartedAt).toBeLessThanOrEqual(s.updatedAt);
  expect(TripState.parse(JSON.parse(JSON.stringify(s)))).toEqual(s);
}

/** Drivers whose reservation the events leave held: what a DO following them would hold. */
function followReservations(held: Set<string>, events: readonly TripEvent[]): void {
  for (const e of events) {
    if (e.type === "offered") held.add(e.driverId);
    const released = ["offer_declined", "offer_expired", "offer_withdrawn", "driver_cancelled", "completed"].includes(
      e.type,
    );
    if (released && "driverId" in e) held.delete(e.driverId);
    if ((e.type === "cancelled" || e.type === "no_driver") && e.releasedDriverId !== null) {
      held.delete(e.releasedDriverId);
    }
  }
}

describe("trip state machine under random commands", () => {
  // K = 1 is dispatch one driver at a time; K > 1 batched offers, with accepts, declines and expiries interleaved.
  it.each([1, 3])("never reaches an illegal state, offering %i driver(s) at once", (batchSize) => {
    const reached = new Set<TripStatus>();
    let batchesSeen = 0;
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 60, size: "max" }), (steps) => {
        let state = deepFreeze(newTrip());
        let now = T0;
        const held = new Set<string>();
        const everOffered = new Set<string>();
        const passed = new Set<string>();
        // The room's log as the trip room keeps it: the creation's status is seq 1.
        const log: { frame: string; status: TripStatus }[] = [{ frame: "status", status: state.status }];
        for (const step of steps) {
          now += step.dt;
          const prev = state;
          const snapshot = JSON.stringify(prev);
          if (!("make" in step)) {
            // A fix counts only from the assigned driver of a trip under way, and changes no state.
            const from = step.fixFrom === "current" ? (prev.driverId ?? "d1") : step.fixFrom;
            const target = fixTarget(prev, from);
            expect(target !== null).toBe(
              from === prev.driverId && ["accepted", "arrived", "in_progress"].includes(prev.status),
            );
            if (target)
              expect(target).toEqual(
                prev.status === "in_progress"
                  ? { to: "dropoff", breadcrumb: true }
                  : { to: "pickup", breadcrumb: false },
              );
            expect(JSON.stringify(prev)).toBe(snapshot);
            continue;
          }
          const offers = openOffers(prev);
          const current = offers[step.pick % Math.max(offers.length, 1)]?.driverId ?? prev.driverId ?? "d1";
          const made = step.make(now, current);
          const command: TripCommand = made.type === "offer" ? { ...made, maxOpen: batchSize } : made;
          const result = apply(prev, command);
          expect(JSON.stringify(prev)).toBe(snapshot);
          if (isTerminal(prev.status)) expect(result.ok).toBe(false);
          if (!result.ok) {
            expect(["conflict", "forbidden", "offer_expired"]).toContain(result.error.code);
            continue;
          }
          const next = result.state;
          expect(result.events.length).toBeGreaterThan(0);
          // Every status change is logged once, and a completion adds its fare right after it
          // (the log gives each the next seq: test/worker/trip-room.test.ts checks that part).
          const frames = loggedFrames(prev, next);
          expect(frames).toEqual([
            ...(prev.status !== next.status ? ["status"] : []),
            ...(next.status === "completed" ? ["fare"] : []),
          ]);
          for (const frame of frames) log.push({ frame, status: next.status });
          expect(MOVES[prev.status]).toContain(next.status);
          checkState(next, batchSize);
          if (openOffers(next).length > 1) batchesSeen += 1;
          expect(next.updatedAt).toBeGreaterThanOrEqual(prev.updatedAt);
          for (const d of prev.excludedDrivers) expect(next.excludedDrivers).toContain(d);
          if (prev.driverId !== null && next.driverId !== null) expect(next.driverId).toBe(prev.driverId);
          for (const e of result.events) {
            if (e.type === "offered") {
              expect(prev.excludedDrivers).not.toContain(e.driverId);
              // No driver is offered the trip while holding it already: a driver never has two live offers.
              expect(held.has(e.driverId)).toBe(false);
              expect(passed.has(e.driverId)).toBe(false);
              everOffered.add(e.driverId);
            }
            if (e.type === "offer_declined" || e.type === "offer_expired" || e.type === "driver_cancelled") {
              passed.add(e.driverId);
            }
            // Only an offered driver gets the trip, and only while their offer is open.
            if (e.type === "accepted") {
              const won = openOffers(prev).find((o) => o.driverId === e.driverId);
              expect(won).toBeDefined();
              expect(e.at).toBeLessThan(won?.expiresAt ?? -Infinity);
              // Never two drivers assigned: every other driver of the batch is let go in the same move.
              const others = openOffers(prev).filter((o) => o.driverId !== e.driverId);
              const withdrawn = result.events.filter((w) => w.type === "offer_withdrawn").map((w) => w.driverId);
              expect(withdrawn.sort()).toEqual(others.map((o) => o.driverId).sort());
            }
          }
          // A driver who declined, timed out or cancelled stays out for good.
          for (const offer of openOffers(next)) expect(next.excludedDrivers).not.toContain(offer.driverId);
          followReservations(held, result.events);
          // Every released driver is free: what the trip holds is exactly its open offers, or its one driver.
          const holding = [...openOffers(next).map((o) => o.driverId), next.driverId].filter((d) => d != null);
          expect([...held].sort()).toEqual(isTerminal(next.status) ? [] : holding.sort());
          for (const d of next.excludedDrivers) expect(everOffered.has(d)).toBe(true);
          state = deepFreeze(next);
          reached.add(state.status);
        }
        // The log tells the trip's story: a status frame per status it went through (the first
        // at creation, never the same twice in a row), and after an end only a completion's fare.
        const statusFrames = log.filter((e) => e.frame === "status").map((e) => e.status);
        for (let i = 1; i < statusFrames.length; i++) expect(statusFrames[i]).not.toBe(statusFrames[i - 1]);
        expect(statusFrames.at(-1)).toBe(state.status);
        const end = log.findIndex((e) => e.frame === "status" && isTerminal(e.status));
        if (end >= 0)
          expect(log.slice(end + 1).map((e) => e.frame)).toEqual(state.status === "completed" ? ["fare"] : []);
      }),
      { numRuns: 1_000 },
    );
    // Every status was visited, so the checks above did not pass vacuously.
    expect([...reached].sort()).toEqual([
      "accepted",
      "arrived",
      "cancelled",
      "completed",
      "in_progress",
      "matching",
      "no_driver",
    ]);
    // With K > 1 the runs did hold several offers at once.
    if (batchSize > 1) expect(batchesSeen).toBeGreaterThan(0);
  });

  it(
    "charges a rider's cancel (before the driver arrives) " +
      "exactly when a driver accepted more than two minutes before",
    () => {
      const accepted = fc.integer({ min: 0, max: 20_000 });
      const cancelled = fc.integer({ min: 0, max: 600_000 });
      fc.assert(
        fc.property(accepted, cancelled, (acceptAfter, cancelAfter) => {
          const commands: TripCommand[] = [
            { type: "offer", driverId: "d1", now: T0, timeoutMs: 30_000 },
            { type: "accept", driverId: "d1", now: T0 + acceptAfter },
            { type: "cancel", by: "rider", userId: "rider-1", now: T0 + acceptAfter + cancelAfter },
          ];
          let state = newTrip();
          for (const c of commands) {
            const result = apply(state, c);
            if (!result.ok) throw new Error(result.error.message);
            state = result.state;
          }
          expect(state.cancellationFee !== null).toBe(cancelAfter > 120_000);
        }),
      );
    },
  );
});
