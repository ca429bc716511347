/**
 * @module notify/routing
 * The routing table: for each kind of notification, which channels carry it, in what order,
 * and whether a later channel is only a fallback for an earlier one. The consumer walks it
 * (notify/consumer.ts); the README has the same table for people. Plain TypeScript, no
 * `cloudflare:*` import: the table is unit-tested in Node.
 *
 * Why these routes:
 * - An offer lives for seconds: the fastest way to wake the driver's phone first (FCM at high
 *   priority), then a browser (Web Push), then the driver's own webhook, each only if the ones
 *   before reached no device. Two ways of ringing at once would only race each other.
 * - Chat and trip moves go to every device (the existing behaviour): each is a screen the user
 *   may be looking at.
 * - "Your driver has arrived" goes to the app's devices; only when none of them took it (no
 *   device, or every push service failed) does it go out by SMS, which costs money and must
 *   reach a rider without the app. A push service taking it is no proof that a rider saw it (a
 *   phone in a bag, an app killed): when no device acknowledges it within
 *   ARRIVED_SMS_AFTER_SECONDS, the trip sends a second notification, `trip_arrived_sms`, by SMS
 *   alone (rooms/trip-arrival-sms.ts decides; notify/message's `arrivalSmsNotification`).
 * - A receipt is an email (the record a rider keeps) and the in-app log; devices get it too.
 * - Security notices (a sign-in, a password change, a ban) go by email, to the address the
 *   account signs in with, and cannot be muted.
 * - Urgent: what the user acts on now (an offer, a trip under way, a security notice) goes out
 *   during their quiet hours too; chat and receipts wait until the quiet hours end.
 */
import type { Channel, NotificationType } from "../protocol/notifications";
import type { NotificationMessage } from "./message";

/** The device channels: one per kind of registered device. */
export const DEVICE_CHANNELS = ["fcm", "webpush", "webhook"] as const satisfies readonly Channel[];

export type Route = {
  /** In the order they are tried. */
  channels: readonly Channel[];
  /**
   * `all`: every channel, each to all of its targets. `fallback`: a channel is used only if no
   * channel before it delivered (to any target).
   */
  mode: "all" | "fallback";
  /** False for notices the user cannot mute, by type or by channel. */
  mutable: boolean;
  /** Sent during the user's quiet hours too; a non-urgent one waits until they end. */
  urgent: boolean;
};

/** A notification type, or a finer case of one that routes differently. */
export type RouteName = NotificationType | "trip_arrived" | "trip_arrived_sms";

export const ROUTES: Readonly<Record<RouteName, Route>> = {
  offer: { channels: ["fcm", "webpush", "webhook"], mode: "fallback", mutable: true, urgent: true },
  chat_message: { channels: DEVICE_CHANNELS, mode: "all", mutable: true, urgent: false },
  trip_status: { channels: DEVICE_CHANNELS, mode: "all", mutable: true, urgent: true },
  trip_arrived: { channels: ["fcm", "webpush", "webhook", "sms"], mode: "fallback", mutable: true, urgent: true },
  trip_arrived_sms: { channels: ["sms"], mode: "all", mutable: true, urgent: true },
  receipt: { channels: ["email", ...DEVICE_CHANNELS], mode: "all", mutable: true, urgent: false },
  security: { channels: ["email"], mode: "all", mutable: false, urgent: true },
};

export function routeNameOf(message: NotificationMessage): RouteName {
  if (message.type === "trip_status" && message.data.status === "arrived")
    return message.data.unackedPushId === undefined ? "trip_arrived" : "trip_arrived_sms";
  return message.type;
}

export function routeOf(message: NotificationMessage): Route {
  return ROUTES[routeNameOf(message)];
}

/** Whether `channel` is muted for this route, given the user's muted channels. */
export function channelMuted(route: Route, channel: Channel, mutedChannels: readonly string[]): boolean {
  return route.mutable && mutedChannels.includes(channel);
}
