// A trip request's Idempotency-Key under races and crashes: a retry that arrives while the first
// request is still creating its trip, a retry of a request that never made its trip, and a twin
// whose key lands between this request's look for it and its claim.
import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import { SLOT_CREATE_GRACE_MS } from "../../src/domain/rider-slot";
import { USD, walletOf } from "../helpers/ledger";
import { call, registerUser } from "../helpers/api";
import { area, offset, stopTripAlarms, tripStub, waitFor } from "../helpers/dispatch";

afterAll(stopTripAlarms);

/** What a request leaves in D1 once it claimed the slot with its key and before its trip exists. */
async function claimedWithKey(riderId: string, tripId: string, key: string, at: number): Promise<void> {
  await env.DB.batch([
    env.DB.prepare(`INSERT INTO active_trips (rider_id, trip_id, created_at) VALUES (?, ?, ?)`).bind(
      riderId,
      tripId,
      at,
    ),
    env.DB.prepare(
      `INSERT INTO trip_requests (rider_id, idempotency_key, trip_id, created_at) VALUES (?, ?, ?, ?)`,
    ).bind(riderId, key, tripId, at),
  ]);
}

describe("a trip request's Idempotency-Key", () => {
  it("answers a retry sent while the first request is still creating its trip with that trip, not 404", async () => {
    const rider = await registerUser("rider");
    const pickup = area(61, 7);
    const body = { pickup, dropoff: offset(pickup, 3) };
    // The first request's quote, to create its trip with in a moment.
    const quoted = await call("POST", "/v1/quotes", { token: rider.token, body });
    expect(quoted.status).toBe(201);
    const row = await env.DB.prepare(`SELECT data FROM quotes WHERE id = ?`)
      .bind(quoted.body.quote.id)
      .first<{ data: string }>();
    const stored = JSON.parse(row?.data ?? "{}");
    const tripId = "trip_firstrequest";
    // The first request has claimed the slot with its key and is creating its trip.
    await claimedWithKey(rider.user.id, tripId, "same-key", Date.now());
    const retry = call("POST", "/v1/trips", {
      token: rider.token,
      body: { quoteId: quoted.body.quote.id },
      headers: { "Idempotency-Key": "same-key" },
    });
    await new Promise((resolve) => setTimeout(resolve, 150));
    const created = await tripStub(tripId).create({
      id: tripId,
      riderId: rider.user.id,
      rider: { firstName: "Rider", rating: null },
      quote: stored.quote,
      terms: stored.terms,
    });
    expect(created.ok).toBe(true);
    const answered = await retry;
    expect(answered.status).toBe(201);
    expect(answered.body.trip.id).toBe(tripId);
  });

  it("lets the retry of a request that died before creating its trip go on, rather than 404 for good", async () => {
    const rider = await registerUser("rider");
    const pickup = area(61, 9);
    const body = { pickup, dropoff: offset(pickup, 3) };
    // The first request claimed the slot with its key long ago, and its Worker died before creating the trip.
    await claimedWithKey(rider.user.id, "trip_neverwas", "dead-key", Date.now() - SLOT_CREATE_GRACE_MS - 1);
    const retry = await call("POST", "/v1/trips", {
      token: rider.token,
      body,
      headers: { "Idempotency-Key": "dead-key" },
    });
    expect(retry.status).toBe(201);
    const again = await call("POST", "/v1/trips", {
      token: rider.token,
      body,
      headers: { "Idempotency-Key": "dead-key" },
    });
    expect(again.status).toBe(201);
    expect(again.body.trip.id).toBe(retry.body.trip.id);
    expect((await walletOf(rider)).held).toEqual(USD(retry.body.trip.quote.fare.amount));
  });

  it("answers a twin's trip, over already, whose key landed between this request's look and its claim", async () => {
    const rider = await registerUser("rider");
    const pickup = area(61, 11);
    const body = { pickup, dropoff: offset(pickup, 3) };
    // The twin: made its trip with the key and was cancelled, so its slot is free again.
    const first = await call("POST", "/v1/trips", { token: rider.token, body });
    expect(first.status).toBe(201);
    expect((await call("POST", `/v1/trips/${first.body.trip.id}/cancel`, { token: rider.token })).status).toBe(200);
    await env.DB.prepare(`DELETE FROM active_trips WHERE rider_id = ?`).bind(rider.user.id).run();
    // Its key lands in D1 just as this request claims the slot: after this request looked for the
    // key, before its own is recorded. A trigger on the claim puts it exactly there.
    const trigger = `twin_key_${rider.user.id.replace(/\W/g, "")}`;
    await env.DB.prepare(
      `CREATE TRIGGER ${trigger} AFTER INSERT ON active_trips WHEN NEW.rider_id = '${rider.user.id}'
       BEGIN INSERT INTO trip_requests (rider_id, idempotency_key, trip_id, created_at)
       VALUES (NEW.rider_id, 'twin-key', '${first.body.trip.id}', NEW.created_at); END`,
    ).run();
    try {
      const twin = await call("POST", "/v1/trips", {
        token: rider.token,
        body,
        headers: { "Idempotency-Key": "twin-key" },
      });
      expect(twin.status).toBe(201);
      expect(twin.body.trip.id).toBe(first.body.trip.id);
    } finally {
      await env.DB.prepare(`DROP TRIGGER ${trigger}`).run();
    }
    // No second trip: the slot is free and nothing is held.
    const slot = await env.DB.prepare(`SELECT trip_id FROM active_trips WHERE rider_id = ?`)
      .bind(rider.user.id)
      .first();
    expect(slot).toBeNull();
    // The cancelled trip's hold goes back with its settlement, behind its end.
    await waitFor("the holds given back", async () => ((await walletOf(rider)).held.amount === 0 ? true : undefined));
  });
});
