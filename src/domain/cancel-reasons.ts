/**
 * @module domain/cancel-reasons
 * Why a trip was cancelled, as a code from a fixed list per side plus an optional note: riders
 * and drivers have their own lists (a rider cannot say the rider did not show up), and `other`
 * needs a note, so that every cancel an operator reads says something. The old free-text
 * `reason` is still taken: it reads as `other` with the text as its note.
 */
import { z } from "zod";

export const RiderCancelCode = z.enum(["driver_too_far", "wait_too_long", "changed_plans", "wrong_pickup", "other"]);
export type RiderCancelCode = z.infer<typeof RiderCancelCode>;

export const DriverCancelCode = z.enum(["rider_no_show", "rider_asked", "unsafe", "vehicle_issue", "other"]);
export type DriverCancelCode = z.infer<typeof DriverCancelCode>;

/**
 * Any side's code; an operator's force-cancel is recorded as `admin` with its required reason as the note, and a
 * scheduled ride the service ended before dispatch as `schedule_unfunded` (the hold was refused) or
 * `schedule_rider_busy` (the rider was on another trip at the pickup time). The trip's watchdog
 * (domain/trip-watchdog) hands a trip back as `driver_silent` (its driver sent no fix for too long) and ends one
 * left at the pickup with no start as `arrived_no_start`.
 */
export const CancelReasonCode = z.enum([
  ...RiderCancelCode.options,
  ...DriverCancelCode.options,
  "admin",
  "schedule_unfunded",
  "schedule_rider_busy",
  "driver_silent",
  "arrived_no_start",
]);
export type CancelReasonCode = z.infer<typeof CancelReasonCode>;

export const CANCEL_NOTE_MAX = 500;
const CancelNote = z.string().trim().min(1, "note must not be blank").max(CANCEL_NOTE_MAX);

/** Why a cancel happened, once read: a code (null from a client that named none) and a note. */
export type CancelReason = { reasonCode: CancelReasonCode | null; note: string | null };

/**
 * The body of a cancel by one side: `{ reasonCode, note? }`, or the old `{ reason }`, or nothing
 * (older clients send no body). `other` needs a note. Read as a `CancelReason`.
 */
function cancelBodyOf<C extends z.ZodEnum>(codes: C) {
  return z
    .object({
      reasonCode: codes.optional(),
      note: CancelNote.optional(),
      /** The free text of clients from before reason codes: read as `other` with it as the note. */
      reason: z.string().max(CANCEL_NOTE_MAX).optional(),
    })
    .superRefine((body, ctx) => {
      if (body.reasonCode !== undefined && body.reason !== undefined)
        ctx.addIssue({
          code: "custom",
          message: "send reasonCode and note, or the old reason, not both",
          path: ["reason"],
        });
      if (body.reasonCode === "other" && body.note === undefined)
        ctx.addIssue({ code: "custom", message: "a cancel for reason `other` needs a note", path: ["note"] });
      if (body.reasonCode === undefined && body.note !== undefined)
        ctx.addIssue({ code: "custom", message: "a note goes with a reasonCode", path: ["reasonCode"] });
    });
}

export const RiderCancelBody = cancelBodyOf(RiderCancelCode);
export type RiderCancelBody = z.infer<typeof RiderCancelBody>;
export const DriverCancelBody = cancelBodyOf(DriverCancelCode);
export type DriverCancelBody = z.infer<typeof DriverCancelBody>;

/** A validated cancel body as the trip stores it. */
export function cancelReasonOf(body: {
  reasonCode?: string | undefined;
  note?: string;
  reason?: string;
}): CancelReason {
  const legacy = body.reason?.trim();
  if (body.reasonCode === undefined)
    return legacy ? { reasonCode: "other", note: legacy } : { reasonCode: null, note: null };
  const code = CancelReasonCode.parse(body.reasonCode);
  return { reasonCode: code, note: body.note ?? null };
}
