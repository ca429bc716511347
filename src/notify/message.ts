/**
 * @module notify/message
 * What travels on the notifications queue, what a device receives and how urgently. Each message carries
 * its deterministic notification id (source, seq or event, recipient): the D1 primary key that
 * makes a redelivered message a no-op. Plain TypeScript with no `cloudflare:*` import, so the
 * rooms that build messages and the consumer that reads them share one schema.
 */
import { z } from "zod";
import { CancelReasonCode } from "../domain/cancel-reasons";
import { TripStatus } from "../domain/trip";
import { Money, type Message } from "../protocol/common";
import { Offer, type Trip, TripPinCode } from "../protocol/dispatch";
import type { NotificationType } from "../protocol/notifications";
import { TRACE_ID } from "../trace";

/** Previews are cut to this many characters (code points), the ellipsis included. */
export const PREVIEW_CHARS = 140;

/** Trip statuses a rider without a socket is told about. */
export const NOTIFIED_TRIP_STATUSES: ReadonlySet<TripStatus> = new Set([
  "accepted",
  "arrived",
  "completed",
  "no_driver",
  "cancelled",
]);

const envelope = {
  id: z.string().min(1).max(256),
  userId: z.string().min(1).max(64),
  createdAt: z.number().int(),
  /** The trace id of the request that sent it (trace.ts), when a Worker request did: the consumer logs it. */
  traceId: z.string().regex(TRACE_ID).optional(),
};

export const ChatNotificationData = z.object({
  roomId: z.string(),
  seq: z.number().int(),
  messageId: z.string(),
  senderId: z.string(),
  /** The sender's display name, or their user id when the name is not known. */
  senderName: z.string(),
  preview: z.string().max(PREVIEW_CHARS),
});

export const TripStatusNotificationData = z.object({
  tripId: z.string(),
  seq: z.number().int(),
  status: TripStatus,
  driverId: z.string().nullable(),
  fare: Money.nullable(),
  /**
   * Only on the delayed arrival SMS (`arrivalSmsNotification`): the id of the push notification
   * that no device acknowledged in time. Its presence routes the message to SMS alone.
   */
  unackedPushId: z.string().min(1).max(256).optional(),
  /** Only on the delayed arrival SMS: the trip's PIN, when the trip has one (it reaches the rider alone). */
  pin: TripPinCode.optional(),
  /** A scheduled ride's pickup time (README, "Scheduled rides"): its pushes say it is that ride. */
  scheduledAt: z.number().int().optional(),
  /** Why the trip was cancelled, once it is (`schedule_unfunded`, say): the push says why. */
  reasonCode: CancelReasonCode.nullable().optional(),
});
export type TripStatusNotificationData = z.infer<typeof TripStatusNotificationData>;

/** A trip's charge was taken: the fare on completion, or a cancellation fee. */
export const ReceiptNotificationData = z.object({
  tripId: z.string(),
  kind: z.enum(["capture", "fee"]),
  amount: Money,
});

/**
 * Something happened to the account that its holder must hear of: a sign-in (`new_login`, with
 * the client's address as the Worker saw it), a password change (`password_changed`) or a change
 * or removal of the phone number (`phone_changed`), each with the address it came from, or a ban
 * by an operator. The operator's reason is
 * not sent: it is written for the audit log, not the user.
 */
export const SecurityNotificationData = z.object({
  event: z.enum(["new_login", "password_changed", "phone_changed", "ban"]),
  at: z.number().int(),
  ip: z.string().max(64).nullable(),
});
export type SecurityNotificationData = z.infer<typeof SecurityNotificationData>;

export const NotificationMessage = z
  .discriminatedUnion("type", [
    z.object({ ...envelope, type: z.literal("chat_message"), data: ChatNotificationData }),
    z.object({ ...envelope, type: z.literal("offer"), data: Offer }),
    z.object({ ...envelope, type: z.literal("trip_status"), data: TripStatusNotificationData }),
    z.object({ ...envelope, type: z.literal("receipt"), data: ReceiptNotificationData }),
    z.object({ ...envelope, type: z.literal("security"), data: SecurityNotificationData }),
  ])
  // Every producer below makes the id end with its recipient's: the log is partitioned by user
  // (db/shards), so an id is unique only within its user's shard, and a message naming one user
  // with another's id must not reach either log.
  .refine((message) => message.id.endsWith(`:${message.userId}`), {
    message: "a notification's id ends with its user's id",
    path: ["id"],
  });
export type NotificationMessage = z.infer<typeof NotificationMessage>;

/** At most PREVIEW_CHARS code points, whitespace collapsed, cut with an ellipsis. */
export function previewOf(text: string): string {
  const chars = Array.from(text.replace(/\s+/g, " ").trim());
  return chars.length <= PREVIEW_CHARS ? chars.join("") : `${chars.slice(0, PREVIEW_CHARS - 1).join("")}…`;
}

/** What a message with attachments and no text shows in a notification: its files, by kind and name. */
function attachmentsPreview(message: Message): string {
  const files = message.attachments ?? [];
  return files.map((f) => `${f.contentType.startsWith("image/") ? "Photo" : "File"}: ${f.filename}`).join(", ");
}

export function chatNotification(
  message: Message,
  recipientId: string,
  senderName: string | undefined,
): NotificationMessage {
  return {
    id: `chat:${message.roomId}:${message.seq}:${recipientId}`,
    userId: recipientId,
    type: "chat_message",
    createdAt: message.createdAt,
    data: {
      roomId: message.roomId,
      seq: message.seq,
      messageId: message.id,
      senderId: message.userId,
      senderName: senderName?.trim() || message.userId,
      preview: previewOf(message.text || attachmentsPreview(message)),
    },
  };
}

/** One offer per trip and driver: a driver is never offered the same trip twice. */
export function offerNotification(driverId: string, offer: Offer, now: number): NotificationMessage {
  return { id: `offer:${offer.tripId}:${driverId}`, userId: driverId, type: "offer", createdAt: now, data: offer };
}

/** Keyed by the status event's seq: a trip can be `accepted` twice (after a driver hands it back). */
export function tripStatusNotification(trip: Trip, seq: number): NotificationMessage {
  return {
    id: `trip:${trip.id}:${seq}:${trip.riderId}`,
    userId: trip.riderId,
    type: "trip_status",
    createdAt: trip.updatedAt,
    data: {
      tripId: trip.id,
      seq,
      status: trip.status,
      driverId: trip.driverId,
      fare: trip.fare,
      ...(trip.scheduledAt === undefined ? {} : { scheduledAt: trip.scheduledAt }),
      ...(trip.cancellation ? { reasonCode: trip.cancellation.reasonCode } : {}),
    },
  };
}

/**
 * The text that stands in for an arrival push no device acknowledged (rooms/trip-arrival-sms.ts):
 * one per arrival, its id derived from the push's, so a repeated send is one SMS. It carries the
 * trip's PIN, which the push never does (a push payload reaches webhooks and push services).
 */
export function arrivalSmsNotification(
  push: NotificationMessage,
  pin: string | null,
  now: number,
): NotificationMessage {
  if (push.type !== "trip_status" || push.data.status !== "arrived")
    throw new Error("an arrival SMS stands in for an arrival push only");
  return {
    id: `sms:${push.id}`,
    userId: push.userId,
    type: "trip_status",
    createdAt: now,
    data: { ...push.data, unackedPushId: push.id, ...(pin === null ? {} : { pin }) },
  };
}

/** What the notification log keeps of a message: its data without the trip PIN (a secret of the ride). */
export function loggedData(message: NotificationMessage): NotificationMessage["data"] {
  if (message.type !== "trip_status" || message.data.pin === undefined) return message.data;
  const { pin: _pin, ...kept } = message.data;
  return kept;
}

/** One receipt per trip: the ledger's charge key makes it one charge, this id one notification. */
export function receiptNotification(
  tripId: string,
  riderId: string,
  kind: "capture" | "fee",
  amount: Money,
  createdAt: number,
): NotificationMessage {
  return {
    id: `receipt:${tripId}:${riderId}`,
    userId: riderId,
    type: "receipt",
    createdAt,
    data: { tripId, kind, amount },
  };
}

/**
 * One notice per sign-in (its session id), per password change (the session and time) or per ban
 * (its time): a repeated send is a no-op.
 */
export function securityNotification(
  userId: string,
  event: SecurityNotificationData["event"],
  key: string,
  at: number,
  ip: string | null,
): NotificationMessage {
  return {
    id: `security:${event}:${key}:${userId}`,
    userId,
    type: "security",
    createdAt: at,
    data: { event, at, ip: ip?.slice(0, 64) ?? null },
  };
}

const STATUS_TEXT: Record<TripStatus, string> = {
  scheduled: "Your ride is scheduled",
  matching: "Looking for a driver",
  accepted: "A driver accepted your trip",
  arrived: "Your driver has arrived",
  in_progress: "Your trip has started",
  completed: "Your trip is complete",
  cancelled: "Your trip was cancelled",
  no_driver: "No driver was found for your trip",
};

/** What a scheduled ride's end says to its rider, beyond the status (null: the status says it all). */
function scheduledRideText(data: TripStatusNotificationData): string | null {
  if (data.scheduledAt === undefined) return null;
  if (data.reasonCode === "schedule_unfunded")
    return "Your scheduled ride was cancelled: your wallet did not cover its fare. Top up and book again.";
  if (data.reasonCode === "schedule_rider_busy")
    return "Your scheduled ride was cancelled: you were on another ride at its pickup time.";
  if (data.status === "no_driver") return "No driver was found for your scheduled ride.";
  return null;
}

export function formatMoney(money: Money): string {
  try {
    const format = new Intl.NumberFormat("en", { style: "currency", currency: money.currency });
    const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
    return format.format(money.amount / 10 ** digits);
  } catch {
    return `${money.amount} ${money.currency} (minor units)`;
  }
}

/** What a device receives: the JSON body of a webhook and the plaintext of a Web Push message. */
export type DeliveryPayload = {
  id: string;
  type: NotificationType;
  createdAt: number;
  title: string;
  body: string;
  data: NotificationMessage["data"];
};

export function deliveryPayload(message: NotificationMessage): DeliveryPayload {
  const base = { id: message.id, type: message.type, createdAt: message.createdAt, data: message.data };
  switch (message.type) {
    case "chat_message":
      return { ...base, title: message.data.senderName, body: message.data.preview };
    case "offer": {
      const minutes = Math.max(1, Math.round(message.data.pickupEtaSec / 60));
      return { ...base, title: "New trip offer", body: `${formatMoney(message.data.fare)}, pickup in ${minutes} min` };
    }
    case "trip_status": {
      const fare =
        message.data.status === "completed" && message.data.fare ? `: ${formatMoney(message.data.fare)}` : "";
      const title = STATUS_TEXT[message.data.status];
      return { ...base, title, body: scheduledRideText(message.data) ?? `${title}${fare}` };
    }
    case "receipt":
      return message.data.kind === "fee"
        ? { ...base, title: "Your receipt", body: `Cancellation fee: ${formatMoney(message.data.amount)}` }
        : { ...base, title: "Your receipt", body: `Your trip: ${formatMoney(message.data.amount)}` };
    case "security":
      switch (message.data.event) {
        case "ban":
          return { ...base, title: "Your account was suspended", body: "An operator suspended your ridewire account" };
        case "password_changed":
          return { ...base, title: "Password changed", body: "The password of your ridewire account was changed" };
        case "phone_changed":
          return { ...base, title: "Phone number changed", body: "The phone number of your ridewire account changed" };
        case "new_login":
          return { ...base, title: "New sign-in", body: "Your ridewire account was signed in to" };
      }
  }
}

/**
 * How a notification travels, whatever the channel: whether it may wake a sleeping phone, how
 * long it is worth delivering, and what a later one of the same conversation replaces.
 * - An offer is urgent and lives exactly as long as the offer (a late offer is worse than
 *   none: the driver would accept a trip that has moved on).
 * - Chat collapses per room, trip statuses per trip: after a burst an offline phone shows the
 *   latest, not fifty.
 */
export type DeliveryUrgency = {
  priority: "high" | "normal";
  /** Seconds the push service may hold it for an unreachable device; 0 or less: already too late. */
  ttlSeconds: number;
  /** Server-made ids only (rooms and trips are named by the service), well under APNs' 64 bytes. */
  collapseKey: string | null;
  /** Worth breaking through a Focus mode (iOS `interruption-level: time-sensitive`). */
  timeSensitive: boolean;
};

export function deliveryUrgency(message: NotificationMessage, now: number, ttlSeconds: number): DeliveryUrgency {
  switch (message.type) {
    case "offer":
      return {
        priority: "high",
        ttlSeconds: Math.floor((message.data.expiresAt - now) / 1000),
        collapseKey: null,
        timeSensitive: true,
      };
    case "chat_message":
      return { priority: "normal", ttlSeconds, collapseKey: `chat:${message.data.roomId}`, timeSensitive: false };
    case "trip_status":
      return { priority: "normal", ttlSeconds, collapseKey: `trip:${message.data.tripId}`, timeSensitive: false };
    case "receipt":
    case "security":
      return { priority: "normal", ttlSeconds, collapseKey: null, timeSensitive: false };
  }
}

/**
 * The flat string map an app routes a push on (FCM `data` takes string values only): the
 * notification's id and type, and the ids that open the right screen. Ids and states only,
 * never message text: the text is in the visible title and body.
 */
export function routingData(message: NotificationMessage): Record<string, string> {
  const base = { notificationId: message.id, type: message.type, createdAt: String(message.createdAt) };
  switch (message.type) {
    case "chat_message":
      return {
        ...base,
        roomId: message.data.roomId,
        seq: String(message.data.seq),
        messageId: message.data.messageId,
        senderId: message.data.senderId,
      };
    case "offer":
      return {
        ...base,
        tripId: message.data.tripId,
        expiresAt: String(message.data.expiresAt),
        pickupEtaSec: String(message.data.pickupEtaSec),
        fareAmount: String(message.data.fare.amount),
        fareCurrency: message.data.fare.currency,
      };
    case "trip_status":
      return { ...base, tripId: message.data.tripId, status: message.data.status, seq: String(message.data.seq) };
    case "receipt":
      return { ...base, tripId: message.data.tripId, kind: message.data.kind };
    case "security":
      return { ...base, event: message.data.event };
  }
}
