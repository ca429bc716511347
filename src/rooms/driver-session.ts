/**
 * @module rooms/driver-session
 * One driver: their channel socket, availability with the reservation lock (a driver holds at
 * most one offer or one trip; reserving goes through this object alone, so two trips can
 * never get the same driver), their last location, and where that location goes next: the
 * current trip room on every fix, the geo cell on a change of cell, after CELL_REPORT_DISTANCE_M
 * of movement, or every CELL_REPORT_INTERVAL_MS.
 */
import type { Identity } from "../auth/jwt";
import { CellTracker, haversineKm, impliedSpeedKmh, type Fix } from "../domain/geo";
import type { Candidate } from "../domain/matching";
import { ApiError, conflict, forbidden, unwrap, type Result } from "../errors";
import { offerNotification } from "../notify/message";
import type { LatLng } from "../protocol/common";
import {
  DriverClientFrame,
  Offer,
  TRIP_MOVE_OF_FRAME,
  type Driver,
  type DriverStatus,
  type Trip,
  type TripMoveFrameType,
} from "../protocol/dispatch";
import { fastLocationFrame } from "../protocol/fast-frames";
import { RoomHub } from "./hub";
import { SocketGuard } from "./socket-guard";
import { geoCell, tripRoom } from "./stubs";

type DriverRow = {
  id: string;
  status: DriverStatus;
  trip_id: string | null;
  lat: number | null;
  lng: number | null;
  location_at: number | null;
  cell: string | null;
  cell_reported_at: number;
  rating: number | null;
  /** Lifetime counts, kept for the record; matching uses `recent_acceptance`. */
  offers_made: number;
  offers_accepted: number;
  /** Acceptance of recent offers: an exponentially weighted average of 1 (accepted) and 0 (declined or let expire). */
  recent_acceptance: number | null;
  disconnected_at: number | null;
  offer: string | null;
};

/**
 * The SQL that moves recent acceptance towards `x` (1 accepted, 0 not): each answer weighs 20%,
 * so the last ten or so offers decide it, and a driver's old habits fade.
 */
const RECENT_ACCEPTANCE = (x: 0 | 1) =>
  `CASE WHEN recent_acceptance IS NULL THEN ${x} ELSE recent_acceptance + 0.2 * (${x} - recent_acceptance) END`;

/**
 * How an offer reached the driver: live on the socket, waiting for a reconnect in the grace period, or (after it) by
 * notification.
 */
export type OfferDelivery = "socket" | "reconnect" | "notification";

/**
 * Older fixes are history, not a position. (Fixes more than FIX_MAX_AHEAD_MS ahead of this
 * object's clock are refused too: a future `at` would buy a driver's app room to make a jump
 * look slow.)
 */
const MAX_FIX_AGE_MS = 120_000;
/**
 * How long the newest fix may live in memory only; see `current`. A streaming driver keeps the
 * object awake, and after an eviction their next fix replaces the lost ones: the saved fix
 * only needs to be fresh enough for `reserve` (DRIVER_STALE_MS) and for the speed check.
 */
const LOCATION_SAVE_MS = 30_000;

const badFix = (message: string) => new ApiError(400, "invalid_request", message);

export class DriverSession extends RoomHub<DriverClientFrame> {
  protected readonly kind = "DriverSession";
  protected readonly clientFrames = DriverClientFrame;
  /** Locations-per-second limit of this driver across their sockets; memory only, refills after waking. */
  private locationGuard: SocketGuard | null = null;
  /**
   * The driver's row, read from SQLite once after waking and dropped by every `write`. A fix
   * updates only this copy (it is the hot path: one every few seconds per driver); SQLite gets
   * the newest one with the next cell report, the next other write, or LOCATION_SAVE_MS later.
   * An eviction in between loses at most that much of the track, which the next fix replaces.
   */
  private current: DriverRow | null = null;
  /** Whether `current` holds a fix that SQLite does not have yet. Memory only. */
  private locationDirty = false;
  /** When a fix last reached SQLite. Memory only. */
  private locationSavedAt = 0;
  /** The H3 cell of the driver's fixes, without an H3 lookup per fix. Memory only. */
  private cellTracker: CellTracker | null = null;
  /** Where the last report to the cell put the driver; null after waking, so the first fix reports. Memory only. */
  private reportedPosition: LatLng | null = null;

  protected createSchema(): void {
    this.sql.exec(`CREATE TABLE IF NOT EXISTS driver (
      id TEXT PRIMARY KEY, status TEXT NOT NULL, trip_id TEXT, lat REAL, lng REAL, location_at INTEGER,
      cell TEXT, cell_reported_at INTEGER NOT NULL DEFAULT 0, rating REAL,
      offers_made INTEGER NOT NULL DEFAULT 0, offers_accepted INTEGER NOT NULL DEFAULT 0,
      disconnected_at INTEGER, offer TEXT, recent_acceptance REAL)`);
    // Objects made before the column existed get it here (SQLite has no ADD COLUMN IF NOT EXISTS).
    const columns = this.sql.exec<{ name: string }>(`PRAGMA table_info(driver)`).toArray();
    if (!columns.some((c) => c.name === "recent_acceptance"))
      this.sql.exec(`ALTER TABLE driver ADD COLUMN recent_acceptance REAL`);
  }

  // ---- RPC ----------------------------------------------------------------------------------

  /** Creates the driver's record on first use; idempotent. */
  ensure(driverId: string, rating: number | null): Driver {
    this.openStorage();
    this.write(
      `INSERT INTO driver (id, status, rating) VALUES (?, 'offline', ?)
       ON CONFLICT (id) DO UPDATE SET rating = excluded.rating`,
      driverId,
      rating,
    );
    return this.view(this.row());
  }

  goOnline(location: LatLng): Promise<Result<Driver>> {
    return this.rpc("goOnline", () => {
      const now = Date.now();
      const row = this.row();
      // A driver just banned (see suspend) stays offline even if a Worker has not heard yet.
      const refused = this.refusalOf(row.id);
      if (refused) throw forbidden(refused);
      this.write(
        `UPDATE driver SET status = CASE WHEN status = 'offline' THEN 'available' ELSE status END,
         lat = ?, lng = ?, location_at = ?`,
        location.lat,
        location.lng,
        now,
      );
      this.reportToCell(
        {
          ...row,
          lat: location.lat,
          lng: location.lng,
          location_at: now,
          status: row.status === "offline" ? "available" : row.status,
        },
        now,
        true,
      );
      return this.view(this.row());
    });
  }

  goOffline(): Promise<Result<Driver>> {
    return this.rpc("goOffline", () => {
      const row = this.row();
      if (row.status === "on_trip") throw conflict("you are on a trip; complete or cancel it first");
      if (row.status === "offered") throw conflict("you have an open offer; accept or decline it first");
      this.leaveCell(row);
      this.write(`UPDATE driver SET status = 'offline', cell = NULL`);
      return this.view(this.row());
    });
  }

  /**
   * An operator banned this driver: offline and out of the geo index at once, holding no offer
   * and no trip. Returns what they held, for the caller to settle with the trip (decline the
   * offer; hand the trip back or end it); the trip's later `release` then finds nothing to undo.
   */
  suspend(): Promise<Result<{ offeredTripId: string | null; tripId: string | null }>> {
    return this.rpc("suspend", () => {
      const row = this.row();
      this.leaveCell(row);
      this.write(`UPDATE driver SET status = 'offline', cell = NULL, trip_id = NULL, offer = NULL`);
      return {
        offeredTripId: row.status === "offered" ? row.trip_id : null,
        tripId: row.status === "on_trip" ? row.trip_id : null,
      };
    });
  }

  get(): Promise<Result<Driver>> {
    return this.rpc("get", () => this.view(this.row()));
  }

  /** A fix posted over HTTP (a driver app on the SSE fallback): the same checks as a frame. */
  reportLocation(fix: Fix): Promise<Result<true>> {
    return this.rpc("reportLocation", () => {
      this.acceptLocation(fix);
      return true as const;
    });
  }

  /**
   * The reservation lock: succeeds only for an available driver with a fresh location, who
   * then holds this offer and nothing else until it is released or confirmed.
   */
  reserve(offer: Offer): Promise<Result<{ reserved: boolean; delivery: OfferDelivery | null }>> {
    return this.rpc("reserve", () => {
      const now = Date.now();
      const row = this.row();
      const fresh = row.location_at !== null && now - row.location_at <= this.config.DRIVER_STALE_MS;
      if (row.status !== "available" || !fresh) return { reserved: false, delivery: null };
      this.write(
        `UPDATE driver SET status = 'offered', trip_id = ?, offer = ?, offers_made = offers_made + 1, cell = NULL`,
        offer.tripId,
        JSON.stringify(offer),
      );
      this.leaveCell(row);
      const delivery = this.deliver({ type: "offer", ...offer }, row, now);
      // No live channel: the offer goes out as a notification too, behind the reply.
      if (delivery === "notification") this.notify(() => [offerNotification(row.id, offer, now)]);
      return { reserved: true, delivery };
    });
  }

  /**
   * The trip took this driver: offered → on_trip. `trip`, when given, is shown to the driver's
   * apps as the trip room now has it, whatever this session made of the move (one call where a
   * trip move would take two).
   */
  confirm(tripId: string, trip?: Trip): Promise<Result<Driver>> {
    return this.rpc("confirm", () =>
      this.thenShowing(trip, () => {
        const row = this.row();
        if (row.trip_id !== tripId || row.status === "available" || row.status === "offline")
          throw conflict("this driver holds no offer for the trip");
        if (row.status === "offered")
          this.write(
            `UPDATE driver SET status = 'on_trip', offer = NULL, offers_accepted = offers_accepted + 1,
             recent_acceptance = ${RECENT_ACCEPTANCE(1)}`,
          );
        return this.view(this.row());
      }),
    );
  }

  /**
   * The trip let go of this driver (declined, expired, cancelled or finished): available again.
   * `trip`, when given, is shown to the driver's apps as in `confirm`.
   */
  release(
    tripId: string,
    reason: "declined" | "expired" | "cancelled" | "finished",
    trip?: Trip,
  ): Promise<Result<Driver>> {
    return this.rpc("release", () =>
      this.thenShowing(trip, () => {
        const row = this.row();
        if (row.trip_id !== tripId || (row.status !== "offered" && row.status !== "on_trip")) return this.view(row);
        // A declined or unanswered offer counts against recent acceptance; a trip the rider cancelled does not.
        const answered = row.status === "offered" && (reason === "declined" || reason === "expired");
        const acceptance = answered ? `, recent_acceptance = ${RECENT_ACCEPTANCE(0)}` : "";
        this.write(`UPDATE driver SET status = 'available', trip_id = NULL, offer = NULL${acceptance}`);
        if (reason === "expired" || (reason === "cancelled" && row.status === "offered"))
          this.sendToUser(row.id, JSON.stringify({ type: "offer.expired", tripId }));
        const now = Date.now();
        this.reportToCell(this.row(), now, true);
        return this.view(this.row());
      }),
    );
  }

  /** Tells the driver's apps that the trip they hold changed. */
  tripChanged(trip: Trip): Promise<Result<boolean>> {
    return this.rpc("tripChanged", () => {
      this.showTrip(trip);
      return true;
    });
  }

  setRating(rating: number | null): Promise<Result<boolean>> {
    return this.rpc("setRating", () => {
      this.write(`UPDATE driver SET rating = ?`, rating);
      return true;
    });
  }

  // ---- hub hooks ------------------------------------------------------------------------------

  protected denySocket(identity: Identity): ApiError | null {
    return identity.userId === this.row().id ? null : forbidden("this is another driver's channel");
  }

  protected welcomeSnapshot(): object {
    const row = this.row();
    return { driver: this.view(row), ...(row.offer ? { offer: this.parseOffer(row.offer) } : {}) };
  }

  protected override onPresence(_userId: string, event: "join" | "leave"): void {
    this.write(`UPDATE driver SET disconnected_at = ?`, event === "leave" ? Date.now() : null);
  }

  protected override fastFrame(data: unknown): DriverClientFrame | undefined {
    return fastLocationFrame(data);
  }

  protected async onClientFrame(_ws: WebSocket, identity: Identity, frame: DriverClientFrame): Promise<number | null> {
    switch (frame.type) {
      case "location":
        this.acceptLocation({ lat: frame.lat, lng: frame.lng, at: frame.at });
        return null;
      case "offer.accept":
      case "offer.decline":
      case "trip.arrived":
      case "trip.start":
      case "trip.complete":
      case "trip.cancel": {
        // A retried move (same id, say after a lost ack) is acknowledged again, not sent to the
        // trip a second time, where it would find the trip already moved on.
        if (frame.id !== undefined && this.log.recall(identity.userId, frame.id)) return null;
        unwrap(await this.moveTrip(identity, frame));
        if (frame.id !== undefined && !this.log.recall(identity.userId, frame.id))
          this.log.remember(identity.userId, frame.id, null, Date.now());
        return null;
      }
      case "ping":
        return null;
    }
  }

  protected async writeBehind(): Promise<void> {
    // The driver channel stores nothing for D1.
  }

  // ---- internals ------------------------------------------------------------------------------

  private showTrip(trip: Trip | undefined): void {
    if (trip) this.sendToUser(this.row().id, JSON.stringify({ type: "trip", trip }));
  }

  /** Runs `move`, then shows `trip` even if the move was refused or failed: the trip room's word stands. */
  private thenShowing<T>(trip: Trip | undefined, move: () => T): T {
    try {
      return move();
    } finally {
      try {
        this.showTrip(trip);
      } catch (err) {
        // Never in place of the move's own error.
        this.logError("showTrip", err);
      }
    }
  }

  /** A move sent on the channel goes to the trip's own object, exactly as its HTTP route does. */
  private moveTrip(
    identity: Identity,
    frame: Extract<DriverClientFrame, { type: TripMoveFrameType }>,
  ): Promise<Result<Trip>> {
    const trip = this.tripStub(frame.tripId);
    if (frame.type === "trip.cancel") return trip.cancel(identity, frame.reason);
    return trip[TRIP_MOVE_OF_FRAME[frame.type]](identity);
  }

  private acceptLocation(fix: Fix): void {
    const now = Date.now();
    if (fix.at > now + this.config.FIX_MAX_AHEAD_MS) throw badFix("the fix is from the future; check the device clock");
    if (fix.at < now - MAX_FIX_AGE_MS) throw badFix("the fix is too old");
    this.locationGuard ??= new SocketGuard(
      {
        ratePerSecond: this.config.LOCATIONS_PER_SECOND,
        burst: this.config.LOCATIONS_PER_SECOND,
        badFramesBeforeClose: 1,
        badFrameWindowMs: 1,
      },
      now,
    );
    if (!this.locationGuard.take(now))
      throw new ApiError(429, "rate_limited", `at most ${this.config.LOCATIONS_PER_SECOND} locations per second`);
    const row = this.row();
    if (row.lat !== null && row.lng !== null && row.location_at !== null) {
      if (fix.at <= row.location_at) throw badFix("the fix is older than the last one");
      if (impliedSpeedKmh({ lat: row.lat, lng: row.lng, at: row.location_at }, fix) > this.config.MAX_SPEED_KMH) {
        throw badFix(`the fix implies more than ${this.config.MAX_SPEED_KMH} km/h; dropped as a jump`);
      }
    }
    const moved = { ...row, lat: fix.lat, lng: fix.lng, location_at: fix.at };
    this.current = moved;
    this.locationDirty = true;
    if (row.status === "on_trip" && row.trip_id) {
      this.tripStub(row.trip_id)
        .driverLocation(row.id, fix)
        .catch((err: unknown) => this.logError("forwardLocation", err));
    }
    if (row.status === "available") this.reportToCell(moved, now, false);
    if (this.locationDirty && now - this.locationSavedAt >= LOCATION_SAVE_MS) this.saveLocation(now);
  }

  /** Brings SQLite up to the newest fix held in memory. */
  private saveLocation(now: number): void {
    const row = this.current;
    if (!row || !this.locationDirty) return;
    this.sql.exec(`UPDATE driver SET lat = ?, lng = ?, location_at = ?`, row.lat, row.lng, row.location_at);
    this.locationDirty = false;
    this.locationSavedAt = now;
  }

  /** Every write but a fix's: the newest fix goes first so that re-reading the row keeps it. */
  private write(query: string, ...bindings: (string | number | null)[]): void {
    this.saveLocation(Date.now());
    this.sql.exec(query, ...bindings);
    this.current = null;
  }

  /**
   * Tells the geo index where an available driver is: on a change of cell, once they moved
   * CELL_REPORT_DISTANCE_M since the last report, and otherwise every CELL_REPORT_INTERVAL_MS
   * to stay fresh. Each report is an RPC, the costliest step of a fix, so a driver moving at
   * city speed reports every 10-20 s rather than on every fix. A change of cell (or a forced
   * report) is written at once, so that SQLite always names the cell to leave; any other
   * report only refreshes the copy in memory, and its fix reaches SQLite with the next save.
   */
  private reportToCell(row: DriverRow, now: number, force: boolean): void {
    if (row.status !== "available" || row.lat === null || row.lng === null || row.location_at === null) return;
    const point = { lat: row.lat, lng: row.lng };
    this.cellTracker ??= new CellTracker(this.config.H3_RESOLUTION);
    const cell = this.cellTracker.cellOf(point);
    const moved = cell !== row.cell;
    const due =
      force ||
      moved ||
      this.reportedPosition === null ||
      now - row.cell_reported_at >= this.config.CELL_REPORT_INTERVAL_MS ||
      haversineKm(this.reportedPosition, point) * 1000 >= this.config.CELL_REPORT_DISTANCE_M;
    if (!due) return;
    if (moved) this.leaveCell(row);
    const candidate: Candidate = {
      driverId: row.id,
      location: point,
      locationAt: row.location_at,
      rating: row.rating,
      acceptanceRate: row.recent_acceptance,
    };
    this.cellStub(cell)
      .upsertDriver(candidate)
      .catch((err: unknown) => this.logError("reportToCell", err));
    this.reportedPosition = point;
    if (this.current) this.current = { ...this.current, cell, cell_reported_at: now };
    if (!moved && !force) return;
    // One write stores the report with the fix it carried.
    this.sql.exec(
      `UPDATE driver SET cell = ?, cell_reported_at = ?, lat = ?, lng = ?, location_at = ?`,
      cell,
      now,
      row.lat,
      row.lng,
      row.location_at,
    );
    this.locationDirty = false;
    this.locationSavedAt = now;
  }

  private leaveCell(row: DriverRow): void {
    if (!row.cell) return;
    this.cellStub(row.cell)
      .removeDriver(row.id)
      .catch((err: unknown) => this.logError("leaveCell", err));
  }

  private tripStub(tripId: string) {
    return tripRoom(this.env, tripId);
  }

  private cellStub(cell: string) {
    return geoCell(this.env, cell);
  }

  private deliver(frame: object, row: DriverRow, now: number): OfferDelivery {
    if (this.sendToUser(row.id, JSON.stringify(frame)) > 0) return "socket";
    if (row.disconnected_at !== null && now - row.disconnected_at > this.config.DISCONNECT_GRACE_MS)
      return "notification";
    return row.disconnected_at === null ? "notification" : "reconnect";
  }

  private row(): DriverRow {
    if (this.current) return this.current;
    const row = this.sql.exec<DriverRow>(`SELECT * FROM driver`).toArray()[0];
    if (!row) throw new Error("driver session has no record");
    this.current = row;
    return row;
  }

  private view(row: DriverRow): Driver {
    return {
      id: row.id,
      status: row.status,
      tripId: row.trip_id,
      location: row.lat !== null && row.lng !== null ? { lat: row.lat, lng: row.lng } : null,
      locationAt: row.location_at,
      connected: this.onlineUsers().length > 0,
    };
  }

  private parseOffer(text: string): Offer {
    return Offer.parse(JSON.parse(text));
  }
}
