/**
 * @module notify/arrival-sms
 * Whether the delayed "your driver has arrived" SMS goes out, from what the notification log
 * says of the arrival push it would stand in for. Plain TypeScript (unit-tested in Node); the
 * trip room asks it when its timer rings (rooms/trip-arrival-sms.ts).
 */
import type { ChannelOutcome, NotificationStatus } from "../protocol/notifications";

/** The arrival push as the log has it: its status, its first ack, and its own SMS channel's outcome. */
export type ArrivalPush = { status: NotificationStatus; ackedAt: number | null; smsOutcome: ChannelOutcome | null };

/**
 * - `send`: no device acknowledged the push, and its own fallback did not text the rider;
 * - `acked`: an app showed it: the rider knows;
 * - `texted`: the push's fallback (no device reached) sent, or is sending, the SMS already;
 * - `muted`: the rider muted trip notifications, or SMS;
 * - `wait`: the push is not settled yet (still queued, or being retried without having
 *   reached the SMS step): its fallback may still text, so look again a little later.
 */
export type ArrivalSmsDecision = "send" | "acked" | "texted" | "muted" | "wait";

/** Outcomes of the push's SMS step that mean the push itself owns the text. */
const TEXTED: ReadonlySet<ChannelOutcome> = new Set(["delivered", "pending", "retrying"]);

/**
 * `giveUpWaitingAt`: past it a push that never settled (lost on its way to the queue, or stuck
 * in retries) no longer holds the SMS back: one late text is better than none.
 */
export function arrivalSmsDecision(
  push: ArrivalPush | undefined,
  now: number,
  giveUpWaitingAt: number,
): ArrivalSmsDecision {
  const waitOrSend = now >= giveUpWaitingAt ? "send" : "wait";
  if (push === undefined) return waitOrSend;
  if (push.ackedAt !== null) return "acked";
  if (push.smsOutcome !== null && TEXTED.has(push.smsOutcome)) return "texted";
  if (push.status === "muted" || push.smsOutcome === "muted") return "muted";
  if (push.status === "pending" && push.smsOutcome === null) return waitOrSend;
  return "send";
}
