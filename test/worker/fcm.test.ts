/**
 * The FCM channel (issue 18): registering an app's token over HTTP (one token, one account),
 * offers to a driver with no socket through the real local queue, and the consumer's answers
 * to FCM's errors (UNREGISTERED, a bad token, 401, 429 with Retry-After, 5xx), all over real
 * HTTP to the stand-in of Google's token endpoint and FCM's API in test/helpers/fcm-server.mjs,
 * which checks the RS256 signature of every token request with the service account's public key.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { NOTIFICATIONS_QUEUE } from "../../src/notify/consumer";
import {
  chatNotification,
  offerNotification,
  tripStatusNotification,
  type NotificationMessage,
} from "../../src/notify/message";
import { call, registerUser, unique, type TestUser } from "../helpers/api";
import {
  fcmEnvWithOwnAccount,
  fcmExchanges,
  fcmSends,
  fcmStandIn,
  newFcmToken,
  scriptFcm,
  waitForFcmSends,
} from "../helpers/fcm";
import { arrivedTrip, runQueue } from "../helpers/notify";

// ---- fixtures ------------------------------------------------------------------------------------

async function addFcmDevice(user: TestUser, token: string, platform: "android" | "ios" = "android") {
  const res = await call("POST", "/v1/devices", { token: user.token, body: { kind: "fcm", token, platform } });
  expect(res.status).toBe(201);
  return res.body.device as { id: string; kind: "fcm"; token: string; platform: string; createdAt: number };
}

async function devicesOf(user: TestUser) {
  const res = await call("GET", "/v1/devices", { token: user.token });
  expect(res.status).toBe(200);
  return res.body.devices as { id: string; kind: string; token?: string; platform?: string }[];
}

async function notificationOf(user: TestUser, id: string) {
  const res = await call("GET", "/v1/notifications?limit=100", { token: user.token });
  expect(res.status).toBe(200);
  const found = (
    res.body.notifications as { id: string; status: string; lastError: string | null; attempts: number }[]
  ).find((n) => n.id === id);
  if (!found) throw new Error(`no notification ${id}`);
  return found;
}

let seq = 0;
function chatFor(recipient: TestUser, roomId = unique("room")): NotificationMessage {
  seq++;
  return chatNotification(
    { id: `msg_${roomId}_${seq}`, roomId, seq, userId: "usr_sender", text: "on my way", createdAt: Date.now() },
    recipient.user.id,
    "Ada",
  );
}

function offerFor(driver: TestUser, expiresAt: number): NotificationMessage {
  return offerNotification(
    driver.user.id,
    {
      tripId: unique("trip"),
      pickup: { lat: 48.85, lng: 2.35 },
      dropoff: { lat: 48.87, lng: 2.36 },
      fare: { amount: 1_250, currency: "EUR" },
      pickupEtaSec: 240,
      expiresAt,
    },
    Date.now(),
  );
}

const deliver = (message: NotificationMessage, workerEnv?: Env, attempts = 1) =>
  runQueue(NOTIFICATIONS_QUEUE, [{ id: unique("m"), attempts, body: message }], workerEnv);

// ---- tests -----------------------------------------------------------------------------------------

describe("FCM devices", () => {
  it("registers an app's token with its platform; the same user registering it again keeps one device", async () => {
    const ann = await registerUser();
    const token = newFcmToken();
    const first = await addFcmDevice(ann, token, "android");
    expect(first).toMatchObject({ kind: "fcm", token, platform: "android" });
    expect(first.id).toMatch(/^dev/);
    const again = await addFcmDevice(ann, token, "ios");
    expect(again).toMatchObject({ id: first.id, platform: "ios" });
    expect(await devicesOf(ann)).toEqual([
      { id: first.id, kind: "fcm", token, platform: "ios", createdAt: first.createdAt },
    ]);
  });

  it("refuses bad tokens and platforms with 400 invalid_request", async () => {
    const ann = await registerUser();
    const bodies = [
      { kind: "fcm", token: newFcmToken() },
      { kind: "fcm", token: newFcmToken(), platform: "windows" },
      { kind: "fcm", platform: "ios" },
      { kind: "fcm", token: "short", platform: "ios" },
      { kind: "fcm", token: `${newFcmToken()}/../../v1/projects/other`, platform: "ios" },
      { kind: "fcm", token: `${newFcmToken()}\r\nX-Injected: 1`, platform: "android" },
      { kind: "fcm", token: "a".repeat(1_025), platform: "android" },
      { kind: "fcm", token: 42, platform: "android" },
    ];
    for (const body of bodies) {
      const res = await call("POST", "/v1/devices", { token: ann.token, body });
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(res.body.error.code).toBe("invalid_request");
    }
    expect(await devicesOf(ann)).toEqual([]);
  });

  it("one token, one account: another account is refused, and the owner keeps it until they remove it", async () => {
    const owner = await registerUser();
    const other = await registerUser();
    const token = newFcmToken();
    const device = await addFcmDevice(owner, token);

    const taken = await call("POST", "/v1/devices", {
      token: other.token,
      body: { kind: "fcm", token, platform: "ios" },
    });
    expect(taken.status).toBe(409);
    expect(taken.body.error.code).toBe("conflict");
    expect(taken.body.error.message).toMatch(/another account/);
    expect(await devicesOf(owner)).toMatchObject([{ id: device.id, token, platform: "android" }]);
    expect(await devicesOf(other)).toEqual([]);

    // The owner's notifications still go to the token, the other account's do not.
    const toOwner = chatFor(owner);
    expect((await deliver(toOwner)).explicitAcks).toHaveLength(1);
    expect(await notificationOf(owner, toOwner.id)).toMatchObject({ status: "delivered" });
    expect((await fcmSends(token)).map((s) => s.message.data.notificationId)).toEqual([toOwner.id]);

    // Once the owner signs out (removes the device), the token is free for the next account.
    expect((await call("DELETE", `/v1/devices/${device.id}`, { token: owner.token })).status).toBe(204);
    expect((await addFcmDevice(other, token, "ios")).platform).toBe("ios");
  });
});

describe("FCM messages", () => {
  it("an offer reaches a driver with only an FCM device, no socket: high priority, the offer's TTL, APNs", async () => {
    const driver = await registerUser("driver", "Dee");
    const rider = await registerUser("rider", "Rye");
    const token = newFcmToken();
    await addFcmDevice(driver, token, "ios");
    const pickup = { lat: 45.764, lng: 4.8357 };
    const dropoff = { lat: 45.75, lng: 4.85 };
    const online = await call("POST", "/v1/drivers/me/online", { token: driver.token, body: { location: pickup } });
    expect(online.status).toBe(200);
    const requestedAt = Date.now();
    const requested = await call("POST", "/v1/trips", { token: rider.token, body: { pickup, dropoff } });
    expect(requested.status).toBe(201);
    const tripId = requested.body.trip.id as string;

    const [send] = await waitForFcmSends(token);
    expect(send!.status).toBe(200);
    // Through the local queue, whose batches wait up to max_batch_timeout (1 s) for company.
    expect(send!.at - requestedAt).toBeLessThan(3_000);
    const message = send!.message;
    expect(message.token).toBe(token);
    expect(message.notification.title).toBe("New trip offer");
    expect(message.data).toMatchObject({
      notificationId: `offer:${tripId}:${driver.user.id}`,
      type: "offer",
      tripId,
    });
    for (const value of Object.values(message.data)) expect(typeof value).toBe("string");
    const expiresAt = Number(message.data.expiresAt);
    expect(expiresAt).toBeGreaterThan(send!.at);

    // TTL: the offer's remaining time (OFFER_TIMEOUT_MS is 15 s), on both platforms alike.
    expect(message.android.priority).toBe("HIGH");
    const ttl = Number(/^(\d+)s$/.exec(message.android.ttl)?.[1]);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(15);
    expect(Math.abs(send!.at / 1000 + ttl - expiresAt / 1000)).toBeLessThanOrEqual(2);
    expect(message.apns.headers).toMatchObject({ "apns-priority": "10", "apns-push-type": "alert" });
    const apnsExpiration = Number(message.apns.headers["apns-expiration"]);
    expect(apnsExpiration).toBeLessThanOrEqual(Math.ceil(expiresAt / 1000));
    expect(apnsExpiration).toBeGreaterThan(send!.at / 1000);
    expect(message.apns.payload.aps["interruption-level"]).toBe("time-sensitive");
    expect(message.android.collapse_key).toBeUndefined();

    expect(await notificationOf(driver, `offer:${tripId}:${driver.user.id}`)).toMatchObject({
      status: "delivered",
    });
  });

  it("never sends an expired offer, nor one with under a second left", async () => {
    const driver = await registerUser("driver");
    const token = newFcmToken();
    await addFcmDevice(driver, token);
    const expired = offerFor(driver, Date.now() - 1_000);
    const lastMoment = offerFor(driver, Date.now() + 500);
    const result = await runQueue(NOTIFICATIONS_QUEUE, [
      { id: "expired", body: expired },
      { id: "last-moment", body: lastMoment },
    ]);
    expect(result.explicitAcks.sort()).toEqual(["expired", "last-moment"]);
    expect(await notificationOf(driver, expired.id)).toMatchObject({
      status: "failed",
      lastError: "the offer expired before it could be delivered",
    });
    expect((await notificationOf(driver, lastMoment.id)).status).toBe("failed");
    expect((await notificationOf(driver, lastMoment.id)).lastError).toMatch(/expire/);
    expect(await fcmSends(token)).toEqual([]);
  });

  it("chat is normal priority and collapses per room; a trip status carries its trip id", async () => {
    const ann = await registerUser();
    const token = newFcmToken();
    await addFcmDevice(ann, token, "ios");
    const roomId = unique("room");
    const chat = chatFor(ann, roomId);
    const status = tripStatusNotification(arrivedTrip(ann.user.id, unique("trip")), 7);
    await deliver(chat);
    await deliver(status);
    const [chatSend, statusSend] = await waitForFcmSends(token, 2);
    expect(chatSend!.message).toMatchObject({
      notification: { title: "Ada", body: "on my way" },
      data: { type: "chat_message", roomId, notificationId: chat.id },
      android: { priority: "NORMAL", ttl: "3600s", collapse_key: `chat:${roomId}` },
      apns: {
        headers: { "apns-priority": "5", "apns-push-type": "alert", "apns-collapse-id": `chat:${roomId}` },
        payload: { aps: { "interruption-level": "active" } },
      },
    });
    const tripId = (status.data as { tripId: string }).tripId;
    expect(statusSend!.message).toMatchObject({
      notification: { title: "Your driver has arrived" },
      data: { type: "trip_status", tripId, status: "arrived", seq: "7" },
      android: { priority: "NORMAL", collapse_key: `trip:${tripId}` },
    });
  });
});

describe("FCM answers", () => {
  it("UNREGISTERED removes the device; so does INVALID_ARGUMENT about the token", async () => {
    for (const answer of ["unregistered", "invalid_token"] as const) {
      const ann = await registerUser();
      const token = newFcmToken();
      const device = await addFcmDevice(ann, token);
      await scriptFcm(token, [answer]);
      const message = chatFor(ann);
      const result = await deliver(message);
      expect(result.explicitAcks).toHaveLength(1);
      expect(result.retryMessages).toEqual([]);
      expect(await devicesOf(ann)).toEqual([]);
      expect(await notificationOf(ann, message.id)).toMatchObject({
        status: "failed",
        lastError: "every device is gone",
      });
      expect((await fcmSends(token)).map((s) => s.status)).toEqual([answer === "unregistered" ? 404 : 400]);
      // The token is free again: gone from the owner, registrable by whoever holds it now.
      expect((await call("DELETE", `/v1/devices/${device.id}`, { token: ann.token })).status).toBe(404);
    }
  });

  it("429 retries no sooner than Retry-After, 5xx with the backoff, and the next attempt delivers", async () => {
    const ann = await registerUser();
    const token = newFcmToken();
    await addFcmDevice(ann, token);
    await scriptFcm(token, ["quota", "internal"], 120);

    const message = chatFor(ann);
    const throttled = await deliver(message);
    expect(throttled.retryMessages).toEqual([expect.objectContaining({ delaySeconds: 120 })]);
    const pending = await notificationOf(ann, message.id);
    expect(pending.status).toBe("pending");
    expect(pending.lastError).toMatch(/^fcm dev\w+: http_4xx$/);

    // A 500: the backoff of the second attempt (NOTIFY_RETRY_BASE_SECONDS × 2).
    const failing = await deliver(message, undefined, 2);
    expect(failing.retryMessages).toEqual([expect.objectContaining({ delaySeconds: 20 })]);
    expect((await notificationOf(ann, message.id)).lastError).toMatch(/http_5xx$/);

    expect((await deliver(message, undefined, 3)).explicitAcks).toHaveLength(1);
    expect(await notificationOf(ann, message.id)).toMatchObject({ status: "delivered", attempts: 3 });
    expect((await fcmSends(token)).map((s) => s.status)).toEqual([429, 500, 200]);
    expect(await devicesOf(ann)).toHaveLength(1);
  });

  it("exchanges one access token for many sends, concurrent ones included", async () => {
    const { env: ownEnv, clientEmail } = fcmEnvWithOwnAccount(unique("cache"));
    const ann = await registerUser();
    const tokens = [newFcmToken(), newFcmToken(), newFcmToken()];
    for (const token of tokens) await addFcmDevice(ann, token);
    expect(await fcmExchanges(clientEmail)).toBe(0);

    // One message to three devices: three sends at once, one exchange between them.
    await deliver(chatFor(ann), ownEnv);
    await deliver(chatFor(ann), ownEnv);
    await runQueue(
      NOTIFICATIONS_QUEUE,
      [
        { id: unique("m"), body: chatFor(ann) },
        { id: unique("m"), body: chatFor(ann) },
      ],
      ownEnv,
    );
    expect(await fcmExchanges(clientEmail)).toBe(1);
    const sends = (await Promise.all(tokens.map(fcmSends))).flat();
    expect(sends).toHaveLength(12);
    expect(sends.every((s) => s.status === 200)).toBe(true);
    expect(new Set(sends.map((s) => s.accessToken)).size).toBe(1);
  });

  it("401 fetches a fresh access token once and sends again", async () => {
    const { env: ownEnv, clientEmail } = fcmEnvWithOwnAccount(unique("refresh"));
    const ann = await registerUser();
    const token = newFcmToken();
    await addFcmDevice(ann, token);
    await deliver(chatFor(ann), ownEnv);
    expect(await fcmExchanges(clientEmail)).toBe(1);

    // The stand-in revokes the access token it is shown and answers 401.
    await scriptFcm(token, ["unauthenticated"]);
    const message = chatFor(ann);
    expect((await deliver(message, ownEnv)).explicitAcks).toHaveLength(1);
    expect(await notificationOf(ann, message.id)).toMatchObject({ status: "delivered", attempts: 1 });
    expect(await fcmExchanges(clientEmail)).toBe(2);
    const [first, revoked, retried] = await fcmSends(token);
    expect([first!.status, revoked!.status, retried!.status]).toEqual([200, 401, 200]);
    expect(revoked!.accessToken).toBe(first!.accessToken);
    expect(retried!.accessToken).not.toBe(first!.accessToken);

    // The fresh token is the cached one now.
    await deliver(chatFor(ann), ownEnv);
    expect(await fcmExchanges(clientEmail)).toBe(2);
  });

  it("a bare 404 (a wrong FCM_API_BASE) keeps the device and is retried: only UNREGISTERED removes one", async () => {
    const ann = await registerUser();
    const token = newFcmToken();
    await addFcmDevice(ann, token);
    const misrouted = { ...env, FCM_API_BASE: `${fcmStandIn().baseUrl}/not-fcm` } as Env;
    const message = chatFor(ann);
    const result = await deliver(message, misrouted);
    expect(result.retryMessages).toHaveLength(1);
    expect(await notificationOf(ann, message.id)).toMatchObject({
      status: "pending",
      lastError: expect.stringMatching(/^fcm dev\w+: http_4xx$/),
    });
    expect(await devicesOf(ann)).toHaveLength(1);
    expect(await fcmSends(token)).toEqual([]);
  });

  it("a service account whose key the token endpoint cannot verify fails the send, and it is retried", async () => {
    const ann = await registerUser();
    const token = newFcmToken();
    await addFcmDevice(ann, token);
    const { privateKey } = (await crypto.subtle.generateKey(
      { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
      true,
      ["sign"],
    )) as CryptoKeyPair;
    const der = new Uint8Array((await crypto.subtle.exportKey("pkcs8", privateKey)) as ArrayBuffer);
    const pem = `-----BEGIN PRIVATE KEY-----\n${btoa(String.fromCharCode(...der))}\n-----END PRIVATE KEY-----\n`;
    const account = JSON.parse(fcmStandIn().serviceAccount) as Record<string, string>;
    // Its own client_email too: a cached token of the real account would skip the exchange.
    const clientEmail = `${unique("stranger")}@${account.project_id}.iam.gserviceaccount.com`;
    const stranger = {
      ...env,
      FCM_SERVICE_ACCOUNT: JSON.stringify({ ...account, client_email: clientEmail, private_key: pem }),
    } as Env;
    const message = chatFor(ann);
    const result = await deliver(message, stranger);
    expect(result.retryMessages).toHaveLength(1);
    expect((await notificationOf(ann, message.id)).lastError).toMatch(/^fcm dev\w+: fcm_auth$/);
    expect(await fcmSends(token)).toEqual([]);
    expect(await fcmExchanges(clientEmail)).toBe(0);
  });

  it("without FCM_SERVICE_ACCOUNT the channel is off: the log says not_configured, nothing is sent", async () => {
    const ann = await registerUser();
    const token = newFcmToken();
    await addFcmDevice(ann, token);
    const { FCM_SERVICE_ACCOUNT: _, ...rest } = env as Env & { FCM_SERVICE_ACCOUNT?: string };
    const message = chatFor(ann);
    const result = await deliver(message, rest as Env);
    expect(result.explicitAcks).toHaveLength(1);
    expect(await notificationOf(ann, message.id)).toMatchObject({
      status: "failed",
      lastError: expect.stringMatching(/^fcm dev\w+: not_configured$/),
    });
    expect(await fcmSends(token)).toEqual([]);
    expect(await devicesOf(ann)).toHaveLength(1);
  });
});
