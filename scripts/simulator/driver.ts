/**
 * @module simulator/driver
 * One simulated driver: online at a random spot, a driver channel through the SDK, a fix every
 * 2 s while roaming between random waypoints, offers accepted with the run's probability
 * (declined otherwise), and an accepted ride driven through: to the pickup, `arrived`, a short
 * wait, `start`, to the dropoff, `complete`, a trip chat message or two, and a rating.
 */
import {
  isRidewireError,
  type DriverConnection,
  type LatLng,
  type RidewireClient,
  type Trip,
  type TripConnection,
} from "@ridewire/client";
import { between, gridRoute, Mover, randomPoint } from "./city";
import { settleWithin, signUp, sleep, type SimContext } from "./context";

/** The fix period; the server takes at most 2 fixes per second from a driver. */
const FIX_EVERY_MS = 2_000;
/** A driver looks at an offer this long before answering (part of the match time). */
export const DECIDE_MS = { min: 300, max: 1_200 };
/** Time at the pickup between `arrived` and `start` (the rider getting in). */
const BOARDING_MS = { min: 1_500, max: 4_000 };

/** What the simulator reads of an offer (the `offer` frame, or the one a welcome carries). */
type Offer = { tripId: string; pickup: LatLng; dropoff: LatLng };
type State = "idle" | "deciding" | "to_pickup" | "boarding" | "to_dropoff" | "finishing";
type Ride = { id: string; pickup: LatLng; dropoff: LatLng; room: TripConnection; chats: Promise<unknown>[] };

const ENDED: ReadonlySet<string> = new Set(["completed", "cancelled", "no_driver"]);

export class SimDriver {
  api!: RidewireClient;
  userId = "";
  private channel: DriverConnection | null = null;
  private mover: Mover | null = null;
  private state: State = "idle";
  private ride: Ride | null = null;
  /** The offer being decided on, if any. */
  private offerId: string | null = null;
  private ticker: ReturnType<typeof setInterval> | null = null;
  private starter: ReturnType<typeof setTimeout> | null = null;
  private closing = false;
  private wentOnline = false;

  constructor(
    private readonly ctx: SimContext,
    readonly index: number,
  ) {}

  /** Connected and online: what the progress line counts. */
  get online(): boolean {
    return !this.closing && this.channel?.state === "open";
  }

  get busy(): boolean {
    return this.ride !== null;
  }

  async setUp(): Promise<void> {
    ({ api: this.api, userId: this.userId } = await signUp(this.ctx, "driver", this.index));
    const start = randomPoint(this.ctx.area);
    // Only a driver whose approved car has lower tiers serves more with it (README, "Tiers"); without one
    // (approval off) the flag changes nothing, and the server says so by the tiers it answers.
    await this.api.goOnline(start, { acceptLowerTiers: Math.random() < this.ctx.options.acceptLower });
    this.wentOnline = true;
    const channel = this.api.driverChannel();
    this.channel = channel;
    channel.on("offer", (offer) => this.onOffer(offer));
    channel.on("welcome", (welcome) => {
      // A reconnect brings an offer still pending with the welcome.
      if (welcome.offer && welcome.offer.tripId !== this.offerId && welcome.offer.tripId !== this.ride?.id)
        this.onOffer(welcome.offer);
    });
    channel.on("offer.expired", (frame) => {
      this.ctx.stats.offers.expired++;
      if (frame.tripId === this.offerId) this.offerId = null;
    });
    channel.on("trip", (frame) => this.onTrip(frame.trip));
    channel.on("error", (frame) => {
      // Fixes carry no id: their refusals come as error frames without one.
      if (frame.id === undefined) {
        this.ctx.stats.fixes.refused++;
        this.ctx.stats.error("location fix", frame.code);
      }
    });
    channel.on("disconnect", () => {
      if (!this.closing) this.ctx.stats.socketDrops++;
    });
    await channel.whenOpen(20_000);
    this.mover = new Mover(start, Date.now());
    // Spread the drivers' fixes over the period instead of sending them all at once.
    this.starter = setTimeout(() => {
      this.starter = null;
      this.tick();
      this.ticker = setInterval(() => this.tick(), FIX_EVERY_MS);
    }, Math.random() * FIX_EVERY_MS);
  }

  // ---- driving ------------------------------------------------------------------------------

  private speed(): number {
    const { kmh, speedup } = this.ctx.options;
    return between(kmh.min, kmh.max) * speedup;
  }

  private tick(): void {
    const mover = this.mover;
    const channel = this.channel;
    if (!mover || !channel || this.closing) return;
    const at = Date.now();
    const reached = mover.advance(at);
    if (mover.idle && this.state === "idle") mover.route([randomPoint(this.ctx.area)], this.speed());
    const fix = {
      type: "location" as const,
      lat: mover.position.lat,
      lng: mover.position.lng,
      heading: mover.heading,
      speedKmh: Math.round(mover.speedKmh * 10) / 10,
      at,
    };
    if (channel.sendVolatile(fix)) {
      this.ctx.stats.fixes.sent++;
      if (this.ride) this.ctx.stats.fixes.onTrip++;
    } else {
      this.ctx.stats.fixes.notSent++;
    }
    if (reached && this.state === "to_pickup") void this.atPickup();
    else if (reached && this.state === "to_dropoff") void this.atDropoff();
  }

  // ---- offers -------------------------------------------------------------------------------

  private onOffer(offer: Offer): void {
    const stats = this.ctx.stats;
    stats.offers.received++;
    if (this.ride || this.state !== "idle" || this.closing) {
      // The server offers only to available drivers: an offer now would be a double assignment.
      if (this.ride && offer.tripId !== this.ride.id) stats.error("offer", "offer_while_on_trip");
      if (offer.tripId !== this.ride?.id && offer.tripId !== this.offerId) void this.answer(offer.tripId, false);
      return;
    }
    this.state = "deciding";
    this.offerId = offer.tripId;
    setTimeout(
      () => {
        if (this.offerId !== offer.tripId || this.closing) {
          if (this.state === "deciding") this.state = "idle";
          return;
        }
        this.offerId = null;
        this.answer(offer.tripId, Math.random() < this.ctx.options.accept).then((accepted) => {
          if (accepted) this.drive(offer);
          else if (this.state === "deciding") this.state = "idle";
        });
      },
      between(DECIDE_MS.min, DECIDE_MS.max),
    );
  }

  /** Sends offer.accept or offer.decline; true when an accept was acknowledged. */
  private async answer(tripId: string, accept: boolean): Promise<boolean> {
    const channel = this.channel;
    if (!channel) return false;
    const stats = this.ctx.stats;
    try {
      await channel.send({ type: accept ? "offer.accept" : "offer.decline", tripId });
      if (accept) stats.offers.accepted++;
      else stats.offers.declined++;
      return accept;
    } catch (err) {
      // With batched offers (OFFER_BATCH_SIZE > 1) another driver of the batch may have accepted
      // first: the accept is a 409 (its offer.expired may not have arrived yet). Not an error.
      if (accept && isRidewireError(err) && err.code === "conflict") stats.offers.lost++;
      else stats.error(accept ? "offer.accept" : "offer.decline", err);
      return false;
    }
  }

  // ---- a ride -------------------------------------------------------------------------------

  private drive(offer: Offer): void {
    const room = this.api.tripRoom(offer.tripId);
    const ride: Ride = { id: offer.tripId, pickup: offer.pickup, dropoff: offer.dropoff, room, chats: [] };
    room.on("message", (frame) => {
      if (frame.message.userId !== this.userId) this.ctx.stats.chat.received++;
    });
    room.on("disconnect", () => {
      if (!this.closing && this.ride === ride) this.ctx.stats.socketDrops++;
    });
    this.ride = ride;
    this.state = "to_pickup";
    this.say(ride, "On my way!");
    this.mover?.route(gridRoute(this.mover.position, offer.pickup), this.speed());
  }

  private say(ride: Ride, text: string): void {
    const stats = this.ctx.stats;
    stats.chat.sent++;
    const sent = ride.room.send({ type: "message", text }).then(
      () => void stats.chat.acked++,
      (err: unknown) => stats.chatRefused("driver", err),
    );
    ride.chats.push(sent);
  }

  private async atPickup(): Promise<void> {
    const ride = this.ride;
    if (!ride) return;
    this.state = "boarding";
    try {
      await this.api.arrived(ride.id);
    } catch (err) {
      this.ctx.stats.error("arrived", err);
      return this.endRide(ride);
    }
    if (Math.random() < 0.5) this.say(ride, "I'm here, grey sedan.");
    await sleep(between(BOARDING_MS.min, BOARDING_MS.max));
    if (this.ride !== ride || this.closing) return;
    try {
      // The PIN the rider told them (SimContext's pins); a trip in an area without PINs has none.
      const pin = this.ctx.pins.get(ride.id);
      await this.api.startTrip(ride.id, pin === undefined ? {} : { pin });
      if (pin !== undefined) this.ctx.stats.pinStarts++;
    } catch (err) {
      this.ctx.stats.error("start", err);
      return this.endRide(ride);
    }
    if (this.ride !== ride) return;
    this.state = "to_dropoff";
    this.mover?.route(gridRoute(this.mover.position, ride.dropoff), this.speed());
  }

  private async atDropoff(): Promise<void> {
    const ride = this.ride;
    if (!ride) return;
    this.state = "finishing";
    try {
      await this.api.completeTrip(ride.id);
    } catch (err) {
      this.ctx.stats.error("complete", err);
      return this.endRide(ride);
    }
    // The server frees the driver with the completion: the next offer may come while rating.
    const ended = this.endRide(ride);
    try {
      await this.api.rateTrip(ride.id, { stars: Math.random() < 0.8 ? 5 : 4 });
      this.ctx.stats.ratings++;
    } catch (err) {
      this.ctx.stats.error("rating (driver)", err);
    }
    await ended;
  }

  /** The ride is over (or was taken away): its chat settles, its socket closes, back to roaming. */
  private async endRide(ride: Ride): Promise<void> {
    if (this.ride !== ride) return;
    this.ride = null;
    this.state = "idle";
    this.mover?.stop();
    await settleWithin(Promise.all(ride.chats), 5_000);
    ride.room.close();
  }

  /** A trip this driver holds changed: the rider cancelled, or it was taken back. */
  private onTrip(trip: Trip): void {
    const ride = this.ride;
    if (!ride || trip.id !== ride.id) return;
    if (ENDED.has(trip.status) && trip.status !== "completed") void this.endRide(ride);
    else if (trip.status === "matching" || (trip.driverId !== null && trip.driverId !== this.userId))
      void this.endRide(ride);
  }

  // ---- the end ------------------------------------------------------------------------------

  /**
   * The run is over: a ride under way ends here, as a real one whose rider asks to get out. A
   * rider cannot cancel once the ride started; the driver completes it and the part driven is billed.
   */
  async endRideUnderWay(): Promise<void> {
    const ride = this.ride;
    if (!ride || this.state !== "to_dropoff") return;
    this.mover?.stop();
    await this.atDropoff();
  }

  /** Stops driving, closes the trip socket, goes offline and closes the channel. */
  async shutDown(): Promise<void> {
    this.closing = true;
    if (this.starter) clearTimeout(this.starter);
    if (this.ticker) clearInterval(this.ticker);
    const ride = this.ride;
    if (ride) {
      this.ride = null;
      await settleWithin(Promise.all(ride.chats), 2_000);
      ride.room.close();
    }
    if (this.wentOnline) {
      for (let attempt = 0; ; attempt++) {
        try {
          await this.api.goOffline();
          break;
        } catch (err) {
          // 409 while the server still sees a trip: it ends as the cancellations land.
          if (attempt < 4 && isRidewireError(err) && err.code === "conflict") {
            await sleep(1_000);
            continue;
          }
          this.ctx.stats.error("offline", err);
          break;
        }
      }
    }
    this.channel?.close("simulation over");
  }
}
