/**
 * @module rooms/trip-room
 * One trip: its state machine (decided by domain/trip), the dispatch loop that offers the trip
 * to one driver at a time with the alarm as the offer timer, live driver location and ETA for
 * the rider, the breadcrumb that prices the ride, trip chat, and the log that the rider and the
 * driver resume from. Status changes and messages reach D1 through the outbox.
 */
import { drizzle } from "drizzle-orm/d1";
import { sql as dsql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Identity } from "../auth/jwt";
import { trips } from "../db/schema";
import { recordCancelQuery, releaseActiveTripQuery } from "../db/trips";
import { finalCharge, judgeTrace, type FarePolicy, type TracePoint } from "../domain/fare";
import { etaSec, haversineKm, type Fix, type LatLng } from "../domain/geo";
import type { RankedDriver } from "../domain/matching";
import {
  apply,
  createTrip,
  fixTarget,
  isActive,
  isOnTrip,
  loggedFrames,
  TripState,
  type TripCommand,
  type TripEvent,
  type TripStatus,
  type QuoteTerms,
} from "../domain/trip";
import { ApiError, conflict, forbidden, unwrap, type Result } from "../errors";
import { chatNotification, NOTIFIED_TRIP_STATUSES, tripStatusNotification } from "../notify/message";
import type { Message } from "../protocol/common";
import {
  Quote,
  StoredStatusFrame,
  TripClientFrame,
  type Offer,
  type Trip,
  type TripLocationFrame,
} from "../protocol/dispatch";
import type { StoredEvent } from "./event-log";
import { CANDIDATES_PER_CELL, matchingSearch } from "../domain/area-search";
import { candidatesBestFirst, noteTripInCell, withdrawDemand } from "./geo-cell-client";
import { RoomHub } from "./hub";
import { recordSettlement, SETTLEMENT_SCHEMA, settlePending } from "./trip-settlement";
import { messageInserts } from "../db/messages";
import { driverSession } from "./stubs";

export type NewTripInput = { id: string; riderId: string; quote: Quote; terms: QuoteTerms };

/** How often the assigned driver's latest fix is written to `last_location`. */
const LAST_FIX_SAVE_MS = 5_000;

export class TripRoom extends RoomHub<TripClientFrame> {
  protected readonly kind = "TripRoom";
  protected readonly clientFrames = TripClientFrame;
  /** True while a dispatch pass runs in this activation; stops overlapping passes (alarm + request). */
  private dispatching = false;
  /** The assigned driver's latest fix; memory only, rebuilt from the `last_location` row. */
  private lastFix: Fix | null = null;
  /** When `last_location` was last written; a fix in between lives in `lastFix` only. Memory only. */
  private lastFixSavedAt = 0;
  /**
   * The stored state and quote as last parsed, keyed by their JSON text: a read re-parses only what changed. Memory
   * only.
   */
  private parsedState: { text: string; value: TripState } | null = null;
  private parsedQuote: { text: string; value: Quote } | null = null;

  protected createSchema(): void {
    this.sql.exec(`CREATE TABLE IF NOT EXISTS trip (id TEXT PRIMARY KEY, state TEXT NOT NULL, quote TEXT NOT NULL)`);
    // `received_at` is this object's clock when the fix arrived: the fare judges speeds on it, never on the phone's
    // `at`.
    this.sql.exec(
      `CREATE TABLE IF NOT EXISTS breadcrumb (at INTEGER PRIMARY KEY, lat REAL NOT NULL, lng REAL NOT NULL,
       received_at INTEGER)`,
    );
    // Trips made before the column existed get it here (SQLite has no ADD COLUMN IF NOT EXISTS).
    if (
      !this.sql
        .exec<{ name: string }>(`PRAGMA table_info(breadcrumb)`)
        .toArray()
        .some((c) => c.name === "received_at")
    ) {
      this.sql.exec(`ALTER TABLE breadcrumb ADD COLUMN received_at INTEGER`);
    }
    this.sql.exec(
      `CREATE TABLE IF NOT EXISTS last_location (id INTEGER PRIMARY KEY CHECK (id = 1),
       lat REAL NOT NULL, lng REAL NOT NULL,
       at INTEGER NOT NULL)`,
    );
    // Drivers a pass is reserving and has not yet recorded an offer to; see releaseAbandonedReservations.
    this.sql.exec(`CREATE TABLE IF NOT EXISTS reserving (driver_id TEXT PRIMARY KEY)`);
    // Per driver, the seq before their assignment: they may not read the log below it (replayFloor).
    this.sql.exec(`CREATE TABLE IF NOT EXISTS driver_floor (driver_id TEXT PRIMARY KEY, seq INTEGER NOT NULL)`);
    // The ledger postings a finished trip still owes (rooms/trip-settlement.ts).
    this.sql.exec(SETTLEMENT_SCHEMA);
  }

  // ---- RPC ----------------------------------------------------------------------------------

  /** Creates the trip in `matching` and starts looking for a driver. Idempotent on the trip id. */
  async create(input: NewTripInput): Promise<Result<Trip>> {
    this.openStorage();
    return this.rpc("create", () => {
      if (this.sql.exec(`SELECT 1 FROM trip`).toArray().length === 0) {
        const state = createTrip({
          id: input.id,
          riderId: input.riderId,
          pickup: input.quote.pickup,
          dropoff: input.quote.dropoff,
          quote: input.terms,
          now: Date.now(),
        });
        this.ctx.storage.transactionSync(() => {
          this.sql.exec(
            `INSERT INTO trip (id, state, quote) VALUES (?, ?, ?)`,
            state.id,
            JSON.stringify(state),
            JSON.stringify(input.quote),
          );
          this.appendStatus(state);
        });
        this.wakeAt(state.matchingStartedAt + this.config.MATCH_TIMEOUT_MS);
        this.tellPickupCell(state);
        // Not awaited: the rider gets the trip at once, the first offer follows within milliseconds.
        this.ctx.waitUntil(this.dispatch());
      }
      return this.view(this.state());
    });
  }

  get(identity: Identity): Promise<Result<Trip>> {
    return this.rpc("get", () => {
      const state = this.state();
      this.requireParty(state, identity);
      return this.view(state);
    });
  }

  accept(identity: Identity): Promise<Result<Trip>> {
    return this.rpc("accept", () => this.run({ type: "accept", driverId: identity.userId, now: Date.now() }));
  }

  decline(identity: Identity): Promise<Result<Trip>> {
    return this.rpc("decline", () => this.run({ type: "decline", driverId: identity.userId, now: Date.now() }));
  }

  arrived(identity: Identity): Promise<Result<Trip>> {
    return this.rpc("arrived", () => {
      // The fix is the assigned driver's own (cleared when the driver changes).
      const fix = this.fix();
      const atPickup =
        fix !== null && haversineKm(fix, this.state().pickup) * 1000 <= this.config.PICKUP_ARRIVAL_RADIUS_M;
      return this.run({ type: "arrived", driverId: identity.userId, now: Date.now(), atPickup });
    });
  }

  start(identity: Identity): Promise<Result<Trip>> {
    return this.rpc("start", () => this.run({ type: "start", driverId: identity.userId, now: Date.now() }));
  }

  complete(identity: Identity): Promise<Result<Trip>> {
    return this.rpc("complete", () => {
      const state = this.state();
      const now = Date.now();
      const { fare, decision } = this.finalFare(state, now);
      const trip = this.run({
        type: "complete",
        driverId: identity.userId,
        now,
        fare: fare.total,
        breakdown: fare.breakdown,
        decision,
      });
      // Operators find fares waiting for review in the logs as well as on the trip itself.
      if (decision.review)
        console.warn(
          JSON.stringify({
            level: "warn",
            where: "TripRoom.complete",
            event: "fare_review",
            tripId: state.id,
            ...decision,
          }),
        );
      return trip;
    });
  }

  cancel(identity: Identity, reason: string | undefined): Promise<Result<Trip>> {
    return this.rpc("cancel", () => {
      const state = this.state();
      const by = identity.userId === state.riderId ? "rider" : "driver";
      return this.run({
        type: "cancel",
        by,
        userId: identity.userId,
        now: Date.now(),
        ...(reason === undefined ? {} : { reason }),
        freeCancelWindowMs: this.config.FREE_CANCEL_WINDOW_MS,
        freePickupWaitMs: this.config.FREE_PICKUP_WAIT_MS,
      });
    });
  }

  /**
   * An operator's force-cancel (the Worker checked the role): from any non-terminal status, in
   * progress too, with no fee; the hold is released and the driver freed like any cancel.
   */
  adminCancel(
    adminId: string,
    reason: string,
  ): Promise<Result<{ trip: Trip; from: TripStatus; driverId: string | null }>> {
    return this.rpc("adminCancel", () => {
      const before = this.state();
      const trip = this.run({ type: "admin_cancel", adminId, now: Date.now(), reason });
      return { trip, from: before.status, driverId: before.driverId ?? before.offer?.driverId ?? null };
    });
  }

  /**
   * The trip's status for the reconciliation cron, which asks every trip that still holds money.
   * No identity: the cron is the service itself, and the answer is the status alone.
   */
  status(): Promise<Result<{ status: TripStatus }>> {
    return this.rpc("status", () => ({ status: this.state().status }));
  }

  /** Posts the trip's pending settlement to the ledger now (the receipt route asks before its write-behind has). */
  settle(): Promise<Result<boolean>> {
    return this.rpc("settle", () => this.settleNow());
  }

  /** Who may rate whom on this trip: the rider rates the driver and the driver the rider, once it is completed. */
  rateeFor(identity: Identity): Promise<Result<{ rateeId: string; role: "rider" | "driver" }>> {
    return this.rpc("rateeFor", () => {
      const state = this.state();
      this.requireParty(state, identity);
      if (state.status !== "completed" || state.driverId === null) throw conflict("only a completed trip can be rated");
      return identity.userId === state.riderId
        ? { rateeId: state.driverId, role: "driver" as const }
        : { rateeId: state.riderId, role: "rider" as const };
    });
  }

  postMessage(identity: Identity, text: string, idempotencyKey?: string): Promise<Result<Message>> {
    return this.rpc("postMessage", async () => {
      const stored = this.storeChat(identity, text, idempotencyKey);
      return stored.message ?? (await this.messageAt(this.state().id, stored.seq));
    });
  }

  /** A fix from the assigned driver's session: ETA to the rider, and the breadcrumb during the ride. */
  driverLocation(driverId: string, fix: Fix): Promise<Result<boolean>> {
    return this.rpc("driverLocation", () => {
      const state = this.state();
      const target = fixTarget(state, driverId);
      if (!target) return false;
      const now = Date.now();
      if (target.breadcrumb)
        this.sql.exec(
          `INSERT OR IGNORE INTO breadcrumb (at, lat, lng, received_at) VALUES (?, ?, ?, ?)`,
          fix.at,
          fix.lat,
          fix.lng,
          now,
        );
      // The position a rider sees after the room wakes; a few seconds stale at worst, and the
      // next fix replaces it. During the ride the breadcrumb above has every fix anyway.
      if (now - this.lastFixSavedAt >= LAST_FIX_SAVE_MS) {
        this.sql.exec(
          `INSERT INTO last_location (id, lat, lng, at) VALUES (1, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET lat = excluded.lat, lng = excluded.lng, at = excluded.at`,
          fix.lat,
          fix.lng,
          fix.at,
        );
        this.lastFixSavedAt = now;
      }
      this.lastFix = fix;
      const frame: TripLocationFrame = {
        type: "location",
        lat: fix.lat,
        lng: fix.lng,
        at: fix.at,
        etaSec: this.eta(state, fix),
      };
      // Exact positions go to the rider only.
      this.sendToUser(state.riderId, JSON.stringify(frame));
      return true;
    });
  }

  // ---- hub hooks ------------------------------------------------------------------------------

  protected denySocket(identity: Identity): ApiError | null {
    const state = this.state();
    return identity.userId === state.riderId || identity.userId === state.driverId
      ? null
      : forbidden("only the trip's rider and driver may join");
  }

  protected welcomeSnapshot(): object {
    return { trip: this.view(this.state()) };
  }

  protected override replayFloor(identity: Identity): number {
    if (identity.userId === this.state().riderId) return 0;
    return (
      this.sql.exec<{ seq: number }>(`SELECT seq FROM driver_floor WHERE driver_id = ?`, identity.userId).toArray()[0]
        ?.seq ?? 0
    );
  }

  protected onClientFrame(_ws: WebSocket, identity: Identity, frame: TripClientFrame): number | null {
    if (frame.type === "ping") return null;
    return this.storeChat(identity, frame.text, frame.id).seq;
  }

  /**
   * Trip chat: stores the message (once per id) and, when it is new and the other party has no
   * socket or stream here, queues it to them as a notification, as chat rooms do.
   */
  private storeChat(identity: Identity, text: string, commandId?: string): { seq: number; message?: Message } {
    const state = this.state();
    // A socket opened while its user was a party may outlive that (a frame already in flight).
    this.requireParty(state, identity);
    const stored = this.storeMessage(state.id, identity.userId, text, commandId);
    const recipient = identity.userId === state.riderId ? state.driverId : state.riderId;
    const message = stored.message;
    if (message && recipient !== null && !this.isOnline(recipient))
      this.notify(() => [chatNotification(message, recipient, identity.name)]);
    return stored;
  }

  protected async writeBehind(events: StoredEvent[]): Promise<void> {
    // Before the active-trip slot is freed below, so a next request sees the hold released.
    await this.settleNow();
    // The messages, the trip's newest status and the freed slot: one D1 batch, one transaction.
    const db = drizzle(this.env.DB);
    const batch: BatchItem<"sqlite">[] = messageInserts(db, events);
    // Only the newest status in the batch matters for the trips table.
    const latest = events
      .map(statusTripOf)
      .filter((t): t is Trip => t !== null)
      .at(-1);
    if (latest) {
      const row = {
        id: latest.id,
        riderId: latest.riderId,
        driverId: latest.driverId,
        status: latest.status,
        data: latest,
        createdAt: latest.createdAt,
        updatedAt: latest.updatedAt,
      };
      batch.push(
        db
          .insert(trips)
          .values(row)
          .onConflictDoUpdate({
            target: trips.id,
            set: { driverId: row.driverId, status: row.status, data: row.data, updatedAt: row.updatedAt },
            setWhere: dsql`excluded.updated_at >= ${trips.updatedAt}`,
          }),
      );
      // The rider may request again once this trip is over.
      if (!isActive(latest.status)) batch.push(releaseActiveTripQuery(db, latest.riderId, latest.id));
      // Every path by which the rider cancels (the route records it first, too) counts towards
      // their cool-down; an operator's force-cancel does not.
      if (latest.status === "cancelled" && latest.cancelledBy !== "admin")
        batch.push(recordCancelQuery(db, latest.riderId, latest.id, latest.updatedAt));
    }
    const [first, ...rest] = batch;
    if (first) await db.batch([first, ...rest]);
  }

  protected override nextDeadline(): number | null {
    const state = this.state();
    if (state.status !== "matching") return null;
    const giveUpAt = state.matchingStartedAt + this.config.MATCH_TIMEOUT_MS;
    return state.offer
      ? Math.min(state.offer.expiresAt, giveUpAt)
      : Math.min(Date.now() + this.config.MATCH_RETRY_MS, giveUpAt);
  }

  protected override async onDeadline(): Promise<void> {
    await this.dispatch();
  }

  // ---- dispatch -------------------------------------------------------------------------------

  /**
   * One pass of matching: time out an expired offer, give up after MATCH_TIMEOUT_MS, or offer
   * the trip to the best candidate who can be reserved. Every await is followed by a fresh
   * read of the state, because a cancel or an accept may have landed meanwhile.
   */
  private async dispatch(): Promise<void> {
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      await this.releaseAbandonedReservations();
      for (;;) {
        const state = this.state();
        if (state.status !== "matching") return;
        const now = Date.now();
        const giveUpAt = state.matchingStartedAt + this.config.MATCH_TIMEOUT_MS;
        // The deadline holds even while an offer is open: the offered driver is let go with it.
        if (now >= giveUpAt) {
          this.run({ type: "give_up", now });
          return;
        }
        if (state.offer && now < state.offer.expiresAt) return this.wakeAt(Math.min(state.offer.expiresAt, giveUpAt));
        if (state.offer) {
          this.run({ type: "offer_timeout", now });
          continue;
        }
        if (!(await this.offerToNextDriver(state, now)))
          this.wakeAt(
            Math.min(now + this.config.MATCH_RETRY_MS, state.matchingStartedAt + this.config.MATCH_TIMEOUT_MS),
          );
        return;
      }
    } catch (err) {
      this.logError("dispatch", err);
      this.wakeAt(Date.now() + this.config.MATCH_RETRY_MS);
    } finally {
      this.dispatching = false;
    }
  }

  /**
   * Lets go of drivers whom a pass reserved but never recorded an offer to: the object was
   * evicted, or a reply lost, between `reserve` and the commit. Such a driver would otherwise
   * stay `offered` for a trip that knows nothing of it. Passes never overlap (`dispatching`),
   * so a row still here when one starts was abandoned.
   */
  private async releaseAbandonedReservations(): Promise<void> {
    const rows = this.sql.exec<{ driver_id: string }>(`SELECT driver_id FROM reserving`).toArray();
    for (const { driver_id: driverId } of rows) {
      const state = this.state();
      if (state.offer?.driverId !== driverId && state.driverId !== driverId)
        unwrap(await this.driverStub(driverId).release(state.id, "expired"));
      this.sql.exec(`DELETE FROM reserving WHERE driver_id = ?`, driverId);
    }
  }

  /**
   * Tries candidates near the pickup, then once in the wider ring, best first (see
   * matchingSearch); true when one holds the offer.
   */
  private async offerToNextDriver(state: TripState, now: number): Promise<boolean> {
    const query = {
      point: state.pickup,
      limit: CANDIDATES_PER_CELL,
      exclude: [...state.excludedDrivers, state.riderId],
    };
    for await (const candidate of candidatesBestFirst(
      this.env,
      this.config,
      matchingSearch(this.config, state.pickup),
      now,
      query,
    )) {
      switch (await this.tryOffer(state, candidate, now)) {
        case "not_reserved":
          continue;
        case "offered":
        case "trip_moved_on": // cancelled meanwhile, say: it needs no driver, the pass is done
          return true;
        case "trip_refused":
          return false;
      }
    }
    return false;
  }

  /**
   * Reserves one driver and commits the offer to them. "not_reserved": the driver is not free,
   * or their session did not answer (try the next); "trip_moved_on": the trip left matching
   * meanwhile; "trip_refused": the trip, still matching, would not take the offer.
   */
  private async tryOffer(
    state: TripState,
    candidate: RankedDriver,
    now: number,
  ): Promise<"offered" | "not_reserved" | "trip_moved_on" | "trip_refused"> {
    const offer: Offer = {
      tripId: state.id,
      pickup: state.pickup,
      dropoff: state.dropoff,
      fare: state.quote.fare,
      pickupEtaSec: candidate.pickupEtaSec,
      expiresAt: now + this.config.OFFER_TIMEOUT_MS,
    };
    const driver = this.driverStub(candidate.driverId);
    // Noted before asking, so that a pass cut short between the reservation and its commit
    // (the object evicted, the reply lost) leaves the next pass a driver to let go.
    this.sql.exec(`INSERT OR IGNORE INTO reserving (driver_id) VALUES (?)`, candidate.driverId);
    const reserved = await driver.reserve(offer);
    if (!reserved.ok || !reserved.value.reserved) {
      // A refusal holds nothing; after an error the row stays for the next pass to undo.
      if (reserved.ok) this.sql.exec(`DELETE FROM reserving WHERE driver_id = ?`, candidate.driverId);
      return "not_reserved";
    }
    const current = this.state();
    const result = apply(current, {
      type: "offer",
      driverId: candidate.driverId,
      now,
      timeoutMs: this.config.OFFER_TIMEOUT_MS,
    });
    if (!result.ok) {
      // The trip moved on while the driver was being reserved (cancelled, say): let them go.
      await driver.release(state.id, "cancelled");
      this.sql.exec(`DELETE FROM reserving WHERE driver_id = ?`, candidate.driverId);
      return current.status !== "matching" ? "trip_moved_on" : "trip_refused";
    }
    // No await in between: the offer and the end of the reservation commit together.
    this.commit(current, result.state, result.events);
    this.sql.exec(`DELETE FROM reserving WHERE driver_id = ?`, candidate.driverId);
    this.wakeAt(offer.expiresAt);
    return "offered";
  }

  // ---- state ------------------------------------------------------------------------------------

  /** Applies a command, stores the outcome with its frames, and runs its side effects. */
  private run(command: TripCommand): Trip {
    const before = this.state();
    const result = apply(before, command);
    if (!result.ok) {
      const status = result.error.code === "forbidden" ? 403 : 409;
      throw new ApiError(status, status === 403 ? "forbidden" : "conflict", result.error.message);
    }
    this.commit(before, result.state, result.events);
    return this.view(result.state);
  }

  private commit(before: TripState, after: TripState, events: TripEvent[]): void {
    const stored: { seq: number; text: string }[] = [];
    let statusSeq: number | null = null;
    this.ctx.storage.transactionSync(() => {
      this.sql.exec(`UPDATE trip SET state = ?`, JSON.stringify(after));
      // A trip that ends owes the ledger a capture, a fee or a release, stored with the status.
      recordSettlement(this.sql, after, events);
      if (before.driverId !== after.driverId) {
        // The last fix is the assigned driver's; it says nothing about the next one.
        this.sql.exec(`DELETE FROM last_location`);
        this.lastFix = null;
        this.lastFixSavedAt = 0;
      }
      const floor = this.log.lastSeq;
      for (const frame of loggedFrames(before, after)) {
        if (frame === "status") {
          const status = this.appendStatus(after);
          stored.push(status);
          statusSeq = status.seq;
        } else if (after.fare) {
          const fare = after.fare;
          stored.push(this.appendForWriteBehind((seq) => ({ type: "fare", seq, fare })));
        }
      }
      // A newly assigned driver reads the trip from their own assignment on: not the rider's
      // chat with a driver who handed the trip back.
      if (after.driverId !== null && before.driverId !== after.driverId) {
        this.sql.exec(
          `INSERT INTO driver_floor (driver_id, seq) VALUES (?, ?)
           ON CONFLICT (driver_id) DO UPDATE SET seq = excluded.seq`,
          after.driverId,
          floor,
        );
      }
    });
    for (const event of stored) this.publish(event);
    if (statusSeq !== null) {
      this.notifyRider(after, statusSeq);
      this.tellPickupCell(after);
    }
    // The room is the rider's and the assigned driver's: one who hands the trip back leaves it,
    // after seeing their own move, before the rider's chat or the next driver's position.
    for (const event of events)
      if (event.type === "driver_cancelled")
        this.disconnectUser(event.driverId, "you are no longer this trip's driver");
    // A request its rider called off for free is no demand: the pickup's surge stops counting it.
    for (const event of events) {
      if (event.type === "cancelled" && event.cancellationFee === null) {
        this.ctx.waitUntil(
          withdrawDemand(this.env, this.config, after.pickup, after.id).catch((err) =>
            this.logError("withdrawDemand", err),
          ),
        );
      }
    }
    if (!isActive(after.status)) this.lastFix = null;
    this.ctx.waitUntil(this.sideEffects(after, events));
  }

  /** The pickup's cell counts the trips that are not over, for the operations view; behind the reply. */
  private tellPickupCell(state: TripState): void {
    const trip = { id: state.id, status: state.status, active: isActive(state.status), at: state.updatedAt };
    this.ctx.waitUntil(
      noteTripInCell(this.env, this.config, state.pickup, trip).catch((err) => this.logError("noteTripInCell", err)),
    );
  }

  /** A rider with no socket here hears of the moves that matter through the notifications queue. */
  private notifyRider(state: TripState, seq: number): void {
    if (!NOTIFIED_TRIP_STATUSES.has(state.status) || this.isOnline(state.riderId)) return;
    this.notify(() => [tripStatusNotification(this.view(state, false), seq)]);
  }

  /**
   * The log keeps no positions: stored, they would live on in replays, D1 history and later
   * drivers' reads. An active trip's statuses reach D1's history on a slower beat (one write for
   * several moves; the live trip is the trip object's to answer); the one that ends the trip
   * goes promptly, as it frees the rider's slot and settles the fare.
   */
  private appendStatus(state: TripState): { seq: number; text: string } {
    const trip = this.view(state, false);
    const delayMs = isActive(state.status)
      ? Math.max(this.config.TRIP_HISTORY_FLUSH_MS, this.config.OUTBOX_FLUSH_DELAY_MS)
      : this.config.OUTBOX_FLUSH_DELAY_MS;
    return this.appendForWriteBehind((seq) => ({ type: "status", seq, trip }), delayMs);
  }

  /** Tells drivers' sessions what the trip decided; the trip's own state is already stored. */
  private async sideEffects(state: TripState, events: TripEvent[]): Promise<void> {
    const trip = this.view(state);
    for (const event of events) {
      try {
        switch (event.type) {
          case "offer_declined":
            await this.driverStub(event.driverId).release(state.id, "declined");
            break;
          case "offer_expired":
            await this.driverStub(event.driverId).release(state.id, "expired");
            break;
          case "driver_cancelled":
            await this.driverStub(event.driverId).release(state.id, "cancelled");
            break;
          case "accepted":
            await this.driverStub(event.driverId).confirm(state.id, trip);
            break;
          case "arrived":
          case "started":
            await this.driverStub(event.driverId).tripChanged(trip);
            break;
          case "completed":
            await this.driverStub(event.driverId).release(state.id, "finished", trip);
            break;
          case "cancelled":
          case "no_driver":
            if (event.releasedDriverId)
              await this.driverStub(event.releasedDriverId).release(state.id, "cancelled", trip);
            break;
          case "offered":
            break;
        }
      } catch (err) {
        this.logError(`sideEffect.${event.type}`, err);
      }
    }
    if (state.status === "matching" && events.some((e) => e.type !== "offered")) await this.dispatch();
  }

  private async settleNow(): Promise<boolean> {
    return settlePending(this.sql, this.env, this.config, this.ctx, (err) => this.logError("settle", err));
  }

  /** The fare a completion charges: the quote unless the ride really differs (domain/fare's `finalCharge`). */
  private finalFare(state: TripState, now: number) {
    // A fix stored before `received_at` existed counts as received when it was taken.
    const points = this.sql
      .exec<TracePoint>(
        `SELECT at, lat, lng, COALESCE(received_at, at) AS receivedAt FROM breadcrumb ORDER BY receivedAt, at`,
      )
      .toArray();
    const policy: FarePolicy = {
      repricePercent: this.config.FARE_REPRICE_PERCENT,
      capPercent: this.config.FARE_CAP_PERCENT,
      maxSpeedKmh: this.config.FARE_MAX_SPEED_KMH,
      maxAheadMs: this.config.FIX_MAX_AHEAD_MS,
      earlyEndKm: this.config.FARE_EARLY_END_M / 1000,
    };
    // Both ends on this object's clock: the driver's app has no say in how long the ride took.
    const durationMin = state.startedAt === null ? 0 : Math.max(0, now - state.startedAt) / 60_000;
    return finalCharge({
      rules: state.quote.rules,
      quote: state.quote,
      dropoff: state.dropoff,
      trace: judgeTrace(points, policy),
      durationMin,
      policy,
    });
  }

  private eta(state: TripState, from: LatLng): number | null {
    if (!isOnTrip(state.status)) return null;
    const to = state.status === "in_progress" ? state.dropoff : state.pickup;
    return etaSec(from, to, this.config.travelModel);
  }

  private state(): TripState {
    const row = this.sql.exec<{ state: string }>(`SELECT state FROM trip`).toArray()[0];
    if (!row) throw new ApiError(404, "not_found", "trip not found");
    if (this.parsedState?.text !== row.state)
      this.parsedState = { text: row.state, value: TripState.parse(JSON.parse(row.state)) };
    return this.parsedState.value;
  }

  private quote(): Quote {
    const row = this.sql.exec<{ quote: string }>(`SELECT quote FROM trip`).one();
    if (this.parsedQuote?.text !== row.quote)
      this.parsedQuote = { text: row.quote, value: Quote.parse(JSON.parse(row.quote)) };
    return this.parsedQuote.value;
  }

  private fix(): Fix | null {
    if (this.lastFix) return this.lastFix;
    const row = this.sql
      .exec<{ lat: number; lng: number; at: number }>(`SELECT lat, lng, at FROM last_location`)
      .toArray()[0];
    this.lastFix = row ?? null;
    return this.lastFix;
  }

  /**
   * The trip as its rider and driver see it now. `withPosition` adds the assigned driver's
   * latest position while the trip is active; frames that are stored or sent on leave it out.
   */
  private view(state: TripState, withPosition = true): Trip {
    const fix = withPosition && isOnTrip(state.status) ? this.fix() : null;
    return {
      id: state.id,
      riderId: state.riderId,
      driverId: state.driverId,
      status: state.status,
      pickup: state.pickup,
      dropoff: state.dropoff,
      quote: this.quote(),
      fare: state.fare,
      driverLocation: fix ? { lat: fix.lat, lng: fix.lng } : null,
      etaSec: fix ? this.eta(state, fix) : null,
      createdAt: state.createdAt,
      updatedAt: state.updatedAt,
      ...(state.cancellationFee ? { cancellationFee: state.cancellationFee } : {}),
      ...(state.cancelledBy ? { cancelledBy: state.cancelledBy } : {}),
      ...(state.fareDecision ? { fareDecision: state.fareDecision } : {}),
    };
  }

  private requireParty(state: TripState, identity: Identity): void {
    if (identity.userId !== state.riderId && identity.userId !== state.driverId)
      throw forbidden("only the trip's rider and driver may see it");
  }

  private driverStub(driverId: string) {
    return driverSession(this.env, driverId);
  }
}

function statusTripOf(event: StoredEvent): Trip | null {
  const parsed = StoredStatusFrame.safeParse(JSON.parse(event.frame));
  return parsed.success ? parsed.data.trip : null;
}
