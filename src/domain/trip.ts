/**
 * @module domain/trip
 * The trip state machine: the only code that decides which move a trip may make next. The
 * TripRoom DO loads a `TripState`, calls `apply` with a command, stores the new state with the
 * events in one transaction, then broadcasts. Refusals come back as values (`conflict` → 409,
 * `forbidden` → 403, `offer_expired` → 409) so the DO never needs a try/catch around a move.
 *
 *   matching → accepted → arrived → in_progress → completed
 *   scheduled → matching (dispatch starts a lead time before pickup: `dispatch_start`)
 *   scheduled → cancelled (the rider, free; or the service: `schedule_lapse`, the wallet did
 *   not cover the hold or the rider was on another trip at pickup time)
 *   matching | accepted | arrived → cancelled (the rider); any non-terminal → cancelled (an operator:
 *   free, even in progress); matching → no_driver (matching gave up)
 *   accepted | arrived → matching (the driver cancels; that driver is never offered it again; or the
 *   service, when the driver fell silent: `driver_silent`; or an operator: `admin_reassign`)
 *   arrived → cancelled (the service, when the ride never started: `arrived_no_start`)
 *
 * Once the ride is under way nobody cancels it: it ends when the driver completes it, and a
 * ride that ends early is billed for the part driven (domain/fare's `finalCharge`).
 */
import { z } from "zod";
import { CancelReasonCode } from "./cancel-reasons";
import { FareBreakdown, FareDecision, FareRules, Money } from "./fare";
import { LatLng } from "./geo";

export const TripStatus = z.enum([
  "scheduled",
  "matching",
  "accepted",
  "arrived",
  "in_progress",
  "completed",
  "cancelled",
  "no_driver",
]);
export type TripStatus = z.infer<typeof TripStatus>;

const TERMINAL: ReadonlySet<TripStatus> = new Set(["completed", "cancelled", "no_driver"]);
export const isTerminal = (status: TripStatus): boolean => TERMINAL.has(status);
export const isActive = (status: TripStatus): boolean => !TERMINAL.has(status);

/** The terms the rider agreed to; a trip keeps its quote even if prices change later. */
export const QuoteTerms = z.object({
  rules: FareRules,
  surge: z.number().min(1),
  fare: Money,
  distanceKm: z.number().nonnegative(),
  durationMin: z.number().nonnegative(),
  /** The tier the ride was quoted for: matching offers it only to drivers who serve it. Absent before tiers. */
  tier: z.string().optional(),
});
export type QuoteTerms = z.infer<typeof QuoteTerms>;

const Millis = z.number().int();

/**
 * The rider as their driver sees them, from the offer on: the first word of their name and their
 * rating (the average of the stars drivers gave them; null before any), as they were when the
 * trip was requested. Nothing else of the rider reaches the driver.
 */
export const TripRider = z.object({ firstName: z.string().max(50), rating: z.number().nullable() });
export type TripRider = z.infer<typeof TripRider>;

/** The first word of a display name, as much of a person as the other side of a trip is shown. */
export function firstNameOf(name: string, fallback: string): string {
  return (name.trim().split(/\s+/)[0] || fallback).slice(0, 50);
}
/**
 * The trip's side of an open offer: which driver holds it, since and until when. What the
 * driver is shown of it is protocol/dispatch.ts's `Offer`.
 */
export const PendingOffer = z.object({ driverId: z.string(), offeredAt: Millis, expiresAt: Millis });
export type PendingOffer = z.infer<typeof PendingOffer>;

/** Plain JSON, so a DO can store it as is and `TripState.safeParse` it when loading. */
export const TripState = z.object({
  id: z.string(),
  riderId: z.string(),
  driverId: z.string().nullable(),
  status: TripStatus,
  pickup: LatLng,
  dropoff: LatLng,
  quote: QuoteTerms,
  /** The first open offer, or null. With batched offers (K > 1) the others are in `moreOffers`. */
  offer: PendingOffer.nullable(),
  /**
   * The other open offers of a batch: dispatch may offer the trip to its best K drivers at once, the first accept
   * wins. Kept apart from `offer` so a trip offered to one driver at a time is stored as before; absent or empty then.
   * Read both through `openOffers`.
   */
  moreOffers: z.array(PendingOffer).optional(),
  excludedDrivers: z.array(z.string()),
  /** A scheduled ride's pickup time (epoch ms); absent on a ride requested for now. */
  scheduledAt: Millis.optional(),
  /** Restarts when a driver cancels: the match timeout counts from the latest search. */
  matchingStartedAt: Millis,
  /** Cleared when the driver cancels: they describe the current assignment only. */
  acceptedAt: Millis.nullable(),
  arrivedAt: Millis.nullable(),
  /**
   * Whether the driver's last fix was at the pickup when they said they arrived. Only then does
   * their wait at the pickup cost a cancelling rider the fee: a driver who taps "arrived" from
   * across town earns nothing by it. Absent on trips stored before it existed.
   */
  arrivedAtPickup: z.boolean().optional(),
  startedAt: Millis.nullable(),
  completedAt: Millis.nullable(),
  cancelledAt: Millis.nullable(),
  cancelReason: z.string().nullable(),
  /** The cancel's code (domain/cancel-reasons), `admin` for an operator's; absent before codes, null when none. */
  cancelReasonCode: CancelReasonCode.nullable().optional(),
  /**
   * Who cancelled: an operator's cancel does not count against the rider's request limits, nor does the service's
   * (`system`: a scheduled ride that lapsed). Absent before it existed.
   */
  cancelledBy: z.enum(["rider", "admin", "system"]).optional(),
  fare: Money.nullable(),
  /** How the final fare adds up, for the receipt; set at completion when the caller knows it. */
  fareBreakdown: FareBreakdown.optional(),
  /** How the final fare relates to the quote (cap, review); set at completion when the caller knows it. */
  fareDecision: FareDecision.optional(),
  cancellationFee: Money.nullable(),
  /** Who asked for the ride, as the driver is shown them; absent on trips stored before it existed. */
  rider: TripRider.optional(),
  createdAt: Millis,
  updatedAt: Millis,
});
export type TripState = z.infer<typeof TripState>;

export type TripCommand =
  /** `maxOpen`: how many offers may be open at once (the batch size K); 1 when absent. */
  | { type: "offer"; driverId: string; now: number; timeoutMs: number; maxOpen?: number }
  | { type: "accept"; driverId: string; now: number }
  | { type: "decline"; driverId: string; now: number }
  | { type: "offer_timeout"; now: number }
  | { type: "give_up"; now: number }
  /** A scheduled ride's dispatch lead time came (and its hold and the rider's slot are taken): look for a driver. */
  | { type: "dispatch_start"; now: number }
  /** The service ends a scheduled ride before dispatch: the wallet did not cover the hold, or the rider was busy. */
  | { type: "schedule_lapse"; now: number; reason: ScheduleLapse }
  | { type: "arrived"; driverId: string; now: number; atPickup?: boolean }
  | { type: "start"; driverId: string; now: number }
  | { type: "complete"; driverId: string; now: number; fare: Money; breakdown?: FareBreakdown; decision?: FareDecision }
  | {
      type: "cancel";
      by: "rider" | "driver";
      userId: string;
      now: number;
      /** The note (or the old free text) of the cancel. */
      reason?: string;
      /** Why, from the side's list (domain/cancel-reasons); absent from a client that named none. */
      reasonCode?: CancelReasonCode;
      /** Overrides the quote's `rules.freeCancelWindowMs` (default 2 minutes). */
      freeCancelWindowMs?: number;
      /** Overrides the quote's `rules.freePickupWaitMs` (default 1 minute). */
      freePickupWaitMs?: number;
    }
  /** An operator ends the trip from any non-terminal status, in progress too: the rider pays no fee. */
  | { type: "admin_cancel"; adminId: string; now: number; reason: string }
  /** An operator takes the trip from its driver (accepted or arrived) and hands it back to matching. */
  | { type: "admin_reassign"; adminId: string; now: number; reason: string }
  /** The watchdog: the assigned driver sent no fix for too long; the trip goes back to matching without them. */
  | { type: "driver_silent"; now: number }
  /**
   * The watchdog: the driver arrived and the ride never started. The service cancels; the rider pays the
   * cancellation fee only when the driver's fix was at the pickup when they arrived (a no-show, as a rider's own
   * cancel after the free wait would), nothing otherwise.
   */
  | { type: "arrived_no_start"; now: number };

/**
 * What happened, for the DO to log and fan out. `releasedDriverId` names a driver whose
 * reservation the DO must free (the assigned driver, or the one holding an open offer).
 */
export type TripEvent = { at: number } & (
  | { type: "dispatch_started" }
  | { type: "offered"; driverId: string; expiresAt: number }
  | { type: "offer_declined"; driverId: string }
  | { type: "offer_expired"; driverId: string }
  /** Another driver of the batch accepted, or the trip ended: the offer is gone, through no fault of the driver's. */
  | { type: "offer_withdrawn"; driverId: string }
  | { type: "accepted"; driverId: string }
  | { type: "arrived"; driverId: string }
  | { type: "started"; driverId: string }
  | { type: "completed"; driverId: string; fare: Money }
  | {
      type: "driver_cancelled";
      driverId: string;
      reason: string | null;
      reasonCode: CancelReasonCode | null;
      /** Who took the trip from the driver: the driver (absent), the service's watchdog, or an operator. */
      by?: "system" | "admin";
      /** The operator, for `admin`. */
      adminId?: string;
    }
  | {
      type: "cancelled";
      by: "rider" | "admin" | "system";
      releasedDriverId: string | null;
      cancellationFee: Money | null;
      reason: string | null;
      reasonCode: CancelReasonCode | null;
      /** The rider, or the operator who cancelled (the rider, too, for the service's). */
      userId: string;
    }
  | { type: "no_driver"; releasedDriverId: string | null }
);

export type TripErrorCode = "conflict" | "forbidden" | "offer_expired";
export type TripError = { code: TripErrorCode; message: string };
export type TripResult = { ok: true; state: TripState; events: TripEvent[] } | { ok: false; error: TripError };

export const FREE_CANCEL_WINDOW_MS = 2 * 60_000;
export const FREE_PICKUP_WAIT_MS = 60_000;

/** Why the service ended a scheduled ride before dispatch; the cancel's reason code. */
export type ScheduleLapse = Extract<CancelReasonCode, "schedule_unfunded" | "schedule_rider_busy">;

export type NewTrip = Pick<TripState, "id" | "riderId" | "pickup" | "dropoff" | "quote" | "rider"> & {
  now: number;
  /** A scheduled ride's pickup time: the trip starts `scheduled` instead of `matching`. */
  scheduledAt?: number;
};

export function createTrip({ id, riderId, pickup, dropoff, quote, now, scheduledAt, rider }: NewTrip): TripState {
  return {
    id,
    riderId,
    ...(rider === undefined ? {} : { rider }),
    driverId: null,
    status: scheduledAt === undefined ? "matching" : "scheduled",
    ...(scheduledAt === undefined ? {} : { scheduledAt }),
    pickup,
    dropoff,
    quote,
    offer: null,
    excludedDrivers: [],
    matchingStartedAt: now,
    acceptedAt: null,
    arrivedAt: null,
    startedAt: null,
    completedAt: null,
    cancelledAt: null,
    cancelReason: null,
    fare: null,
    cancellationFee: null,
    createdAt: now,
    updatedAt: now,
  };
}

const fail = (code: TripErrorCode, message: string): TripResult => ({ ok: false, error: { code, message } });
const ok = (state: TripState, ...events: TripEvent[]): TripResult => ({ ok: true, state, events });

/** Never throws and never mutates `state`; every success carries at least one event. */
export function apply(state: TripState, command: TripCommand): TripResult {
  if (isTerminal(state.status)) return fail("conflict", `the trip is ${state.status}`);
  if (!Number.isFinite(command.now)) return fail("conflict", "the command has no valid time");
  // Time never runs backwards inside one trip: a DO restarted on a machine whose clock lags
  // must not record an acceptance before the offer, nor reopen an offer that already expired.
  const at = Math.max(Math.trunc(command.now), state.updatedAt);
  const s: TripState = { ...state, updatedAt: at };
  switch (command.type) {
    case "offer": {
      if (s.status !== "matching") return fail("conflict", `the trip is ${s.status}, not matching`);
      if (command.driverId === s.riderId) return fail("forbidden", "a rider cannot drive their own trip");
      if (!(command.timeoutMs > 0) || !Number.isFinite(command.timeoutMs)) {
        return fail("conflict", "timeoutMs must be positive");
      }
      const maxOpen = command.maxOpen ?? 1;
      if (!Number.isSafeInteger(maxOpen) || maxOpen < 1) return fail("conflict", "maxOpen must be a positive integer");
      // Expired offers nobody timed out yet: time them out now rather than count them as open.
      const { live, expired } = splitExpired(s, at);
      const events: TripEvent[] = expired.map((o) => ({ type: "offer_expired", at, driverId: o.driverId }));
      const excludedDrivers = [...s.excludedDrivers, ...expired.map((o) => o.driverId)];
      if (live.some((o) => o.driverId === command.driverId))
        return fail("conflict", "this driver already holds an offer for the trip");
      if (live.length >= maxOpen) {
        const holders = live.map((o) => o.driverId).join(", ");
        return fail("conflict", `an offer to ${holders} is still open`);
      }
      if (excludedDrivers.includes(command.driverId)) return fail("conflict", "this driver already passed on the trip");
      const offer = { driverId: command.driverId, offeredAt: at, expiresAt: at + Math.ceil(command.timeoutMs) };
      events.push({ type: "offered", at, driverId: offer.driverId, expiresAt: offer.expiresAt });
      return ok(withOffers({ ...s, excludedDrivers }, [...live, offer]), ...events);
    }
    case "accept":
    case "decline": {
      const refused = offerRefusal(s, command.driverId);
      if (refused) return refused;
      if (command.type === "decline") {
        return ok(withoutOffer(s, command.driverId), { type: "offer_declined", at, driverId: command.driverId });
      }
      const held = openOffers(s).find((o) => o.driverId === command.driverId);
      if (at >= (held?.expiresAt ?? 0)) return fail("offer_expired", "the offer expired before it was accepted");
      // The first accept wins: every other driver of the batch is let go at once.
      return ok(
        { ...withOffers(s, []), status: "accepted", driverId: command.driverId, acceptedAt: at },
        { type: "accepted", at, driverId: command.driverId },
        ...withdrawn(s, at, command.driverId),
      );
    }
    case "offer_timeout": {
      if (s.status !== "matching" || s.offer === null) return fail("conflict", "there is no open offer");
      const { live, expired } = splitExpired(s, at);
      if (expired.length === 0) return fail("conflict", "the offer has not expired yet");
      return ok(
        withOffers({ ...s, excludedDrivers: [...s.excludedDrivers, ...expired.map((o) => o.driverId)] }, live),
        ...expired.map((o): TripEvent => ({ type: "offer_expired", at, driverId: o.driverId })),
      );
    }
    case "give_up": {
      if (s.status !== "matching") return fail("conflict", `the trip is ${s.status}, not matching`);
      return ok(
        { ...withOffers(s, []), status: "no_driver" },
        { type: "no_driver", at, releasedDriverId: s.offer?.driverId ?? null },
        ...withdrawn(s, at, s.offer?.driverId ?? null),
      );
    }
    case "dispatch_start": {
      if (s.status !== "scheduled") return fail("conflict", `the trip is ${s.status}, not scheduled`);
      return ok({ ...s, status: "matching", matchingStartedAt: at }, { type: "dispatch_started", at });
    }
    case "schedule_lapse": {
      if (s.status !== "scheduled") return fail("conflict", `the trip is ${s.status}, not scheduled`);
      const reason =
        command.reason === "schedule_unfunded"
          ? "your wallet did not cover the fare when the hold was due"
          : "you were on another trip at the pickup time";
      return ok(
        {
          ...s,
          status: "cancelled",
          cancelledAt: at,
          cancelReason: reason,
          cancelReasonCode: command.reason,
          cancelledBy: "system",
          cancellationFee: null,
        },
        {
          type: "cancelled",
          at,
          by: "system",
          releasedDriverId: null,
          cancellationFee: null,
          reason,
          reasonCode: command.reason,
          userId: s.riderId,
        },
      );
    }
    case "arrived":
    case "start":
    case "complete": {
      const { driverId } = command;
      const from = command.type === "arrived" ? "accepted" : command.type === "start" ? "arrived" : "in_progress";
      if (s.driverId !== driverId) return fail("forbidden", "only the trip's driver can do this");
      if (s.status !== from) return fail("conflict", `the trip is ${s.status}, not ${from}`);
      if (command.type === "arrived") {
        return ok(
          { ...s, status: "arrived", arrivedAt: at, arrivedAtPickup: command.atPickup === true },
          { type: "arrived", at, driverId },
        );
      }
      if (command.type === "start") {
        return ok({ ...s, status: "in_progress", startedAt: at }, { type: "started", at, driverId });
      }
      const { fare } = command;
      if (!Number.isSafeInteger(fare.amount) || fare.amount < 0 || fare.currency !== s.quote.fare.currency) {
        return fail("conflict", `the fare must be a non-negative integer amount in ${s.quote.fare.currency}`);
      }
      if (
        command.decision &&
        (command.decision.charged.amount !== fare.amount || command.decision.charged.currency !== fare.currency)
      ) {
        return fail("conflict", "the fare decision does not charge the fare");
      }
      const extra = {
        ...(command.breakdown ? { fareBreakdown: command.breakdown } : {}),
        ...(command.decision ? { fareDecision: command.decision } : {}),
      };
      return ok(
        { ...s, status: "completed", completedAt: at, fare, ...extra },
        { type: "completed", at, driverId, fare },
      );
    }
    case "cancel":
      return command.by === "rider" ? riderCancel(s, command, at) : driverCancel(s, command, at);
    case "admin_cancel": {
      const releasedDriverId = s.driverId ?? s.offer?.driverId ?? null;
      return ok(
        {
          ...withOffers(s, []),
          status: "cancelled",
          driverId: null,
          cancelledAt: at,
          cancelReason: command.reason,
          cancelReasonCode: "admin",
          cancelledBy: "admin",
          cancellationFee: null,
        },
        {
          type: "cancelled",
          at,
          by: "admin",
          releasedDriverId,
          cancellationFee: null,
          reason: command.reason,
          reasonCode: "admin",
          userId: command.adminId,
        },
        ...withdrawn(s, at, releasedDriverId),
      );
    }
    case "admin_reassign":
    case "driver_silent": {
      if (s.driverId === null || (s.status !== "accepted" && s.status !== "arrived"))
        return fail("conflict", `the trip is ${s.status} with no driver on the way`);
      const handedBack =
        command.type === "admin_reassign"
          ? { by: "admin" as const, adminId: command.adminId, reason: command.reason, reasonCode: "admin" as const }
          : {
              by: "system" as const,
              reason: "the driver sent no position for too long",
              reasonCode: "driver_silent" as const,
            };
      return handBack(s, s.driverId, at, handedBack);
    }
    case "arrived_no_start": {
      if (s.status !== "arrived") return fail("conflict", `the trip is ${s.status}, not arrived`);
      const reason = "the ride did not start at the pickup in time";
      const amount = s.quote.rules.cancellationFeeMinor;
      const cancellationFee =
        s.arrivedAtPickup === true && amount > 0 ? { amount, currency: s.quote.rules.currency } : null;
      return ok(
        {
          ...s,
          status: "cancelled",
          driverId: null,
          offer: null,
          cancelledAt: at,
          cancelReason: reason,
          cancelReasonCode: "arrived_no_start",
          cancelledBy: "system",
          cancellationFee,
        },
        {
          type: "cancelled",
          at,
          by: "system",
          releasedDriverId: s.driverId,
          cancellationFee,
          reason,
          reasonCode: "arrived_no_start",
          userId: s.riderId,
        },
      );
    }
    default: {
      const unknown: never = command;
      return fail("conflict", `unknown command ${(unknown as { type?: unknown }).type}`);
    }
  }
}

/** Every open offer of the trip, first `offer`, then the rest of its batch. */
export function openOffers(s: TripState): PendingOffer[] {
  return s.offer === null ? [] : [s.offer, ...(s.moreOffers ?? [])];
}

/** `s` holding exactly `offers`; a trip with one offer or none stores no `moreOffers`, as before batches. */
function withOffers(s: TripState, offers: readonly PendingOffer[]): TripState {
  const { moreOffers: _dropped, ...rest } = s;
  const [first = null, ...others] = offers;
  return others.length === 0 ? { ...rest, offer: first } : { ...rest, offer: first, moreOffers: others };
}

/** The open offers still running at `at`, and those whose time is up. */
function splitExpired(s: TripState, at: number): { live: PendingOffer[]; expired: PendingOffer[] } {
  const offers = openOffers(s);
  return { live: offers.filter((o) => at < o.expiresAt), expired: offers.filter((o) => at >= o.expiresAt) };
}

/** The offers a move takes away from drivers who did nothing wrong; `kept` is released by the move's own event. */
function withdrawn(s: TripState, at: number, kept: string | null): TripEvent[] {
  return openOffers(s)
    .filter((o) => o.driverId !== kept)
    .map((o): TripEvent => ({ type: "offer_withdrawn", at, driverId: o.driverId }));
}

/** Why `driverId` may not answer an open offer, or null if it may. */
function offerRefusal(s: TripState, driverId: string): TripResult | null {
  if (s.status !== "matching") return fail("conflict", `the trip is ${s.status}, the offer is gone`);
  if (openOffers(s).some((o) => o.driverId === driverId)) return null;
  // A driver who had an offer and lost it gets 409 (it is gone); anyone else was never asked.
  if (s.excludedDrivers.includes(driverId)) return fail("conflict", "the offer is gone");
  return fail("forbidden", "there is no offer for this driver");
}

/** `s` without the offer to `driverId`, who may not be offered the trip again. */
function withoutOffer(s: TripState, driverId: string): TripState {
  const others = openOffers(s).filter((o) => o.driverId !== driverId);
  return withOffers({ ...s, excludedDrivers: [...s.excludedDrivers, driverId] }, others);
}

type Cancel = Extract<TripCommand, { type: "cancel" }>;

function riderCancel(s: TripState, command: Cancel, at: number): TripResult {
  if (command.userId !== s.riderId) return fail("forbidden", "only the trip's rider can cancel it");
  // A rider who could cancel mid-ride would ride for free: the driver ends it, and billing an
  // early end charges the part driven.
  if (s.status === "in_progress")
    return fail("conflict", "the ride is under way: ask the driver to end it; the part driven is billed");
  const reason = command.reason ?? null;
  const reasonCode = command.reasonCode ?? null;
  const cancellationFee = feeDue(s, at, command);
  const releasedDriverId = s.driverId ?? s.offer?.driverId ?? null;
  return ok(
    {
      ...withOffers(s, []),
      status: "cancelled",
      driverId: null,
      cancelledAt: at,
      cancelReason: reason,
      cancelReasonCode: reasonCode,
      cancelledBy: "rider",
      cancellationFee,
    },
    { type: "cancelled", at, by: "rider", releasedDriverId, cancellationFee, reason, reasonCode, userId: s.riderId },
    ...withdrawn(s, at, releasedDriverId),
  );
}

function driverCancel(s: TripState, command: Cancel, at: number): TripResult {
  if (s.driverId === null || command.userId !== s.driverId) {
    return fail("forbidden", "only the trip's driver can cancel it");
  }
  if (s.status === "in_progress") return fail("conflict", "a driver cannot cancel a trip in progress");
  return handBack(s, s.driverId, at, { reason: command.reason ?? null, reasonCode: command.reasonCode ?? null });
}

type HandBack = Pick<Extract<TripEvent, { type: "driver_cancelled" }>, "reason" | "reasonCode" | "by" | "adminId">;

/** The assigned driver leaves the trip (accepted or arrived): it looks for another, never offering it to them again. */
function handBack(s: TripState, driverId: string, at: number, why: HandBack): TripResult {
  return ok(
    {
      ...withoutOffer(s, driverId),
      status: "matching",
      driverId: null,
      acceptedAt: null,
      arrivedAt: null,
      matchingStartedAt: at,
    },
    { type: "driver_cancelled", at, driverId, ...why },
  );
}

/**
 * A rider who cancels more than the free window after a driver accepted, or after the driver
 * has waited at the pickup (their fix there when they arrived) longer than the free wait, pays the fee.
 */
function feeDue(s: TripState, at: number, command: Cancel): Money | null {
  if (s.driverId === null || s.acceptedAt === null) return null;
  const window = command.freeCancelWindowMs ?? s.quote.rules.freeCancelWindowMs ?? FREE_CANCEL_WINDOW_MS;
  const wait = command.freePickupWaitMs ?? s.quote.rules.freePickupWaitMs ?? FREE_PICKUP_WAIT_MS;
  const waitedTooLong =
    s.status === "arrived" && s.arrivedAtPickup === true && s.arrivedAt !== null && at - s.arrivedAt > wait;
  if (at - s.acceptedAt <= window && !waitedTooLong) return null;
  const amount = s.quote.rules.cancellationFeeMinor;
  return amount > 0 ? { amount, currency: s.quote.rules.currency } : null;
}

// ---- what the trip room does with a move and a fix --------------------------------------------

/**
 * What a move adds to the trip's log, in order: a `status` when the status changed, then the `fare` of a completion.
 */
export type LoggedFrame = "status" | "fare";

export function loggedFrames(before: TripState, after: TripState): LoggedFrame[] {
  const frames: LoggedFrame[] = [];
  if (before.status !== after.status) frames.push("status");
  if (after.status === "completed" && before.status !== "completed" && after.fare !== null) frames.push("fare");
  return frames;
}

/** Statuses in which the assigned driver is on the way or driving: their fixes count. */
const ON_TRIP: ReadonlySet<TripStatus> = new Set(["accepted", "arrived", "in_progress"]);

export const isOnTrip = (status: TripStatus): boolean => ON_TRIP.has(status);

/**
 * Where a fix from `driverId` takes the trip: the ETA is to the pickup before the ride and to
 * the dropoff during it, and only the fixes of the ride itself are its breadcrumb. Null when
 * the fix is not this trip's to take (another driver, or the trip not under way).
 */
export function fixTarget(
  state: TripState,
  driverId: string,
): { to: "pickup" | "dropoff"; breadcrumb: boolean } | null {
  if (state.driverId !== driverId || !ON_TRIP.has(state.status)) return null;
  return state.status === "in_progress" ? { to: "dropoff", breadcrumb: true } : { to: "pickup", breadcrumb: false };
}
