/**
 * The delayed "your driver has arrived" SMS (rooms/trip-arrival-sms.ts), through the public API:
 * a real trip in pin city, a rider whose only device is a webhook (test/helpers/hook-server.mjs)
 * and who has no socket in the trip, the real queue and the Twilio stand-in
 * (test/helpers/sms-server.mjs). The test rings the trip's timer itself: it moves the timer's
 * time to now in the trip's SQLite and runs the object's alarm, instead of waiting
 * ARRIVED_SMS_AFTER_SECONDS.
 */
import { runInDurableObject } from "cloudflare:test";
import { afterAll, describe, expect, it } from "vitest";
import { NOTIFICATIONS_QUEUE } from "../../src/notify/consumer";
import { arrivalSmsNotification, tripStatusNotification } from "../../src/notify/message";
import { call, connectOk, registerUser, unique, type TestUser } from "../helpers/api";
import {
  newPhone,
  riderWithVerifiedPhone,
  setPhone,
  smsTo,
  textsTo,
  verifyPhone,
  waitForTexts,
} from "../helpers/channels";
import {
  area,
  driverAction,
  getTrip,
  nextOffer,
  offset,
  onlineDriver,
  type OnlineDriver,
  requestTrip,
  runTripAlarm,
  settle,
  stopTripAlarms,
  tripStub,
  waitFor,
} from "../helpers/dispatch";
import { arrivedTrip as tripOf, hookUrl, runQueue, waitForDeliveries } from "../helpers/notify";
import { notificationShard } from "../helpers/shards";

afterAll(stopTripAlarms);

// vitest.config.ts: trips picked up at 100°-120° E ("pin city") have a PIN.
const pinCity = (n: number) => area(n, 110);
const ARRIVED_TEXT = "ridewire: Your driver has arrived at the pickup point.";

type Logged = { id: string; status: string; ackedAt: number | null; channels: { channel: string; outcome: string }[] };

async function logOf(user: TestUser): Promise<Logged[]> {
  const res = await call("GET", "/v1/notifications?limit=100", { token: user.token });
  expect(res.status).toBe(200);
  return res.body.notifications;
}

/** Waits until the log holds notification `id` settled (not pending). */
function settled(user: TestUser, id: string): Promise<Logged> {
  return waitFor(
    `notification ${id} to settle`,
    async () => (await logOf(user)).find((n) => n.id === id && n.status !== "pending"),
    8_000,
  );
}

type Arrival = {
  rider: TestUser;
  driver: OnlineDriver;
  tripId: string;
  pin: string;
  phone: string;
  /** The id of the arrival push the rider was sent. */
  pushId: string;
};

/**
 * A rider with a webhook device (and a phone number, verified unless told otherwise) whose driver
 * has arrived; returns once the webhook got the arrival push and the log shows it delivered.
 */
async function arrival(n: number, { verified = true } = {}): Promise<Arrival> {
  const pickup = pinCity(n);
  const driver = await onlineDriver(offset(pickup, 0.2), "Dee");
  const rider = await registerUser("rider", "Rye");
  const phone = newPhone();
  if (verified) await verifyPhone(rider, phone);
  else await setPhone(rider, phone);
  const hook = unique("hook");
  const device = await call("POST", "/v1/devices", {
    token: rider.token,
    body: { kind: "webhook", url: hookUrl(hook) },
  });
  expect(device.status).toBe(201);

  const trip = await requestTrip(rider, pickup, offset(pickup, 3));
  await nextOffer(driver, trip.id);
  expect((await driverAction(driver, trip.id, "accept")).status).toBe(200);
  expect((await driverAction(driver, trip.id, "arrived")).status).toBe(200);
  const pin = (await getTrip(rider, trip.id)).pin;
  expect(pin).toMatch(/^[0-9]{4}$/);

  const seq = await timerSeq(trip.id);
  expect(seq).not.toBeNull();
  const pushId = `trip:${trip.id}:${seq}:${rider.user.id}`;
  // Accepted, then arrived: the webhook got both.
  await waitForDeliveries(hook, 2);
  expect((await settled(rider, pushId)).channels.map((c) => `${c.channel}: ${c.outcome}`)).toContain("sms: not_needed");
  return { rider, driver, tripId: trip.id, pin, phone, pushId };
}

/** The seq of the arrival whose SMS timer is set in the trip, or null when none is (nor its table, made with one). */
function timerSeq(tripId: string): Promise<number | null> {
  return runInDurableObject(tripStub(tripId), (_room, ctx) => {
    const made = ctx.storage.sql.exec(`SELECT 1 FROM sqlite_master WHERE name = 'arrival_sms'`).toArray().length > 0;
    if (!made) return null;
    const [row] = ctx.storage.sql.exec<{ seq: number }>(`SELECT seq FROM arrival_sms`).toArray();
    return row?.seq ?? null;
  });
}

/** Makes the trip's SMS timer due now and runs the trip's alarm (as ARRIVED_SMS_AFTER_SECONDS passing would). */
async function ringTimer(tripId: string): Promise<void> {
  await runInDurableObject(tripStub(tripId), (_room, ctx) => {
    ctx.storage.sql.exec(`UPDATE arrival_sms SET check_at = 0`);
    // The clock of the object may hold a later alarm: ask for one now.
    return ctx.storage.setAlarm(Date.now());
  });
  await runTripAlarm(tripId);
  // Under load the runtime may start that alarm itself first, and runTripAlarm then returns while the handler still
  // awaits the notification log: wait until it has moved the timer on (or settled it).
  const deadline = Date.now() + 10_000;
  while (await dueTimers(tripId)) {
    if (Date.now() > deadline) throw new Error(`the trip's alarm left its SMS timer due: ${tripId}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** How many of the trip's SMS timers are still at the 0 that ringTimer set. */
function dueTimers(tripId: string): Promise<number> {
  return runInDurableObject(tripStub(tripId), (_room, ctx) => {
    const made = ctx.storage.sql.exec(`SELECT 1 FROM sqlite_master WHERE name = 'arrival_sms'`).toArray().length > 0;
    return made
      ? ctx.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM arrival_sms WHERE check_at = 0`).one().n
      : 0;
  });
}

const ack = (user: TestUser, id: string) =>
  call("POST", `/v1/notifications/${encodeURIComponent(id)}/ack`, { token: user.token });

async function done(a: Arrival) {
  a.driver.socket.close();
  await a.driver.socket.waitClosed();
}

describe("the arrival SMS when no device acknowledged the push", () => {
  it("is sent to the verified number with the trip's PIN, and the log shows it without the PIN", async () => {
    const a = await arrival(1);
    expect(await textsTo(a.phone)).toEqual([]);
    await ringTimer(a.tripId);

    const [sms, ...more] = await waitForTexts(a.phone);
    expect(more).toEqual([]);
    expect(sms).toMatchObject({ to: a.phone, from: "+15005550006", body: `${ARRIVED_TEXT} Your trip PIN: ${a.pin}` });
    const logged = await settled(a.rider, `sms:${a.pushId}`);
    expect(logged.status).toBe("delivered");
    expect(logged.channels).toEqual([expect.objectContaining({ channel: "sms", outcome: "delivered" })]);
    // The timer is done; the PIN is nowhere in D1's log of the notification.
    expect(await timerSeq(a.tripId)).toBeNull();
    const stored = await notificationShard(a.rider.user.id)
      .prepare(`SELECT payload FROM notifications WHERE id = ?`)
      .bind(`sms:${a.pushId}`)
      .first<{ payload: string }>();
    expect(JSON.parse(stored?.payload ?? "null")).toMatchObject({ tripId: a.tripId, unackedPushId: a.pushId });
    expect(JSON.parse(stored?.payload ?? "null")).not.toHaveProperty("pin");
    await done(a);
  });

  it("is not sent once a device acknowledged the push", async () => {
    const a = await arrival(2);
    expect((await ack(a.rider, a.pushId)).status).toBe(200);
    await ringTimer(a.tripId);
    await settle(1_500);
    expect(await textsTo(a.phone)).toEqual([]);
    expect((await logOf(a.rider)).map((n) => n.id)).not.toContain(`sms:${a.pushId}`);
    expect(await timerSeq(a.tripId)).toBeNull();
    await done(a);
  });

  it("is not sent to a number its holder did not verify", async () => {
    const a = await arrival(3, { verified: false });
    await ringTimer(a.tripId);
    const logged = await settled(a.rider, `sms:${a.pushId}`);
    expect(logged.status).toBe("failed");
    expect(logged.channels).toEqual([expect.objectContaining({ channel: "sms", outcome: "skipped" })]);
    // Only the verification code ever went to it.
    expect(await textsTo(a.phone)).toEqual([]);
    expect(await smsTo(a.phone)).toHaveLength(1);
    await done(a);
  });

  it("is sent once, however often the timer rings or the message comes", async () => {
    const a = await arrival(4);
    await ringTimer(a.tripId);
    await waitForTexts(a.phone);
    await settled(a.rider, `sms:${a.pushId}`);
    // The same arrival's timer again (as a retried alarm would), and the queue message again.
    const seq = Number(a.pushId.split(":")[2]);
    await runInDurableObject(tripStub(a.tripId), (_room, ctx) => {
      ctx.storage.sql.exec(`INSERT INTO arrival_sms (seq, check_at, give_up_waiting_at) VALUES (?, 0, 0)`, seq);
    });
    await ringTimer(a.tripId);
    const again = arrivalSmsNotification(
      tripStatusNotification({ ...tripOf(a.rider.user.id, a.tripId), status: "arrived" }, seq),
      a.pin,
      Date.now(),
    );
    expect(again.id).toBe(`sms:${a.pushId}`);
    expect((await runQueue(NOTIFICATIONS_QUEUE, [{ id: unique("m"), body: again }])).retryMessages).toEqual([]);
    await settle(1_500);
    expect(await textsTo(a.phone)).toHaveLength(1);
    await done(a);
  });

  it("waits while the push is unsettled (its own fallback may still text), then sends once it gives up", async () => {
    const a = await arrival(9);
    // As if the push were being retried and had not reached its SMS step yet.
    const log = notificationShard(a.rider.user.id);
    await log.prepare(`UPDATE notifications SET status = 'pending' WHERE id = ?`).bind(a.pushId).run();
    await log
      .prepare(`DELETE FROM notification_channels WHERE notification_id = ? AND channel = 'sms'`)
      .bind(a.pushId)
      .run();
    const before = Date.now();
    await ringTimer(a.tripId);
    const waiting = await runInDurableObject(tripStub(a.tripId), (_room, ctx) =>
      ctx.storage.sql.exec<{ check_at: number }>(`SELECT check_at FROM arrival_sms`).toArray(),
    );
    expect(waiting).toHaveLength(1);
    expect(waiting[0]!.check_at).toBeGreaterThanOrEqual(before + 9_000);
    await settle(1_000);
    expect(await textsTo(a.phone)).toEqual([]);

    // Past the give-up time the unsettled push no longer holds the text back.
    await runInDurableObject(tripStub(a.tripId), (_room, ctx) => {
      ctx.storage.sql.exec(`UPDATE arrival_sms SET give_up_waiting_at = 0`);
    });
    await ringTimer(a.tripId);
    expect((await waitForTexts(a.phone))[0]!.body).toBe(`${ARRIVED_TEXT} Your trip PIN: ${a.pin}`);
    await done(a);
  });

  it("is not sent after the rider cancelled, nor after the ride started", async () => {
    const cancelled = await arrival(5);
    const cancel = await call("POST", `/v1/trips/${cancelled.tripId}/cancel`, { token: cancelled.rider.token });
    expect(cancel.status).toBe(200);
    // The cancel took the timer with it.
    expect(await timerSeq(cancelled.tripId)).toBeNull();
    await runInDurableObject(tripStub(cancelled.tripId), (_room, ctx) => ctx.storage.setAlarm(Date.now()));
    await runTripAlarm(cancelled.tripId);

    const started = await arrival(6);
    const start = await call("POST", `/v1/trips/${started.tripId}/start`, {
      token: started.driver.token,
      body: { pin: started.pin },
    });
    expect(start.status).toBe(200);
    expect(await timerSeq(started.tripId)).toBeNull();
    await runInDurableObject(tripStub(started.tripId), (_room, ctx) => ctx.storage.setAlarm(Date.now()));
    await runTripAlarm(started.tripId);

    await settle(1_500);
    expect(await textsTo(cancelled.phone)).toEqual([]);
    expect(await textsTo(started.phone)).toEqual([]);
    await done(cancelled);
    await done(started);
  });

  it("is not set for a rider whose socket saw the arrival, nor sent to one who opened the trip since", async () => {
    const pickup = pinCity(7);
    const driver = await onlineDriver(offset(pickup, 0.2));
    const { rider, phone } = await riderWithVerifiedPhone();
    const trip = await requestTrip(rider, pickup, offset(pickup, 3));
    await nextOffer(driver, trip.id);
    expect((await driverAction(driver, trip.id, "accept")).status).toBe(200);
    const socket = await connectOk(`/v1/trips/${trip.id}/ws`, rider.token);
    await socket.nextOfType("welcome");
    expect((await driverAction(driver, trip.id, "arrived")).status).toBe(200);
    await socket.next((f) => f.type === "status" && f.trip?.status === "arrived");
    expect(await timerSeq(trip.id)).toBeNull();
    socket.close();
    await socket.waitClosed();

    // Offline at the arrival, the rider opens the trip before the timer rings: no text.
    const a = await arrival(8);
    const late = await connectOk(`/v1/trips/${a.tripId}/ws`, a.rider.token);
    await late.nextOfType("welcome");
    await ringTimer(a.tripId);
    expect(await timerSeq(a.tripId)).toBeNull();
    await settle(1_500);
    expect(await textsTo(a.phone)).toEqual([]);
    late.close();
    await late.waitClosed();
    await done(a);
    driver.socket.close();
    await driver.socket.waitClosed();
    expect(await textsTo(phone)).toEqual([]);
  });
});
