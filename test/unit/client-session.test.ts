// The SDK's session keeping (packages/client/src/session.ts and http.ts), in Node: refresh
// shortly before expiry and once on a 401, one refresh for concurrent callers, a refused
// refresh ends the session. The server side is a small stand-in answering over `fetch`; the
// e2e test (test/e2e/session-refresh.test.ts) runs the same against a real dev server.
import { describe, expect, it } from "vitest";
import { RidewireClient, RidewireError, type FetchLike } from "@ridewire/client";
import { renewalMarginMs, SessionKeeper, tokenTimes, type ClientSession } from "../../packages/client/src/session";
import { toBase64Url } from "../../src/auth/encoding";

const json = (value: unknown) => toBase64Url(new TextEncoder().encode(JSON.stringify(value)));
/** A JWT-shaped token (unsigned: the SDK reads its times, the server checks it). */
function fakeToken(n: number, ttlSeconds: number, now = Date.now()): string {
  const iat = Math.floor(now / 1000);
  return `${json({ alg: "HS256" })}.${json({ sub: "usr_1", n, iat, exp: iat + ttlSeconds })}.sig`;
}
const session = (n: number, ttlSeconds: number): ClientSession => ({
  token: fakeToken(n, ttlSeconds),
  refreshToken: `rt${n}`,
  expiresAt: (Math.floor(Date.now() / 1000) + ttlSeconds) * 1000,
});

describe("tokenTimes and renewalMarginMs", () => {
  it("reads iat and exp, and renews in the last fifth of a token's life, between 1 s and 60 s", () => {
    const token = fakeToken(1, 900);
    const times = tokenTimes(token)!;
    expect(times.expiresAt - times.issuedAt).toBe(900_000);
    expect(renewalMarginMs(token)).toBe(60_000);
    expect(renewalMarginMs(fakeToken(2, 10))).toBe(2_000);
    expect(renewalMarginMs(fakeToken(3, 2))).toBe(1_000);
    expect(tokenTimes("not.a-token.x")).toBeNull();
    expect(tokenTimes("nope")).toBeNull();
  });
});

describe("SessionKeeper", () => {
  it(
    "hands out the token as it is until its renewal margin, then refreshes once for all concurrent " + "callers",
    async () => {
      let exchanges = 0;
      const keeper = new SessionKeeper(session(1, 900), async (rt) => {
        exchanges++;
        await new Promise((r) => setTimeout(r, 20));
        return session(Number(rt.slice(2)) + 1, 900);
      });
      expect(await keeper.token()).toBe(keeper.session!.token);
      expect(exchanges).toBe(0);
      keeper.set(session(5, 30)); // a 30 s token is renewed in its last 6 s: used as it is now
      expect(await keeper.token()).toBe(keeper.session!.token);
      // 10 s left, inside its 60 s margin: refreshed
      keeper.set({ ...session(7, 900), expiresAt: Date.now() + 10_000 });
      const heard: string[] = [];
      keeper.onToken((t) => heard.push(t));
      const tokens = await Promise.all([keeper.token(), keeper.token(), keeper.token()]);
      expect(exchanges).toBe(1);
      expect(new Set(tokens).size).toBe(1);
      expect(keeper.session!.refreshToken).toBe("rt8");
      expect(heard).toEqual([tokens[0]]);
    },
  );

  it(
    "ends the session when the refresh is refused (401), and keeps a still valid token on a network " + "error",
    async () => {
      const changes: (ClientSession | null)[] = [];
      let answer: "refuse" | "network" = "network";
      const keeper = new SessionKeeper(
        { ...session(1, 900), expiresAt: Date.now() + 5_000 },
        async () => {
          throw answer === "refuse"
            ? new RidewireError(401, "unauthorized", "reused")
            : new RidewireError(0, "network_error", "offline");
        },
        (s) => changes.push(s),
      );
      const before = keeper.session!.token;
      expect(await keeper.token()).toBe(before);
      answer = "refuse";
      await expect(keeper.token()).rejects.toMatchObject({ status: 401, code: "session_expired" });
      expect(keeper.session).toBeNull();
      expect(changes).toEqual([null]);
      expect(await keeper.token()).toBeNull();
    },
  );
});

describe("RidewireClient keeps its session", () => {
  /** A stand-in of the three routes used: refresh rotates, /v1/me takes only the newest token. */
  function server() {
    const state = { refreshes: 0, valid: fakeToken(1, 900), refreshToken: "rt1", refuse: false, meCalls: 0 };
    const fetch: FetchLike = async (input, init) => {
      const path = new URL(input).pathname;
      if (path === "/v1/auth/refresh") {
        state.refreshes++;
        const body = JSON.parse(String(init?.body ?? "{}")) as { refreshToken: string };
        if (state.refuse || body.refreshToken !== state.refreshToken)
          return Response.json({ error: { code: "unauthorized", message: "no" } }, { status: 401 });
        state.valid = fakeToken(state.refreshes + 1, 900);
        state.refreshToken = `rt${state.refreshes + 1}`;
        const exp = tokenTimes(state.valid)!.expiresAt;
        return Response.json({
          user: { id: "usr_1", email: "a@b.co", name: "A", role: "rider", createdAt: 1 },
          token: state.valid,
          refreshToken: state.refreshToken,
          expiresAt: exp,
          expiresIn: 900,
        });
      }
      if (path === "/v1/me") {
        state.meCalls++;
        if (init?.headers?.Authorization !== `Bearer ${state.valid}`)
          return Response.json({ error: { code: "unauthorized", message: "expired" } }, { status: 401 });
        return Response.json({
          user: {
            id: "usr_1",
            email: "a@b.co",
            name: "A",
            role: "rider",
            createdAt: 1,
            rating: { average: null, count: 0 },
          },
        });
      }
      return Response.json({ error: { code: "not_found", message: "no" } }, { status: 404 });
    };
    return { state, fetch };
  }

  it("refreshes once on a 401 and retries, sharing one refresh among concurrent calls", async () => {
    const { state, fetch } = server();
    const sessions: (ClientSession | null)[] = [];
    // The server no longer takes the token the client holds (say, revoked by the clock).
    const client = new RidewireClient({
      baseUrl: "http://x.test",
      fetch,
      session: { token: fakeToken(0, 900), refreshToken: "rt1", expiresAt: Date.now() + 900_000 },
      onSession: (s) => sessions.push(s),
    });
    const users = await Promise.all([client.me(), client.me(), client.me()]);
    expect(users.map((u) => u.id)).toEqual(["usr_1", "usr_1", "usr_1"]);
    expect(state.refreshes).toBe(1);
    expect(client.session?.refreshToken).toBe("rt2");
    expect(sessions.map((s) => s?.refreshToken)).toEqual(["rt2"]);
  });

  it("answers session_expired and forgets the session when the refresh is refused", async () => {
    const { state, fetch } = server();
    state.refuse = true;
    const sessions: (ClientSession | null)[] = [];
    const client = new RidewireClient({
      baseUrl: "http://x.test",
      fetch,
      session: { token: fakeToken(0, 900), refreshToken: "rt1", expiresAt: Date.now() + 900_000 },
      onSession: (s) => sessions.push(s),
    });
    await expect(client.me()).rejects.toMatchObject({ status: 401, code: "session_expired" });
    expect(client.session).toBeNull();
    expect(sessions).toEqual([null]);
    // Without a session a 401 is just the answer: no refresh is tried.
    await expect(client.me()).rejects.toMatchObject({ status: 401, code: "unauthorized" });
    expect(state.refreshes).toBe(1);
  });
});
