/**
 * The routing table and the email and SMS channels, through the public API and the queue
 * consumer, against the local stand-ins of Resend (test/helpers/email-server.mjs), Twilio
 * (sms-server.mjs), FCM (fcm-server.mjs) and the webhook / Web Push receiver (hook-server.mjs):
 * which channels each type takes and in what order, the templates that arrive, muting by type
 * and by channel, security notices that cannot be muted, the hourly SMS limit (concurrent
 * consumers included), the phone number's validation, and what one user may see of another's.
 */
import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import { toBase64Url } from "../../src/auth/encoding";
import { DEAD_LETTER_QUEUE, NOTIFICATIONS_QUEUE } from "../../src/notify/consumer";
import {
  offerNotification,
  receiptNotification,
  securityNotification,
  tripStatusNotification,
  type NotificationMessage,
} from "../../src/notify/message";
import { ROUTES } from "../../src/notify/routing";
import { registerAdmin } from "../helpers/admin";
import { call, registerUser, unique, type TestUser } from "../helpers/api";
import {
  emailsTo,
  riderWithVerifiedPhone,
  scriptEmail,
  scriptSms,
  setPhone,
  smsTo,
  textsTo,
  waitForEmails,
  waitForTexts,
} from "../helpers/channels";
import { expectError } from "../helpers/chat";
import { acceptedTrip, area, driverAction, offset, onlineDriver, stopTripAlarms } from "../helpers/dispatch";
import { fcmSends, newFcmToken, scriptFcm } from "../helpers/fcm";
import { arrivedTrip, deliveriesTo, hookUrl, runQueue } from "../helpers/notify";

afterAll(stopTripAlarms);

// ---- fixtures ------------------------------------------------------------------------------------

type Logged = {
  id: string;
  type: string;
  status: string;
  attempts: number;
  lastError: string | null;
  channels: { channel: string; outcome: string; attempts: number; lastError: string | null }[];
};

async function notificationsOf(user: TestUser): Promise<Logged[]> {
  const res = await call("GET", "/v1/notifications?limit=100", { token: user.token });
  expect(res.status).toBe(200);
  return res.body.notifications;
}

async function notificationOf(user: TestUser, id: string): Promise<Logged> {
  const found = (await notificationsOf(user)).find((n) => n.id === id);
  if (!found) throw new Error(`no notification ${id}`);
  return found;
}

async function waitForNotification(user: TestUser, predicate: (n: Logged) => boolean, timeoutMs = 8_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await notificationsOf(user)).find(predicate);
    if (found && found.status !== "pending") return found;
    if (Date.now() > deadline) throw new Error(`no settled notification matched; last: ${JSON.stringify(found)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The channels of a logged notification as `channel: outcome` (with the error class when there is one). */
const outcomes = (n: Logged) =>
  n.channels.map((c) => `${c.channel}: ${c.outcome}${c.lastError ? ` (${c.lastError})` : ""}`);

const deliver = (...messages: NotificationMessage[]) =>
  runQueue(
    NOTIFICATIONS_QUEUE,
    messages.map((body) => ({ id: unique("m"), body })),
  );

async function addWebhook(user: TestUser, key: string) {
  const res = await call("POST", "/v1/devices", { token: user.token, body: { kind: "webhook", url: hookUrl(key) } });
  expect(res.status).toBe(201);
}

async function addFcm(user: TestUser, token: string) {
  const res = await call("POST", "/v1/devices", {
    token: user.token,
    body: { kind: "fcm", token, platform: "android" },
  });
  expect(res.status).toBe(201);
}

/** A browser's push subscription whose endpoint is the test receiver (the payload is encrypted to these keys). */
async function addWebPush(user: TestUser, key: string) {
  const keys = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, [
    "deriveBits",
  ])) as CryptoKeyPair;
  const p256dh = toBase64Url(new Uint8Array((await crypto.subtle.exportKey("raw", keys.publicKey)) as ArrayBuffer));
  const subscription = {
    endpoint: hookUrl(key),
    keys: { p256dh, auth: toBase64Url(crypto.getRandomValues(new Uint8Array(16))) },
  };
  const res = await call("POST", "/v1/devices", { token: user.token, body: { kind: "webpush", subscription } });
  expect(res.status).toBe(201);
}

async function mute(user: TestUser, body: { muted?: string[]; mutedChannels?: string[]; quietHours?: unknown }) {
  const res = await call("PATCH", "/v1/me/preferences", { token: user.token, body });
  expect(res.status).toBe(200);
  return res.body.preferences;
}

const arrivedFor = (rider: TestUser) => tripStatusNotification(arrivedTrip(rider.user.id, unique("trip")), 3);
const receiptFor = (rider: TestUser, kind: "capture" | "fee" = "capture") =>
  receiptNotification(unique("trip"), rider.user.id, kind, { amount: 1_234, currency: "USD" }, Date.now());
const offerFor = (driver: TestUser) =>
  offerNotification(
    driver.user.id,
    {
      tripId: unique("trip"),
      pickup: { lat: 48.85, lng: 2.35 },
      dropoff: { lat: 48.87, lng: 2.36 },
      fare: { amount: 1_250, currency: "EUR" },
      pickupEtaSec: 240,
      expiresAt: Date.now() + 15_000,
    },
    Date.now(),
  );

// ---- the table ----------------------------------------------------------------------------------

describe("the routing table", () => {
  it("routes offers down FCM, Web Push, webhook; arrivals to SMS last; security by email, unmutable", () => {
    expect(ROUTES.offer).toEqual({
      channels: ["fcm", "webpush", "webhook"],
      mode: "fallback",
      mutable: true,
      urgent: true,
    });
    expect(ROUTES.trip_arrived.channels.at(-1)).toBe("sms");
    expect(ROUTES.trip_arrived.mode).toBe("fallback");
    expect(ROUTES.receipt.channels[0]).toBe("email");
    expect(ROUTES.security).toEqual({ channels: ["email"], mode: "all", mutable: false, urgent: true });
    // SMS costs money: only the arrival takes it (its push's fallback, and the text when no app acknowledged it).
    const withSms = Object.entries(ROUTES).filter(([, r]) => r.channels.includes("sms"));
    expect(withSms.map(([name]) => name)).toEqual(["trip_arrived", "trip_arrived_sms"]);
    expect(ROUTES.trip_arrived_sms.channels).toEqual(["sms"]);
  });
});

// ---- email ----------------------------------------------------------------------------------------

describe("email", () => {
  it("a receipt reaches the address with its text and HTML templates; the log shows each channel", async () => {
    const rider = await registerUser("rider", "Ada <b>Lovelace</b>");
    const receipt = receiptFor(rider);
    const result = await deliver(receipt);
    expect(result.retryMessages).toEqual([]);

    const [email, ...more] = await waitForEmails(rider.user.email);
    expect(more).toEqual([]);
    expect(email).toMatchObject({
      from: "ridewire <notifications@ridewire.test>",
      to: [rider.user.email],
      subject: "Your ridewire receipt: $12.34",
      idempotencyKey: receipt.id,
    });
    expect(email!.text).toContain("Hi Ada <b>Lovelace</b>,");
    expect(email!.text).toContain("Trip fare: $12.34.");
    expect(email!.text).toContain(receipt.id.split(":")[1]);
    // The name is text in the HTML, never markup.
    expect(email!.html).toContain("Hi Ada &lt;b&gt;Lovelace&lt;/b&gt;,");
    expect(email!.html).not.toContain("<b>Lovelace");
    expect(email!.html).toContain("<strong>$12.34</strong>");

    const logged = await notificationOf(rider, receipt.id);
    expect(logged.status).toBe("delivered");
    expect(outcomes(logged)).toEqual([
      "fcm: skipped (no_device)",
      "webpush: skipped (no_device)",
      "webhook: skipped (no_device)",
      "email: delivered",
    ]);
    expect(logged.channels.find((c) => c.channel === "email")?.attempts).toBe(1);

    // A redelivered message sends no second email.
    await deliver(receipt);
    expect(await emailsTo(rider.user.email)).toHaveLength(1);
  });

  it("a cancellation fee has its own wording", async () => {
    const rider = await registerUser();
    await deliver(receiptFor(rider, "fee"));
    const [email] = await waitForEmails(rider.user.email);
    expect(email!.text).toContain("Cancellation fee: $12.34.");
  });

  it("a sign-in sends a security notice by email, through the real queue", async () => {
    const user = await registerUser("rider", "Sam");
    const login = await call("POST", "/v1/auth/login", {
      body: { email: user.user.email, password: "password123" },
      headers: { "CF-Connecting-IP": "203.0.113.7" },
    });
    expect(login.status).toBe(200);
    const [email] = await waitForEmails(user.user.email);
    expect(email!.subject).toBe("New sign-in to your ridewire account");
    expect(email!.text).toContain("from 203.0.113.7");
    expect(email!.html).toContain("from 203.0.113.7");
    const logged = await waitForNotification(user, (n) => n.type === "security");
    expect(logged).toMatchObject({ status: "delivered" });
    expect(outcomes(logged)).toEqual(["email: delivered"]);
    // Registration is not a sign-in to tell of: one email only.
    expect(await emailsTo(user.user.email)).toHaveLength(1);
  });

  it("a ban sends a security notice, without the operator's reason", async () => {
    const admin = await registerAdmin();
    const user = await registerUser("rider", "Ban Me");
    const banned = await call("POST", `/v1/admin/users/${user.user.id}/ban`, {
      token: admin.token,
      body: { reason: "internal note: fraud ring 42" },
    });
    expect(banned.status).toBe(200);
    const [email] = await waitForEmails(user.user.email);
    expect(email!.subject).toBe("Your ridewire account was suspended");
    expect(email!.text).not.toContain("fraud ring");
    expect(email!.html).not.toContain("fraud ring");
  });

  it("429 is retried no sooner than Retry-After and then sends once; 422 fails the channel for good", async () => {
    const rider = await registerUser();
    await scriptEmail(rider.user.email, ["rate_limited"], 120);
    const receipt = receiptFor(rider);
    const first = await deliver(receipt);
    expect(first.retryMessages).toHaveLength(1);
    expect(first.retryMessages[0]!.delaySeconds).toBeGreaterThanOrEqual(120);
    expect(outcomes(await notificationOf(rider, receipt.id))).toContain("email: retrying (http_4xx)");
    expect(await emailsTo(rider.user.email)).toEqual([]);

    const second = await runQueue(NOTIFICATIONS_QUEUE, [{ id: unique("m"), attempts: 2, body: receipt }]);
    expect(second.retryMessages).toEqual([]);
    expect(await emailsTo(rider.user.email)).toHaveLength(1);
    const logged = await notificationOf(rider, receipt.id);
    expect(logged.status).toBe("delivered");
    expect(logged.channels.find((c) => c.channel === "email")).toMatchObject({ outcome: "delivered", attempts: 2 });

    const other = await registerUser();
    await scriptEmail(other.user.email, ["invalid"]);
    const refused = receiptFor(other);
    const result = await deliver(refused);
    expect(result.retryMessages).toEqual([]);
    const failed = await notificationOf(other, refused.id);
    expect(failed.status).toBe("failed");
    expect(outcomes(failed)).toContain("email: failed (email_rejected)");
  });
});

describe("dead letters", () => {
  it("a notification whose retries ran out ends failed, and so do its channels still retrying", async () => {
    const rider = await registerUser();
    await scriptEmail(rider.user.email, ["internal"]);
    const receipt = receiptFor(rider);
    expect((await deliver(receipt)).retryMessages).toHaveLength(1);
    expect(outcomes(await notificationOf(rider, receipt.id))).toContain("email: retrying (http_5xx)");
    await runQueue(DEAD_LETTER_QUEUE, [{ id: unique("d"), body: receipt }]);
    const logged = await notificationOf(rider, receipt.id);
    expect(logged.status).toBe("failed");
    expect(outcomes(logged)).toContain("email: failed (http_5xx)");
    expect(outcomes(logged)).toContain("fcm: skipped (no_device)");
  });
});

// ---- SMS and fallbacks ----------------------------------------------------------------------------

describe("SMS and fallbacks", () => {
  it("end to end: a rider with no app and no socket hears of the driver's arrival by SMS", async () => {
    const pickup = area(1);
    const dropoff = offset(pickup, 2);
    const driver = await onlineDriver(pickup, "Dee");
    const { rider, phone } = await riderWithVerifiedPhone("Rye");
    const trip = await acceptedTrip(rider, driver, pickup, dropoff);
    expect((await driverAction(driver, trip.id, "arrived")).status).toBe(200);
    const [sms] = await waitForTexts(phone);
    expect(sms!.body).toBe("ridewire: Your driver has arrived at the pickup point.");
    // The trip's other moves reach no phone: only the arrival is routed to SMS.
    expect(await textsTo(phone)).toHaveLength(1);
    driver.socket.close();
    await driver.socket.waitClosed();
  });

  it("'your driver has arrived' goes by SMS when the rider has no device, in E.164 from TWILIO_FROM", async () => {
    const { rider, phone } = await riderWithVerifiedPhone();
    const arrived = arrivedFor(rider);
    expect((await deliver(arrived)).retryMessages).toEqual([]);
    const [sms, ...more] = await waitForTexts(phone);
    expect(more).toEqual([]);
    expect(sms).toMatchObject({ to: phone, from: "+15005550006", body: expect.stringContaining("has arrived") });
    const logged = await notificationOf(rider, arrived.id);
    expect(logged.status).toBe("delivered");
    expect(outcomes(logged)).toEqual([
      "fcm: skipped (no_device)",
      "webpush: skipped (no_device)",
      "webhook: skipped (no_device)",
      "sms: delivered",
    ]);
  });

  it("no SMS when a device took the arrival; and other trip statuses never go by SMS", async () => {
    const { rider, phone } = await riderWithVerifiedPhone();
    const key = unique("hook");
    await addWebhook(rider, key);
    const arrived = arrivedFor(rider);
    await deliver(arrived);
    expect(await deliveriesTo(key)).toHaveLength(1);
    expect(outcomes(await notificationOf(rider, arrived.id))).toEqual([
      "fcm: skipped (no_device)",
      "webpush: skipped (no_device)",
      "webhook: delivered",
      "sms: not_needed",
    ]);

    const accepted = tripStatusNotification({ ...arrivedTrip(rider.user.id, unique("trip")), status: "accepted" }, 2);
    await deliver(accepted);
    expect(outcomes(await notificationOf(rider, accepted.id))).toEqual([
      "fcm: skipped (no_device)",
      "webpush: skipped (no_device)",
      "webhook: delivered",
    ]);
    expect(await textsTo(phone)).toEqual([]);
  });

  it("when the only device fails, the arrival falls back to SMS and is not retried", async () => {
    const { rider, phone } = await riderWithVerifiedPhone();
    const token = newFcmToken();
    await addFcm(rider, token);
    await scriptFcm(token, ["internal"]);
    const arrived = arrivedFor(rider);
    const result = await deliver(arrived);
    expect(result.retryMessages).toEqual([]);
    expect(await fcmSends(token)).toHaveLength(1);
    expect(await textsTo(phone)).toHaveLength(1);
    const logged = await notificationOf(rider, arrived.id);
    expect(logged.status).toBe("delivered");
    expect(outcomes(logged)).toEqual([
      "fcm: failed (http_5xx)",
      "webpush: skipped (no_device)",
      "webhook: skipped (no_device)",
      "sms: delivered",
    ]);
  });

  it("an offer falls back from a failing FCM to Web Push, and the webhook is not needed", async () => {
    const driver = await registerUser("driver");
    const token = newFcmToken();
    const pushKey = unique("push");
    const hookKey = unique("hook");
    await addFcm(driver, token);
    await addWebPush(driver, pushKey);
    await addWebhook(driver, hookKey);
    await scriptFcm(token, ["internal"]);
    const offer = offerFor(driver);
    const result = await deliver(offer);
    expect(result.retryMessages).toEqual([]);
    expect(await fcmSends(token)).toHaveLength(1);
    const [push] = await deliveriesTo(pushKey);
    expect(push?.headers["content-encoding"]).toBe("aes128gcm");
    expect(push?.headers.urgency).toBe("high");
    expect(await deliveriesTo(hookKey)).toEqual([]);
    const logged = await notificationOf(driver, offer.id);
    expect(logged.status).toBe("delivered");
    expect(outcomes(logged)).toEqual(["fcm: failed (http_5xx)", "webpush: delivered", "webhook: not_needed"]);

    // FCM answering: it alone rings the phone.
    const second = offerFor(driver);
    await deliver(second);
    expect(await fcmSends(token)).toHaveLength(2);
    expect(await deliveriesTo(pushKey)).toHaveLength(1);
    expect(outcomes(await notificationOf(driver, second.id))).toEqual([
      "fcm: delivered",
      "webpush: not_needed",
      "webhook: not_needed",
    ]);
  });

  it("an offer whose every channel fails for now is retried, and the retry skips nothing it needs", async () => {
    const driver = await registerUser("driver");
    const token = newFcmToken();
    await addFcm(driver, token);
    await scriptFcm(token, ["unavailable"]);
    const offer = offerFor(driver);
    const first = await deliver(offer);
    expect(first.retryMessages).toHaveLength(1);
    expect(outcomes(await notificationOf(driver, offer.id))[0]).toBe("fcm: retrying (http_5xx)");
    await runQueue(NOTIFICATIONS_QUEUE, [{ id: unique("m"), attempts: 2, body: offer }]);
    const logged = await notificationOf(driver, offer.id);
    expect(logged.status).toBe("delivered");
    expect(logged.channels[0]).toMatchObject({ channel: "fcm", outcome: "delivered", attempts: 2 });
  });

  it("a number that opted out (Twilio 21610) fails the SMS channel without a retry", async () => {
    const { rider, phone } = await riderWithVerifiedPhone();
    await scriptSms(phone, ["unsubscribed"]);
    const arrived = arrivedFor(rider);
    expect((await deliver(arrived)).retryMessages).toEqual([]);
    const logged = await notificationOf(rider, arrived.id);
    expect(logged.status).toBe("failed");
    expect(outcomes(logged).at(-1)).toBe("sms: failed (sms_rejected)");
  });

  it("holds SMS_PER_HOUR (5, its code one of them), concurrent consumers too; the rest rate_limited", async () => {
    const { rider, phone } = await riderWithVerifiedPhone();
    const arrivals = Array.from({ length: 8 }, () => arrivedFor(rider));
    // Eight consumers at once, one message each: the reservation is one statement, not read-then-write.
    const results = await Promise.all(arrivals.map((a) => deliver(a)));
    for (const r of results) expect(r.retryMessages).toEqual([]);
    expect(await textsTo(phone)).toHaveLength(4);
    expect(await smsTo(phone)).toHaveLength(5);
    const logged = await Promise.all(arrivals.map((a) => notificationOf(rider, a.id)));
    const statuses = logged.map((n) => n.status).sort();
    expect(statuses).toEqual([...Array(4).fill("delivered"), ...Array(4).fill("rate_limited")]);
    for (const n of logged.filter((l) => l.status === "rate_limited"))
      expect(outcomes(n).at(-1)).toBe("sms: rate_limited");

    // The limit is per user: another rider still gets theirs.
    const { rider: other, phone: otherPhone } = await riderWithVerifiedPhone();
    await deliver(arrivedFor(other));
    expect(await textsTo(otherPhone)).toHaveLength(1);
  });

  it("a retried SMS keeps its reservation: a failure then a success count once against the limit", async () => {
    const { rider, phone } = await riderWithVerifiedPhone();
    await scriptSms(phone, ["too_many"], 30);
    const first = arrivedFor(rider);
    const result = await deliver(first);
    expect(result.retryMessages).toHaveLength(1);
    expect(result.retryMessages[0]!.delaySeconds).toBeGreaterThanOrEqual(30);
    await runQueue(NOTIFICATIONS_QUEUE, [{ id: unique("m"), attempts: 2, body: first }]);
    expect(await textsTo(phone)).toHaveLength(1);
    // Three more fit in the hour: 5 in all with the verification code.
    await deliver(...Array.from({ length: 5 }, () => arrivedFor(rider)));
    expect(await textsTo(phone)).toHaveLength(4);
    expect(await smsTo(phone)).toHaveLength(5);
  });
});

// ---- preferences ----------------------------------------------------------------------------------

describe("preferences by type and by channel", () => {
  it("a muted type is sent on no channel", async () => {
    const { rider, phone } = await riderWithVerifiedPhone();
    const token = newFcmToken();
    const key = unique("hook");
    await addFcm(rider, token);
    await addWebhook(rider, key);
    await mute(rider, { muted: ["trip_status", "receipt"] });
    const arrived = arrivedFor(rider);
    const receipt = receiptFor(rider);
    await deliver(arrived, receipt);
    expect(await fcmSends(token)).toEqual([]);
    expect(await deliveriesTo(key)).toEqual([]);
    expect(await textsTo(phone)).toEqual([]);
    // The one email is the notice that the phone number changed (security notices are never muted).
    expect((await emailsTo(rider.user.email)).map((e) => e.subject)).toEqual([
      "The phone number of your ridewire account changed",
    ]);
    expect((await notificationOf(rider, arrived.id)).status).toBe("muted");
    expect((await notificationOf(rider, receipt.id)).status).toBe("muted");
  });

  it("a muted channel is passed over, the others still carry the type", async () => {
    const rider = await registerUser();
    const key = unique("hook");
    await addWebhook(rider, key);
    expect(await mute(rider, { mutedChannels: ["email", "email", "sms"] })).toEqual({
      muted: [],
      mutedChannels: ["email", "sms"],
      quietHours: null,
    });
    const receipt = receiptFor(rider);
    await deliver(receipt);
    expect(await emailsTo(rider.user.email)).toEqual([]);
    expect(await deliveriesTo(key)).toHaveLength(1);
    const logged = await notificationOf(rider, receipt.id);
    expect(logged.status).toBe("delivered");
    expect(outcomes(logged)).toContain("email: muted");

    // A list left out of the body stays as it was.
    expect(await mute(rider, { muted: ["chat_message"] })).toEqual({
      muted: ["chat_message"],
      mutedChannels: ["email", "sms"],
      quietHours: null,
    });
  });

  it("every channel of a type muted: logged muted, nothing sent", async () => {
    const rider = await registerUser();
    await mute(rider, { mutedChannels: ["email", "fcm", "webpush", "webhook"] });
    const receipt = receiptFor(rider);
    await deliver(receipt);
    const logged = await notificationOf(rider, receipt.id);
    expect(logged.status).toBe("muted");
    expect(logged.channels.every((c) => c.outcome === "muted")).toBe(true);
    expect(await emailsTo(rider.user.email)).toEqual([]);
  });

  it("security notices cannot be muted: a clear 400, and a muted email channel does not stop them", async () => {
    const user = await registerUser();
    const refused = await call("PATCH", "/v1/me/preferences", {
      token: user.token,
      body: { muted: ["security"] },
    });
    expectError(refused, 400, "invalid_request");
    expect(JSON.stringify(refused.body.error)).toContain("security notices cannot be muted");
    expect((await call("GET", "/v1/me/preferences", { token: user.token })).body.preferences.muted).toEqual([]);

    await mute(user, { mutedChannels: ["email"] });
    // Even a stored list that names it (written before the rule, or by hand) does not mute it.
    await env.DB.prepare(`UPDATE notification_preferences SET muted = '["security"]' WHERE user_id = ?`)
      .bind(user.user.id)
      .run();
    const notice = securityNotification(user.user.id, "new_login", unique("ses"), Date.now(), null);
    await deliver(notice);
    expect(await emailsTo(user.user.email)).toHaveLength(1);
    expect(outcomes(await notificationOf(user, notice.id))).toEqual(["email: delivered"]);
  });

  it("refuses unknown and oversized preference bodies with 400", async () => {
    const user = await registerUser();
    const bad: unknown[] = [
      {},
      { mutedChannels: ["pigeon"] },
      { mutedChannels: "sms" },
      { muted: Array(1_000).fill("receipt") },
      { mutedChannels: Array(1_000).fill("sms") },
      { muted: null },
      { quietHours: { start: "22:00", end: "07:00" } },
      { quietHours: { start: "22:00", end: "07:00", timeZone: "Mars/Olympus_Mons" } },
      { quietHours: { start: "24:00", end: "07:00", timeZone: "UTC" } },
      { quietHours: { start: "7:00", end: "08:00", timeZone: "UTC" } },
      { quietHours: { start: "07:00", end: "07:00", timeZone: "UTC" } },
      { quietHours: { start: "22:00", end: "07:00", timeZone: "x".repeat(5_000) } },
    ];
    for (const body of bad) {
      const res = await call("PATCH", "/v1/me/preferences", { token: user.token, body });
      expect({ body: JSON.stringify(body).slice(0, 40), status: res.status }).toEqual({
        body: JSON.stringify(body).slice(0, 40),
        status: 400,
      });
    }
    expect((await call("PATCH", "/v1/me/preferences", { body: { mutedChannels: [] } })).status).toBe(401);
  });
});

describe("quiet hours", () => {
  /** A window of two hours around now, in the given zone, as HH:MM. */
  function windowAroundNow(timeZone: string) {
    const hhmm = (at: number) =>
      new Intl.DateTimeFormat("en-GB", { timeZone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(at);
    return { start: hhmm(Date.now() - 3_600_000), end: hhmm(Date.now() + 3_600_000), timeZone };
  }

  it("hold chat and receipts until they end, while offers, trip moves and security notices go at once", async () => {
    const user = await registerUser("driver");
    const key = unique("hook");
    await addWebhook(user, key);
    const quietHours = windowAroundNow("Asia/Kolkata");
    expect((await mute(user, { quietHours })).quietHours).toEqual(quietHours);

    const receipt = receiptFor(user);
    const held = await deliver(receipt);
    expect(held.retryMessages).toHaveLength(1);
    // About an hour: to the window's end, to the minute.
    expect(held.retryMessages[0]!.delaySeconds).toBeGreaterThan(3_500);
    expect(held.retryMessages[0]!.delaySeconds).toBeLessThanOrEqual(3_600);
    expect(await emailsTo(user.user.email)).toEqual([]);
    expect(await deliveriesTo(key)).toEqual([]);
    const waiting = await notificationOf(user, receipt.id);
    expect(waiting.status).toBe("pending");
    expect(waiting.lastError).toMatch(/^quiet hours: held until \d{4}-/);

    const offer = offerFor(user);
    const notice = securityNotification(user.user.id, "new_login", unique("ses"), Date.now(), null);
    expect((await deliver(offer, notice)).retryMessages).toEqual([]);
    expect(await deliveriesTo(key)).toHaveLength(1);
    expect(await emailsTo(user.user.email)).toHaveLength(1);

    // Once the quiet hours are over (here: removed), the held receipt goes out on its next delivery.
    expect((await mute(user, { quietHours: null })).quietHours).toBeNull();
    expect(
      (await runQueue(NOTIFICATIONS_QUEUE, [{ id: unique("m"), attempts: 2, body: receipt }])).retryMessages,
    ).toEqual([]);
    expect((await notificationOf(user, receipt.id)).status).toBe("delivered");
    expect(await emailsTo(user.user.email)).toHaveLength(2);
  });

  it("outside the window nothing waits", async () => {
    const user = await registerUser();
    const key = unique("hook");
    await addWebhook(user, key);
    const now = windowAroundNow("UTC");
    // The two hours after the window above: now is outside them.
    await mute(user, { quietHours: { start: now.end, end: now.start, timeZone: "UTC" } });
    const receipt = receiptFor(user);
    expect((await deliver(receipt)).retryMessages).toEqual([]);
    expect((await notificationOf(user, receipt.id)).status).toBe("delivered");
  });
});

// ---- the phone number -----------------------------------------------------------------------------

describe("PATCH /v1/me: the phone number", () => {
  it("stores it in E.164, shows it on /v1/me, and null removes it", async () => {
    const user = await registerUser();
    expect((await call("GET", "/v1/me", { token: user.token })).body.user.phone).toBeNull();
    expect((await setPhone(user, "+1 (415) 555-0123")).phone).toBe("+14155550123");
    expect((await call("GET", "/v1/me", { token: user.token })).body.user.phone).toBe("+14155550123");
    expect((await setPhone(user, "+44 20 7946 0958")).phone).toBe("+442079460958");
    expect((await setPhone(user, null)).phone).toBeNull();
  });

  it("refuses what is not a phone number in E.164, and huge input, with 400 invalid_request", async () => {
    const user = await registerUser();
    await setPhone(user, "+14155550100");
    const bad: unknown[] = [
      { phone: "4155550123" },
      { phone: "+0155550123" },
      { phone: "+1415555012345678" },
      { phone: "+1-415-CALL-NOW" },
      { phone: "+14155550123\n+14155550124" },
      { phone: "+1".padEnd(5_000, "5") },
      { phone: 14155550123 },
      { phone: "" },
      {},
    ];
    for (const body of bad) {
      const res = await call("PATCH", "/v1/me", { token: user.token, body });
      expectError(res, 400, "invalid_request");
    }
    // Past MAX_BODY_BYTES the body is not read at all.
    expectError(
      await call("PATCH", "/v1/me", { token: user.token, body: { phone: "+1".padEnd(100_000, "5") } }),
      413,
      "payload_too_large",
    );
    // Nothing above changed it.
    expect((await call("GET", "/v1/me", { token: user.token })).body.user.phone).toBe("+14155550100");
    expect((await call("PATCH", "/v1/me", { body: { phone: "+14155550123" } })).status).toBe(401);
  });
});

// ---- what one user sees of another --------------------------------------------------------------

describe("someone else's notifications", () => {
  it("the log shows the caller's notifications and channels only", async () => {
    const ada = await registerUser();
    const bob = await registerUser();
    const receipt = receiptFor(ada);
    await deliver(receipt);
    expect((await notificationOf(ada, receipt.id)).channels.length).toBeGreaterThan(0);
    expect((await notificationsOf(bob)).map((n) => n.id)).not.toContain(receipt.id);

    // A queue message naming Ada but carrying Bob's notification id cannot write into Bob's log.
    const bobs = receiptFor(bob);
    await deliver(bobs);
    const forged = { ...receiptFor(ada), id: bobs.id };
    await deliver(forged);
    const bobLog = await notificationsOf(bob);
    expect(bobLog.filter((n) => n.id === bobs.id)).toHaveLength(1);
    expect((await notificationsOf(ada)).map((n) => n.id)).not.toContain(bobs.id);
    expect(await emailsTo(ada.user.email)).toHaveLength(1);
  });
});
