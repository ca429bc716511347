/**
 * Notifications under a hostile user (README, "Security"): device URLs that point inside the
 * network are refused at registration and again at delivery, bad URLs are a 400 and never a
 * 500, delivery errors tell their class and nothing a port scan could use, a user holds a
 * bounded number of devices, and a Web Push endpoint belongs to one user.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { NOTIFICATIONS_QUEUE } from "../../src/notify/consumer";
import { chatNotification, receiptNotification, type NotificationMessage } from "../../src/notify/message";
import { app } from "../../src/http/app";
import { call, registerUser, unique, type TestUser } from "../helpers/api";
import { deliveriesTo, hookUrl, runQueue, scriptHook } from "../helpers/notify";

/** The deployed setting: loopback and plain http refused (the tests' own bindings allow loopback for the receiver). */
const strictEnv = { ...env, ALLOW_LOOPBACK_WEBHOOKS: "false" };

async function registerStrict(user: TestUser, body: unknown) {
  const res = await app.request(
    "http://ridewire.test/v1/devices",
    {
      method: "POST",
      headers: { Authorization: `Bearer ${user.token}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    },
    strictEnv,
  );
  return {
    status: res.status,
    body: (await res.json()) as {
      error?: { code: string; message: string; details?: { path: string; code: string }[] };
      device?: { id: string };
    },
  };
}

const P256DH = "BEgiAQUCTYfMkFRKfdLrC4OCglo3BNNRRNMVQSLptAt6OlWjjxAC50VpS58IMy1puWIy9eI6jyO9pPEab9NKOqY";
const AUTH = "AAAAAAAAAAAAAAAAAAAAAA";
const push = (endpoint: string) => ({
  kind: "webpush",
  subscription: { endpoint, keys: { p256dh: P256DH, auth: AUTH } },
});

let seq = 0;
function chatFor(recipient: TestUser): NotificationMessage {
  seq++;
  const roomId = unique("room");
  return chatNotification(
    { id: `msg_${roomId}_${seq}`, roomId, seq, userId: "usr_sender", text: "hi", createdAt: Date.now() },
    recipient.user.id,
    "Ada",
  );
}

async function notificationOf(user: TestUser, id: string) {
  const res = await call("GET", "/v1/notifications?limit=100", { token: user.token });
  return (res.body.notifications as { id: string; status: string; lastError: string | null }[]).find(
    (n) => n.id === id,
  );
}

describe("device URLs (SSRF)", () => {
  it(
    "refuses internal targets in every notation with 400 and a reason, as webhooks and as push " + "endpoints",
    async () => {
      const internal = [
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.1/",
        "https://100.64.0.1/",
        "https://192.168.0.10/hook",
        "http://127.0.0.1:22/",
        "http://127.0.0.1:6379/",
        "http://0x7f000001/",
        "http://2130706433/",
        "http://0177.0.0.1/",
        "http://127.1/",
        "http://[::1]/",
        "https://[::ffff:169.254.169.254]/",
        "https://[::ffff:7f00:1]/",
        "https://[fd00::1]/",
        "https://[fe80::1]/",
        "https://metadata.google.internal/",
        "https://localhost/",
        "https://intranet/",
        "http://hooks.example.com/",
      ];
      for (const url of internal) {
        // A user each: refused registrations count against the device registrations' rate limit too.
        const mallory = await registerUser();
        const hook = await registerStrict(mallory, { kind: "webhook", url });
        expect({
          url,
          status: hook.status,
          code: hook.body.error?.code,
          detail: hook.body.error?.details?.[0],
        }).toEqual({
          url,
          status: 400,
          code: "invalid_request",
          detail: expect.objectContaining({ path: "url", code: "refused_url" }),
        });
        const sub = await registerStrict(mallory, push(url));
        expect({ url, status: sub.status, path: sub.body.error?.details?.[0]?.path }).toEqual({
          url,
          status: 400,
          path: "subscription.endpoint",
        });
        expect((await call("GET", "/v1/devices", { token: mallory.token })).body.devices).toEqual([]);
      }
      // A public https host is fine.
      expect(
        (await registerStrict(await registerUser(), { kind: "webhook", url: "https://hooks.example.com/ridewire" }))
          .status,
      ).toBe(201);
    },
  );

  it("answers 400, never 500, for strings that are not URLs", async () => {
    const ada = await registerUser();
    for (const url of [
      "x",
      "",
      "http://",
      "https://",
      "//example.com",
      "https://[::1",
      "https://exa mple.com",
      42,
      null,
    ]) {
      const res = await call("POST", "/v1/devices", { token: ada.token, body: { kind: "webhook", url } });
      expect({ url, status: res.status, code: res.body.error?.code }).toEqual({
        url,
        status: 400,
        code: "invalid_request",
      });
      const sub = await call("POST", "/v1/devices", { token: ada.token, body: push(url as string) });
      expect({ url, status: sub.status }).toEqual({ url, status: 400 });
    }
  });

  it("refuses at delivery a stored device whose URL breaks the rules, without sending or retrying", async () => {
    const bob = await registerUser();
    const id = unique("dev").replace(/-/g, "_");
    await env.DB.prepare(
      `INSERT INTO devices (id, user_id, kind, endpoint, p256dh, auth, secret, created_at) VALUES (?, ?, 'webhook', ` +
        `?, NULL, NULL, 'whsec_x', ?)`,
    )
      .bind(id, bob.user.id, "https://169.254.169.254/latest/meta-data/", Date.now())
      .run();
    const message = chatFor(bob);
    const result = await runQueue(NOTIFICATIONS_QUEUE, [{ id: "m", body: message }]);
    expect(result.explicitAcks).toEqual(["m"]);
    expect(result.retryMessages).toEqual([]);
    expect(await notificationOf(bob, message.id)).toMatchObject({
      status: "failed",
      lastError: `webhook ${id}: refused_url`,
    });
  });

  it(
    "checks loopback at delivery against the setting too: a loopback webhook is refused once loopback is " + "off",
    async () => {
      const bob = await registerUser();
      const key = unique("hook");
      const res = await call("POST", "/v1/devices", { token: bob.token, body: { kind: "webhook", url: hookUrl(key) } });
      expect(res.status).toBe(201);
      const { createExecutionContext, createMessageBatch, getQueueResult } = await import("cloudflare:test");
      const worker = (await import("../../src/index")).default;
      const message = chatFor(bob);
      const batch = createMessageBatch(NOTIFICATIONS_QUEUE, [
        { id: "s", timestamp: new Date(), attempts: 1, body: message },
      ]);
      const ctx = createExecutionContext();
      await worker.queue(batch, strictEnv as Env, ctx);
      expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["s"]);
      expect(await deliveriesTo(key)).toEqual([]);
      expect(await notificationOf(bob, message.id)).toMatchObject({
        status: "failed",
        lastError: `webhook ${res.body.device.id}: refused_url`,
      });
    },
  );

  it("tells a failure's class only: no status code, port or error text to scan with", async () => {
    const bob = await registerUser();
    const key = unique("hook");
    await call("POST", "/v1/devices", { token: bob.token, body: { kind: "webhook", url: hookUrl(key) } });
    // Nothing listens on port 9 (discard) here: the connection is refused.
    const closed = await call("POST", "/v1/devices", {
      token: bob.token,
      body: { kind: "webhook", url: "http://127.0.0.1:9/x" },
    });
    expect(closed.status).toBe(201);
    await scriptHook(key, [418]);
    const message = chatFor(bob);
    const result = await runQueue(NOTIFICATIONS_QUEUE, [{ id: "c", body: message }]);
    expect(result.retryMessages.map((r) => r.msgId)).toEqual(["c"]);
    const logged = await notificationOf(bob, message.id);
    const [hookDevice] = (await call("GET", "/v1/devices", { token: bob.token })).body.devices as { id: string }[];
    expect(logged?.lastError).toBe(`webhook ${hookDevice!.id}: http_4xx; webhook ${closed.body.device.id}: network`);

    await scriptHook(key, [302]);
    const redirected = chatFor(bob);
    await runQueue(NOTIFICATIONS_QUEUE, [{ id: "r", body: redirected }]);
    expect((await notificationOf(bob, redirected.id))?.lastError).toContain(`webhook ${hookDevice!.id}: http_3xx`);
  });
});

describe("device caps and ownership", () => {
  it("caps devices per user with 409 too_many_devices; re-registering one you have still works", async () => {
    const ada = await registerUser();
    const max = Number(env.MAX_DEVICES_PER_USER);
    const urls = Array.from({ length: max }, (_, i) => `https://hooks.example.com/${unique("h")}/${i}`);
    for (const url of urls)
      expect((await call("POST", "/v1/devices", { token: ada.token, body: { kind: "webhook", url } })).status).toBe(
        201,
      );
    const over = await call("POST", "/v1/devices", {
      token: ada.token,
      body: { kind: "webhook", url: "https://hooks.example.com/one-more" },
    });
    expect(over.status).toBe(409);
    expect(over.body.error).toMatchObject({ code: "too_many_devices", details: { max } });
    expect(
      (await call("POST", "/v1/devices", { token: ada.token, body: { kind: "webhook", url: urls[0] } })).status,
    ).toBe(201);
    expect((await call("GET", "/v1/devices", { token: ada.token })).body.devices).toHaveLength(max);
    // Another user is not affected by Ada's count.
    const bob = await registerUser();
    expect(
      (
        await call("POST", "/v1/devices", {
          token: bob.token,
          body: { kind: "webhook", url: "https://hooks.example.com/one-more" },
        })
      ).status,
    ).toBe(201);
  });

  it("one chat message fans out to at most the cap, whatever a user tries", async () => {
    const ada = await registerUser();
    const max = Number(env.MAX_DEVICES_PER_USER);
    const attempts = await Promise.all(
      Array.from({ length: max + 5 }, (_, i) =>
        call("POST", "/v1/devices", {
          token: ada.token,
          body: { kind: "webhook", url: hookUrl(`${unique("fan")}-${i}`) },
        }),
      ),
    );
    expect(attempts.filter((r) => r.status === 201)).toHaveLength(max);
    expect(attempts.filter((r) => r.status === 409)).toHaveLength(5);
  });

  it("a Web Push endpoint belongs to its first user: another's registration is 409 and removes nothing", async () => {
    const ada = await registerUser();
    const mallory = await registerUser();
    const endpoint = hookUrl(unique("push"));
    const first = await call("POST", "/v1/devices", { token: ada.token, body: push(endpoint) });
    expect(first.status).toBe(201);
    const stolen = await call("POST", "/v1/devices", { token: mallory.token, body: push(endpoint) });
    expect(stolen.status).toBe(409);
    expect(stolen.body.error.code).toBe("conflict");
    expect((await call("GET", "/v1/devices", { token: ada.token })).body.devices).toEqual([
      { id: first.body.device.id, kind: "webpush", endpoint, createdAt: expect.any(Number) },
    ]);
    expect((await call("GET", "/v1/devices", { token: mallory.token })).body.devices).toEqual([]);
    // Ada registering it again (new keys) keeps working.
    expect((await call("POST", "/v1/devices", { token: ada.token, body: push(endpoint) })).status).toBe(201);
  });
});

describe("notifications per user per minute", () => {
  it(
    "logs notifications past the cap as rate_limited and sends none of them; other users and other types still " + "go",
    async () => {
      const bob = await registerUser();
      const cy = await registerUser();
      const bobHook = unique("hook");
      const cyHook = unique("hook");
      await call("POST", "/v1/devices", { token: bob.token, body: { kind: "webhook", url: hookUrl(bobHook) } });
      await call("POST", "/v1/devices", { token: cy.token, body: { kind: "webhook", url: hookUrl(cyHook) } });
      const cap = Number(env.NOTIFICATIONS_PER_USER_PER_MINUTE);
      const toBob = Array.from({ length: cap + 5 }, () => chatFor(bob));
      for (let i = 0; i < toBob.length; i += 10) {
        const batch = toBob.slice(i, i + 10);
        const result = await runQueue(
          NOTIFICATIONS_QUEUE,
          batch.map((body, j) => ({ id: `b${i + j}`, body })),
        );
        expect(result.explicitAcks).toHaveLength(batch.length);
      }
      const logged = (await call("GET", "/v1/notifications?limit=100", { token: bob.token })).body.notifications as {
        id: string;
        status: string;
      }[];
      const statusOf = new Map(logged.map((n) => [n.id, n.status]));
      expect(toBob.map((m) => statusOf.get(m.id))).toEqual([
        ...Array<string>(cap).fill("delivered"),
        ...Array<string>(5).fill("rate_limited"),
      ]);
      expect(await deliveriesTo(bobHook)).toHaveLength(cap);

      // A redelivered rate-limited message stays so, and sends nothing.
      await runQueue(NOTIFICATIONS_QUEUE, [{ id: "again", attempts: 2, body: toBob.at(-1) }]);
      expect(await notificationOf(bob, toBob.at(-1)!.id)).toMatchObject({ status: "rate_limited" });
      expect(await deliveriesTo(bobHook)).toHaveLength(cap);

      // Another type for Bob (a receipt) is counted apart, and Cy is not affected.
      const status = receiptNotification(
        unique("trip"),
        bob.user.id,
        "capture",
        { amount: 700, currency: "USD" },
        Date.now(),
      );
      const toCy = chatFor(cy);
      const result = await runQueue(NOTIFICATIONS_QUEUE, [
        { id: "s", body: status },
        { id: "c", body: toCy },
      ]);
      expect(result.explicitAcks.sort()).toEqual(["c", "s"]);
      expect(await notificationOf(bob, status.id)).toMatchObject({ status: "delivered" });
      expect(await notificationOf(cy, toCy.id)).toMatchObject({ status: "delivered" });
    },
  );
});
