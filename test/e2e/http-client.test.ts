/**
 * The SDK's HTTP client against a real `wrangler dev`: accounts, rooms and history,
 * idempotent posts, a ride from quote to rating, devices, notifications and preferences,
 * long polls, and API.md's errors as RidewireErrors.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RidewireClient, RidewireError } from "@ridewire/client";
import { devServer, type DevServer } from "./helpers/server";
import { account, sharedRoom, waitFor } from "./helpers/users";

let server: DevServer;

beforeAll(async () => {
  server = await devServer("http");
  await server.start();
});

afterAll(async () => {
  await server?.stop();
});

/** Catches the rejection of `run` as a RidewireError. */
async function failure(run: () => Promise<unknown>): Promise<RidewireError> {
  try {
    await run();
  } catch (err) {
    expect(err).toBeInstanceOf(RidewireError);
    return err as RidewireError;
  }
  throw new Error("expected a failure");
}

describe("HTTP client", () => {
  it("registers, logs in and reads the user back", async () => {
    const ada = await account(server.baseUrl, "rider", "Ada");
    expect(ada.user).toMatchObject({ name: "Ada", role: "rider", email: ada.email });
    const fresh = new RidewireClient({ baseUrl: server.baseUrl });
    const login = await fresh.signIn({ email: ada.email, password: ada.password });
    expect(login.user.id).toBe(ada.user.id);
    const me = await fresh.me();
    expect(me).toMatchObject({ id: ada.user.id, rating: { average: null, count: 0 } });
    expect(await fresh.health()).toMatchObject({ ok: true });
  });

  it("turns API.md's error body into a typed error with status, code, message and details", async () => {
    const ada = await account(server.baseUrl, "rider", "Ada");
    const anonymous = new RidewireClient({ baseUrl: server.baseUrl });

    const wrong = await failure(() => anonymous.login({ email: ada.email, password: "not the password" }));
    expect({ status: wrong.status, code: wrong.code }).toEqual({ status: 401, code: "invalid_credentials" });
    expect(wrong.message).toEqual(expect.any(String));

    const taken = await failure(() =>
      anonymous.register({ email: ada.email, password: ada.password, name: "Ada", role: "rider" }),
    );
    expect({ status: taken.status, code: taken.code }).toEqual({ status: 409, code: "email_taken" });

    const room = await ada.api.createRoom({ name: "errors" });
    const invalid = await failure(() => ada.api.postMessage(room.id, "   "));
    expect({ status: invalid.status, code: invalid.code }).toEqual({ status: 400, code: "invalid_request" });
    expect(invalid.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: "text" })]));

    expect((await failure(() => anonymous.me())).code).toBe("unauthorized");
    expect((await failure(() => ada.api.trip("trip_nope"))).status).toBe(404);
    // A driver-only route: 403 forbidden.
    expect((await failure(() => ada.api.goOnline({ lat: 1, lng: 1 }))).code).toBe("forbidden");

    const unreachable = new RidewireClient({ baseUrl: "http://127.0.0.1:9", retries: 0 });
    const network = await failure(() => unreachable.health());
    expect({ status: network.status, code: network.code }).toEqual({ status: 0, code: "network_error" });
  });

  it(
    "creates and joins rooms, adds members, posts, pages history, " +
      "and repeats an Idempotency-Key without a second message",
    async () => {
      const ada = await account(server.baseUrl, "rider", "Ada");
      const bob = await account(server.baseUrl, "driver", "Bob");
      const cy = await account(server.baseUrl, "rider", "Cy");
      const room = await sharedRoom(ada, bob);
      expect((await bob.api.rooms()).map((r) => r.id)).toContain(room.id);

      const secret = await ada.api.createRoom({ name: "private", private: true });
      expect((await failure(() => cy.api.joinRoom(secret.id))).status).toBe(403);
      await ada.api.addMember(secret.id, cy.user.id);
      expect((await cy.api.messages(secret.id)).messages).toEqual([]);

      const first = await ada.api.postMessage(room.id, "one", { idempotencyKey: "same-key" });
      const again = await ada.api.postMessage(room.id, "one", { idempotencyKey: "same-key" });
      expect(again).toEqual(first);
      for (let i = 2; i <= 5; i++) await bob.api.postMessage(room.id, `msg ${i}`);

      const page = await ada.api.messages(room.id, { limit: 2 });
      expect(page.messages.map((m) => m.seq)).toEqual([5, 4]);
      expect(page.nextBefore).toBe(4);
      const all = await ada.api.allMessages(room.id);
      expect(all.map((m) => m.text)).toEqual(["one", "msg 2", "msg 3", "msg 4", "msg 5"]);

      const polled = await bob.api.pollRoom(room.id, { since: 3, timeout: 0 });
      expect(polled.seq).toBe(5);
      expect(polled.events.map((e) => (e.type === "message" ? e.message.seq : null))).toEqual([4, 5]);
      // A waiting poll answers with the next event.
      const waiting = bob.api.pollRoom(room.id, { since: 5, timeout: 10 });
      await ada.api.postMessage(room.id, "six");
      expect((await waiting).events).toEqual([expect.objectContaining({ type: "message", seq: 6 })]);

      expect(ada.api.roomEventsUrl(room.id, { since: 2, accessToken: "t" })).toBe(
        `${server.baseUrl}/v1/rooms/${room.id}/events?since=2&access_token=t`,
      );
      expect(ada.api.roomSocketUrl(room.id, { since: 2 })).toBe(
        `ws://127.0.0.1:${server.port}/v1/rooms/${room.id}/ws?since=2`,
      );
    },
  );

  it("runs a ride over HTTP: online, quote, idempotent request, accept, moves, complete, rating, history", async () => {
    const rider = await account(server.baseUrl, "rider", "Rita");
    const driver = await account(server.baseUrl, "driver", "Dan");
    const pickup = { lat: 12.5, lng: 40.1 };
    const dropoff = { lat: 12.52, lng: 40.12 };

    const online = await driver.api.goOnline({ lat: 12.501, lng: 40.101 });
    expect(online.status).toBe("available");
    // The driver's session reports to its geo cell just behind its answer.
    await waitFor("the quote to see the driver", async () =>
      (await rider.api.quote({ pickup, dropoff })).pickupEtaSec !== null ? true : undefined,
    );
    const quote = await rider.api.quote({ pickup, dropoff });
    expect(quote.fare.currency).toBe("USD");

    const trip = await rider.api.requestTrip({ quoteId: quote.id }, { idempotencyKey: `ride-${quote.id}` });
    expect(trip.status).toBe("matching");
    expect((await rider.api.requestTrip({ quoteId: quote.id }, { idempotencyKey: `ride-${quote.id}` })).id).toBe(
      trip.id,
    );
    const conflict = await failure(() => rider.api.requestTrip({ pickup, dropoff }));
    expect({ status: conflict.status, code: conflict.code }).toEqual({ status: 409, code: "conflict" });

    // The offer goes to the driver (over a notification, since no channel is open): accept it.
    const accepted = await waitFor("the offer", async () => {
      try {
        return await driver.api.acceptTrip(trip.id);
      } catch (err) {
        if (err instanceof RidewireError && err.status === 409) return undefined;
        throw err;
      }
    });
    expect(accepted).toMatchObject({ status: "accepted", driverId: driver.user.id });
    expect((await failure(() => driver.api.goOffline())).code).toBe("conflict");
    expect((await driver.api.arrived(trip.id)).status).toBe("arrived");
    // The PIN is the rider's (wrangler.toml asks for one): the driver's answers never carry it.
    expect(trip.pin).toMatch(/^[0-9]{4}$/);
    expect(accepted).not.toHaveProperty("pin");
    const pin = trip.pin ?? "";
    const wrongPin = await failure(() => driver.api.startTrip(trip.id, { pin: pin === "0000" ? "0001" : "0000" }));
    expect({ status: wrongPin.status, code: wrongPin.code }).toEqual({ status: 403, code: "wrong_pin" });
    expect((await driver.api.startTrip(trip.id, { pin })).status).toBe("in_progress");
    // Share my trip: a client with no token reads the link; once revoked it is 410 share_ended.
    const link = await rider.api.shareTrip(trip.id);
    const stranger = new RidewireClient({ baseUrl: server.baseUrl });
    const seen = await stranger.sharedTrip(link.token);
    expect(seen.trip).toMatchObject({ status: "in_progress", expiresAt: link.expiresAt });
    expect(seen.trip).not.toHaveProperty("riderId");
    expect(await rider.api.revokeTripShares(trip.id)).toBe(1);
    const ended = await failure(() => stranger.sharedTrip(link.token));
    expect({ status: ended.status, code: ended.code }).toEqual({ status: 410, code: "share_ended" });
    // SOS from the rider, retried with its key: one alert.
    const sos = await rider.api.raiseSos(trip.id, { location: pickup }, { idempotencyKey: `sos-${trip.id}` });
    expect(sos).toMatchObject({ tripId: trip.id, role: "rider", location: pickup });
    expect((await rider.api.raiseSos(trip.id, { location: pickup }, { idempotencyKey: `sos-${trip.id}` })).id).toBe(
      sos.id,
    );
    // Under way, the ride is the driver's to end: the rider's cancel is refused.
    const walkOff = await failure(() => rider.api.cancelTrip(trip.id));
    expect({ status: walkOff.status, code: walkOff.code }).toEqual({ status: 409, code: "conflict" });
    const done = await driver.api.completeTrip(trip.id);
    expect(done.status).toBe("completed");
    // Nothing showed the ride differed from its quote: the upfront fare.
    expect(done.fare).toEqual(quote.fare);
    expect(await rider.api.receipt(trip.id)).toMatchObject({
      fare: quote.fare,
      quoted: quote.fare,
      capApplied: false,
      review: null,
    });

    expect(await rider.api.rateTrip(trip.id, { stars: 5, comment: "smooth" })).toMatchObject({
      tripId: trip.id,
      rateeId: driver.user.id,
      stars: 5,
    });
    expect((await failure(() => rider.api.rateTrip(trip.id, { stars: 4 }))).status).toBe(409);
    expect((await rider.api.trip(trip.id)).status).toBe("completed");
    await waitFor("the trip in the rider's history", async () =>
      (await rider.api.trips({ limit: 5 })).some((t) => t.id === trip.id) ? true : undefined,
    );

    const events = await rider.api.pollTrip(trip.id, { since: 0, timeout: 0 });
    const statuses = events.events.flatMap((e) => (e.type === "status" ? [e.trip.status] : []));
    expect(statuses).toEqual(expect.arrayContaining(["accepted", "arrived", "in_progress", "completed"]));
    expect(events.events.some((e) => e.type === "fare")).toBe(true);
    expect((await driver.api.goOffline()).status).toBe("offline");
  });

  it("registers a webhook device, lists notifications, and mutes a type", async () => {
    const ada = await account(server.baseUrl, "rider", "Ada");
    const device = await ada.api.registerDevice({ kind: "webhook", url: "http://127.0.0.1:9/hook" });
    expect(device).toMatchObject({ kind: "webhook", url: "http://127.0.0.1:9/hook", secret: expect.any(String) });
    expect((await ada.api.devices()).map((d) => d.id)).toEqual([device.id]);
    await ada.api.deleteDevice(device.id);
    expect(await ada.api.devices()).toEqual([]);
    expect(await ada.api.notifications({ limit: 5 })).toEqual([]);
    const preferences = { muted: ["chat_message"], mutedChannels: [], quietHours: null };
    expect(await ada.api.setPreferences({ muted: ["chat_message"] })).toEqual(preferences);
    expect(await ada.api.preferences()).toEqual(preferences);
    expect(
      (await failure(() => ada.api.registerDevice({ kind: "webhook", url: "http://example.com/hook" }))).code,
    ).toBe("invalid_request");
  });
});
