/**
 * @module rooms/trip-room
 * One trip's object: the shell that loads the trip, asks domain/trip to decide each move,
 * stores the outcome with its log frames, and publishes it. Its parts: the trip's rows
 * (trip-record), the driver's position and the ride's breadcrumb (trip-track), the views
 * (trip-view), the commands it builds from RPC calls, priced rides included (trip-commands),
 * the dispatch saga that finds a driver (dispatch-saga, wired in trip-dispatch), a scheduled
 * ride's hold and dispatch timers (trip-schedule) and the settlement (trip-settlement). It
 * composes the sequenced log the rider and the driver resume from and the chat log of trip
 * chat; status changes reach D1 through the log's outbox (db/trips' saveTripHistory), and its
 * messages the trip's chat shard (db/shards).
 */
import { type CancellationRecord, recordCancellations } from "../db/cancellations";
import type { CancelReason } from "../domain/cancel-reasons";
import type { Identity } from "../auth/jwt";
import { archiveMessages } from "../db/messages";
import { earlierShardDatabase, shardDatabase, shardHomes } from "../db/shards";
import { saveTripHistory } from "../db/trips";
import type { Fix } from "../domain/geo";
import {
  apply,
  fixTarget,
  isActive,
  isTerminal,
  isOnTrip,
  loggedFrames,
  openOffers,
  type TripCommand,
  type TripResult,
  type TripState,
  type TripEvent,
  type TripStatus,
} from "../domain/trip";
import { ApiError, conflict, forbidden, type Result, unwrap } from "../errors";
import {
  chatNotification,
  NOTIFIED_TRIP_STATUSES,
  type NotificationMessage,
  tripStatusNotification,
} from "../notify/message";
import { notifyLater } from "../notify/producer";
import type { Message } from "../protocol/common";
import { TripClientFrame, type Trip, type TripRoomFrame, type TripStoredFrame } from "../protocol/dispatch";
import { type LoggedChat, openLoggedChat, type PostedMessage, RoomStorage } from "./chat-log";
import { DispatchSaga, nextDispatchDeadline } from "./dispatch-saga";
import type { StoredEvent } from "./event-log";
import type { ReadableLog } from "./resume";
import { SocketHub, type WelcomeSnapshot } from "./socket-hub";
import {
  candidatesFor,
  dispatchSettings,
  driverSessions,
  RESERVING_SCHEMA,
  reservationTable,
  tellDrivers,
  type DriverReply,
  type StatusChange,
  tellPickupCell,
} from "./trip-dispatch";
import { arrivedCommand, cancelCommand, completeCommand, logFareReview, refusalError } from "./trip-commands";
import { countDispatchRequest, countTripEvents } from "./trip-metrics";
import { recordSettlement, SETTLEMENT_SCHEMA, settlePending } from "./trip-settlement";
import { createRecordSchema, type NewTripInput, TripRecord } from "./trip-record";
import { createTrackSchema, TripTrack } from "./trip-track";
import { LazyTables } from "./lazy-tables";
import { TripPin } from "./trip-pin";
import { TripShares } from "./trip-share";
import { TripDriverCards } from "./trip-driver-card";
import { ArrivalSmsTimers } from "./trip-arrival-sms";
import { riderSlot, type ScheduleLeads, scheduleMoney, TripSchedule } from "./trip-schedule";
import type { SharedTrip, StuckTrip } from "../protocol/safety";
import type { TripDriver } from "../protocol/vehicles";
import { pinRequiredAt } from "../domain/trip-pin";
import { isParty, locationFrame, newestTripOf, rateeOf, tripView } from "./trip-view";
import { type WatchdogSettings, watchdogCommand, watchdogDeadline } from "../domain/trip-watchdog";
import { opsDesk } from "./stubs";

export class TripRoom extends SocketHub<TripClientFrame, TripRoomFrame> {
  protected readonly kind = "TripRoom";
  protected readonly clientFrames = TripClientFrame;
  /**
   * A trip's connections do not write last seen: its rider and driver are not contacts, the room shows no presence,
   * and the driver is seen on their channel. Two D1 writes per trip fewer (bench/PROFILE.md).
   */
  protected override readonly lastSeen = null;
  /** The trip's log and chat, once the trip is created (chat-log's RoomStorage). */
  private readonly kept = new RoomStorage<TripStoredFrame>(
    this.ctx.storage,
    (fresh) => this.openStorage(fresh),
    "trip not found",
  );
  /** The dispatch loop, with its "a pass is running" flag; lives as long as this activation. */
  private saga: DispatchSaga | null = null;
  /** The trip's rows in SQLite; its parsed copies live as long as this activation. */
  private readonly record = new TripRecord(this.ctx.storage.sql);
  /** The driver's position and the ride's breadcrumb in SQLite; its cache lives as long as this activation. */
  private readonly track = new TripTrack(this.ctx.storage.sql);
  /** The tables below that most trips never write, made with their first row (rooms/lazy-tables.ts). */
  private readonly tables = new LazyTables(this.ctx.storage.sql);
  /** The trip's PIN and its lockout in SQLite; the PIN in memory once read. */
  private readonly pins = new TripPin(this.tables);
  /** The trip's share links and its drivers' first names in SQLite; the names in memory once read. */
  private readonly shares = new TripShares(this.tables);
  /** The reserved drivers' ratings and cars in SQLite (rooms/trip-driver-card.ts); in memory once read. */
  private readonly cards = new TripDriverCards(this.tables);
  /** The timer of the delayed arrival SMS in SQLite (rooms/trip-arrival-sms.ts); nothing in memory. */
  private readonly arrivalSms = new ArrivalSmsTimers(this.tables);
  /** A scheduled ride's hold and dispatch timers in SQLite (rooms/trip-schedule.ts); nothing in memory. */
  private readonly schedule = new TripSchedule(this.tables);
  /** `logError` for the trip's parts that log on its behalf. */
  private readonly logErrorAt = (where: string, err: unknown) => this.logError(where, err);

  /**
   * Opens the log and chat and creates the tables every trip writes (RoomStorage runs it once); the others are made
   * when first written (`tables`).
   */
  private openStorage(fresh: boolean): LoggedChat<TripStoredFrame> {
    const opened = openLoggedChat<TripStoredFrame>(
      this.ctx.storage,
      (roomId) => shardHomes(this.env, "chat", roomId),
      this.logHost((events) => this.writeBehind(events)),
      fresh,
    );
    createRecordSchema(this.sql);
    createTrackSchema(this.sql, fresh);
    this.sql.exec(RESERVING_SCHEMA);
    // The ledger postings a finished trip still owes (rooms/trip-settlement.ts).
    this.sql.exec(SETTLEMENT_SCHEMA);
    return opened;
  }

  private get sql(): SqlStorage {
    return this.ctx.storage.sql;
  }

  private get room(): LoggedChat<TripStoredFrame> {
    return this.kept.opened;
  }

  // ---- RPC ----------------------------------------------------------------------------------

  /**
   * Creates the trip in `matching` and starts looking for a driver, or, with a pickup time, in
   * `scheduled` with its timers set (rooms/trip-schedule.ts). Idempotent on the trip id.
   */
  async create(input: NewTripInput, traceId?: string): Promise<Result<Trip>> {
    this.kept.create();
    return this.tracedRpc(traceId, "create", () => {
      if (!this.record.exists()) {
        const now = Date.now();
        const state = this.transaction(() => {
          const state = this.record.insert(input, now);
          // Decided once, from the pickup: a later change of the setting leaves this trip as it was made.
          if (pinRequiredAt(this.config.SERVICE_AREAS, this.config.TRIP_PIN_REQUIRED, state.pickup)) this.pins.issue();
          if (input.scheduledAt !== undefined) this.schedule.set(input.scheduledAt, now, this.scheduleLeads());
          this.appendStatus(state);
          return state;
        });
        const scheduledStep = this.schedule.next(state);
        // A scheduled ride does nothing more until its hold is due.
        if (scheduledStep !== null) {
          this.wakeAt(scheduledStep);
          return this.riderView(state);
        }
        this.wakeAt(state.matchingStartedAt + this.config.MATCH_TIMEOUT_MS);
        countDispatchRequest(this.config, state);
        this.ctx.waitUntil(this.tellPickupCell(state, [], "created"));
        // Not awaited: the rider gets the trip at once, the first offer follows within milliseconds.
        this.ctx.waitUntil(this.dispatch());
      }
      return this.riderView(this.state());
    });
  }

  get(identity: Identity): Promise<Result<Trip>> {
    return this.rpc("get", () => {
      const state = this.state();
      this.requireParty(state, identity);
      return identity.userId === state.riderId ? this.riderView(state) : this.view(state);
    });
  }

  /**
   * `traceId` on this and the other moves: the Worker request's (src/trace.ts), for the object's logs and the
   * notifications the move queues.
   */
  accept(identity: Identity, traceId?: string): Promise<Result<Trip>> {
    return this.tracedRpc(traceId, "accept", () => {
      // The driver's first name, for the card the accepted trip shows (and a share link): kept
      // before the move, whose status frame already carries the card, and only from the driver
      // the trip offered itself to (a refused accept leaves it unused).
      // Any offer of a batch counts, not only the first one.
      if (openOffers(this.state()).some((o) => o.driverId === identity.userId))
        this.shares.rememberDriver(identity.userId, identity.name);
      return this.run({ type: "accept", driverId: identity.userId, now: Date.now() });
    });
  }

  decline(identity: Identity, traceId?: string): Promise<Result<Trip>> {
    return this.tracedRpc(traceId, "decline", () =>
      this.run({ type: "decline", driverId: identity.userId, now: Date.now() }),
    );
  }

  /**
   * `reply` "shown to driver": the caller is the driver's own session, which shows the trip it gets back to the
   * driver's apps, so the room does not tell the session again (one RPC fewer per move).
   */
  arrived(identity: Identity, reply?: DriverReply, traceId?: string): Promise<Result<Trip>> {
    // The fix is the assigned driver's own (cleared when the driver changes).
    return this.tracedRpc(traceId, "arrived", () =>
      this.run(arrivedCommand(this.config, this.state(), identity.userId, this.track.latest(), Date.now()), reply),
    );
  }

  /** Needs the trip's PIN (as the rider read it out) when the trip has one. `reply`: as in `arrived`. */
  start(identity: Identity, pin?: string, reply?: DriverReply, traceId?: string): Promise<Result<Trip>> {
    return this.tracedRpc(traceId, "start", () => {
      const state = this.state();
      const now = Date.now();
      // Anyone else hears the domain's refusal below, without spending the trip's guesses.
      if (state.driverId === identity.userId && state.status === "arrived")
        this.pins.check(pin, now, {
          maxAttempts: this.config.TRIP_PIN_MAX_ATTEMPTS,
          lockMs: this.config.TRIP_PIN_LOCK_MS,
        });
      return this.run({ type: "start", driverId: identity.userId, now }, reply);
    });
  }

  complete(identity: Identity, traceId?: string): Promise<Result<Trip>> {
    return this.tracedRpc(traceId, "complete", () => {
      const state = this.state();
      const { command, decision } = completeCommand(
        this.config,
        state,
        identity.userId,
        this.track.trace(),
        Date.now(),
      );
      const trip = this.run(command);
      logFareReview(state.id, decision);
      return trip;
    });
  }

  /** A cancel by the rider or the driver, its reason as domain/cancel-reasons reads it (the Worker checked it). */
  cancel(identity: Identity, reason: CancelReason, traceId?: string): Promise<Result<Trip>> {
    return this.tracedRpc(traceId, "cancel", () =>
      this.run(cancelCommand(this.config, this.state(), identity.userId, reason, Date.now())),
    );
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
   * An operator takes the trip from its driver (accepted or arrived: the Worker checked the role) and hands it back
   * to matching, that driver excluded, as a silent driver's trip is.
   */
  adminReassign(adminId: string, reason: string): Promise<Result<{ trip: Trip; from: TripStatus; driverId: string }>> {
    return this.rpc("adminReassign", () => {
      const before = this.state();
      const trip = this.run({ type: "admin_reassign", adminId, now: Date.now(), reason });
      // `run` refused a trip with no driver, so the driver is there.
      return { trip, from: before.status, driverId: before.driverId ?? "" };
    });
  }

  /**
   * A new share link (rider only, while the trip is active): the secret is returned this once,
   * and the trip keeps its hash. At most TRIP_SHARE_MAX_LINKS work at a time.
   */
  createShare(identity: Identity): Promise<Result<{ id: string; secret: string; expiresAt: number }>> {
    return this.rpc("createShare", async () => {
      const fresh = await this.shares.newSecret();
      // From here on synchronous: two requests at once cannot both pass the limit.
      const state = this.state();
      if (identity.userId !== state.riderId) throw forbidden("only the trip's rider may share it");
      if (!isActive(state.status) || state.status === "scheduled")
        throw conflict(`the trip is ${state.status}; there is nothing to share`);
      const now = Date.now();
      if (this.shares.liveCount(now) >= this.config.TRIP_SHARE_MAX_LINKS)
        throw conflict(`a trip has at most ${this.config.TRIP_SHARE_MAX_LINKS} share links; revoke them first`);
      return this.shares.create(fresh, now, this.config.TRIP_SHARE_TTL_MS);
    });
  }

  /** Revokes every working share link of the trip (rider only); the links answer 410 from now on. */
  revokeShares(identity: Identity): Promise<Result<{ revoked: number }>> {
    return this.rpc("revokeShares", () => {
      if (identity.userId !== this.state().riderId) throw forbidden("only the trip's rider may revoke its links");
      return { revoked: this.shares.revokeAll(Date.now()) };
    });
  }

  /**
   * The trip as a share link shows it, to anyone holding the link's secret: 404 for a secret
   * this trip never gave out, 410 `share_ended` once the link is revoked or expired or the trip
   * is over. No identity: the secret is the permission.
   */
  sharedTrip(secret: string): Promise<Result<SharedTrip>> {
    return this.rpc("sharedTrip", async () => {
      const now = Date.now();
      const link = await this.shares.lookup(secret, now);
      if (link.state === "unknown") throw new ApiError(404, "not_found", "no such share link");
      const state = this.state();
      if (link.state === "ended" || !isActive(state.status))
        throw new ApiError(
          410,
          "share_ended",
          "this share link no longer works: revoked, expired, or the trip is over",
        );
      const trip = this.view(state);
      const card = this.driverCard(state);
      return {
        status: state.status,
        driver: card === null ? null : { firstName: card.firstName, vehicle: card.vehicle },
        position: trip.driverLocation,
        etaSec: trip.etaSec,
        updatedAt: state.updatedAt,
        expiresAt: link.expiresAt,
      };
    });
  }

  /**
   * The trip's status and rider, for the service itself: the reconciliation cron, which asks every
   * trip that still holds money, and an operator's refund, which finds the charge in the rider's
   * partition. No identity, so nothing more than these two.
   */
  status(): Promise<Result<{ status: TripStatus; riderId: string }>> {
    return this.rpc("status", () => ({ status: this.state().status, riderId: this.state().riderId }));
  }

  /**
   * For the reconciliation cron: sets the alarm again for a scheduled ride's next step (now, if it
   * is overdue), in case the alarm was lost. Setting it when it is already set changes nothing.
   */
  rearmSchedule(): Promise<Result<{ status: TripStatus }>> {
    return this.rpc("rearmSchedule", async () => {
      const state = this.state();
      const next = this.schedule.next(state);
      if (next !== null) await this.wakeAtChecked(Math.max(next, Date.now()));
      return { status: state.status };
    });
  }

  /** Posts the trip's pending settlement to the ledger now (the receipt route asks before its write-behind has). */
  settle(): Promise<Result<boolean>> {
    return this.rpc("settle", () => this.settleNow());
  }

  /**
   * The assigned driver's approved photo (a document id, for the Worker to serve), to the trip's
   * parties from acceptance on; 404 when the trip has no driver or the driver no photo.
   */
  driverPhoto(identity: Identity): Promise<Result<{ driverId: string; documentId: string }>> {
    return this.rpc("driverPhoto", () => {
      const state = this.state();
      this.requireParty(state, identity);
      const documentId = state.driverId === null ? null : this.cards.photoId(state.driverId);
      if (state.driverId === null || documentId === null) throw new ApiError(404, "not_found", "no driver photo");
      return { driverId: state.driverId, documentId };
    });
  }

  /** Whether the caller is the trip's rider or its driver (403 for anyone else): who raised an SOS. */
  partyRole(identity: Identity): Promise<Result<{ role: "rider" | "driver"; status: TripStatus }>> {
    return this.rpc("partyRole", () => {
      const state = this.state();
      this.requireParty(state, identity);
      return { role: identity.userId === state.riderId ? "rider" : "driver", status: state.status };
    });
  }

  /** Who may rate whom on this trip: the rider rates the driver and the driver the rider, once it is completed. */
  rateeFor(identity: Identity): Promise<Result<{ rateeId: string; role: "rider" | "driver" }>> {
    return this.rpc("rateeFor", () => {
      const state = this.state();
      this.requireParty(state, identity);
      return rateeOf(state, identity.userId);
    });
  }

  postMessage(identity: Identity, text: string, idempotencyKey?: string, traceId?: string): Promise<Result<Message>> {
    return this.tracedRpc(traceId, "postMessage", async () => {
      const posted = this.postChat(identity, text, idempotencyKey);
      return this.room.chat.messageOf(this.state().id, posted);
    });
  }

  /**
   * Asked by a driver's session that still counts itself held by this trip when it should not be
   * (the trip refused its fix, or its offer is long past its expiry): whether the trip still has
   * the driver on it or an offer open to them. If not, the trip's release of the driver was lost,
   * and the session lets itself go. `trip` is the trip as its driver sees it, when the driver was
   * its last one (a trip another driver has taken over is not shown).
   */
  holdsDriver(driverId: string): Promise<Result<{ holds: boolean; trip: Trip | null }>> {
    return this.rpc("holdsDriver", () => {
      const state = this.state();
      if (openOffers(state).some((o) => o.driverId === driverId)) return { holds: true, trip: null };
      if (state.driverId !== driverId) return { holds: false, trip: null };
      return { holds: isOnTrip(state.status), trip: this.view(state) };
    });
  }

  /** A fix from the assigned driver's session: ETA to the rider, and the breadcrumb during the ride. */
  driverLocation(driverId: string, fix: Fix): Promise<Result<boolean>> {
    return this.rpc("driverLocation", () => {
      const state = this.state();
      const target = fixTarget(state, driverId);
      if (!target) return false;
      this.track.record(fix, Date.now(), target.breadcrumb);
      // Exact positions go to the rider only.
      this.sendToUser(state.riderId, locationFrame(state, fix, this.config.travelModel));
      return true;
    });
  }

  // ---- hub hooks ------------------------------------------------------------------------------

  protected exists(): boolean {
    return this.kept.exists;
  }

  protected override replayLog(): ReadableLog {
    return this.room.log;
  }

  protected override wakeNeeded(now: number): number | null {
    const logAt = this.kept.wakeNeeded(now);
    const smsAt = this.kept.exists ? this.arrivalSms.next() : null;
    const scheduleAt = this.kept.exists && this.record.exists() ? this.schedule.next(this.state()) : null;
    const watchdogAt = this.kept.exists && this.record.exists() ? this.watchdogDeadline() : null;
    const due = [logAt, smsAt, scheduleAt, watchdogAt].filter((t): t is number => t !== null);
    return due.length === 0 ? null : Math.min(...due);
  }

  /**
   * The outbox, then a scheduled ride's due step (its hold, the start of dispatch), then dispatch's timers (an
   * expired offer, the match timeout, the next try), then the arrival SMS, then the watchdog (a silent driver, a
   * ride that never started at the pickup).
   */
  protected override async onAlarm(now: number): Promise<number | null> {
    const retryAt = await this.room.log.onAlarm(now);
    await this.schedule.ring(
      {
        trip: () => this.state(),
        commit: (command) => this.tryRun(command).ok,
        ...scheduleMoney(this.env, () => this.state()),
        ...riderSlot(this.env, () => this.state()),
        logError: this.logErrorAt,
      },
      now,
      this.scheduleLeads(),
    );
    await this.dispatch();
    await this.arrivalSms.ring(
      {
        stillArrived: () => this.state().status === "arrived",
        riderId: () => this.state().riderId,
        riderConnected: () => this.isOnline(this.state().riderId),
        push: (seq) => tripStatusNotification(this.view(this.state(), false), seq),
        pin: () => this.pins.pin(),
        notificationLog: () => shardDatabase(this.env, "notifications", this.state().riderId),
        queue: this.env.NOTIFICATIONS,
        logError: this.logErrorAt,
      },
      now,
    );
    this.ringWatchdog(Date.now());
    const deadlines = [retryAt, nextDispatchDeadline(this.state(), Date.now(), dispatchSettings(this.config))];
    const watchdogAt = this.watchdogDeadline();
    const due = [...deadlines, this.arrivalSms.next(), this.schedule.next(this.state()), watchdogAt].filter(
      (t): t is number => t !== null,
    );
    return due.length === 0 ? null : Math.min(...due);
  }

  protected denyConnection(identity: Identity): ApiError | null {
    return isParty(this.state(), identity.userId) ? null : forbidden("only the trip's rider and driver may join");
  }

  protected welcomeSnapshot(): WelcomeSnapshot<TripRoomFrame> {
    return { trip: this.view(this.state()) };
  }

  protected override replayFloor(identity: Identity): number {
    return identity.userId === this.state().riderId ? 0 : this.record.driverFloor(identity.userId);
  }

  protected onClientFrame(_ws: WebSocket, identity: Identity, frame: TripClientFrame): number | null {
    if (frame.type === "ping") return null;
    return this.postChat(identity, frame.text, frame.id).seq;
  }

  /**
   * Trip chat: stores the message (once per id) and, when it is new and the other party has no
   * socket or stream here, queues it to them as a notification, as chat rooms do.
   */
  private postChat(identity: Identity, text: string, commandId?: string): PostedMessage {
    const state = this.state();
    // A socket opened while its user was a party may outlive that (a frame already in flight).
    this.requireParty(state, identity);
    if (isTerminal(state.status)) {
      // A retry of a message stored before the end is still answered with its seq; nothing new.
      const earlier =
        commandId === undefined ? undefined : this.room.log.commands.recall(identity.userId, "message", commandId);
      if (earlier?.seq != null) return { seq: earlier.seq };
      throw conflict(`the trip is ${state.status}; its chat is closed`);
    }
    const stored = this.room.chat.post(state.id, identity.userId, text, commandId);
    const recipient = identity.userId === state.riderId ? state.driverId : state.riderId;
    const message = stored.message;
    if (message && recipient !== null && !this.isOnline(recipient))
      this.notify(() => [chatNotification(message, recipient, identity.name)]);
    return stored;
  }

  /** Copies a batch of the log to D1 (the sequenced log's write-behind); idempotent. */
  private async writeBehind(events: StoredEvent[]): Promise<void> {
    // Before the active-trip slot is freed below, so a next request sees the hold released.
    await this.settleNow();
    // The chat goes to the trip's shard first, then the trip to its parties' shards and its end
    // to the directory database: each write idempotent, a failure of any retries them all, and a
    // trip's end (which frees the rider's slot) is written only once its messages are.
    const roomId = this.state().id;
    await archiveMessages(
      shardDatabase(this.env, "chat", roomId),
      events,
      earlierShardDatabase(this.env, "chat", roomId),
    );
    await saveTripHistory(this.env, newestTripOf(events), this.record.assignedDrivers());
  }

  // ---- watchdog -------------------------------------------------------------------------------

  private watchdogSettings(): WatchdogSettings {
    return { driverSilentMs: this.config.DRIVER_SILENT_MS, arrivedNoStartMs: this.config.ARRIVED_NO_START_MS };
  }

  /** When the watchdog must look at the trip next (domain/trip-watchdog), or null with no driver assigned. */
  private watchdogDeadline(): number | null {
    return watchdogDeadline(this.state(), this.track.lastFixAt(), this.watchdogSettings());
  }

  /** Makes the watchdog's move if one is due: a silent driver loses the trip, a ride that never started ends. */
  private ringWatchdog(now: number): void {
    const command = watchdogCommand(this.state(), this.track.lastFixAt(), now, this.watchdogSettings());
    if (command === null) return;
    const before = this.state();
    const result = this.tryRun(command);
    if (!result.ok) {
      this.logError(`watchdog.${command.type}`, new Error(result.error.message));
      return;
    }
    // Operators watching the desk see it at once; D1's cancels (recordCancels) are the record.
    const stuck: StuckTrip = {
      tripId: before.id,
      reasonCode: command.type,
      riderId: before.riderId,
      // The watchdog moves only a trip with a driver assigned (domain/trip-watchdog).
      driverId: before.driverId ?? "",
      at: result.state.updatedAt,
    };
    this.ctx.waitUntil(
      opsDesk(this.env)
        .announceStuck(stuck)
        .then((answer) => unwrap(answer))
        .catch((err) => this.logError("watchdog.announce", err)),
    );
  }

  // ---- dispatch -------------------------------------------------------------------------------

  private scheduleLeads(): ScheduleLeads {
    return {
      holdLeadMs: this.config.SCHEDULE_HOLD_LEAD_MS,
      dispatchLeadMs: this.config.SCHEDULE_DISPATCH_LEAD_MS,
      retryMs: this.config.SCHEDULE_SLOT_RETRY_MS,
    };
  }

  /** One pass of the dispatch saga (rooms/dispatch-saga.ts), with its ports bound to this trip. */
  private dispatch(): Promise<void> {
    this.saga ??= new DispatchSaga(
      {
        trip: () => this.state(),
        commit: (command) => this.tryRun(command).ok,
        candidates: candidatesFor(this.env, this.config),
        ...driverSessions(this.env, (driverId, driver) => this.cards.note(driverId, driver)),
        reservations: reservationTable(this.sql),
        now: () => Date.now(),
        wakeAt: (at) => this.wakeAt(at),
        logError: this.logErrorAt,
      },
      dispatchSettings(this.config),
    );
    return this.saga.pass();
  }

  // ---- state ------------------------------------------------------------------------------------

  /** Applies a command, stores the outcome with its frames, and runs its side effects. */
  private run(command: TripCommand, reply?: DriverReply): Trip {
    const result = this.tryRun(command, reply);
    if (!result.ok) throw refusalError(result.error);
    return this.view(result.state);
  }

  /** As `run`, with a refusal as a value (the dispatch saga's `commit`). */
  private tryRun(command: TripCommand, reply?: DriverReply): TripResult {
    const before = this.state();
    const result = apply(before, command);
    if (result.ok) this.commit(before, result.state, result.events, reply);
    return result;
  }

  private commit(before: TripState, after: TripState, events: TripEvent[], reply?: DriverReply): void {
    const stored: { seq: number; text: string }[] = [];
    let statusSeq: number | null = null;
    this.transaction(() => {
      this.record.save(after);
      // A trip that ends owes the ledger a capture, a fee or a release, stored with the status.
      recordSettlement(this.sql, after, events);
      if (before.driverId !== after.driverId) this.track.forgetDriver();
      // Started, cancelled or handed back: the arrival's SMS timer goes with the move, atomically.
      if (before.status === "arrived" && after.status !== "arrived") this.arrivalSms.clear();
      const floor = this.room.log.lastSeq;
      for (const frame of loggedFrames(before, after)) {
        if (frame === "status") {
          const status = this.appendStatus(after);
          stored.push(status);
          statusSeq = status.seq;
        } else if (after.fare) {
          const fare = after.fare;
          stored.push(this.room.log.append((seq) => ({ type: "fare", seq, fare })));
        }
      }
      // A newly assigned driver reads the trip from their own assignment on: not the rider's
      // chat with a driver who handed the trip back.
      if (after.driverId !== null && before.driverId !== after.driverId) {
        this.record.setDriverFloor(after.driverId, floor);
      }
    });
    for (const event of stored) this.publish(event);
    countTripEvents(this.env.METRICS, this.config, before, after, events);
    if (statusSeq !== null) this.notifyRider(after, statusSeq);
    // A driver assigned or arrived: the watchdog's deadline (fixes only move it later, and the alarm finds that).
    if (before.status !== after.status) {
      const watchdogAt = this.watchdogDeadline();
      if (watchdogAt !== null) this.wakeAt(watchdogAt);
    }
    // A scheduled ride becomes demand at the pickup when its dispatch starts, as a request for now does when made.
    const change = events.some((e) => e.type === "dispatch_started")
      ? "created"
      : statusSeq !== null
        ? "changed"
        : "none";
    this.ctx.waitUntil(this.tellPickupCell(after, events, change));
    // The room is the rider's and the assigned driver's: one who hands the trip back leaves it,
    // after seeing their own move, before the rider's chat or the next driver's position.
    for (const event of events)
      if (event.type === "driver_cancelled")
        this.disconnectUser(event.driverId, "you are no longer this trip's driver");
    if (!isActive(after.status)) this.track.dropCache();
    this.ctx.waitUntil(this.recordCancels(events));
    this.ctx.waitUntil(this.sideEffects(after, events, reply === "shown to driver"));
  }

  /** One SQLite transaction; a rollback also drops the record's copy in memory, which may be ahead of SQLite. */
  private transaction<T>(write: () => T): T {
    try {
      return this.ctx.storage.transactionSync(write);
    } catch (err) {
      // What the rolled-back writes may have left in memory ahead of SQLite.
      this.record.forget();
      this.tables.forget();
      this.cards.forget();
      this.shares.forget();
      throw err;
    }
  }

  /** Behind the reply: see trip-dispatch's `tellPickupCell`. */
  private tellPickupCell(state: TripState, events: readonly TripEvent[], change: StatusChange): Promise<void> {
    return tellPickupCell(this.env, this.config, state, events, change, this.logErrorAt);
  }

  /**
   * A rider with no socket here hears of the moves that matter through the notifications queue.
   * An arrival also sets the timer of its SMS, for when no app acknowledges the push.
   */
  private notifyRider(state: TripState, seq: number): void {
    if (!NOTIFIED_TRIP_STATUSES.has(state.status) || this.isOnline(state.riderId)) return;
    this.notify(() => [tripStatusNotification(this.view(state, false), seq)]);
    if (state.status === "arrived")
      this.wakeAt(this.arrivalSms.set(seq, Date.now(), this.config.ARRIVED_SMS_AFTER_SECONDS));
  }

  /** Queues notifications behind the reply (notify/producer's `notifyLater`). */
  private notify(build: () => readonly NotificationMessage[]): void {
    notifyLater(this.ctx, this.env.NOTIFICATIONS, build, (err) => this.logError("notify", err));
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
    return this.room.log.append((seq) => ({ type: "status", seq, trip }), delayMs);
  }

  /** Tells drivers' sessions what the trip decided, then looks for the next driver if it needs one. */
  /** Behind the reply: each cancel with its reason for operators (db/cancellations); a retry records nothing twice. */
  private async recordCancels(events: readonly TripEvent[]): Promise<void> {
    const tripId = this.state().id;
    const rows: CancellationRecord[] = [];
    for (const e of events) {
      // A scheduled ride the service ended is no one's cancel: the rider hears of it, operators need not. A ride the
      // watchdog ended at the pickup is a stuck trip: operators see it.
      if (e.type === "cancelled" && (e.by !== "system" || e.reasonCode === "arrived_no_start"))
        rows.push({
          tripId,
          by: e.by,
          userId: e.userId,
          reasonCode: e.reasonCode,
          note: e.reason,
          fee: e.cancellationFee?.amount ?? null,
          at: e.at,
        });
      else if (e.type === "driver_cancelled")
        rows.push({
          tripId,
          by: e.by ?? "driver",
          userId: e.driverId,
          reasonCode: e.reasonCode,
          note: e.reason,
          fee: null,
          at: e.at,
        });
    }
    await recordCancellations(this.env.DB, rows).catch((err) => this.logError("recordCancels", err));
  }

  private async sideEffects(state: TripState, events: TripEvent[], driverSawReply: boolean): Promise<void> {
    await tellDrivers(this.env, state, this.view(state), events, driverSawReply, this.logErrorAt);
    if (state.status === "matching" && events.some((e) => e.type !== "offered")) await this.dispatch();
  }

  private async settleNow(): Promise<boolean> {
    return settlePending(this.sql, this.env, this.config, this.ctx, (err) => this.logError("settle", err));
  }

  private state(): TripState {
    return this.record.state();
  }

  /**
   * The trip as its rider and driver see it now. `withPosition` adds the assigned driver's
   * latest position while the trip is active; frames that are stored or sent on leave it out.
   */
  private view(state: TripState, withPosition = true): Trip {
    const driverAt = withPosition && isOnTrip(state.status) ? this.track.latest() : null;
    return tripView(state, this.record.quote(), driverAt, this.config.travelModel, this.driverCard(state));
  }

  /** The assigned driver's card (rooms/trip-driver-card.ts); null before acceptance and after a hand-back. */
  private driverCard(state: TripState): TripDriver | null {
    if (state.driverId === null) return null;
    return this.cards.card(state.driverId, this.shares.driverFirstName(state.driverId) ?? "Your driver");
  }

  /** The trip as its rider sees it: with the PIN they read out to the driver, until the ride starts. */
  private riderView(state: TripState): Trip {
    const trip = this.view(state);
    const pin = this.pins.pin();
    const beforeRide = state.status === "matching" || state.status === "accepted" || state.status === "arrived";
    return pin !== null && beforeRide ? { ...trip, pin } : trip;
  }

  private requireParty(state: TripState, identity: Identity): void {
    if (!isParty(state, identity.userId)) throw forbidden("only the trip's rider and driver may see it");
  }
}
