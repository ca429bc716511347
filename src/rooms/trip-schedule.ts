/**
 * @module rooms/trip-schedule
 * A scheduled ride's timers (README, "Scheduled rides"). The trip is created `scheduled` with
 * its quote locked; this part keeps, in the trip's SQLite, when its fare is to be held and when
 * dispatch is to start, and the trip's one alarm (rooms/alarm-clock.ts) wakes it for each:
 *
 * 1. At `hold_at` (SCHEDULE_HOLD_LEAD_MS before pickup) the fare is held on the rider's wallet.
 *    A wallet that does not cover it ends the ride (`schedule_lapse`, `schedule_unfunded`), and
 *    the rider hears of it through the trip's status notification.
 * 2. At `dispatch_at` (SCHEDULE_DISPATCH_LEAD_MS before pickup) the ride claims the rider's one
 *    active-trip slot and moves to `matching`, where the dispatch saga takes over. A slot held by
 *    another active trip (the rider is riding now) is tried again every SCHEDULE_SLOT_RETRY_MS
 *    until the pickup time; still taken then, the ride ends (`schedule_rider_busy`).
 *
 * A step whose D1 call fails is tried again SCHEDULE_SLOT_RETRY_MS later. Both steps are safe to
 * repeat: the hold's ledger key is the trip's, and the slot claim answers the trip holding it.
 */
import { releaseHold, holdFare } from "../db/holds";
import { claimRiderSlot, releaseActiveTrip } from "../db/trips";
import { slotHolderState } from "../domain/rider-slot";
import type { TripCommand, TripState } from "../domain/trip";
import type { Result } from "../errors";
import type { LazyTables } from "./lazy-tables";
import { tripRoom } from "./stubs";

/**
 * One row for a scheduled ride, none for a ride requested for now (the table is made only for a scheduled ride:
 * rooms/lazy-tables.ts). `hold_placed_at` is null until the hold is in.
 */
const SCHEDULE_TABLE = `CREATE TABLE IF NOT EXISTS schedule (
  pickup_at INTEGER NOT NULL,
  hold_at INTEGER NOT NULL,
  dispatch_at INTEGER NOT NULL,
  hold_placed_at INTEGER
)`;

type ScheduleRow = { pickup_at: number; hold_at: number; dispatch_at: number; hold_placed_at: number | null };

export type ScheduleLeads = { holdLeadMs: number; dispatchLeadMs: number; retryMs: number };

/** What a ringing schedule needs of the trip room. */
export type ScheduleRoom = {
  /** The trip as stored now; read again after every await (the rider may cancel meanwhile). */
  trip: () => TripState;
  /** Applies and stores a move with its side effects; false when the trip refuses it. */
  commit: (command: TripCommand) => boolean;
  /** Holds the fare; false when the wallet does not cover it. */
  hold: () => Promise<boolean>;
  /** Gives back whatever the trip holds (a hold that landed after the ride was cancelled). */
  release: () => Promise<void>;
  /** Claims the rider's active-trip slot; false while another active trip holds it. */
  claimSlot: () => Promise<boolean>;
  releaseSlot: () => Promise<void>;
  logError: (where: string, err: unknown) => void;
};

export class TripSchedule {
  private readonly sql: SqlStorage;

  constructor(private readonly tables: LazyTables) {
    this.sql = tables.sql;
  }

  /** Sets the ride's timers from its pickup time; the hold never comes before `now`, nor dispatch before the hold. */
  set(pickupAt: number, now: number, leads: ScheduleLeads): void {
    const holdAt = Math.max(now, pickupAt - leads.holdLeadMs);
    const dispatchAt = Math.max(holdAt, pickupAt - leads.dispatchLeadMs);
    this.tables.ensure("schedule", SCHEDULE_TABLE);
    this.sql.exec(
      `INSERT INTO schedule (pickup_at, hold_at, dispatch_at, hold_placed_at) VALUES (?, ?, ?, NULL)`,
      pickupAt,
      holdAt,
      dispatchAt,
    );
  }

  /** When the next step is due, for a trip still `scheduled`; null otherwise. */
  next(trip: TripState): number | null {
    const row = this.row();
    if (row === null || trip.status !== "scheduled") return null;
    return row.hold_placed_at === null ? row.hold_at : row.dispatch_at;
  }

  /** Runs the steps that are due at `now`. */
  async ring(room: ScheduleRoom, now: number, leads: ScheduleLeads): Promise<void> {
    const row = this.row();
    if (row === null || room.trip().status !== "scheduled") return;
    if (row.hold_placed_at === null) {
      if (now < row.hold_at) return;
      if (!(await this.placeHold(room, now, leads))) return;
    }
    if (now < row.dispatch_at || room.trip().status !== "scheduled") return;
    let claimed: boolean;
    try {
      claimed = await room.claimSlot();
    } catch (err) {
      room.logError("schedule.claimSlot", err);
      this.sql.exec(`UPDATE schedule SET dispatch_at = ?`, now + leads.retryMs);
      return;
    }
    if (!claimed) {
      if (now >= row.pickup_at) room.commit({ type: "schedule_lapse", now, reason: "schedule_rider_busy" });
      else this.sql.exec(`UPDATE schedule SET dispatch_at = ?`, now + leads.retryMs);
      return;
    }
    // Cancelled while the slot was being claimed: the slot goes back; the saga starts otherwise.
    if (!room.commit({ type: "dispatch_start", now })) await room.releaseSlot();
  }

  /** The hold step; true when the fare is held and the ride goes on. */
  private async placeHold(room: ScheduleRoom, now: number, leads: ScheduleLeads): Promise<boolean> {
    let held: boolean;
    try {
      held = await room.hold();
    } catch (err) {
      room.logError("schedule.hold", err);
      this.sql.exec(`UPDATE schedule SET hold_at = ?`, now + leads.retryMs);
      return false;
    }
    if (!held) {
      room.commit({ type: "schedule_lapse", now, reason: "schedule_unfunded" });
      return false;
    }
    this.sql.exec(`UPDATE schedule SET hold_placed_at = ?`, now);
    if (room.trip().status === "scheduled") return true;
    // The rider cancelled while the hold was being placed: its settlement may have found nothing held yet.
    await room.release().catch((err) => room.logError("schedule.release", err));
    return false;
  }

  private row(): ScheduleRow | null {
    if (!this.tables.has("schedule")) return null;
    return this.sql.exec<ScheduleRow>(`SELECT * FROM schedule`).toArray()[0] ?? null;
  }
}

/** The ports that reach D1 and other trips, for the trip `tripId` of `riderId`. */
export function scheduleMoney(env: Env, trip: () => TripState): Pick<ScheduleRoom, "hold" | "release"> {
  return {
    hold: async () => {
      const { id, riderId, quote } = trip();
      return (await holdFare(env, id, riderId, quote.fare, Date.now())).held;
    },
    release: async () => {
      const { id, riderId, quote } = trip();
      await releaseHold(env, id, riderId, quote.fare.currency, Date.now());
    },
  };
}

/**
 * Claims the rider's slot for the trip, as a trip request does: a slot held by a trip that has
 * ended since (its room frees it behind), or that never came to be (domain/rider-slot.ts), is
 * taken after asking that trip. A holder still being created keeps it: the ring tries again.
 */
export function riderSlot(env: Env, trip: () => TripState): Pick<ScheduleRoom, "claimSlot" | "releaseSlot"> {
  return {
    claimSlot: async () => {
      const { id, riderId } = trip();
      let slot = await claimRiderSlot(env.DB, riderId, id, Date.now(), {});
      for (let attempt = 0; attempt < 2 && !slot.claimed; attempt++) {
        const holder = slot.holder;
        if (holder !== null) {
          const current = asResult(await tripRoom(env, holder.tripId).status());
          if (slotHolderState(current, holder.claimedAt, Date.now()) !== "over") return false;
        }
        slot = await claimRiderSlot(env.DB, riderId, id, Date.now(), { from: holder?.tripId });
      }
      return slot.claimed;
    },
    releaseSlot: async () => {
      const { id, riderId } = trip();
      await releaseActiveTrip(env.DB, riderId, id);
    },
  };
}

/** The plain Result: the RPC stub's type of it hides the error variant from narrowing. */
const asResult = <T>(result: Result<T>): Result<T> => result;
