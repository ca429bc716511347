/**
 * The SDK keeps a session alive against a real `wrangler dev` whose access tokens live 10 s
 * (ACCESS_TOKEN_TTL_SECONDS): HTTP calls keep working past several expiries, an open room
 * socket stays open (the SDK sends each new token as an `auth` frame before the server's
 * 4001 deadline), a driver channel too, and a logout of every session closes the socket
 * (4003) and ends the connection, since its session can no longer be refreshed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RidewireClient, type ClientSession } from "@ridewire/client";
import { devServer, type DevServer } from "./helpers/server";
import { sleep, waitFor } from "./helpers/users";

// The SDK renews in a token's last fifth (2 s here): room enough on a busy test machine.
const TTL_SECONDS = 10;
let server: DevServer;

beforeAll(async () => {
  server = await devServer("session", { vars: { ACCESS_TOKEN_TTL_SECONDS: String(TTL_SECONDS) } });
  await server.start();
});

afterAll(async () => {
  await server?.stop();
});

async function signedUp(role: "rider" | "driver", sessions: (ClientSession | null)[] = []) {
  const api = new RidewireClient({ baseUrl: server.baseUrl, onSession: (s) => sessions.push(s) });
  const email = `sess-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}@e2e.example`;
  const answer = await api.signUp({ email, password: "correct horse battery staple", name: "Sess", role });
  return { api, answer, email, sessions };
}

describe("short-lived access tokens", () => {
  it("keeps HTTP calls and an open room socket working across " +
    "several token lifetimes, then ends with the session", async () => {
    const { api, answer, sessions } = await signedUp("rider");
    expect(answer.expiresIn).toBe(TTL_SECONDS);
    const room = await api.createRoom({ name: "refreshing" });
    const connection = api.room(room.id, { since: 0, backoff: { initialDelayMs: 50, maxDelayMs: 500 } });
    const disconnects: { code?: number; reason: string }[] = [];
    connection.on("disconnect", (d) => disconnects.push(d));
    let closed: string | null = null;
    connection.on("closed", (c) => (closed = c.reason));
    await connection.whenOpen(15_000);

    // Two lifetimes of a token: the SDK refreshes by itself and renews the socket in-band.
    for (let i = 0; i < 2; i++) {
      await sleep(TTL_SECONDS * 1000);
      expect((await api.me()).id).toBe(answer.user.id);
      const ack = await connection.send({ type: "message", text: `still here ${i}` });
      expect(ack.seq).toBe(i + 1);
    }
    expect(disconnects, JSON.stringify(disconnects)).toEqual([]);
    expect(connection.connections).toBe(1);
    expect(sessions.length).toBeGreaterThanOrEqual(2);
    expect(sessions.at(-1)?.refreshToken).not.toBe(answer.refreshToken);

    // Ending every session of the user closes the socket with 4003, and the SDK cannot refresh: it closes.
    const other = new RidewireClient({ baseUrl: server.baseUrl, token: (await api.token()) ?? "" });
    await other.logout({ all: true });
    // At once, not at the token's expiry: a 4003 makes the SDK refresh before it reconnects, and that is refused.
    const loggedOutAt = Date.now();
    await waitFor("the connection to close", () => closed ?? undefined, 10_000);
    expect(Date.now() - loggedOutAt).toBeLessThan(TTL_SECONDS * 1000 * 0.5);
    expect(disconnects[0]?.code).toBe(4003);
    expect(api.session).toBeNull();
    expect(sessions.at(-1)).toBeNull();
    await expect(api.me()).rejects.toMatchObject({ status: 401 });
  }, 60_000);

  it("keeps a driver channel open past its token's expiry", async () => {
    const { api } = await signedUp("driver");
    await api.goOnline({ lat: 37.7749, lng: -122.4194 });
    const channel = api.driverChannel({ backoff: { initialDelayMs: 50, maxDelayMs: 500 } });
    const disconnects: unknown[] = [];
    channel.on("disconnect", (d) => disconnects.push(d));
    await channel.whenOpen(15_000);
    await sleep(TTL_SECONDS * 1000 * 1.5);
    expect(disconnects, JSON.stringify(disconnects)).toEqual([]);
    expect(channel.state).toBe("open");
    const ack = await channel.send({ type: "ping" });
    expect(ack.id).toEqual(expect.any(String));
    channel.close();
  }, 60_000);
});
