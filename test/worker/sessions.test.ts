// Sessions (issue 16): rotating refresh tokens with reuse detection, logout of one session or
// all, and sockets and streams that do not outlive their token or their session: closed with
// 4001 at expiry unless an `auth` frame brought a later token, and with 4003 when the session
// ends. Short-lived tokens are signed here with the test secret and a real session's `sid`.
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import { fromBase64Url } from "../../src/auth/encoding";
import { signToken } from "../../src/auth/jwt";
import { call, connect, connectOk, createRoom, registerUser, unique, type TestSocket } from "../helpers/api";
import { expectError } from "../helpers/chat";
import { acceptedTrip, area, offset, onlineDriver, stopTripAlarms } from "../helpers/dispatch";

afterAll(stopTripAlarms);

// vitest.config.ts and wrangler.toml: what the test runtime signs and checks tokens with.
const jwt = {
  secret: "test-secret-not-for-production",
  issuer: "ridewire",
  audience: "ridewire-clients",
  ttlSeconds: 900,
};

type Session = {
  user: { id: string; role: "rider" | "driver"; name: string };
  token: string;
  refreshToken: string;
  expiresAt: number;
};

let ipCounter = Math.floor(Math.random() * 2 ** 20);
const ip = () => `10.200.${(ipCounter >> 8) & 255}.${ipCounter++ & 255}`;

async function signUp(role: "rider" | "driver" = "rider"): Promise<Session & { email: string }> {
  const email = `${unique("s")}@example.com`;
  const res = await call("POST", "/v1/auth/register", { body: { email, password: "password123", name: "Sam", role } });
  expect(res.status).toBe(201);
  return { ...res.body, email };
}

async function signIn(email: string): Promise<Session> {
  const res = await call("POST", "/v1/auth/login", {
    body: { email, password: "password123" },
    headers: { "CF-Connecting-IP": ip() },
  });
  expect(res.status).toBe(200);
  return res.body;
}

const refresh = (refreshToken: unknown) => call("POST", "/v1/auth/refresh", { body: { refreshToken } });

function sidOf(token: string): string {
  const payload = JSON.parse(new TextDecoder().decode(fromBase64Url(token.split(".")[1]!)));
  return payload.sid;
}

/** A token of the same user and session that expires in `seconds`. */
function shortToken(session: Session, seconds: number, sid = sidOf(session.token)): Promise<string> {
  return signToken(
    { userId: session.user.id, role: session.user.role, name: session.user.name },
    { ...jwt, ttlSeconds: seconds },
    Date.now(),
    sid,
  );
}

async function expectOpen(socket: TestSocket): Promise<void> {
  socket.send({ type: "ping", id: unique("p") });
  await socket.nextOfType("pong");
}

describe("POST /v1/auth/refresh", () => {
  it("trades a refresh token for a new access token and refresh token, once", async () => {
    const ada = await signUp();
    const res = await refresh(ada.refreshToken);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(["expiresAt", "expiresIn", "refreshToken", "token", "user"]);
    expect(res.body.user.id).toBe(ada.user.id);
    expect(res.body.refreshToken).not.toBe(ada.refreshToken);
    // The same session goes on.
    expect(sidOf(res.body.token)).toBe(sidOf(ada.token));
    expect((await call("GET", "/v1/me", { token: res.body.token })).status).toBe(200);
    // And the next one works too.
    const again = await refresh(res.body.refreshToken);
    expect(again.status).toBe(200);
  });

  it(
    "treats a reused refresh token as theft: 401, and the whole session ends (its newest refresh token " + "too)",
    async () => {
      const ada = await signUp();
      const rotated = await refresh(ada.refreshToken);
      expect(rotated.status).toBe(200);
      expectError(await refresh(ada.refreshToken), 401, "unauthorized");
      expectError(await refresh(rotated.body.refreshToken), 401, "unauthorized");
      // Sockets of that session cannot be opened any more either.
      const room = await createRoom({ user: { ...ada.user, email: ada.email, createdAt: 0 }, token: ada.token });
      const refused = await connect(`/v1/rooms/${room.id}/ws`, { token: rotated.body.token });
      expect(refused.socket).toBeNull();
      expect(refused.status).toBe(401);
      // Another session of the same user is untouched.
      const other = await signIn(ada.email);
      expect((await refresh(other.refreshToken)).status).toBe(200);
    },
  );

  it("lets only one of two concurrent uses of a refresh token through", async () => {
    const ada = await signUp();
    const results = await Promise.all([refresh(ada.refreshToken), refresh(ada.refreshToken)]);
    expect(results.filter((r) => r.status === 200).length).toBeLessThanOrEqual(1);
    for (const r of results) expect([200, 401]).toContain(r.status);
  });

  it("answers 401 for unknown tokens and 400 for malformed bodies", async () => {
    expectError(await refresh("A".repeat(43)), 401, "unauthorized");
    const ada = await signUp();
    // Pieces of the access token are not a refresh token.
    expectError(await refresh(ada.token.slice(-43)), 401, "unauthorized");
    for (const body of [{}, { refreshToken: "" }, { refreshToken: 42 }, { refreshToken: "x".repeat(257) }]) {
      expectError(await call("POST", "/v1/auth/refresh", { body }), 400, "invalid_request");
    }
    expectError(await call("POST", "/v1/auth/refresh", { body: "not json" }), 400, "invalid_request");
  });
});

describe("POST /v1/auth/logout", () => {
  it("ends the caller's session only; all: true ends every session of the user", async () => {
    const ada = await signUp();
    const second = await signIn(ada.email);
    const third = await signIn(ada.email);
    const out = await call("POST", "/v1/auth/logout", { token: ada.token });
    expect(out.status).toBe(200);
    expect(out.body).toEqual({ revoked: 1 });
    expectError(await refresh(ada.refreshToken), 401, "unauthorized");
    const secondRefreshed = await refresh(second.refreshToken);
    expect(secondRefreshed.status).toBe(200);
    // Again: nothing left to end.
    expect((await call("POST", "/v1/auth/logout", { token: ada.token })).body).toEqual({ revoked: 0 });

    const all = await call("POST", "/v1/auth/logout", { token: secondRefreshed.body.token, body: { all: true } });
    expect(all.body).toEqual({ revoked: 2 });
    expectError(await refresh(secondRefreshed.body.refreshToken), 401, "unauthorized");
    expectError(await refresh(third.refreshToken), 401, "unauthorized");
  });

  it("needs an access token and a valid body", async () => {
    expectError(await call("POST", "/v1/auth/logout"), 401, "unauthorized");
    const ada = await signUp();
    expectError(
      await call("POST", "/v1/auth/logout", { token: ada.token, body: { all: "yes" } }),
      400,
      "invalid_request",
    );
    expectError(await call("POST", "/v1/auth/logout", { token: ada.token, body: "{" }), 400, "invalid_request");
  });

  it(
    "closes the user's open sockets of that session with 4003 within seconds (chat room and driver " + "channel)",
    async () => {
      const ada = await signUp();
      const room = await createRoom({ user: { ...ada.user, email: ada.email, createdAt: 0 }, token: ada.token });
      const chat = await connectOk(`/v1/rooms/${room.id}/ws`, ada.token);
      await chat.nextOfType("welcome");
      // A socket of another session of the same user stays open.
      const other = await signIn(ada.email);
      const otherChat = await connectOk(`/v1/rooms/${room.id}/ws`, other.token);
      await otherChat.nextOfType("welcome");
      expect((await call("POST", "/v1/auth/logout", { token: ada.token })).status).toBe(200);
      expect(await chat.waitClosed(5_000)).toEqual({ code: 4003, reason: "session ended" });
      await expectOpen(otherChat);
      otherChat.close();

      const driver = await onlineDriver(area(91));
      const driverSession = await signIn((await call("GET", "/v1/me", { token: driver.token })).body.user.email);
      const channel = await connectOk("/v1/drivers/me/ws", driverSession.token);
      await channel.nextOfType("welcome");
      expect((await call("POST", "/v1/auth/logout", { token: driverSession.token, body: { all: true } })).status).toBe(
        200,
      );
      expect((await channel.waitClosed(5_000)).code).toBe(4003);
      expect((await driver.socket.waitClosed(5_000)).code).toBe(4003);
    },
  );
});

describe("a reused refresh token reaches the trip room", () => {
  it("closes the rider's trip socket of that session with 4003", async () => {
    const pickup = area(92);
    const driver = await onlineDriver(pickup);
    const rider = await registerUser("rider", "Rae");
    const signedIn = (
      await call("POST", "/v1/auth/login", {
        body: { email: rider.user.email, password: "password123" },
        headers: { "CF-Connecting-IP": ip() },
      })
    ).body;
    const trip = await acceptedTrip({ user: rider.user, token: signedIn.token }, driver, pickup, offset(pickup, 2));
    const socket = await connectOk(`/v1/trips/${trip.id}/ws`, signedIn.token);
    await socket.nextOfType("welcome");
    const driverSocket = await connectOk(`/v1/trips/${trip.id}/ws`, driver.token);
    await driverSocket.nextOfType("welcome");
    expect((await refresh(signedIn.refreshToken)).status).toBe(200);
    // The old refresh token again: theft, the session ends, and so does its socket.
    expectError(await refresh(signedIn.refreshToken), 401, "unauthorized");
    expect(await socket.waitClosed(5_000)).toEqual({ code: 4003, reason: "session ended" });
    // The driver's socket (another user) stays.
    await expectOpen(driverSocket);
    driverSocket.close();
  });
});

describe("sockets and streams end with their token", () => {
  it("closes a socket with 4001 token expired at its token's expiry, also after hibernating", async () => {
    const ada = await signUp();
    const room = await createRoom({ user: { ...ada.user, email: ada.email, createdAt: 0 }, token: ada.token });
    const socket = await connectOk(`/v1/rooms/${room.id}/ws`, await shortToken(ada, 2));
    await socket.nextOfType("welcome");
    const lasting = await connectOk(`/v1/rooms/${room.id}/ws`, ada.token);
    await lasting.nextOfType("welcome");
    await evictDurableObject(env.CHAT_ROOM.get(env.CHAT_ROOM.idFromName(room.id)), { webSockets: "hibernate" });
    expect(await socket.waitClosed(6_000)).toEqual({ code: 4001, reason: "token expired" });
    await expectOpen(lasting);
    lasting.close();
  });

  it("takes no frame on a socket whose token expired, even before the alarm closes it", async () => {
    const ada = await signUp();
    const room = await createRoom({ user: { ...ada.user, email: ada.email, createdAt: 0 }, token: ada.token });
    const socket = await connectOk(`/v1/rooms/${room.id}/ws`, await shortToken(ada, 2));
    await socket.nextOfType("welcome");
    // No alarm: only the frame itself can notice the expiry.
    await runInDurableObject(env.CHAT_ROOM.get(env.CHAT_ROOM.idFromName(room.id)), (_room, state) =>
      state.storage.deleteAlarm(),
    );
    await new Promise((r) => setTimeout(r, 2_300));
    socket.send({ type: "message", id: "late", text: "too late" });
    expect(await socket.waitClosed(3_000)).toEqual({ code: 4001, reason: "token expired" });
    expect(socket.frames.some((f) => f.type === "ack")).toBe(false);
    const history = await call("GET", `/v1/rooms/${room.id}/messages`, { token: ada.token });
    expect(history.body.messages).toEqual([]);
  });

  it("keeps a socket open past its first token's expiry once an auth frame brings a later one", async () => {
    const ada = await signUp();
    const room = await createRoom({ user: { ...ada.user, email: ada.email, createdAt: 0 }, token: ada.token });
    const socket = await connectOk(`/v1/rooms/${room.id}/ws`, await shortToken(ada, 2));
    await socket.nextOfType("welcome");
    socket.send({ type: "auth", id: "a1", token: await shortToken(ada, 30) });
    expect(await socket.nextOfType("ack")).toEqual({ type: "ack", id: "a1" });
    await new Promise((r) => setTimeout(r, 2_600));
    await expectOpen(socket);
    expect(socket.closed).toBeNull();
    socket.close();
  });

  it("answers a bad auth frame with an error frame and keeps the socket", async () => {
    const ada = await signUp();
    const bo = await signUp();
    const room = await createRoom({ user: { ...ada.user, email: ada.email, createdAt: 0 }, token: ada.token });
    const socket = await connectOk(`/v1/rooms/${room.id}/ws`, await shortToken(ada, 60));
    await socket.nextOfType("welcome");
    const cases: [unknown, string][] = [
      [{ type: "auth", id: "x1", token: bo.token }, "forbidden"],
      [{ type: "auth", id: "x2", token: await shortToken(ada, 30) }, "invalid_request"],
      [{ type: "auth", id: "x3", token: "not-a-token" }, "unauthorized"],
      [{ type: "auth", id: "x4" }, "invalid_request"],
      [{ type: "auth", id: "x5", token: 7 }, "invalid_request"],
      [{ type: "auth", id: "x6", token: await shortToken(ada, 120, "ses_not_a_session") }, "unauthorized"],
    ];
    for (const [frame, code] of cases) {
      socket.send(frame);
      const error = await socket.nextOfType("error");
      expect(error, JSON.stringify(frame)).toMatchObject({ id: (frame as { id: string }).id, code });
    }
    await expectOpen(socket);
    socket.close();
  });

  it("refuses an auth frame of a session that has ended", async () => {
    const ada = await signUp();
    const later = await signIn(ada.email);
    const room = await createRoom({ user: { ...ada.user, email: ada.email, createdAt: 0 }, token: ada.token });
    const socket = await connectOk(`/v1/rooms/${room.id}/ws`, await shortToken(ada, 60));
    await socket.nextOfType("welcome");
    const stale = await shortToken(later, 600);
    expect((await call("POST", "/v1/auth/logout", { token: later.token })).status).toBe(200);
    socket.send({ type: "auth", id: "z", token: stale });
    expect(await socket.nextOfType("error")).toMatchObject({ id: "z", code: "unauthorized" });
    socket.close();
  });

  it("ends an SSE stream at its token's expiry and bounds a long poll's wait by it", async () => {
    const ada = await signUp();
    const room = await createRoom({ user: { ...ada.user, email: ada.email, createdAt: 0 }, token: ada.token });
    const started = Date.now();
    const res = await exports.default.fetch(`http://ridewire.test/v1/rooms/${room.id}/events`, {
      headers: { Authorization: `Bearer ${await shortToken(ada, 2)}` },
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = "";
    const deadline = Date.now() + 8_000;
    for (;;) {
      const result = await Promise.race([
        reader.read(),
        new Promise<null>((r) => setTimeout(() => r(null), Math.max(0, deadline - Date.now()))),
      ]);
      if (result === null) throw new Error(`the stream is still open after 8 s: ${text}`);
      if (result.done) break;
      text += new TextDecoder().decode(result.value);
    }
    expect(text).toContain('"type":"welcome"');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);

    const pollStarted = Date.now();
    const poll = await call("GET", `/v1/rooms/${room.id}/poll?since=0&timeout=25`, { token: await shortToken(ada, 2) });
    expect(poll.status).toBe(200);
    expect(poll.body).toEqual({ events: [], seq: 0 });
    expect(Date.now() - pollStarted).toBeLessThan(6_000);
  }, 20_000);
});
