/**
 * @module simulator/rider
 * One simulated rider: a wallet topped up through the sandbox provider (a trip holds its fare,
 * 402 otherwise), then rides in a loop: a random wait, a quote from a random pickup to a
 * dropoff some km away, the request, and the trip socket followed to the end, timing the match
 * and every location fix that reaches it, chatting with the driver, rating them and sometimes
 * tipping (simulator/tips.ts). A share of riders (`--scheduled`) first books a ride
 * `--schedule-lead` seconds ahead and follows it the same way, its match timed from the moment
 * the service starts dispatching it.
 */
import { isRidewireError, type Quote, type RidewireClient, type Trip, type TripConnection } from "@ridewire/client";
import { between, pointAway, randomPoint } from "./city";
import { settleWithin, signUp, type SimContext } from "./context";
import { tipAfterRide } from "./tips";

/**
 * The quote a rider requests: the default tier's (the first) mostly; with probability `upgrade`
 * another tier, but only one quoted with a pickup ETA (a driver who serves it is near). Where
 * approval is off drivers have no car and serve only the default tier, so no other tier comes
 * back with an ETA and every ride is the default tier's: honest, rather than a request that
 * would find nobody.
 */
export function pickTier(quotes: readonly Quote[], upgrade: number, random = Math.random): Quote {
  const [first] = quotes;
  if (!first) throw new Error("the quote answered no tier");
  const others = quotes.slice(1).filter((q) => q.pickupEtaSec !== null);
  if (others.length === 0 || random() >= upgrade) return first;
  return others[Math.floor(random() * others.length)] ?? first;
}

/** The sandbox provider's largest top-up (TOP_UP_MAX_MINOR), in minor units. */
const TOP_UP_MINOR = 50_000;

type Open = {
  trip: Trip;
  room: TripConnection;
  /** When matching began: the request, or for a scheduled ride the moment it left `scheduled`. */
  sentAt: number;
  scheduled: boolean;
  matched: boolean;
  chats: Promise<unknown>[];
  done: (status: string) => void;
  ended: Promise<string>;
};

export class SimRider {
  api!: RidewireClient;
  userId = "";
  private currency = "USD";
  private open: Open | null = null;
  /** Wakes the rider from its wait between rides when the run moves on. */
  private wake: (() => void) | null = null;

  constructor(
    private readonly ctx: SimContext,
    readonly index: number,
  ) {}

  /** A ride in flight; a scheduled ride still waiting for its dispatch is not one (the end cancels it). */
  get riding(): boolean {
    return this.open !== null && this.open.trip.status !== "scheduled";
  }

  async setUp(): Promise<void> {
    ({ api: this.api, userId: this.userId } = await signUp(this.ctx, "rider", this.index));
    await this.topUp();
  }

  private async topUp(): Promise<void> {
    await this.api.topUp({ amount: { amount: TOP_UP_MINOR, currency: this.currency } });
  }

  /** Rides until the run stops taking requests. */
  async run(): Promise<void> {
    const { idle, scheduled } = this.ctx.options;
    if (Math.random() < scheduled) await this.ride(true);
    while (this.ctx.phase === "running") {
      await this.wait(between(idle.min, idle.max) * 1000);
      if (this.ctx.phase !== "running") return;
      await this.ride();
    }
  }

  /** Ends the wait between rides now (the run is over). */
  interrupt(): void {
    this.wake?.();
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
    });
  }

  private async ride(scheduled = false): Promise<void> {
    const { stats, area, options } = this.ctx;
    const pickup = randomPoint(area);
    // Skewed towards short rides, as a city's are: a third of the way into the range on average.
    const km = options.tripKm.min + (options.tripKm.max - options.tripKm.min) * Math.random() ** 2;
    const dropoff = pointAway(pickup, km, area);
    let quote: Quote;
    try {
      quote = pickTier(await this.api.quotes({ pickup, dropoff }), options.upgrade);
      this.currency = quote.fare.currency;
    } catch (err) {
      return stats.error("quote", err);
    }
    const quoteId = quote.id;
    stats.trips.requested++;
    stats.countTier(quote.tier);
    const sentAt = Date.now();
    const scheduledAt = scheduled ? sentAt + options.scheduleLead * 1000 : undefined;
    let trip: Trip;
    try {
      trip = await this.requestTrip(quoteId, scheduledAt);
    } catch (err) {
      return stats.error(scheduled ? "schedule trip" : "request trip", err);
    }
    stats.trips.created++;
    if (scheduled) stats.scheduled.booked++;
    // Told to the driver at the pickup (see SimContext's pins).
    if (trip.pin) this.ctx.pins.set(trip.id, trip.pin);
    try {
      await this.follow(trip, sentAt);
    } finally {
      this.ctx.pins.delete(trip.id);
    }
  }

  /** POST /v1/trips; once the wallet runs short (402), it is topped up and the request sent again. */
  private async requestTrip(quoteId: string, scheduledAt: number | undefined): Promise<Trip> {
    const body = scheduledAt === undefined ? { quoteId } : { quoteId, scheduledAt };
    try {
      return await this.api.requestTrip(body);
    } catch (err) {
      if (!isRidewireError(err) || err.code !== "insufficient_funds") throw err;
      await this.topUp();
      return await this.api.requestTrip(body);
    }
  }

  /** Watches the trip on its socket until it ends. */
  private async follow(trip: Trip, sentAt: number): Promise<void> {
    const { stats } = this.ctx;
    // From seq 0: a status stored before the socket opened is replayed, not missed.
    const room = this.api.tripRoom(trip.id, { since: 0 });
    let done!: (status: string) => void;
    const ended = new Promise<string>((resolve) => (done = resolve));
    const scheduled = trip.status === "scheduled";
    const open: Open = { trip, room, sentAt, scheduled, matched: false, chats: [], done, ended };
    this.open = open;
    let finished = false;
    const onStatus = (current: Trip) => {
      // A scheduled ride's match is timed from its dispatch, not from the booking.
      if (open.trip.status === "scheduled" && current.status !== "scheduled") {
        open.sentAt = Date.now();
        if (!this.ctx.pins.has(trip.id)) void this.learnPin(trip.id);
      }
      open.trip = current;
      if (
        !open.matched &&
        current.driverId !== null &&
        current.status !== "matching" &&
        current.status !== "scheduled"
      ) {
        open.matched = true;
        stats.trips.matched++;
        if (scheduled) stats.scheduled.matched++;
        stats.matchMs.push(Date.now() - open.sentAt);
        this.say(open, Math.random() < 0.5 ? "Hi! I'm at the pickup." : "Hello, see you soon.");
      }
      if (
        !finished &&
        (current.status === "completed" || current.status === "cancelled" || current.status === "no_driver")
      ) {
        finished = true;
        done(current.status);
      }
    };
    room.on("welcome", (frame) => onStatus(frame.trip));
    room.on("status", (frame) => onStatus(frame.trip));
    room.on("location", (frame) => stats.locationMs.push(Date.now() - frame.at));
    room.on("message", (frame) => {
      if (frame.message.userId !== this.userId) stats.chat.received++;
    });
    room.on("disconnect", () => {
      if (this.ctx.phase !== "ending") stats.socketDrops++;
    });

    const status = await ended;
    if (status === "completed") {
      stats.trips.completed++;
      if (scheduled) stats.scheduled.completed++;
      if (Math.random() < 0.3) this.say(open, "Thanks for the ride!");
      try {
        await this.api.rateTrip(trip.id, { stars: Math.random() < 0.7 ? 5 : Math.random() < 0.7 ? 4 : 3 });
        stats.ratings++;
      } catch (err) {
        stats.error("rating (rider)", err);
      }
      if (Math.random() < this.ctx.options.tip) await tipAfterRide(this.api, open.trip, stats, () => this.topUp());
    } else if (status === "no_driver") {
      stats.trips.noDriver++;
    } else {
      stats.trips.cancelled++;
    }
    await settleWithin(Promise.all(open.chats), 5_000);
    room.close();
    this.open = null;
  }

  /** A scheduled ride's PIN, in case the booking did not carry it: the rider's own read has it until the start. */
  private async learnPin(tripId: string): Promise<void> {
    try {
      const current = await this.api.trip(tripId);
      if (current.pin && this.open?.trip.id === tripId) this.ctx.pins.set(tripId, current.pin);
    } catch (err) {
      this.ctx.stats.error("read trip", err);
    }
  }

  private say(open: Open, text: string): void {
    const { stats } = this.ctx;
    stats.chat.sent++;
    open.chats.push(
      open.room.send({ type: "message", text }).then(
        () => void stats.chat.acked++,
        (err: unknown) => stats.chatRefused("rider", err),
      ),
    );
  }

  /** The run is over: a trip still open is cancelled, and the rider waits to see it end. */
  async cancelOpen(): Promise<void> {
    const open = this.open;
    if (!open) return;
    try {
      const trip = await this.api.cancelTrip(open.trip.id, { reason: "simulation over" });
      this.ctx.stats.trips.cancelledAtEnd++;
      if (open.scheduled) this.ctx.stats.scheduled.cancelledAtEnd++;
      // The socket may be down: the answer ends the ride as well.
      open.done(trip.status);
    } catch (err) {
      // It may have ended meanwhile (409): the socket says how.
      if (!(isRidewireError(err) && err.code === "conflict")) this.ctx.stats.error("cancel", err);
    }
    await settleWithin(open.ended, 5_000);
    if (this.open === open) {
      open.room.close();
      this.open = null;
    }
  }
}
