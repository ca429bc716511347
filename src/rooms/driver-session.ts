/**
 * @module rooms/driver-session
 * One driver: their channel socket, availability with the reservation lock (a driver holds at
 * most one offer or one trip; reserving goes through this object alone, so two trips can
 * never get the same driver), the offers they are shown, their last location, and where that
 * location goes next: the current trip room on every fix, the geo cell when rooms/driver-location
 * says a report is due.
 */
import { cancelReasonOf, DriverCancelBody } from "../domain/cancel-reasons";
import type { Identity } from "../auth/jwt";
import type { Fix } from "../domain/geo";
import { type ApiError, badRequest, conflict, forbidden, unwrap, type Result } from "../errors";
import { offerNotification } from "../notify/message";
import { notifyLater } from "../notify/producer";
import type { LatLng } from "../protocol/common";
import {
  DriverClientFrame,
  Offer,
  type DriverChannelFrame,
  TRIP_MOVE_OF_FRAME,
  type Driver,
  type Trip,
  type TripMoveFrameType,
} from "../protocol/dispatch";
import { approvalRequiredAt } from "../domain/driver-approval";
import { CellReporter, FixIntake } from "./driver-location";
import {
  candidateOf,
  vehicleTierOf,
  createDriverSchema,
  DriverRecord,
  type DriverRow,
  driverView,
  lastFixOf,
  RECENT_ACCEPTANCE,
  type DriverProfile,
  type ReservedDriver,
  reservedProfileOf,
} from "./driver-record";
import { Commands } from "./commands";
import { fastLocationFrame } from "../protocol/fast-frames";
import { SocketHub, type WelcomeSnapshot } from "./socket-hub";
import { tripRoom } from "./stubs";
import { logJson } from "../log";
import { tiersServed } from "../domain/tiers";
import type { DriverTiers } from "../protocol/dispatch";

/**
 * How an offer reached the driver: live on the socket, waiting for a reconnect in the grace period, or (after it) by
 * notification.
 */
export type OfferDelivery = "socket" | "reconnect" | "notification";

/**
 * How long past its expiry an offer the driver still holds waits before the session asks its trip
 * whether the offer is still open (the trip's own release of the driver may have been lost), and
 * how often it asks again while the trip says it is.
 */
const STALE_OFFER_MS = 30_000;

export class DriverSession extends SocketHub<DriverClientFrame, DriverChannelFrame> {
  protected readonly kind = "DriverSession";
  protected readonly clientFrames = DriverClientFrame;
  /**
   * The trip moves sent on the channel, applied once per frame id; null until the driver's
   * record exists. The channel keeps no log: what it shows is the driver's state, sent afresh.
   */
  private commands: Commands | null = null;
  /** Which fixes this driver's session takes; its rate limit lives in memory and refills after waking. */
  private readonly fixes = new FixIntake(this.config);
  /** When the driver's position goes to the geo index; memory only, so the first fix after waking reports. */
  private readonly cells = new CellReporter(this.env, this.config, (where, err) => this.logError(where, err));
  /** The driver's row; its copy in memory (with the newest fix) lives as long as this activation. */
  private readonly record = new DriverRecord(this.ctx.storage.sql);
  /** When the trip of an offer long past its expiry was last asked whether it still holds the driver. */
  private staleOfferAskedAt = Number.NEGATIVE_INFINITY;
  /** Channel moves sent to the trip and not yet answered, by user and frame id. Memory only. */
  private readonly movesInFlight = new Map<string, Promise<void>>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const created =
      ctx.storage.sql.exec(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'driver'`).toArray().length > 0;
    if (created) this.open();
  }

  /** Creates the driver's tables if needed; idempotent. */
  private open(): Commands {
    if (this.commands) return this.commands;
    createDriverSchema(this.ctx.storage.sql);
    this.commands = new Commands(this.ctx.storage);
    return this.commands;
  }

  // ---- RPC ----------------------------------------------------------------------------------

  /** Creates the driver's record on first use; idempotent. */
  ensure(driverId: string, rating: number | null): Driver {
    this.open();
    this.record.write(
      `INSERT INTO driver (id, status, rating) VALUES (?, 'offline', ?)
       ON CONFLICT (id) DO UPDATE SET rating = excluded.rating`,
      driverId,
      rating,
    );
    return this.view(this.record.row());
  }

  /**
   * `profile`: the approved vehicle and photo the Worker found for the driver (null: none), kept
   * for the trips that reserve them; left as it was when not given (an older caller). `acceptLowerTiers`: whether
   * they also take the lower tiers their vehicle's tier accepts (README, "Tiers"); each going online says it anew.
   */
  goOnline(location: LatLng, profile?: DriverProfile, acceptLowerTiers = false): Promise<Result<Driver>> {
    return this.rpc("goOnline", () => {
      const now = Date.now();
      const row = this.record.row();
      // A driver just banned (see suspend) stays offline even if a Worker has not heard yet.
      const refused = this.refusalOf(row.id);
      if (refused) throw forbidden(refused);
      this.record.write(
        `UPDATE driver SET status = CASE WHEN status = 'offline' THEN 'available' ELSE status END,
         lat = ?, lng = ?, location_at = ?, accept_lower_tiers = ?`,
        location.lat,
        location.lng,
        now,
        acceptLowerTiers ? 1 : 0,
      );
      if (profile) this.keepProfile(profile);
      this.reportToCell(
        {
          ...row,
          lat: location.lat,
          lng: location.lng,
          location_at: now,
          status: row.status === "offline" ? "available" : row.status,
          accept_lower_tiers: acceptLowerTiers ? 1 : 0,
          ...(profile ? { vehicle: profile.vehicle === null ? null : JSON.stringify(profile.vehicle) } : {}),
        },
        now,
        true,
      );
      return this.view(this.record.row());
    });
  }

  goOffline(): Promise<Result<Driver>> {
    return this.rpc("goOffline", () => {
      const row = this.record.row();
      if (row.status === "on_trip") throw conflict("you are on a trip; complete or cancel it first");
      if (row.status === "offered") throw conflict("you have an open offer; accept or decline it first");
      this.leaveCell(row);
      this.record.write(`UPDATE driver SET status = 'offline', cell = NULL`);
      return this.view(this.record.row());
    });
  }

  /**
   * An operator banned this driver: offline and out of the geo index at once, holding no offer
   * and no trip. Returns what they held, for the caller to settle with the trip (decline the
   * offer; hand the trip back or end it); the trip's later `release` then finds nothing to undo.
   */
  suspend(): Promise<Result<{ offeredTripId: string | null; tripId: string | null }>> {
    return this.rpc("suspend", () => {
      const row = this.record.row();
      this.leaveCell(row);
      this.record.write(`UPDATE driver SET status = 'offline', cell = NULL, trip_id = NULL, offer = NULL`);
      return {
        offeredTripId: row.status === "offered" ? row.trip_id : null,
        tripId: row.status === "on_trip" ? row.trip_id : null,
      };
    });
  }

  /**
   * An operator's review changed what the driver may drive (the Worker read it from D1):
   * `profile` is the car and photo trips reserving the driver show from now on; a driver no longer
   * `approved` who is available where approval is required goes offline, as going online there
   * would now be refused. One holding an offer or on a trip keeps it; the next going online is
   * refused.
   */
  approvalChanged(profile: DriverProfile, approved: boolean): Promise<Result<Driver>> {
    return this.rpc("approvalChanged", () => {
      const row = this.record.row();
      this.keepProfile(profile);
      const at = lastFixOf(row);
      const required =
        at !== null && approvalRequiredAt(this.config.SERVICE_AREAS, this.config.DRIVER_APPROVAL_REQUIRED, at);
      if (!approved && required && row.status === "available") {
        this.leaveCell(row);
        this.record.write(`UPDATE driver SET status = 'offline', cell = NULL`);
      }
      return this.view(this.record.row());
    });
  }

  get(): Promise<Result<Driver>> {
    return this.rpc("get", () => this.view(this.record.row()));
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
   * then holds this trip and nothing else until it is released or confirmed. The driver sees
   * nothing yet: the trip records its offer first, then asks `showOffer`. A reserved driver's
   * rating and car come with the answer, for the trip to show its rider once they accept: the
   * trip needs no read of its own for them.
   */
  reserve(tripId: string): Promise<Result<{ reserved: false } | { reserved: true; driver: ReservedDriver }>> {
    return this.rpc("reserve", () => {
      const row = this.record.row();
      const fresh = row.location_at !== null && Date.now() - row.location_at <= this.config.DRIVER_STALE_MS;
      if (row.status !== "available" || !fresh) return { reserved: false as const };
      this.record.write(`UPDATE driver SET status = 'offered', trip_id = ?, offer = NULL, cell = NULL`, tripId);
      this.leaveCell(row);
      return { reserved: true as const, driver: reservedProfileOf(row) };
    });
  }

  /**
   * Shows the driver an offer their trip has recorded: live on the socket, at the reconnect
   * within the grace period, or as a notification. Shown once, and only while this session
   * still holds the driver for that trip and the offer is open: an offer whose trip let go of
   * the driver meanwhile is never shown (`delivery` null).
   */
  showOffer(offer: Offer, traceId?: string): Promise<Result<{ delivery: OfferDelivery | null }>> {
    return this.tracedRpc(traceId, "showOffer", () => {
      const now = Date.now();
      const row = this.record.row();
      const held = row.status === "offered" && row.trip_id === offer.tripId && row.offer === null;
      if (!held || now >= offer.expiresAt) return { delivery: null };
      this.record.write(`UPDATE driver SET offer = ?, offers_made = offers_made + 1`, JSON.stringify(offer));
      const delivery = this.deliver({ type: "offer", ...offer }, row, now);
      // No live channel: the offer goes out as a notification too, behind the reply.
      if (delivery === "notification")
        notifyLater(
          this.ctx,
          this.env.NOTIFICATIONS,
          () => [offerNotification(row.id, offer, now)],
          (err) => this.logError("notify", err),
        );
      return { delivery };
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
        const row = this.record.row();
        if (row.trip_id !== tripId || row.status === "available" || row.status === "offline")
          throw conflict("this driver holds no offer for the trip");
        if (row.status === "offered")
          this.record.write(
            `UPDATE driver SET status = 'on_trip', offer = NULL, offers_accepted = offers_accepted + 1,
             recent_acceptance = ${RECENT_ACCEPTANCE(1)}`,
          );
        return this.view(this.record.row());
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
        const row = this.record.row();
        if (row.trip_id !== tripId || (row.status !== "offered" && row.status !== "on_trip")) return this.view(row);
        // An offer the driver saw and declined or let expire counts against recent acceptance; a
        // trip the rider cancelled does not, nor an offer never shown (its pass was cut short).
        const shown = row.status === "offered" && row.offer !== null;
        const answered = shown && (reason === "declined" || reason === "expired");
        const acceptance = answered ? `, recent_acceptance = ${RECENT_ACCEPTANCE(0)}` : "";
        this.record.write(`UPDATE driver SET status = 'available', trip_id = NULL, offer = NULL${acceptance}`);
        if (shown && (reason === "expired" || reason === "cancelled"))
          this.sendToUser(row.id, { type: "offer.expired", tripId });
        const now = Date.now();
        this.reportToCell(this.record.row(), now, true);
        return this.view(this.record.row());
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

  /**
   * Whether the driver also takes the lower tiers their vehicle's tier accepts (README, "Tiers"), until they next go
   * online; an available driver's cell hears of it at once. Answers the tiers they now serve.
   */
  setAcceptLowerTiers(accept: boolean): Promise<Result<DriverTiers>> {
    return this.rpc("setAcceptLowerTiers", () => {
      this.record.write(`UPDATE driver SET accept_lower_tiers = ?`, accept ? 1 : 0);
      const row = this.record.row();
      this.reportToCell(row, Date.now(), true);
      return { acceptLowerTiers: accept, serves: tiersServed(this.config.TIERS, vehicleTierOf(row), accept) };
    });
  }

  setRating(rating: number | null): Promise<Result<boolean>> {
    return this.rpc("setRating", () => {
      this.record.write(`UPDATE driver SET rating = ?`, rating);
      return true;
    });
  }

  // ---- hub hooks ------------------------------------------------------------------------------

  protected exists(): boolean {
    return this.commands !== null;
  }

  protected override async onAlarm(now: number): Promise<number | null> {
    this.commands?.sweep(now);
    return null;
  }

  protected denyConnection(identity: Identity): ApiError | null {
    return identity.userId === this.record.row().id ? null : forbidden("this is another driver's channel");
  }

  protected welcomeSnapshot(): WelcomeSnapshot<DriverChannelFrame> {
    const row = this.record.row();
    return { driver: this.view(row), ...(row.offer ? { offer: Offer.parse(JSON.parse(row.offer)) } : {}) };
  }

  protected override onPresence(_userId: string, event: "join" | "leave"): void {
    this.record.write(`UPDATE driver SET disconnected_at = ?`, event === "leave" ? Date.now() : null);
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
        const commands = this.open();
        if (frame.id !== undefined && commands.recall(identity.userId, "move", frame.id)) return null;
        // A retry that arrives while its first copy is still at the trip (the trip's RPC lets other frames in)
        // waits for that copy's outcome instead of sending the move again.
        const key = frame.id === undefined ? undefined : `${identity.userId}\n${frame.id}`;
        const pending = key === undefined ? undefined : this.movesInFlight.get(key);
        if (pending) {
          await pending;
          return null;
        }
        const move = (async () => {
          const trip = unwrap(await this.moveTrip(identity, frame));
          // The trip room leaves an arrival or a start it got from here for this session to show.
          if (frame.type === "trip.arrived" || frame.type === "trip.start") this.showTrip(trip);
          if (frame.id !== undefined) commands.remember(identity.userId, "move", frame.id, null, Date.now());
        })();
        if (key === undefined) {
          await move;
          return null;
        }
        this.movesInFlight.set(key, move);
        try {
          await move;
        } finally {
          this.movesInFlight.delete(key);
        }
        return null;
      }
      case "ping":
        return null;
    }
  }

  // ---- internals ------------------------------------------------------------------------------

  private keepProfile(profile: DriverProfile): void {
    const vehicle = profile.vehicle === null ? null : JSON.stringify(profile.vehicle);
    this.record.write(`UPDATE driver SET vehicle = ?, photo_id = ?`, vehicle, profile.photoId);
  }

  private showTrip(trip: Trip | undefined): void {
    if (trip) this.sendToUser(this.record.row().id, { type: "trip", trip });
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
    const trip = tripRoom(this.env, frame.tripId);
    if (frame.type === "trip.cancel") {
      // The frame's fields are checked one by one at intake; how they go together (a note for `other`) here.
      const body = DriverCancelBody.safeParse(frame);
      if (!body.success) throw badRequest("invalid cancel reason", body.error.issues);
      return trip.cancel(identity, cancelReasonOf(body.data));
    }
    if (frame.type === "trip.start") return trip.start(identity, frame.pin, "shown to driver");
    if (frame.type === "trip.arrived") return trip.arrived(identity, "shown to driver");
    return trip[TRIP_MOVE_OF_FRAME[frame.type]](identity);
  }

  private acceptLocation(fix: Fix): void {
    const now = Date.now();
    const row = this.record.row();
    this.fixes.check(fix, lastFixOf(row), now);
    const moved = this.record.holdFix(fix);
    if (row.status === "on_trip" && row.trip_id) {
      const tripId = row.trip_id;
      tripRoom(this.env, tripId)
        .driverLocation(row.id, fix)
        .then((taken) => {
          if (taken.ok && !taken.value) return this.catchUpWithTrip(tripId, "finished");
        })
        .catch((err: unknown) => this.logError("forwardLocation", err));
    }
    if (row.status === "offered" && row.trip_id && this.offerLapsed(row, now)) {
      this.staleOfferAskedAt = now;
      // "cancelled": the driver may not have let it lapse (their trip may have been called off), so it does not count
      // against their acceptance; their apps see offer.expired.
      this.catchUpWithTrip(row.trip_id, "cancelled").catch((err: unknown) => this.logError("staleOffer", err));
    }
    if (row.status === "available") this.reportToCell(moved, now, false);
    this.record.saveLocationIfDue(now);
  }

  /**
   * This session counts the driver held by `tripId` when it should not (the trip refused their
   * fix, or their offer is long past its expiry): the trip's release or confirm never arrived (an
   * RPC that failed is logged, not retried), and without this the driver would stay `on_trip` or
   * `offered` for good, offered nothing. The trip is asked. One that no longer has the driver lets
   * them go; one that has them on the trip puts them on it. `release` and `confirm` check again
   * what the session holds, so one that did arrive meanwhile makes this a no-op.
   */
  private async catchUpWithTrip(tripId: string, reason: "finished" | "cancelled"): Promise<void> {
    const row = this.record.row();
    const asked = unwrap(await tripRoom(this.env, tripId).holdsDriver(row.id));
    if (asked.holds) {
      // The trip has the driver on it and this session missed its confirm (lost the same way): take it now,
      // so that their fixes reach the rider again.
      if (asked.trip && this.record.row().status === "offered") unwrap(await this.confirm(tripId, asked.trip));
      return;
    }
    logJson("warn", { where: "driver-session", reason: "the trip had let the driver go; released", tripId });
    unwrap(await this.release(tripId, reason, asked.trip ?? undefined));
  }

  /**
   * Whether the offer this driver holds is STALE_OFFER_MS past its expiry, when its trip should
   * long since have let them go, and the trip has not been asked within that long.
   */
  private offerLapsed(row: DriverRow, now: number): boolean {
    if (row.offer === null || now - this.staleOfferAskedAt < STALE_OFFER_MS) return false;
    return now > Offer.parse(JSON.parse(row.offer)).expiresAt + STALE_OFFER_MS;
  }

  /** Reports an available driver to the geo index when a report is due (rooms/driver-location's CellReporter). */
  private reportToCell(row: DriverRow, now: number, force: boolean): void {
    const located = candidateOf(row);
    if (row.status !== "available" || !located) return;
    // The geo index keeps the tiers apart: each cell filters its drivers by the tier a search asks for.
    const driver = {
      ...located,
      tiers: tiersServed(this.config.TIERS, vehicleTierOf(row), row.accept_lower_tiers === 1),
    };
    const report = this.cells.report(driver, { cell: row.cell, at: row.cell_reported_at }, now, force);
    if (report) this.record.noteCellReport(row, report.cell, now, report.store);
  }

  private leaveCell(row: DriverRow): void {
    this.cells.leave(row.id, row.cell);
  }

  private deliver(frame: DriverChannelFrame, row: DriverRow, now: number): OfferDelivery {
    if (this.sendToUser(row.id, frame) > 0) return "socket";
    if (row.disconnected_at !== null && now - row.disconnected_at > this.config.DISCONNECT_GRACE_MS)
      return "notification";
    return row.disconnected_at === null ? "notification" : "reconnect";
  }

  private view(row: DriverRow): Driver {
    return driverView(row, this.onlineUsers().length > 0);
  }
}
