// The routing table's choice per notification and the email and SMS templates: pure code, in Node.
import { describe, expect, it } from "vitest";
import { arrivalSmsDecision, type ArrivalPush } from "../../src/notify/arrival-sms";
import {
  arrivalSmsNotification,
  chatNotification,
  loggedData,
  receiptNotification,
  securityNotification,
  tripStatusNotification,
} from "../../src/notify/message";
import { quietUntil } from "../../src/notify/quiet-hours";
import { channelMuted, ROUTES, routeNameOf, routeOf } from "../../src/notify/routing";
import { emailFor, escapeHtml, smsFor } from "../../src/notify/templates";
import type { Trip } from "../../src/protocol/dispatch";
import { NotificationType } from "../../src/protocol/notifications";

function trip(status: Trip["status"]): Trip {
  const at = { lat: 1, lng: 1 };
  return {
    id: "trp_1",
    riderId: "usr_r",
    driverId: "usr_d",
    status,
    pickup: at,
    dropoff: at,
    quote: {
      id: "qt",
      pickup: at,
      dropoff: at,
      distanceKm: 1,
      durationMin: 3,
      fare: { amount: 700, currency: "USD" },
      surge: 1,
      pickupEtaSec: 60,
      expiresAt: 0,
    },
    fare: null,
    driverLocation: null,
    etaSec: null,
    createdAt: 0,
    updatedAt: 0,
  };
}

describe("routing", () => {
  it("has a route for every notification type", () => {
    for (const type of NotificationType.options) expect(ROUTES[type].channels.length).toBeGreaterThan(0);
  });

  it("routes an arrival apart from the other trip statuses", () => {
    expect(routeNameOf(tripStatusNotification(trip("arrived"), 1))).toBe("trip_arrived");
    expect(routeNameOf(tripStatusNotification(trip("accepted"), 1))).toBe("trip_status");
    expect(routeOf(tripStatusNotification(trip("completed"), 1)).channels).not.toContain("sms");
  });

  it("routes the delayed arrival SMS to SMS alone, with an id of its own derived from the push's", () => {
    const push = tripStatusNotification(trip("arrived"), 4);
    const sms = arrivalSmsNotification(push, "0427", 99);
    expect(sms.id).toBe(`sms:${push.id}`);
    expect(arrivalSmsNotification(push, "0427", 12_345).id).toBe(sms.id);
    expect(routeNameOf(sms)).toBe("trip_arrived_sms");
    expect(routeOf(sms)).toEqual({ channels: ["sms"], mode: "all", mutable: true, urgent: true });
    // Muting trip notifications mutes it too: it is logged as the type the user knows.
    expect(sms.type).toBe("trip_status");
    expect(() => arrivalSmsNotification(tripStatusNotification(trip("accepted"), 2), null, 0)).toThrow();
  });

  it("lets a muted channel pass over a mutable route only", () => {
    expect(channelMuted(ROUTES.receipt, "email", ["email"])).toBe(true);
    expect(channelMuted(ROUTES.receipt, "fcm", ["email"])).toBe(false);
    expect(channelMuted(ROUTES.security, "email", ["email"])).toBe(false);
  });
});

describe("templates", () => {
  const receipt = receiptNotification("trp_9", "usr_r", "capture", { amount: 1_999, currency: "EUR" }, 0);

  it("escapes what users and clients wrote in the HTML, keeps it readable in the text", () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    const email = emailFor(receipt, `Mallory <script>alert(1)</script>`);
    expect(email?.subject).toBe("Your ridewire receipt: €19.99");
    expect(email?.html).not.toContain("<script>");
    expect(email?.html).toContain("&lt;script&gt;");
    expect(email?.text).toContain("Hi Mallory <script>alert(1)</script>,");
  });

  it("keeps a name on one line and bounded", () => {
    const email = emailFor(receipt, `Eve\r\nBcc: victim@example.com${"x".repeat(500)}`);
    const greeting = email?.text.split("\n")[0] ?? "";
    expect(greeting.startsWith("Hi Eve Bcc: victim@example.com")).toBe(true);
    expect(Array.from(greeting).length).toBeLessThan(70);
  });

  it("words the security notices, and shows no reason for a ban", () => {
    const login = emailFor(
      securityNotification("usr_r", "new_login", "ses_1", Date.UTC(2026, 11, 5, 13, 4), "198.51.100.4"),
      "Sam",
    );
    expect(login?.subject).toBe("New sign-in to your ridewire account");
    expect(login?.text).toContain("on 2026-12-05 13:04 UTC from 198.51.100.4");
    const ban = emailFor(securityNotification("usr_r", "ban", "1", 0, null), "Sam");
    expect(ban?.subject).toBe("Your ridewire account was suspended");
  });

  it("has an SMS only for the arrival, and no email for chat or offers", () => {
    expect(smsFor(tripStatusNotification(trip("arrived"), 1))).toContain("has arrived");
    expect(smsFor(tripStatusNotification(trip("accepted"), 1))).toBeNull();
    const push = tripStatusNotification(trip("arrived"), 1);
    expect(smsFor(arrivalSmsNotification(push, "0427", 0))).toBe(
      "ridewire: Your driver has arrived at the pickup point. Your trip PIN: 0427",
    );
    expect(smsFor(arrivalSmsNotification(push, null, 0))).toBe(
      "ridewire: Your driver has arrived at the pickup point.",
    );
    const chat = chatNotification(
      { id: "msg_1", roomId: "room_1", seq: 1, userId: "usr_s", text: "hi", createdAt: 0 },
      "usr_r",
      "Sam",
    );
    expect(emailFor(chat, "x")).toBeNull();
  });
});

describe("quiet hours", () => {
  const at = (iso: string) => Date.parse(iso);

  it("a window within a day", () => {
    const q = { start: "13:00", end: "15:30", timeZone: "UTC" };
    expect(quietUntil(q, at("2026-12-05T12:59:59Z"))).toBeNull();
    expect(quietUntil(q, at("2026-12-05T13:00:00Z"))).toBe(at("2026-12-05T15:30:00Z"));
    expect(quietUntil(q, at("2026-12-05T15:29:30Z"))).toBe(at("2026-12-05T15:30:00Z"));
    expect(quietUntil(q, at("2026-12-05T15:30:00Z"))).toBeNull();
  });

  it("a window over midnight, in the user's zone", () => {
    // Paris is UTC+1 in December, UTC+2 in July.
    const q = { start: "22:00", end: "07:00", timeZone: "Europe/Paris" };
    expect(quietUntil(q, at("2026-12-05T20:59:00Z"))).toBeNull();
    expect(quietUntil(q, at("2026-12-05T21:00:00Z"))).toBe(at("2026-12-06T06:00:00Z"));
    expect(quietUntil(q, at("2026-12-06T03:10:20Z"))).toBe(at("2026-12-06T06:00:00Z"));
    expect(quietUntil(q, at("2026-07-06T03:10:00Z"))).toBe(at("2026-07-06T05:00:00Z"));
    expect(quietUntil(q, at("2026-12-06T06:00:00Z"))).toBeNull();
    expect(quietUntil(null, at("2026-12-06T03:00:00Z"))).toBeNull();
  });

  it("sends offers, trip moves and security notices during quiet hours, holds chat and receipts", () => {
    expect(
      Object.entries(ROUTES)
        .filter(([, r]) => !r.urgent)
        .map(([name]) => name),
    ).toEqual(["chat_message", "receipt"]);
  });
});

describe("the delayed arrival SMS", () => {
  const push = (over: Partial<ArrivalPush> = {}): ArrivalPush => ({
    status: "delivered",
    ackedAt: null,
    smsOutcome: "not_needed",
    ...over,
  });

  it("goes when a device took the push and none acknowledged it", () => {
    expect(arrivalSmsDecision(push(), 100, 200)).toBe("send");
    // The push reached nothing and its own SMS could not go (no verified number then): try again.
    expect(arrivalSmsDecision(push({ status: "failed", smsOutcome: "skipped" }), 100, 200)).toBe("send");
  });

  it("does not go once an app acknowledged the push, or when the push texted already", () => {
    expect(arrivalSmsDecision(push({ ackedAt: 50 }), 100, 200)).toBe("acked");
    for (const smsOutcome of ["delivered", "pending", "retrying"] as const)
      expect(arrivalSmsDecision(push({ smsOutcome }), 100, 200)).toBe("texted");
    expect(arrivalSmsDecision(push({ status: "muted", smsOutcome: null }), 100, 200)).toBe("muted");
    expect(arrivalSmsDecision(push({ smsOutcome: "muted" }), 100, 200)).toBe("muted");
  });

  it("waits for a push not logged or not settled yet, until the give-up time", () => {
    expect(arrivalSmsDecision(undefined, 100, 200)).toBe("wait");
    expect(arrivalSmsDecision(push({ status: "pending", smsOutcome: null }), 100, 200)).toBe("wait");
    expect(arrivalSmsDecision(undefined, 200, 200)).toBe("send");
    expect(arrivalSmsDecision(push({ status: "pending", smsOutcome: null }), 250, 200)).toBe("send");
  });

  it("keeps the PIN out of what the log stores", () => {
    const sms = arrivalSmsNotification(tripStatusNotification(trip("arrived"), 1), "0427", 0);
    expect(JSON.stringify(loggedData(sms))).not.toContain("0427");
    expect(loggedData(sms)).toMatchObject({ tripId: "trp_1", status: "arrived" });
  });
});
