/**
 * Notifications: devices and preferences over HTTP, the queue consumer driven with
 * `createMessageBatch` + `getQueueResult` (ack, retry with backoff, dead letters, duplicates,
 * muting, gone endpoints), the receiving side of signed webhooks and of RFC 8291 Web Push
 * written here with WebCrypto, and the producers end to end through the real local queue.
 * Deliveries go over real HTTP to the server in test/helpers/hook-server.mjs.
 */
import { describe, expect, it } from "vitest";
import { fromBase64Url, toBase64Url, utf8 } from "../../src/auth/encoding";
import { backoffSeconds, DEAD_LETTER_QUEUE, NOTIFICATIONS_QUEUE } from "../../src/notify/consumer";
import {
  chatNotification,
  previewOf,
  tripStatusNotification,
  type NotificationMessage,
} from "../../src/notify/message";
import { call, connectOk, createRoom, joinRoom, registerUser, unique, type TestUser } from "../helpers/api";
import { waitFor } from "../helpers/dispatch";
import {
  arrivedTrip,
  deliveriesTo,
  hookUrl,
  runQueue,
  scriptHook,
  waitForDeliveries,
  type Delivery,
} from "../helpers/notify";
import { notificationShard } from "../helpers/shards";

// ---- fixtures ------------------------------------------------------------------------------------

async function addWebhook(user: TestUser, key: string): Promise<{ id: string; secret: string }> {
  const res = await call("POST", "/v1/devices", { token: user.token, body: { kind: "webhook", url: hookUrl(key) } });
  expect(res.status).toBe(201);
  return res.body.device;
}

/** A browser's side of a push subscription: its ECDH key pair and auth secret. */
type Subscriber = { keys: CryptoKeyPair; p256dh: string; auth: string };

async function newSubscriber(): Promise<Subscriber> {
  const keys = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, [
    "deriveBits",
  ])) as CryptoKeyPair;
  const p256dh = toBase64Url(new Uint8Array((await crypto.subtle.exportKey("raw", keys.publicKey)) as ArrayBuffer));
  return { keys, p256dh, auth: toBase64Url(crypto.getRandomValues(new Uint8Array(16))) };
}

async function addPushSubscription(user: TestUser, key: string, subscriber: Subscriber): Promise<{ id: string }> {
  const subscription = {
    endpoint: hookUrl(key),
    expirationTime: null,
    keys: { p256dh: subscriber.p256dh, auth: subscriber.auth },
  };
  const res = await call("POST", "/v1/devices", { token: user.token, body: { kind: "webpush", subscription } });
  expect(res.status).toBe(201);
  return res.body.device;
}

let seq = 0;
function chatFor(recipient: TestUser, text = "hello there"): NotificationMessage {
  seq++;
  const roomId = unique("room");
  return chatNotification(
    { id: `msg_${roomId}_${seq}`, roomId, seq, userId: "usr_sender", text, createdAt: Date.now() },
    recipient.user.id,
    "Ada",
  );
}

async function notificationsOf(user: TestUser) {
  const res = await call("GET", "/v1/notifications?limit=100", { token: user.token });
  expect(res.status).toBe(200);
  return res.body.notifications as {
    id: string;
    type: string;
    status: string;
    attempts: number;
    lastError: string | null;
    createdAt: number;
  }[];
}

async function notificationOf(user: TestUser, id: string) {
  const found = (await notificationsOf(user)).find((n) => n.id === id);
  if (!found) throw new Error(`no notification ${id}`);
  return found;
}

async function waitForStatus(user: TestUser, id: string, status: string, timeoutMs = 8_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await notificationsOf(user)).find((n) => n.id === id);
    if (found?.status === status) return found;
    if (Date.now() > deadline) throw new Error(`notification ${id} is ${JSON.stringify(found)}, not ${status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---- the receiving sides, written from the RFCs -----------------------------------------------

/** Verifies `X-Ridewire-Signature: t=..,v1=..` over "<t>.<body>" and returns the timestamp. */
async function verifyWebhook(delivery: Delivery, secret: string, toleranceSeconds = 300): Promise<number> {
  const header = delivery.headers["x-ridewire-signature"] ?? "";
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (!match) throw new Error(`malformed signature header: ${header}`);
  const t = Number(match[1]);
  if (Math.abs(Date.now() / 1000 - t) > toleranceSeconds) throw new Error("stale signature");
  const mac = Uint8Array.from(match[2]!.match(/../g)!.map((h) => parseInt(h, 16)));
  const key = await crypto.subtle.importKey("raw", utf8(secret), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
  const valid = await crypto.subtle.verify("HMAC", key, mac, concat(utf8(`${t}.`), delivery.body));
  if (!valid) throw new Error("signature does not verify");
  return t;
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function hkdf(
  salt: Uint8Array,
  ikm: Uint8Array,
  info: Uint8Array,
  bytes: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const key = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info }, key, bytes * 8));
}

/** The user agent's side of RFC 8291 + RFC 8188: decrypts an `aes128gcm` push message body. */
async function decryptPush(body: Uint8Array, subscriber: Subscriber): Promise<string> {
  const salt = body.slice(0, 16);
  const recordSize = new DataView(body.buffer, body.byteOffset).getUint32(16);
  const idlen = body[20]!;
  const senderPublicBytes = body.slice(21, 21 + idlen);
  const ciphertext = body.slice(21 + idlen);
  expect(idlen).toBe(65);
  expect(ciphertext.length).toBeLessThanOrEqual(recordSize);

  const senderPublic = await crypto.subtle.importKey(
    "raw",
    senderPublicBytes,
    { name: "ECDH", namedCurve: "P-256" },
    false,
    [],
  );
  const algorithm = { name: "ECDH", public: senderPublic };
  const ecdhSecret = new Uint8Array(await crypto.subtle.deriveBits(algorithm, subscriber.keys.privateKey, 256));
  const uaPublic = fromBase64Url(subscriber.p256dh);
  const ikm = await hkdf(
    fromBase64Url(subscriber.auth),
    ecdhSecret,
    concat(utf8("WebPush: info\0"), uaPublic, senderPublicBytes),
    32,
  );
  const cek = await hkdf(salt, ikm, utf8("Content-Encoding: aes128gcm\0"), 16);
  const nonce = await hkdf(salt, ikm, utf8("Content-Encoding: nonce\0"), 12);
  const key = await crypto.subtle.importKey("raw", cek, "AES-GCM", false, ["decrypt"]);
  const padded = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: nonce }, key, ciphertext));
  // Strip the padding: zeros, then the delimiter, which is 2 in the last (here the only) record.
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  expect(padded[end]).toBe(2);
  return new TextDecoder().decode(padded.slice(0, end));
}

/** Checks RFC 8292's `Authorization: vapid t=<JWT>, k=<key>` against the configured key. */
async function verifyVapid(header: string, endpoint: string): Promise<Record<string, unknown>> {
  const match = /^vapid t=([\w-]+)\.([\w-]+)\.([\w-]+), k=([\w-]+)$/.exec(header);
  if (!match) throw new Error(`malformed VAPID header: ${header}`);
  const [, head, claims, signature, k] = match as unknown as [string, string, string, string, string];
  expect(JSON.parse(new TextDecoder().decode(fromBase64Url(head)))).toEqual({ typ: "JWT", alg: "ES256" });
  expect(k).toBe(
    (await call("GET", "/v1/devices/webpush-key", { token: (await registerUser()).token })).body.publicKey,
  );
  const key = await crypto.subtle.importKey("raw", fromBase64Url(k), { name: "ECDSA", namedCurve: "P-256" }, false, [
    "verify",
  ]);
  const valid = await crypto.subtle.verify(
    { name: "ECDSA", hash: "SHA-256" },
    key,
    fromBase64Url(signature),
    utf8(`${head}.${claims}`),
  );
  expect(valid).toBe(true);
  const payload = JSON.parse(new TextDecoder().decode(fromBase64Url(claims)));
  expect(payload.aud).toBe(new URL(endpoint).origin);
  expect(payload.exp).toBeGreaterThan(Date.now() / 1000);
  expect(payload.exp).toBeLessThanOrEqual(Date.now() / 1000 + 24 * 3600);
  expect(payload.sub).toMatch(/^mailto:|^https:/);
  return payload;
}

// ---- tests -----------------------------------------------------------------------------------------

describe("devices and preferences", () => {
  it("registers a webhook with its secret once, lists it without, and deletes only your own", async () => {
    const ada = await registerUser();
    const bob = await registerUser();
    const key = unique("hook");
    const created = await call("POST", "/v1/devices", {
      token: ada.token,
      body: { kind: "webhook", url: hookUrl(key) },
    });
    expect(created.status).toBe(201);
    expect(created.body.device).toEqual({
      id: expect.any(String),
      kind: "webhook",
      url: hookUrl(key),
      secret: expect.stringMatching(/^whsec_/),
      createdAt: expect.any(Number),
    });

    const listed = await call("GET", "/v1/devices", { token: ada.token });
    expect(listed.body.devices).toEqual([
      { id: created.body.device.id, kind: "webhook", url: hookUrl(key), createdAt: created.body.device.createdAt },
    ]);

    expect((await call("DELETE", `/v1/devices/${created.body.device.id}`, { token: bob.token })).status).toBe(404);
    expect((await call("DELETE", `/v1/devices/${created.body.device.id}`, { token: ada.token })).status).toBe(204);
    expect((await call("DELETE", `/v1/devices/${created.body.device.id}`, { token: ada.token })).status).toBe(404);
    expect((await call("GET", "/v1/devices", { token: ada.token })).body.devices).toEqual([]);
  });

  it("refuses bad devices with 400 and strangers with 401", async () => {
    const ada = await registerUser();
    const subscriber = await newSubscriber();
    const bad = [
      { kind: "webhook", url: "http://example.com/hook" },
      { kind: "webhook", url: "ftp://localhost/hook" },
      {
        kind: "webpush",
        subscription: { endpoint: "https://push.example/x", keys: { p256dh: "abc", auth: subscriber.auth } },
      },
      {
        kind: "webpush",
        subscription: { endpoint: "https://push.example/x", keys: { p256dh: subscriber.p256dh, auth: "short" } },
      },
      { kind: "sms", to: "+1555" },
    ];
    for (const body of bad) {
      const res = await call("POST", "/v1/devices", { token: ada.token, body });
      expect({ body, status: res.status, code: res.body.error?.code }).toEqual({
        body,
        status: 400,
        code: "invalid_request",
      });
    }
    expect(
      (await call("POST", "/v1/devices", { body: { kind: "webhook", url: "https://example.com/h" } })).status,
    ).toBe(401);
    expect((await call("GET", "/v1/notifications")).status).toBe(401);
  });

  it("mutes types, and validates them", async () => {
    const ada = await registerUser();
    expect((await call("GET", "/v1/me/preferences", { token: ada.token })).body).toEqual({
      preferences: { muted: [], mutedChannels: [], quietHours: null },
    });
    const res = await call("PATCH", "/v1/me/preferences", {
      token: ada.token,
      body: { muted: ["trip_status", "chat_message", "chat_message"] },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      preferences: { muted: ["chat_message", "trip_status"], mutedChannels: [], quietHours: null },
    });
    expect((await call("PATCH", "/v1/me/preferences", { token: ada.token, body: { muted: ["spam"] } })).status).toBe(
      400,
    );
    expect((await call("GET", "/v1/me/preferences", { token: ada.token })).body.preferences.muted).toEqual([
      "chat_message",
      "trip_status",
    ]);
  });

  it("cuts previews to 140 characters", () => {
    expect(previewOf("  short\n\ntext ")).toBe("short text");
    const long = previewOf("é".repeat(500));
    expect(Array.from(long)).toHaveLength(140);
    expect(long.endsWith("…")).toBe(true);
    expect(Array.from(previewOf("😀".repeat(141)))).toHaveLength(140);
  });
});

describe("queue consumer", () => {
  it("acks a delivered message and signs the webhook so that the receiver can verify it", async () => {
    const bob = await registerUser();
    const key = unique("hook");
    const device = await addWebhook(bob, key);
    const message = chatFor(bob, "see you at eight");

    const result = await runQueue(NOTIFICATIONS_QUEUE, [{ id: "q1", body: message }]);
    expect(result.explicitAcks).toEqual(["q1"]);
    expect(result.retryMessages).toEqual([]);

    const [delivery, ...more] = await deliveriesTo(key);
    expect(more).toEqual([]);
    expect(delivery!.method).toBe("POST");
    expect(delivery!.headers["content-type"]).toBe("application/json");
    expect(delivery!.headers["x-ridewire-notification-id"]).toBe(message.id);
    await verifyWebhook(delivery!, device.secret);
    // A receiver with the wrong secret, or a body changed on the way, fails verification.
    await expect(verifyWebhook(delivery!, "whsec_wrong")).rejects.toThrow("does not verify");
    await expect(
      verifyWebhook({ ...delivery!, body: utf8(delivery!.text.replace("eight", "nine")) }, device.secret),
    ).rejects.toThrow("does not verify");

    expect(JSON.parse(delivery!.text)).toEqual({
      id: message.id,
      type: "chat_message",
      createdAt: message.createdAt,
      title: "Ada",
      body: "see you at eight",
      data: message.data,
    });
    expect(await notificationOf(bob, message.id)).toMatchObject({
      type: "chat_message",
      status: "delivered",
      attempts: 1,
      lastError: null,
    });
  });

  it("delivers a duplicated message once, in one batch or later", async () => {
    const bob = await registerUser();
    const key = unique("hook");
    await addWebhook(bob, key);
    const message = chatFor(bob);

    const first = await runQueue(NOTIFICATIONS_QUEUE, [
      { id: "a", body: message },
      { id: "b", body: structuredClone(message) },
    ]);
    expect(first.explicitAcks.sort()).toEqual(["a", "b"]);
    // A redelivery of the same notification later (a queue retry, or a producer sending twice).
    const later = await runQueue(NOTIFICATIONS_QUEUE, [{ id: "c", attempts: 2, body: message }]);
    expect(later.explicitAcks).toEqual(["c"]);

    expect(await deliveriesTo(key)).toHaveLength(1);
    expect(await notificationOf(bob, message.id)).toMatchObject({ status: "delivered", attempts: 1 });
  });

  it("retries a failing webhook with exponential backoff, then the dead-letter queue marks it failed", async () => {
    const bob = await registerUser();
    const key = unique("hook");
    await addWebhook(bob, key);
    await scriptHook(key, [500, 503, 502]);
    const message = chatFor(bob);

    const delays: number[] = [];
    for (const attempts of [1, 2, 3]) {
      const result = await runQueue(NOTIFICATIONS_QUEUE, [{ id: `m${attempts}`, attempts, body: message }]);
      expect(result.explicitAcks).toEqual([]);
      expect(result.retryMessages).toHaveLength(1);
      expect(result.retryMessages[0]!.msgId).toBe(`m${attempts}`);
      delays.push(result.retryMessages[0]!.delaySeconds ?? -1);
    }
    expect(delays).toEqual([10, 20, 40]);
    expect(await notificationOf(bob, message.id)).toMatchObject({
      status: "pending",
      attempts: 3,
      lastError: expect.stringContaining("http_5xx"),
    });

    // Queues moves the message to the DLQ after max_retries; its consumer ends the notification.
    const dead = await runQueue(DEAD_LETTER_QUEUE, [{ id: "d1", body: message }]);
    expect(dead.explicitAcks).toEqual(["d1"]);
    expect(await notificationOf(bob, message.id)).toMatchObject({
      status: "failed",
      attempts: 3,
      lastError: expect.stringContaining("http_5xx"),
    });

    // A straggler copy of the message after that pushes nothing.
    const straggler = await runQueue(NOTIFICATIONS_QUEUE, [{ id: "m4", attempts: 4, body: message }]);
    expect(straggler.explicitAcks).toEqual(["m4"]);
    expect(await deliveriesTo(key)).toHaveLength(3);
    expect(await notificationOf(bob, message.id)).toMatchObject({ status: "failed", attempts: 3 });
  });

  it("caps the backoff", () => {
    const config = { NOTIFY_RETRY_BASE_SECONDS: 10, NOTIFY_RETRY_MAX_SECONDS: 3600 };
    expect([1, 2, 3, 4, 5, 6, 7, 8, 50].map((n) => backoffSeconds(n, config))).toEqual([
      10, 20, 40, 80, 160, 320, 640, 1280, 3600,
    ]);
  });

  it("marks a dead letter failed even if the consumer never logged it", async () => {
    const bob = await registerUser();
    const message = chatFor(bob);
    expect((await runQueue(DEAD_LETTER_QUEUE, [{ id: "d", body: message }])).explicitAcks).toEqual(["d"]);
    expect(await notificationOf(bob, message.id)).toMatchObject({ status: "failed", attempts: 0 });
  });

  it("after a partial failure, retries only the devices that do not have it", async () => {
    const bob = await registerUser();
    const good = unique("hook");
    const flaky = unique("hook");
    await addWebhook(bob, good);
    await addWebhook(bob, flaky);
    await scriptHook(flaky, [500]);
    const message = chatFor(bob);

    const first = await runQueue(NOTIFICATIONS_QUEUE, [{ id: "p1", body: message }]);
    expect(first.retryMessages.map((r) => r.msgId)).toEqual(["p1"]);
    const second = await runQueue(NOTIFICATIONS_QUEUE, [{ id: "p2", attempts: 2, body: message }]);
    expect(second.explicitAcks).toEqual(["p2"]);

    expect(await deliveriesTo(good)).toHaveLength(1);
    expect(await deliveriesTo(flaky)).toHaveLength(2);
    expect(await notificationOf(bob, message.id)).toMatchObject({ status: "delivered", attempts: 2 });
  });

  it("logs a muted type as muted and sends nothing; other types still go", async () => {
    const bob = await registerUser();
    const key = unique("hook");
    await addWebhook(bob, key);
    await call("PATCH", "/v1/me/preferences", { token: bob.token, body: { muted: ["chat_message"] } });

    const chat = chatFor(bob);
    const trip = tripStatusNotification(arrivedTrip(bob.user.id, unique("trip")), 3);
    const result = await runQueue(NOTIFICATIONS_QUEUE, [
      { id: "muted", body: chat },
      { id: "sent", body: trip },
    ]);
    expect(result.explicitAcks.sort()).toEqual(["muted", "sent"]);
    expect(await notificationOf(bob, chat.id)).toMatchObject({ status: "muted", attempts: 0 });
    expect(await notificationOf(bob, trip.id)).toMatchObject({ type: "trip_status", status: "delivered" });
    const deliveries = await deliveriesTo(key);
    expect(deliveries.map((d) => JSON.parse(d.text).id)).toEqual([trip.id]);
    expect(JSON.parse(deliveries[0]!.text).title).toBe("Your driver has arrived");
  });

  it(
    "gives each message of a mixed batch its own outcome: delivered, muted, no device, retried, a copy, " + "junk",
    async () => {
      // The consumer opens a batch in one D1 round trip and records it in another: every
      // message's rows must still be its own.
      const [ann, bob, cy, dee] = await Promise.all([registerUser(), registerUser(), registerUser(), registerUser()]);
      const annHook = unique("hook");
      const deeHook = unique("hook");
      await addWebhook(ann, annHook);
      await addWebhook(bob, unique("hook"));
      await addWebhook(dee, deeHook);
      await scriptHook(deeHook, [500]);
      await call("PATCH", "/v1/me/preferences", { token: bob.token, body: { muted: ["chat_message"] } });
      const [toAnn, toBob, toCy, toDee] = [chatFor(ann, "for ann"), chatFor(bob), chatFor(cy), chatFor(dee, "for dee")];

      const result = await runQueue(NOTIFICATIONS_QUEUE, [
        { id: "dee", body: toDee },
        { id: "ann", body: toAnn },
        { id: "junk", body: { type: "chat_message" } },
        { id: "bob", body: toBob },
        { id: "ann-again", body: structuredClone(toAnn) },
        { id: "cy", body: toCy },
      ]);
      expect(result.explicitAcks.sort()).toEqual(["ann", "ann-again", "bob", "cy", "junk"]);
      expect(result.retryMessages.map((r) => r.msgId)).toEqual(["dee"]);
      expect(await notificationOf(ann, toAnn.id)).toMatchObject({ status: "delivered", attempts: 1 });
      expect(await notificationOf(bob, toBob.id)).toMatchObject({ status: "muted", attempts: 0 });
      expect(await notificationOf(cy, toCy.id)).toMatchObject({ status: "failed", lastError: "no device registered" });
      expect(await notificationOf(dee, toDee.id)).toMatchObject({
        status: "pending",
        attempts: 1,
        lastError: expect.stringContaining("http_5xx"),
      });
      expect((await deliveriesTo(annHook)).map((d) => JSON.parse(d.text).id)).toEqual([toAnn.id]);
      expect((await deliveriesTo(deeHook)).map((d) => JSON.parse(d.text).id)).toEqual([toDee.id]);
    },
  );

  it(
    "writes a batch's messages one by one when the batched write fails, so one bad row costs only its " + "message",
    async () => {
      const [ann, bob] = await Promise.all([registerUser(), registerUser()]);
      const annHook = unique("hook");
      const bobHook = unique("hook");
      await addWebhook(ann, annHook);
      await addWebhook(bob, bobHook);
      const [toAnn, toBob] = [chatFor(ann, "for ann"), chatFor(bob, "for bob")];
      // A row D1 refuses for this one notification only (as a corrupt or oversized one would be).
      const trigger = `fail_${toBob.id.replace(/\W/g, "_")}`;
      await notificationShard(bob.user.id).exec(
        `CREATE TRIGGER ${trigger} BEFORE INSERT ON notifications WHEN NEW.id = '${toBob.id}' BEGIN SELECT ` +
          `RAISE(ABORT, 'refused for the test'); END;`,
      );
      try {
        const result = await runQueue(NOTIFICATIONS_QUEUE, [
          { id: "bob", body: toBob },
          { id: "ann", body: toAnn },
        ]);
        expect(result.explicitAcks).toEqual(["ann"]);
        expect(result.retryMessages.map((r) => r.msgId)).toEqual(["bob"]);
      } finally {
        await notificationShard(bob.user.id).exec(`DROP TRIGGER ${trigger}`);
      }
      expect(await notificationOf(ann, toAnn.id)).toMatchObject({ status: "delivered", attempts: 1 });
      expect(await deliveriesTo(annHook)).toHaveLength(1);
      expect(await deliveriesTo(bobHook)).toHaveLength(0);
      // Its retry goes through once D1 takes the row.
      const retried = await runQueue(NOTIFICATIONS_QUEUE, [{ id: "bob-again", attempts: 2, body: toBob }]);
      expect(retried.explicitAcks).toEqual(["bob-again"]);
      expect(await deliveriesTo(bobHook)).toHaveLength(1);
    },
  );

  it("fails a notification at once for a user without devices, and drops malformed messages", async () => {
    const bob = await registerUser();
    const message = chatFor(bob);
    const result = await runQueue(NOTIFICATIONS_QUEUE, [
      { id: "none", body: message },
      { id: "junk", body: { type: "chat_message", id: 42 } },
      { id: "text", body: "not even an object" },
    ]);
    expect(result.explicitAcks.sort()).toEqual(["junk", "none", "text"]);
    expect(await notificationOf(bob, message.id)).toMatchObject({
      status: "failed",
      lastError: "no device registered",
    });
  });

  it(
    "sends Web Push that the subscriber decrypts (RFC 8291) with a VAPID header that verifies (RFC " + "8292)",
    async () => {
      const bob = await registerUser();
      const key = unique("push");
      const subscriber = await newSubscriber();
      await addPushSubscription(bob, key, subscriber);
      const message = chatFor(bob, `${"long words ".repeat(30)}end`);

      const result = await runQueue(NOTIFICATIONS_QUEUE, [{ id: "w1", body: message }]);
      expect(result.explicitAcks).toEqual(["w1"]);

      const [push] = await deliveriesTo(key);
      expect(push!.headers["content-encoding"]).toBe("aes128gcm");
      expect(push!.headers["content-type"]).toBe("application/octet-stream");
      expect(Number(push!.headers.ttl)).toBeGreaterThan(0);
      expect(push!.body.length).toBeLessThanOrEqual(4096);
      await verifyVapid(push!.headers.authorization ?? "", hookUrl(key));

      const payload = JSON.parse(await decryptPush(push!.body, subscriber));
      expect(payload).toMatchObject({ id: message.id, type: "chat_message", title: "Ada" });
      expect(Array.from(payload.body as string)).toHaveLength(140);
      expect(payload.body).toBe(message.type === "chat_message" ? message.data.preview : null);
      // Another subscriber's keys cannot read it.
      await expect(decryptPush(push!.body, await newSubscriber())).rejects.toThrow();
    },
  );

  it("removes a push subscription whose endpoint answers 410 or 404", async () => {
    for (const status of [410, 404]) {
      const bob = await registerUser();
      const key = unique("push");
      await addPushSubscription(bob, key, await newSubscriber());
      await scriptHook(key, [status]);
      const message = chatFor(bob);

      const result = await runQueue(NOTIFICATIONS_QUEUE, [{ id: `g${status}`, body: message }]);
      expect(result.explicitAcks).toEqual([`g${status}`]);
      expect((await call("GET", "/v1/devices", { token: bob.token })).body.devices).toEqual([]);
      expect(await notificationOf(bob, message.id)).toMatchObject({
        status: "failed",
        lastError: "every device is gone",
      });
    }
  });

  it("lists notifications newest first, with a limit", async () => {
    const bob = await registerUser();
    const messages = [chatFor(bob), chatFor(bob), chatFor(bob)].map((m, i) => ({ ...m, createdAt: 1_000 + i }));
    await runQueue(
      NOTIFICATIONS_QUEUE,
      messages.map((body, i) => ({ id: `l${i}`, body })),
    );
    const res = await call("GET", "/v1/notifications?limit=2", { token: bob.token });
    expect(res.body.notifications.map((n: { id: string }) => n.id)).toEqual([messages[2]!.id, messages[1]!.id]);
    expect(res.body.notifications[0]).toEqual({
      id: messages[2]!.id,
      type: "chat_message",
      status: "failed",
      attempts: 1,
      lastError: "no device registered",
      createdAt: 1_002,
      updatedAt: expect.any(Number),
      ackedAt: null,
      channels: ["fcm", "webpush", "webhook"].map((channel) => ({
        channel,
        outcome: "skipped",
        attempts: 0,
        lastError: "no_device",
        updatedAt: expect.any(Number),
      })),
    });
    expect((await call("GET", "/v1/notifications?limit=0", { token: bob.token })).status).toBe(400);
  });
});

describe("producers, end to end through the local queue", () => {
  it("a chat message reaches an offline member's webhook; online members and the sender get nothing", async () => {
    const ada = await registerUser("rider", "Ada Lovelace");
    const bob = await registerUser();
    const carol = await registerUser();
    const room = await createRoom(ada);
    await joinRoom(bob, room.id);
    await joinRoom(carol, room.id);
    const bobKey = unique("hook");
    const carolKey = unique("hook");
    const bobDevice = await addWebhook(bob, bobKey);
    await addWebhook(carol, carolKey);
    await addWebhook(ada, unique("hook"));
    const carolSocket = await connectOk(`/v1/rooms/${room.id}/ws`, carol.token);
    await carolSocket.nextOfType("welcome");

    const text = `Dinner at eight? ${"x".repeat(300)}`;
    const posted = await call("POST", `/v1/rooms/${room.id}/messages`, { token: ada.token, body: { text } });
    expect(posted.status).toBe(201);
    const seq = posted.body.message.seq;

    const [delivery] = await waitForDeliveries(bobKey);
    await verifyWebhook(delivery!, bobDevice.secret);
    const payload = JSON.parse(delivery!.text);
    expect(payload).toMatchObject({
      id: `chat:${room.id}:${seq}:${bob.user.id}`,
      type: "chat_message",
      title: "Ada Lovelace",
      data: {
        roomId: room.id,
        seq,
        senderId: ada.user.id,
        senderName: "Ada Lovelace",
        messageId: posted.body.message.id,
      },
    });
    expect(Array.from(payload.data.preview as string)).toHaveLength(140);
    expect(payload.data.preview.startsWith("Dinner at eight? xxx")).toBe(true);
    await waitForStatus(bob, payload.id, "delivered");

    // Carol had a socket in the room and saw the message live; Ada sent it.
    expect((await carolSocket.nextOfType("message")).message.text).toBe(text);
    expect(await notificationsOf(carol)).toEqual([]);
    expect(await notificationsOf(ada)).toEqual([]);
    expect(await deliveriesTo(carolKey)).toEqual([]);
    carolSocket.close();
  });

  /**
   * A driver online over HTTP with no driver channel socket open, a rider, a webhook for each,
   * and a trip the rider has requested from `pickup`.
   */
  async function requestedWithHooks(pickup: { lat: number; lng: number }, dropoff: { lat: number; lng: number }) {
    const driver = await registerUser("driver", "Dee");
    const rider = await registerUser("rider", "Rye");
    const driverKey = unique("hook");
    const riderKey = unique("hook");
    await addWebhook(driver, driverKey);
    await addWebhook(rider, riderKey);
    expect(
      (await call("POST", "/v1/drivers/me/online", { token: driver.token, body: { location: pickup } })).status,
    ).toBe(200);
    const requested = await call("POST", "/v1/trips", { token: rider.token, body: { pickup, dropoff } });
    expect(requested.status).toBe(201);
    return { driver, rider, driverKey, riderKey, tripId: requested.body.trip.id as string };
  }

  it("an offer reaches a driver without a channel, and trip statuses reach a rider without a socket", async () => {
    const { driver, rider, driverKey, riderKey, tripId } = await requestedWithHooks(
      { lat: 48.8566, lng: 2.3522 },
      { lat: 48.87, lng: 2.36 },
    );

    const [offer] = await waitForDeliveries(driverKey);
    expect(JSON.parse(offer!.text)).toMatchObject({
      id: `offer:${tripId}:${driver.user.id}`,
      type: "offer",
      title: "New trip offer",
      data: { tripId },
    });

    expect((await call("POST", `/v1/trips/${tripId}/accept`, { token: driver.token })).status).toBe(200);
    const [accepted] = await waitForDeliveries(riderKey);
    expect(JSON.parse(accepted!.text)).toMatchObject({
      type: "trip_status",
      title: "A driver accepted your trip",
      data: { tripId, status: "accepted", driverId: driver.user.id },
    });

    // With a socket in the trip room, the rider hears of `arrived` live, not by notification.
    const riderSocket = await connectOk(`/v1/trips/${tripId}/ws`, rider.token);
    await riderSocket.nextOfType("welcome");
    expect((await call("POST", `/v1/trips/${tripId}/arrived`, { token: driver.token })).status).toBe(200);
    expect((await riderSocket.nextOfType("status")).trip.status).toBe("arrived");
    riderSocket.close();
    await riderSocket.waitClosed();

    // Socket gone again: a rider cancel is stored, and its notification goes out.
    expect((await call("POST", `/v1/trips/${tripId}/cancel`, { token: rider.token })).status).toBe(200);
    const deliveries = await waitForDeliveries(riderKey, 2);
    expect(deliveries.map((d) => JSON.parse(d.text).data.status)).toEqual(["accepted", "cancelled"]);
    const log = await notificationsOf(rider);
    expect(log.map((n) => n.type)).toEqual(["trip_status", "trip_status"]);
  });

  it("trip chat reaches the other party when they have no socket in the trip, once per message", async () => {
    const { driver, rider, driverKey, riderKey, tripId } = await requestedWithHooks(
      { lat: 52.52, lng: 13.405 },
      { lat: 52.53, lng: 13.41 },
    );
    await waitForDeliveries(driverKey);
    expect((await call("POST", `/v1/trips/${tripId}/accept`, { token: driver.token })).status).toBe(200);
    await waitForDeliveries(riderKey);

    // The driver writes over their trip socket; the rider has none, so it is pushed.
    const driverSocket = await connectOk(`/v1/trips/${tripId}/ws`, driver.token);
    await driverSocket.nextOfType("welcome");
    for (let i = 0; i < 2; i++) {
      driverSocket.send({ type: "message", id: "d1", text: "I'm outside, silver car" });
      await driverSocket.nextOfType("ack");
    }
    const chats = async (key: string) =>
      (await deliveriesTo(key)).map((d) => JSON.parse(d.text)).filter((n) => n.type === "chat_message");
    await waitForDeliveries(riderKey, 2);
    expect(await chats(riderKey)).toEqual([
      expect.objectContaining({
        title: "Dee",
        body: "I'm outside, silver car",
        data: expect.objectContaining({ roomId: tripId, senderId: driver.user.id }),
      }),
    ]);

    // The rider answers over HTTP: the driver has a socket in the trip, so nothing is pushed to them.
    expect(
      (await call("POST", `/v1/trips/${tripId}/messages`, { token: rider.token, body: { text: "coming" } })).status,
    ).toBe(201);
    expect((await driverSocket.nextOfType("message")).message.text).toBe("coming");
    driverSocket.close();
    await driverSocket.waitClosed();
    // Socket closed: the next message reaches the driver as a notification.
    expect(
      (await call("POST", `/v1/trips/${tripId}/messages`, { token: rider.token, body: { text: "two minutes" } }))
        .status,
    ).toBe(201);
    await waitFor(
      "the driver's chat notification",
      async () => ((await chats(driverKey)).length > 0 ? true : undefined),
      8_000,
    );
    expect((await chats(driverKey)).map((n) => n.body)).toEqual(["two minutes"]);
  });
});
