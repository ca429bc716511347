/**
 * @module rooms/dispatch-saga
 * The dispatch saga of one trip: time out expired offers, give up after the match timeout, or
 * offer the trip to the best K candidates who can be reserved (K = `offerBatchSize`, 1: one driver
 * at a time). The first of them to accept wins; the trip lets the others go in the same move. A
 * new batch goes out only once every offer of the last one was declined or expired. Each offer is
 * a small saga across two objects: reserve the driver in their own session (the lock), record
 * the offer in the trip, and only then show it to the driver; a step that fails undoes the ones
 * before it (a reserved driver the trip cannot take is released).
 *
 * Every collaborator comes in through `DispatchPorts`, so this module imports nothing from
 * `cloudflare:*` and runs in Node (test/unit/dispatch-saga.test.ts). The trip room binds the
 * ports to its SQLite, the geo index and the drivers' sessions.
 */
import type { RankedDriver } from "../domain/matching";
import { openOffers, type TripCommand, type TripState } from "../domain/trip";
import type { Offer } from "../protocol/dispatch";

/**
 * What a driver's session answered a reservation: `reserved` holds them for this trip alone;
 * `busy` holds nothing (not available, or no fresh location); `no_answer`: the session failed,
 * and may or may not hold them.
 */
export type Reservation = "reserved" | "busy" | "no_answer";

/**
 * The drivers a pass is reserving and has not yet recorded an offer to, stored with the trip:
 * a pass cut short between a reservation and its commit (the object evicted, a reply lost)
 * leaves the next pass a driver to release.
 */
export interface ReservationTable {
  note(driverId: string): void;
  forget(driverId: string): void;
  list(): string[];
}

export interface DispatchPorts {
  /** The trip as stored now. Read again after every await: a cancel or an accept may have landed meanwhile. */
  trip(): TripState;
  /**
   * Applies a command to the stored trip and stores the outcome with its frames and side
   * effects, with no await in between; false when the trip refuses the command.
   */
  commit(command: TripCommand): boolean;
  /** Drivers who might take the trip now, best first. */
  candidates(trip: TripState, now: number): AsyncIterable<RankedDriver>;
  /** Takes the driver's reservation lock for this trip; shows them nothing yet. */
  reserve(driverId: string, tripId: string): Promise<Reservation>;
  /** Lets a reserved driver go; rejects when their session did not answer. */
  release(driverId: string, tripId: string, reason: "expired" | "cancelled"): Promise<void>;
  /** Shows the driver an offer the trip has recorded: live, at their reconnect, or as a notification. */
  showOffer(driverId: string, offer: Offer): Promise<void>;
  reservations: ReservationTable;
  now(): number;
  /** Makes sure the saga runs again no later than `at`. */
  wakeAt(at: number): void;
  logError(where: string, err: unknown): void;
}

export type DispatchSettings = {
  /** How long a driver has to answer an offer. */
  offerTimeoutMs: number;
  /** How long after matching started the trip gives up with `no_driver`. */
  matchTimeoutMs: number;
  /** How soon a pass that found nobody tries again. */
  matchRetryMs: number;
  /** A scheduled ride keeps looking until this long after its pickup time, if that is later than the match timeout. */
  scheduleGraceMs?: number;
  /** How many drivers a pass offers the trip at once (K), by its pickup; 1 when absent. */
  offerBatchSize?: (pickup: TripState["pickup"]) => number;
};

/**
 * When matching gives up: the match timeout after the latest search started, or for a scheduled ride (whose search
 * starts a lead time before pickup) not before its pickup time and the grace after it.
 */
export function giveUpAtOf(trip: TripState, settings: DispatchSettings): number {
  const timeout = trip.matchingStartedAt + settings.matchTimeoutMs;
  return trip.scheduledAt === undefined
    ? timeout
    : Math.max(timeout, trip.scheduledAt + (settings.scheduleGraceMs ?? 0));
}

/** When the first open offer of `trip` expires, or null with none open. */
function firstExpiry(trip: TripState): number | null {
  const offers = openOffers(trip);
  return offers.length === 0 ? null : Math.min(...offers.map((o) => o.expiresAt));
}

/** When the saga must run next for `trip`: an open offer's expiry or the next retry, never after giving up. */
export function nextDispatchDeadline(trip: TripState, now: number, settings: DispatchSettings): number | null {
  if (trip.status !== "matching") return null;
  const giveUpAt = giveUpAtOf(trip, settings);
  return Math.min(firstExpiry(trip) ?? now + settings.matchRetryMs, giveUpAt);
}

type OfferOutcome = "offered" | "not_reserved" | "trip_moved_on" | "trip_refused";

export class DispatchSaga {
  /** True while a pass runs; stops overlapping passes (the alarm and a request, say). Lives with the saga. */
  private running = false;

  constructor(
    private readonly ports: DispatchPorts,
    private readonly settings: DispatchSettings,
  ) {}

  /**
   * One pass of matching. A pass asked for while another runs does nothing: the running one
   * reads the trip afresh after each await and sets the next wake-up itself.
   */
  async pass(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const { ports, settings } = this;
    try {
      await this.releaseAbandonedReservations();
      for (;;) {
        const trip = ports.trip();
        if (trip.status !== "matching") return;
        const now = ports.now();
        const giveUpAt = giveUpAtOf(trip, settings);
        // The deadline holds even while offers are open: the offered drivers are let go with it.
        if (now >= giveUpAt) {
          this.mustCommit({ type: "give_up", now });
          return;
        }
        const expiry = firstExpiry(trip);
        if (expiry !== null && now >= expiry) {
          this.mustCommit({ type: "offer_timeout", now });
          continue;
        }
        // A batch with an offer still open waits for it: a decline by one of K leaves the others to answer.
        if (expiry !== null) return ports.wakeAt(Math.min(expiry, giveUpAt));
        if (!(await this.offerToBatch(trip, now))) ports.wakeAt(Math.min(now + settings.matchRetryMs, giveUpAt));
        return;
      }
    } catch (err) {
      ports.logError("dispatch", err);
      ports.wakeAt(ports.now() + settings.matchRetryMs);
    } finally {
      this.running = false;
    }
  }

  /**
   * Lets go of drivers whom a pass reserved but never recorded an offer to. Such a driver would
   * otherwise stay `offered` for a trip that knows nothing of it. Passes never overlap, so a
   * row still here when one starts was abandoned.
   */
  private async releaseAbandonedReservations(): Promise<void> {
    for (const driverId of this.ports.reservations.list()) {
      const trip = this.ports.trip();
      if (!openOffers(trip).some((o) => o.driverId === driverId) && trip.driverId !== driverId) {
        try {
          await this.ports.release(driverId, trip.id, "expired");
        } catch (err) {
          // The row stays for the next pass to try again; a session that cannot answer must not stop this pass
          // (its timeout and give-up included).
          this.ports.logError("releaseAbandoned", err);
          continue;
        }
      }
      this.ports.reservations.forget(driverId);
    }
  }

  /**
   * Tries the candidates best first until K hold an offer; true when at least one does, or the trip needs none any
   * more. Each driver's session is the lock, so a driver who holds another trip's offer is `busy` and skipped.
   */
  private async offerToBatch(trip: TripState, now: number): Promise<boolean> {
    const batchSize = Math.max(1, this.settings.offerBatchSize?.(trip.pickup) ?? 1);
    let offered = 0;
    for await (const candidate of this.ports.candidates(trip, now)) {
      switch (await this.tryOffer(trip, candidate, batchSize)) {
        case "not_reserved":
          continue;
        case "offered":
          offered += 1;
          if (offered >= batchSize) return true;
          continue;
        case "trip_moved_on": // accepted or cancelled meanwhile: it needs no driver, the pass is done
          return true;
        case "trip_refused":
          return offered > 0;
      }
    }
    return offered > 0;
  }

  /**
   * Reserves one driver, records the offer to them, then shows it. "not_reserved": the driver
   * is not free, or their session did not answer (try the next); "trip_moved_on": the trip left
   * matching meanwhile; "trip_refused": the trip, still matching, would not take the offer.
   */
  private async tryOffer(trip: TripState, candidate: RankedDriver, batchSize: number): Promise<OfferOutcome> {
    const { ports } = this;
    const { driverId } = candidate;
    // Noted before asking: see ReservationTable.
    ports.reservations.note(driverId);
    const reservation = await ports.reserve(driverId, trip.id);
    if (reservation !== "reserved") {
      // A refusal holds nothing; after no answer the row stays for the next pass to undo.
      if (reservation === "busy") ports.reservations.forget(driverId);
      return "not_reserved";
    }
    const timeoutMs = this.settings.offerTimeoutMs;
    // The clock of now, not of the pass's start: the reservation took time, and the offer runs from its recording.
    const recorded = ports.commit({ type: "offer", driverId, now: ports.now(), timeoutMs, maxOpen: batchSize });
    // The offer and the end of the reservation commit together: no await in between.
    const offered = recorded ? openOffers(ports.trip()).find((o) => o.driverId === driverId) : undefined;
    if (!offered) {
      // The trip moved on while the driver was being reserved (cancelled, say): let them go.
      await ports.release(driverId, trip.id, "cancelled");
      ports.reservations.forget(driverId);
      return ports.trip().status !== "matching" ? "trip_moved_on" : "trip_refused";
    }
    ports.reservations.forget(driverId);
    ports.wakeAt(offered.expiresAt);
    // Only now does the driver see it, so an accept always finds the offer recorded. A failure
    // here leaves the offer to time out like one the driver never answered.
    const offer: Offer = {
      tripId: trip.id,
      pickup: trip.pickup,
      dropoff: trip.dropoff,
      fare: trip.quote.fare,
      pickupEtaSec: candidate.pickupEtaSec,
      expiresAt: offered.expiresAt,
      ...(trip.rider === undefined ? {} : { rider: trip.rider }),
    };
    try {
      await ports.showOffer(driverId, offer);
    } catch (err) {
      ports.logError("showOffer", err);
    }
    return "offered";
  }

  /** A timeout the trip refuses means the state changed under the pass: it ends, and the next one looks again. */
  private mustCommit(command: TripCommand): void {
    if (!this.ports.commit(command)) throw new Error(`the trip refused ${command.type}`);
  }
}
