/**
 * @module simulator/rider
 * One simulated rider: a wallet topped up through the sandbox provider (a trip holds its fare,
 * 402 otherwise), then rides in a loop: a random wait, a quote from a random pickup to a
 * dropoff some km away, the request, and the trip socket followed to the end, timing the match
 * and every location fix that reaches it, chatting with the driver and rating them.
 */
import { isRidewireError, type RidewireClient, type Trip, type TripConnection } from "@ridewire/client";
import { between, pointAway, randomPoint } from "./city";
import { settleWithin, signUp, type SimContext } from "./context";

/** The sandbox provider's largest top-up (TOP_UP_MAX_MINOR), in minor units. */
const TOP_UP_MINOR = 50_000;

type Open = {
  trip: Trip;
  room: TripConnection;
  sentAt: number;
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

  get riding(): boolean {
    return this.open !== null;
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
    const { idle } = this.ctx.options;
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

  private async ride(): Promise<void> {
    const { stats, area, options } = this.ctx;
    const pickup = randomPoint(area);
    // Skewed towards short rides, as a city's are: a third of the way into the range on average.
    const km = options.tripKm.min + (options.tripKm.max - options.tripKm.min) * Math.random() ** 2;
    const dropoff = pointAway(pickup, km, area);
    let quoteId: string;
    try {
      const quote = await this.api.quote({ pickup, dropoff });
      quoteId = quote.id;
      this.currency = quote.fare.currency;
    } catch (err) {
      return stats.error("quote", err);
    }
    stats.trips.requested++;
    const sentAt = Date.now();
    let trip: Trip;
    try {
      trip = await this.requestTrip(quoteId);
    } catch (err) {
      return stats.error("request trip", err);
    }
    stats.trips.created++;
    // Told to the driver at the pickup (see SimContext's pins).
    if (trip.pin) this.ctx.pins.set(trip.id, trip.pin);
    try {
      await this.follow(trip, sentAt);
    } finally {
      this.ctx.pins.delete(trip.id);
    }
  }

  /** POST /v1/trips; once the wallet runs short (402), it is topped up and the request sent again. */
  private async requestTrip(quoteId: string): Promise<Trip> {
    try {
      return await this.api.requestTrip({ quoteId });
    } catch (err) {
      if (!isRidewireError(err) || err.code !== "insufficient_funds") throw err;
      await this.topUp();
      return await this.api.requestTrip({ quoteId });
    }
  }

  /** Watches the trip on its socket until it ends. */
  private async follow(trip: Trip, sentAt: number): Promise<void> {
    const { stats } = this.ctx;
    // From seq 0: a status stored before the socket opened is replayed, not missed.
    const room = this.api.tripRoom(trip.id, { since: 0 });
    let done!: (status: string) => void;
    const ended = new Promise<string>((resolve) => (done = resolve));
    const open: Open = { trip, room, sentAt, matched: false, chats: [], done, ended };
    this.open = open;
    let finished = false;
    const onStatus = (current: Trip) => {
      open.trip = current;
      if (!open.matched && current.driverId !== null && current.status !== "matching") {
        open.matched = true;
        stats.trips.matched++;
        stats.matchMs.push(Date.now() - sentAt);
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
      if (Math.random() < 0.3) this.say(open, "Thanks for the ride!");
      try {
        await this.api.rateTrip(trip.id, { stars: Math.random() < 0.7 ? 5 : Math.random() < 0.7 ? 4 : 3 });
        stats.ratings++;
      } catch (err) {
        stats.error("rating (rider)", err);
      }
    } else if (status === "no_driver") {
      stats.trips.noDriver++;
    } else {
      stats.trips.cancelled++;
    }
    await settleWithin(Promise.all(open.chats), 5_000);
    room.close();
    this.open = null;
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
