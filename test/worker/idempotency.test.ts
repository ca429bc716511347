/**
 * Idempotency keys and frame ids (README, "Security"): one namespace per kind of operation, so
 * a typing frame's id never answers a chat post, while a message's id means the same message
 * over a socket and over HTTP (the SDK's fallback re-sends an unacknowledged frame as a post
 * with its id as the key); and an id reused for another text is 409 `conflict`, never a
 * silent answer with the first message.
 */
import { describe, expect, it } from "vitest";
import { call, connectOk, createRoom, joinRoom, registerUser } from "../helpers/api";
import { acceptedTrip, area, offset, onlineDriver } from "../helpers/dispatch";

describe("chat idempotency namespaces", () => {
  it("stores an HTTP post whose Idempotency-Key equals an earlier typing frame's id", async () => {
    const ada = await registerUser();
    const room = await createRoom(ada);
    const ws = await connectOk(`/v1/rooms/${room.id}/ws`, ada.token);
    await ws.nextOfType("welcome");
    ws.send({ type: "typing", id: "k-1", active: true });
    await ws.next((f) => f.type === "ack" && f.id === "k-1");
    const posted = await call("POST", `/v1/rooms/${room.id}/messages`, {
      token: ada.token,
      body: { text: "after typing" },
      headers: { "Idempotency-Key": "k-1" },
    });
    expect(posted.status).toBe(201);
    expect(posted.body.message).toMatchObject({ seq: 1, text: "after typing" });
    const history = await call("GET", `/v1/rooms/${room.id}/messages`, { token: ada.token });
    expect(history.body.messages.map((m: { text: string }) => m.text)).toEqual(["after typing"]);
    // ... and a typing frame with a message's id is still relayed (its own namespace).
    ws.send({ type: "typing", id: "m-typing", active: true });
    await ws.next((f) => f.type === "ack" && f.id === "m-typing");
    ws.close();
  });

  it("treats a message frame and an HTTP post with the same id as one message", async () => {
    const ada = await registerUser();
    const room = await createRoom(ada);
    const ws = await connectOk(`/v1/rooms/${room.id}/ws`, ada.token);
    ws.send({ type: "message", id: "m-1", text: "on my way" });
    const ack = await ws.next((f) => f.type === "ack" && f.id === "m-1");
    const retried = await call("POST", `/v1/rooms/${room.id}/messages`, {
      token: ada.token,
      body: { text: "on my way" },
      headers: { "Idempotency-Key": "m-1" },
    });
    expect(retried.status).toBe(201);
    expect(retried.body.message).toMatchObject({ seq: ack.seq, text: "on my way" });
    expect((await call("GET", `/v1/rooms/${room.id}/messages`, { token: ada.token })).body.messages).toHaveLength(1);
    ws.close();
  });

  it("refuses an id reused for another text with 409 over HTTP and a conflict error frame on the socket", async () => {
    const ada = await registerUser();
    const bob = await registerUser();
    const room = await createRoom(ada);
    await joinRoom(bob, room.id);
    const first = await call("POST", `/v1/rooms/${room.id}/messages`, {
      token: ada.token,
      body: { text: "pay 5" },
      headers: { "Idempotency-Key": "p-1" },
    });
    expect(first.status).toBe(201);
    const reused = await call("POST", `/v1/rooms/${room.id}/messages`, {
      token: ada.token,
      body: { text: "pay 500" },
      headers: { "Idempotency-Key": "p-1" },
    });
    expect(reused.status).toBe(409);
    expect(reused.body.error).toMatchObject({ code: "conflict", details: { id: "p-1" } });
    const ws = await connectOk(`/v1/rooms/${room.id}/ws`, ada.token);
    ws.send({ type: "message", id: "p-1", text: "pay 5000" });
    expect(await ws.next((f) => f.id === "p-1")).toMatchObject({ type: "error", code: "conflict" });
    ws.send({ type: "message", id: "p-1", text: "pay 5" });
    expect(await ws.next((f) => f.id === "p-1")).toMatchObject({ type: "ack", seq: first.body.message.seq });
    // Bob's ids are his own.
    expect(
      (
        await call("POST", `/v1/rooms/${room.id}/messages`, {
          token: bob.token,
          body: { text: "pay 500" },
          headers: { "Idempotency-Key": "p-1" },
        })
      ).status,
    ).toBe(201);
    expect(
      (await call("GET", `/v1/rooms/${room.id}/messages`, { token: ada.token })).body.messages.map(
        (m: { text: string }) => m.text,
      ),
    ).toEqual(["pay 500", "pay 5"]);
    ws.close();
  });

  it("applies the same rules to trip chat", async () => {
    const pickup = area(41, 31);
    const driver = await onlineDriver(pickup);
    const rider = await registerUser("rider");
    const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 2));
    const ws = await connectOk(`/v1/trips/${trip.id}/ws`, rider.token);
    ws.send({ type: "message", id: "t-1", text: "at the gate" });
    const ack = await ws.next((f) => f.type === "ack" && f.id === "t-1");
    const same = await call("POST", `/v1/trips/${trip.id}/messages`, {
      token: rider.token,
      body: { text: "at the gate" },
      headers: { "Idempotency-Key": "t-1" },
    });
    expect(same.status).toBe(201);
    expect(same.body.message.seq).toBe(ack.seq);
    const reused = await call("POST", `/v1/trips/${trip.id}/messages`, {
      token: rider.token,
      body: { text: "somewhere else" },
      headers: { "Idempotency-Key": "t-1" },
    });
    expect(reused.status).toBe(409);
    expect(reused.body.error.code).toBe("conflict");
    ws.close();
    driver.socket.close();
  });
});

describe("trip request idempotency", () => {
  it("answers a repeated Idempotency-Key with its trip only for the same ride, 409 for another", async () => {
    const rider = await registerUser("rider");
    const pickup = area(43, 31);
    const body = { pickup, dropoff: offset(pickup, 3) };
    const headers = { "Idempotency-Key": "ride-1" };
    const first = await call("POST", "/v1/trips", { token: rider.token, body, headers });
    expect(first.status).toBe(201);
    const again = await call("POST", "/v1/trips", { token: rider.token, body, headers });
    expect(again.body.trip.id).toBe(first.body.trip.id);
    const elsewhere = await call("POST", "/v1/trips", {
      token: rider.token,
      body: { pickup, dropoff: offset(pickup, 9) },
      headers,
    });
    expect(elsewhere.status).toBe(409);
    expect(elsewhere.body.error).toMatchObject({ code: "conflict", details: { tripId: first.body.trip.id } });
    const byQuote = await call("POST", "/v1/trips", {
      token: rider.token,
      body: { quoteId: "qt_not_that_one" },
      headers,
    });
    expect(byQuote.status).toBe(409);
    // The wallet held one fare, for the one trip.
    const wallet = await call("GET", "/v1/wallet", { token: rider.token });
    expect(wallet.body.wallet.held.amount).toBe(first.body.trip.quote.fare.amount);
  });
});
