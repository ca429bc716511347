/**
 * What an FCM message is made of, as plain functions: the routing data (string values only,
 * as FCM's `data` requires), the priority, TTL and collapse key of each type, and the
 * `Retry-After` forms a provider may answer. The channel end to end is in test/worker/fcm.test.ts.
 */
import { describe, expect, it } from "vitest";
import { retryAfterSeconds } from "../../src/notify/delivery-result";
import { fcmMessage } from "../../src/notify/fcm";
import {
  chatNotification,
  offerNotification,
  receiptNotification,
  type NotificationMessage,
} from "../../src/notify/message";

const NOW = 1_800_000_000_000;

const offer = (expiresAt: number) =>
  offerNotification(
    "usr_driver",
    {
      tripId: "trip_1",
      pickup: { lat: 1, lng: 2 },
      dropoff: { lat: 1.1, lng: 2 },
      fare: { amount: 1_234, currency: "USD" },
      pickupEtaSec: 180,
      expiresAt,
    },
    NOW,
  );
const chat = chatNotification(
  { id: "msg_1", roomId: "room_1", seq: 4, userId: "usr_ada", text: "x".repeat(500), createdAt: NOW },
  "usr_bob",
  "Ada",
);
const receipt = receiptNotification("trip_1", "usr_rider", "capture", { amount: 900, currency: "EUR" }, NOW);

describe("fcmMessage", () => {
  it("gives an offer high priority for exactly the offer's remaining time, on Android and APNs", () => {
    const message = fcmMessage("tok", offer(NOW + 12_900), NOW, 3_600);
    expect(message.android).toEqual({ priority: "HIGH", ttl: "12s" });
    expect(message.apns.headers).toEqual({
      "apns-priority": "10",
      "apns-push-type": "alert",
      "apns-expiration": String(NOW / 1000 + 12),
    });
    expect(message.apns.payload.aps).toEqual({ "interruption-level": "time-sensitive", sound: "default" });
    expect(message.data).toEqual({
      notificationId: "offer:trip_1:usr_driver",
      type: "offer",
      createdAt: String(NOW),
      tripId: "trip_1",
      expiresAt: String(NOW + 12_900),
      pickupEtaSec: "180",
      fareAmount: "1234",
      fareCurrency: "USD",
    });
  });

  it("collapses chat per room at normal priority, with the preview as its body", () => {
    const message = fcmMessage("tok", chat, NOW, 3_600);
    expect(message.android).toEqual({
      priority: "NORMAL",
      ttl: "3600s",
      collapse_key: "chat:room_1",
      notification: { tag: "chat:room_1" },
    });
    expect(message.apns.headers["apns-collapse-id"]).toBe("chat:room_1");
    expect(message.apns.headers["apns-priority"]).toBe("5");
    expect(message.notification.title).toBe("Ada");
    expect(Array.from(message.notification.body)).toHaveLength(140);
  });

  it("has string data values only, for every type", () => {
    const all: NotificationMessage[] = [offer(NOW + 5_000), chat, receipt];
    for (const notification of all) {
      const { data } = fcmMessage("tok", notification, NOW, 60);
      expect(Object.values(data).every((v) => typeof v === "string")).toBe(true);
      expect(data.type).toBe(notification.type);
      expect(data.notificationId).toBe(notification.id);
    }
  });
});

describe("retryAfterSeconds", () => {
  it("reads delta-seconds and HTTP dates, and nothing else", () => {
    expect(retryAfterSeconds("120", NOW)).toBe(120);
    expect(retryAfterSeconds(" 7 ", NOW)).toBe(7);
    expect(retryAfterSeconds(new Date(NOW + 30_000).toUTCString(), NOW)).toBe(30);
    expect(retryAfterSeconds(new Date(NOW - 30_000).toUTCString(), NOW)).toBe(0);
    expect(retryAfterSeconds(null, NOW)).toBeUndefined();
    expect(retryAfterSeconds("soon", NOW)).toBeUndefined();
    expect(retryAfterSeconds("-5", NOW)).toBeUndefined();
  });
});
