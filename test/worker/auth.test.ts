// Accounts and the HTTP edges of the Worker (API.md, "Conventions" and "HTTP"): register,
// login with its brute-force limits, /v1/me and its token checks, health, the OpenAPI document,
// the body limit and the not-found answer. Every error body is checked against the one shape.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { toBase64Url } from "../../src/auth/encoding";
import { signToken } from "../../src/auth/jwt";
import { app } from "../../src/http/app";
import { call, registerUser, unique } from "../helpers/api";

// vitest.config.ts and wrangler.toml: what the test runtime signs and checks tokens with.
const jwt = {
  secret: "test-secret-not-for-production",
  issuer: "ridewire",
  audience: "ridewire-clients",
  ttlSeconds: 86_400,
};
const MAX_BODY_BYTES = 65_536;
const LOGIN_MAX_FAILURES = 10;
const LOGIN_WINDOW_SECONDS = 300;
const LOGIN_IP_MAX_FAILURES = 30;
const LOGIN_EMAIL_FREE_FAILURES = 20;
const ACCESS_TOKEN_TTL_SECONDS = 900;
const AUTH_KEYS = ["expiresAt", "expiresIn", "refreshToken", "token", "user"];

type Res = Awaited<ReturnType<typeof call>>;

/** API.md: `{ error: { code, message, details?, traceId } }`, nothing else, as JSON. */
function expectError(res: Res, status: number, code: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
  expect(Object.keys(res.body)).toEqual(["error"]);
  const { error } = res.body;
  expect(error).toEqual({
    code,
    message: expect.any(String),
    ...("details" in error ? { details: error.details } : {}),
    traceId: res.headers.get("X-Trace-Id"),
  });
  expect(error.code).toMatch(/^[a-z]+(_[a-z]+)*$/);
  expect(error.message.length).toBeGreaterThan(0);
  // Never a stack trace in a body.
  expect(JSON.stringify(res.body)).not.toMatch(/\bat .+\.(ts|js):\d+/);
}

const email = () => `${unique("a")}@example.com`;
/** Every login test gets its own client IP, so one test's failures never lock another. */
let ipCounter = Math.floor(Math.random() * 2 ** 20);
const ip = () => {
  const n = ipCounter++;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
};

function register(body: unknown) {
  return call("POST", "/v1/auth/register", { body });
}

function login(body: unknown, clientIp: string) {
  return call("POST", "/v1/auth/login", { body, headers: { "CF-Connecting-IP": clientIp } });
}

const encodeJson = (value: unknown) => toBase64Url(new TextEncoder().encode(JSON.stringify(value)));

describe("POST /v1/auth/register", () => {
  it("creates the account and answers 201 { user, token, expiresAt, expiresIn, refreshToken }", async () => {
    const address = email();
    const res = await register({ email: address, password: "password123", name: "Ada", role: "rider" });
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(AUTH_KEYS);
    expect(res.body.expiresIn).toBe(ACCESS_TOKEN_TTL_SECONDS);
    expect(Math.abs(res.body.expiresAt - (Date.now() + ACCESS_TOKEN_TTL_SECONDS * 1000))).toBeLessThan(60_000);
    expect(res.body.refreshToken).toMatch(/^\d{1,4}\.[A-Za-z0-9_-]{43}$/);
    expect(res.body.user).toEqual({
      id: expect.any(String),
      email: address,
      name: "Ada",
      role: "rider",
      createdAt: expect.any(Number),
    });
    expect(Math.abs(res.body.user.createdAt - Date.now())).toBeLessThan(60_000);
    expect(res.body.user).not.toHaveProperty("passwordHash");
    expect(res.body.token.split(".")).toHaveLength(3);
    // The token works at once.
    const me = await call("GET", "/v1/me", { token: res.body.token });
    expect(me.status).toBe(200);
    expect(me.body.user.id).toBe(res.body.user.id);
  });

  it("registers drivers too", async () => {
    const res = await register({ email: email(), password: "password123", name: "Dee", role: "driver" });
    expect(res.status).toBe(201);
    expect(res.body.user.role).toBe("driver");
  });

  it("trims and lowercases the email", async () => {
    const local = unique("Mixed.Case");
    const res = await register({
      email: `  ${local.toUpperCase()}@Example.COM \t`,
      password: "password123",
      name: "  Ada  ",
      role: "rider",
    });
    expect(res.status).toBe(201);
    expect(res.body.user.email).toBe(`${local.toLowerCase()}@example.com`);
    expect(res.body.user.name).toBe("Ada");
  });

  it("answers 409 email_taken for an email already in use, whatever its case and spacing", async () => {
    const local = unique("taken");
    const first = await register({
      email: `${local}@example.com`,
      password: "password123",
      name: "First",
      role: "rider",
    });
    expect(first.status).toBe(201);
    for (const variant of [`${local}@example.com`, `${local.toUpperCase()}@EXAMPLE.COM`, `  ${local}@Example.com  `]) {
      const again = await register({ email: variant, password: "different-password", name: "Second", role: "driver" });
      expectError(again, 409, "email_taken");
    }
    // The original account is untouched.
    const ok = await login({ email: `${local}@example.com`, password: "password123" }, ip());
    expect(ok.status).toBe(200);
    expect(ok.body.user.name).toBe("First");
  });

  it("lets exactly one of two concurrent registrations of one email win", async () => {
    const local = unique("race");
    const results = await Promise.all([
      register({ email: `${local}@example.com`, password: "password123", name: "A", role: "rider" }),
      register({ email: `${local.toUpperCase()}@example.com`, password: "password123", name: "B", role: "rider" }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
  });

  const valid = () => ({ email: email(), password: "password123", name: "Valid", role: "rider" });
  const invalid: [string, Record<string, unknown>, string][] = [
    ["a bad email", { email: "not-an-email" }, "email"],
    ["an email without a domain", { email: "ada@" }, "email"],
    ["a blank email", { email: "   " }, "email"],
    ["a short password", { password: "short7!" }, "password"],
    ["a password over 256 characters", { password: "x".repeat(257) }, "password"],
    ["a bad role", { role: "admin" }, "role"],
    ["a missing role", { role: undefined }, "role"],
    ["a missing name", { name: undefined }, "name"],
    ["a blank name", { name: "   " }, "name"],
    ["a name of the wrong type", { name: 42 }, "name"],
  ];
  for (const [label, change, field] of invalid) {
    it(`answers 400 invalid_request with zod issues for ${label}`, async () => {
      const res = await register({ ...valid(), ...change });
      expectError(res, 400, "invalid_request");
      expect(Array.isArray(res.body.error.details)).toBe(true);
      expect(res.body.error.details.length).toBeGreaterThan(0);
      for (const issue of res.body.error.details)
        expect(issue).toEqual({ path: expect.any(String), message: expect.any(String), code: expect.any(String) });
      expect(res.body.error.details.map((i: { path: string }) => i.path)).toContain(field);
    });
  }

  it("reports every invalid field at once", async () => {
    const res = await register({ email: "nope", password: "1", role: "admin" });
    expectError(res, 400, "invalid_request");
    const paths = res.body.error.details.map((i: { path: string }) => i.path).sort();
    expect(paths).toEqual(["email", "name", "password", "role"]);
  });

  it("answers 400 for a body that is not JSON, or not an object", async () => {
    for (const body of ["not json", "{", '{"email":', ""]) {
      expectError(await register(body), 400, "invalid_request");
    }
    for (const body of ["null", "[]", '"text"', "42", "true"]) {
      expectError(await register(body), 400, "invalid_request");
    }
    // A form body, whatever its Content-Type says.
    const form = await exports.default.fetch("http://ridewire.test/v1/auth/register", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "email=a%40b.com&password=password123",
    });
    expect(form.status).toBe(400);
    expect(((await form.json()) as { error: { code: string } }).error.code).toBe("invalid_request");
  });
});

describe("POST /v1/auth/login", () => {
  it(
    "answers 200 { user, token, refreshToken, " +
      "... } for the right password, with any case and spacing of the email",
    async () => {
      const local = unique("login");
      const created = await register({
        email: `${local}@example.com`,
        password: "password123",
        name: "Lou",
        role: "driver",
      });
      const clientIp = ip();
      for (const variant of [`${local}@example.com`, `  ${local.toUpperCase()}@Example.com `]) {
        const res = await login({ email: variant, password: "password123" }, clientIp);
        expect(res.status).toBe(200);
        expect(Object.keys(res.body).sort()).toEqual(AUTH_KEYS);
        expect(res.body.user).toEqual(created.body.user);
        const me = await call("GET", "/v1/me", { token: res.body.token });
        expect(me.status).toBe(200);
        expect(me.body.user.role).toBe("driver");
      }
    },
  );

  it("answers 401 invalid_credentials for a wrong password and for an unknown email alike", async () => {
    const address = email();
    await register({ email: address, password: "password123", name: "Wes", role: "rider" });
    const clientIp = ip();
    const wrong = await login({ email: address, password: "password124" }, clientIp);
    expectError(wrong, 401, "invalid_credentials");
    const unknown = await login({ email: email(), password: "password123" }, clientIp);
    expectError(unknown, 401, "invalid_credentials");
    // The same message: the answer does not tell which emails have accounts.
    expect(unknown.body.error.message).toBe(wrong.body.error.message);
    expect(wrong.headers.get("Retry-After")).toBeNull();
  });

  it("answers 400 invalid_request for a malformed body, without counting a failure", async () => {
    const clientIp = ip();
    for (const body of [
      {},
      { email: "a@b.co" },
      { password: "password123" },
      { email: "", password: "x" },
      { email: 1, password: 2 },
    ]) {
      expectError(await login(body, clientIp), 400, "invalid_request");
    }
    expectError(await login("nope", clientIp), 400, "invalid_request");
    // None of those counted against the IP.
    for (let i = 0; i < LOGIN_MAX_FAILURES; i++)
      expectError(await login({ email: email(), password: "password123" }, clientIp), 401, "invalid_credentials");
  });

  it("slows an email down with growing delays after LOGIN_EMAIL_FREE_FAILURES " +
    "failures from any addresses, even for the right password", async () => {
    const local = unique("slowed");
    const address = `${local}@example.com`;
    await register({ email: address, password: "password123", name: "Slow", role: "rider" });
    // A new IP for every attempt, so only the email's count can be what slows it; the case
    // of the email varies too, and still counts against the one account.
    for (let i = 0; i < LOGIN_EMAIL_FREE_FAILURES; i++) {
      const variant = i % 2 === 0 ? address : ` ${address.toUpperCase()} `;
      expectError(await login({ email: variant, password: `wrong-${i}` }, ip()), 401, "invalid_credentials");
    }
    // The next is checked, and makes the one after it wait a second.
    expectError(await login({ email: address, password: "wrong-again" }, ip()), 401, "invalid_credentials");
    const waiting = await login({ email: address, password: "password123" }, ip());
    expectError(waiting, 429, "rate_limited");
    expect(Number(waiting.headers.get("Retry-After"))).toBe(1);
    // A waiting attempt does not reveal whether the password was right.
    const wrongToo = await login({ email: address, password: "wrong-again" }, ip());
    expectError(wrongToo, 429, "rate_limited");
    expect(wrongToo.body.error.message).toBe(waiting.body.error.message);
    // After the wait one more is checked, and the next wait doubles.
    await new Promise((r) => setTimeout(r, 1_100));
    expectError(await login({ email: address, password: "wrong-again" }, ip()), 401, "invalid_credentials");
    const longer = await login({ email: address, password: "password123" }, ip());
    expectError(longer, 429, "rate_limited");
    expect(Number(longer.headers.get("Retry-After"))).toBe(2);
    await new Promise((r) => setTimeout(r, 2_100));
    // The owner gets in, and that starts the count over.
    expect((await login({ email: address, password: "password123" }, ip())).status).toBe(200);
    expectError(await login({ email: address, password: "wrong" }, ip()), 401, "invalid_credentials");
    expectError(await login({ email: address, password: "wrong" }, ip()), 401, "invalid_credentials");
    // Another account is not affected.
    const other = email();
    await register({ email: other, password: "password123", name: "Other", role: "rider" });
    expect((await login({ email: other, password: "password123" }, ip())).status).toBe(200);
  }, 30_000);

  it(
    "locks an (email, address) pair after LOGIN_MAX_FAILURES: " +
      "429 with Retry-After within the window, even for the right password",
    async () => {
      const address = email();
      await register({ email: address, password: "password123", name: "Pair", role: "rider" });
      const clientIp = ip();
      for (let i = 0; i < LOGIN_MAX_FAILURES; i++)
        expectError(await login({ email: address, password: `wrong-${i}` }, clientIp), 401, "invalid_credentials");
      const locked = await login({ email: address, password: "password123" }, clientIp);
      expectError(locked, 429, "rate_limited");
      const retryAfter = Number(locked.headers.get("Retry-After"));
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(LOGIN_WINDOW_SECONDS);
    },
  );

  it("a successful login clears the email's failures", async () => {
    const address = email();
    await register({ email: address, password: "password123", name: "Clear", role: "rider" });
    for (let i = 0; i < LOGIN_MAX_FAILURES - 1; i++)
      expectError(await login({ email: address, password: "nope-nope" }, ip()), 401, "invalid_credentials");
    expect((await login({ email: address, password: "password123" }, ip())).status).toBe(200);
    for (let i = 0; i < LOGIN_MAX_FAILURES - 1; i++)
      expectError(await login({ email: address, password: "nope-nope" }, ip()), 401, "invalid_credentials");
    expect((await login({ email: address, password: "password123" }, ip())).status).toBe(200);
  });

  it(
    "locks a client IP after LOGIN_IP_MAX_FAILURES failures across different emails, even for a right " + "password",
    async () => {
      const clientIp = ip();
      const address = email();
      await register({ email: address, password: "password123", name: "Victim", role: "rider" });
      for (let i = 0; i < LOGIN_IP_MAX_FAILURES; i++) {
        // Unknown emails count too (the decoy path), as do wrong passwords of real ones.
        const attempt =
          i === 0 ? { email: address, password: "wrong-password" } : { email: email(), password: "password123" };
        expectError(await login(attempt, clientIp), 401, "invalid_credentials");
      }
      const locked = await login({ email: address, password: "password123" }, clientIp);
      expectError(locked, 429, "rate_limited");
      const retryAfter = Number(locked.headers.get("Retry-After"));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(LOGIN_WINDOW_SECONDS);
      expectError(await login({ email: email(), password: "password123" }, clientIp), 429, "rate_limited");
      // The account itself is fine from another address.
      expect((await login({ email: address, password: "password123" }, ip())).status).toBe(200);
    },
  );
});

describe("login limits under attack (issue 16)", () => {
  it("gives at most LOGIN_MAX_FAILURES of 100 concurrent wrong passwords for one email a password check", async () => {
    const address = email();
    await register({ email: address, password: "password123", name: "Flood", role: "rider" });
    const clientIp = ip();
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => login({ email: address, password: `wrong-${i}` }, clientIp)),
    );
    // A 401 is an attempt whose password was checked; a 429 was refused before the check.
    const checked = results.filter((r) => r.status === 401).length;
    const refused = results.filter((r) => r.status === 429).length;
    expect(checked + refused).toBe(100);
    expect(checked).toBeLessThanOrEqual(LOGIN_MAX_FAILURES);
    expect(checked).toBeGreaterThan(0);
  });

  it(
    "gives about LOGIN_EMAIL_FREE_FAILURES + 1 of 60 concurrent " +
      "wrong passwords from 60 addresses a password check",
    async () => {
      const address = email();
      await register({ email: address, password: "password123", name: "Spread", role: "rider" });
      const started = Date.now();
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, i) => login({ email: address, password: `wrong-${i}` }, ip())),
      );
      const elapsedSeconds = (Date.now() - started) / 1000;
      const checked = results.filter((r) => r.status === 401).length;
      expect(checked + results.filter((r) => r.status === 429).length).toBe(60);
      // The free ones, the one that starts the 1 s wait, and one more for each wait (1, 2, 4 s…)
      // that ran out while the flood was still arriving on a slow machine.
      const waitsElapsed = Math.floor(Math.log2(elapsedSeconds + 1));
      expect(checked).toBeLessThanOrEqual(LOGIN_EMAIL_FREE_FAILURES + 1 + waitsElapsed);
    },
  );

  it("counts an IPv6 client by its /64, so rotating addresses within it does not escape the limits", async () => {
    const address = email();
    await register({ email: address, password: "password123", name: "Six", role: "rider" });
    const net = (ipCounter++ & 0xffff).toString(16);
    const statuses: number[] = [];
    for (let i = 0; i < LOGIN_MAX_FAILURES + 2; i++) {
      const spelled =
        i % 2 === 0 ? `2001:db8:${net}:7::${(i + 1).toString(16)}` : `2001:0DB8:${net}:0007:${i.toString(16)}:0:0:1`;
      statuses.push((await login({ email: address, password: `guess-${i}` }, spelled)).status);
    }
    expect(statuses.slice(0, LOGIN_MAX_FAILURES)).toEqual(Array(LOGIN_MAX_FAILURES).fill(401));
    expect(statuses.slice(LOGIN_MAX_FAILURES)).toEqual([429, 429]);
    // Another /64 is another client.
    expect((await login({ email: address, password: "password123" }, `2001:db8:${net}:8::1`)).status).toBe(200);
  });

  it("does not let a flood of wrong passwords from one address lock the owner out from another", async () => {
    const address = email();
    await register({ email: address, password: "password123", name: "Owner", role: "rider" });
    const attacker = ip();
    for (let i = 0; i < LOGIN_MAX_FAILURES + 5; i++) {
      const res = await login({ email: address, password: `guess-${i}` }, attacker);
      expect([401, 429]).toContain(res.status);
    }
    expectError(await login({ email: address, password: "password123" }, attacker), 429, "rate_limited");
    const owner = await login({ email: address, password: "password123" }, ip());
    expect(owner.status, JSON.stringify(owner.body)).toBe(200);
  });
});

describe("GET /v1/me", () => {
  it("answers the caller with rating { average: null, count: 0 } before any rating", async () => {
    const ada = await registerUser("rider", "Ada Me");
    const res = await call("GET", "/v1/me", { token: ada.token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      user: { ...ada.user, phone: null, phoneVerified: false, rating: { average: null, count: 0 } },
    });
  });

  it("accepts a token in any case of the Bearer scheme", async () => {
    const ada = await registerUser();
    const res = await call("GET", "/v1/me", { headers: { Authorization: `bearer ${ada.token}` } });
    expect(res.status).toBe(200);
  });

  it("answers 401 without a token", async () => {
    expectError(await call("GET", "/v1/me"), 401, "unauthorized");
  });

  it("answers 401 for malformed tokens and Authorization headers", async () => {
    const ada = await registerUser();
    const headers = [
      "Bearer not-a-token",
      "Bearer a.b.c",
      "Bearer ",
      "Bearer",
      `Basic ${btoa("ada:password123")}`,
      ada.token,
      `Bearer ${ada.token} extra`,
      `Bearer ${ada.token}.`,
      `Token ${ada.token}`,
    ];
    for (const Authorization of headers) {
      expectError(await call("GET", "/v1/me", { headers: { Authorization } }), 401, "unauthorized");
    }
  });

  it("answers 401 for an alg none token", async () => {
    const ada = await registerUser();
    const [, payload] = ada.token.split(".") as [string, string];
    for (const alg of ["none", "None"]) {
      const header = encodeJson({ alg, typ: "JWT" });
      expectError(await call("GET", "/v1/me", { token: `${header}.${payload}.` }), 401, "unauthorized");
      expectError(
        await call("GET", "/v1/me", { token: `${header}.${payload}.${ada.token.split(".")[2]}` }),
        401,
        "unauthorized",
      );
    }
  });

  it("answers 401 for a token whose payload was changed", async () => {
    const ada = await registerUser("rider");
    const bo = await registerUser("driver");
    const [header, payload, signature] = ada.token.split(".") as [string, string, string];
    const claims = JSON.parse(
      atob(payload.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((payload.length + 3) % 4)),
    );
    for (const changed of [
      { ...claims, role: "driver" },
      { ...claims, sub: bo.user.id },
      { ...claims, exp: claims.exp + 86_400 },
    ]) {
      expectError(
        await call("GET", "/v1/me", { token: `${header}.${encodeJson(changed)}.${signature}` }),
        401,
        "unauthorized",
      );
    }
  });

  it("answers 401 for an expired token signed with the right secret", async () => {
    const ada = await registerUser();
    const identity = { userId: ada.user.id, role: ada.user.role, name: ada.user.name };
    // Control: the same signing settings give a token the Worker accepts.
    const fresh = await signToken(identity, jwt, Date.now(), "ses_test");
    expect((await call("GET", "/v1/me", { token: fresh })).status).toBe(200);
    const expired = await signToken(identity, { ...jwt, ttlSeconds: 60 }, Date.now() - 2 * 60 * 60 * 1000, "ses_test");
    expectError(await call("GET", "/v1/me", { token: expired }), 401, "unauthorized");
  });

  it("answers 401 for a token of another secret, issuer or audience", async () => {
    const ada = await registerUser();
    const identity = { userId: ada.user.id, role: ada.user.role, name: ada.user.name };
    for (const settings of [
      { ...jwt, secret: "another-secret-0123456789" },
      { ...jwt, issuer: "someone-else" },
      { ...jwt, audience: "other-clients" },
    ]) {
      expectError(
        await call("GET", "/v1/me", { token: await signToken(identity, settings, Date.now(), "ses_test") }),
        401,
        "unauthorized",
      );
    }
  });

  it("does not take ?access_token= on a plain HTTP request (only WebSocket and SSE may)", async () => {
    const ada = await registerUser();
    expectError(await call("GET", `/v1/me?access_token=${encodeURIComponent(ada.token)}`), 401, "unauthorized");
    expectError(
      await call("GET", `/v1/me?access_token=${encodeURIComponent(ada.token)}`, {
        headers: { Accept: "application/json" },
      }),
      401,
      "unauthorized",
    );
    // A bad header is not rescued by a good query token either.
    expectError(
      await call("GET", `/v1/me?access_token=${encodeURIComponent(ada.token)}`, {
        headers: { Authorization: "Bearer nope" },
      }),
      401,
      "unauthorized",
    );
  });

  it(
    "takes ?access_token= only on the GET routes that open a socket, " +
      "a stream or a long poll, whatever Accept says",
    async () => {
      const ada = await registerUser("rider", "Query Token", { funds: 0 });
      const q = `access_token=${encodeURIComponent(ada.token)}`;
      const sse = { Accept: "text/event-stream" };
      // Writes and ordinary reads refuse a query token, also when the request claims to want a stream.
      const topUp = await call("POST", `/v1/wallet/top-ups?${q}`, {
        headers: { ...sse, "Idempotency-Key": unique("tu") },
        body: { amount: { amount: 1000, currency: "USD" } },
      });
      expectError(topUp, 401, "unauthorized");
      expectError(await call("GET", `/v1/me?${q}`, { headers: sse }), 401, "unauthorized");
      expectError(await call("GET", `/v1/wallet?${q}`, { headers: sse }), 401, "unauthorized");
      expectError(await call("POST", `/v1/rooms?${q}`, { headers: sse, body: { name: "nope" } }), 401, "unauthorized");
      expectError(await call("GET", `/v1/rooms?${q}`, { headers: { Upgrade: "websocket" } }), 401, "unauthorized");
      const wallet = await call("GET", "/v1/wallet", { token: ada.token });
      expect(wallet.body.wallet.balance.amount).toBe(0);
      // The stream routes still take it (the room does not exist: 404, past authentication).
      const poll = await call("GET", `/v1/rooms/room_missing/poll?timeout=0&${q}`);
      expectError(poll, 404, "not_found");
      const events = await call("GET", `/v1/rooms/room_missing/events?${q}`, { headers: sse });
      expectError(events, 404, "not_found");
    },
  );

  it("answers a clean 4xx error, never a 500, for a valid token of a user that does not exist", async () => {
    const token = await signToken(
      { userId: "usr_does_not_exist", role: "rider", name: "Ghost" },
      jwt,
      Date.now(),
      "ses_ghost",
    );
    const res = await call("GET", "/v1/me", { token });
    expect([401, 404]).toContain(res.status);
    expectError(res, res.status, res.status === 401 ? "unauthorized" : "not_found");
  });

  it(
    "answers 401, not a 500 from a foreign key, where a token without an account would write its user " + "id",
    async () => {
      const token = await signToken(
        { userId: "usr_does_not_exist", role: "rider", name: "Ghost" },
        jwt,
        Date.now(),
        "sess_ghost",
      );
      const owner = await registerUser();
      const room = (await call("POST", "/v1/rooms", { token: owner.token, body: { name: unique("room") } })).body.room;
      const writes: [string, string, unknown, Record<string, string>?][] = [
        ["POST", "/v1/rooms", { name: "ghost room" }],
        ["POST", `/v1/rooms/${room.id}/join`, undefined],
        ["POST", "/v1/devices", { kind: "webhook", url: "https://example.com/hook" }],
        ["PATCH", "/v1/me/preferences", { muted: ["chat_message"] }],
        [
          "POST",
          "/v1/wallet/top-ups",
          { amount: { amount: 1_000, currency: "USD" } },
          { "Idempotency-Key": unique("ghost") },
        ],
      ];
      for (const [method, path, body, headers] of writes) {
        expectError(
          await call(method, path, { token, ...(body === undefined ? {} : { body }), ...(headers ? { headers } : {}) }),
          401,
          "unauthorized",
        );
      }
      // Nothing was written for the ghost: their room is not listed to anyone.
      const rooms = (await call("GET", "/v1/rooms", { token: owner.token })).body.rooms as { name: string }[];
      expect(rooms.map((r) => r.name)).not.toContain("ghost room");
    },
  );
});

describe("GET /health", () => {
  it("answers { ok: true, version }", async () => {
    const res = await call("GET", "/health");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(res.body).toEqual({ ok: true, version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
  });
});

describe("GET /v1/openapi.json", () => {
  it("is an OpenAPI 3.1.0 document", async () => {
    const res = await call("GET", "/v1/openapi.json");
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe("3.1.0");
    expect(res.body.info).toEqual({ title: expect.any(String), version: expect.any(String) });
    expect(res.body.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
  });

  it("lists every route the app implements, with its method", async () => {
    const doc = (await call("GET", "/v1/openapi.json")).body as { paths: Record<string, Record<string, unknown>> };
    // Hono's route table, less the middleware that applies to every method.
    const implemented = app.routes
      .filter((r) => r.method !== "ALL")
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, "{$1}")}`);
    expect(implemented.length).toBeGreaterThan(5);
    const documented = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((m) => `${m} ${path}`),
    );
    const missing = [...new Set(implemented)].filter((r) => !documented.includes(r));
    expect(missing, `routes missing from openapi.json: ${missing.join(", ")}`).toEqual([]);
    for (const route of [
      "get /health",
      "get /v1/openapi.json",
      "post /v1/auth/register",
      "post /v1/auth/login",
      "get /v1/me",
    ]) {
      expect(documented).toContain(route);
    }
  });

  it("documents the auth bodies with the schemas the routes validate", async () => {
    const doc = (await call("GET", "/v1/openapi.json")).body;
    const register = doc.paths["/v1/auth/register"].post;
    const schema = register.requestBody.content["application/json"].schema;
    expect(schema.required).toEqual(expect.arrayContaining(["email", "password", "name", "role"]));
    expect(schema.properties.role.enum).toEqual(["rider", "driver"]);
    expect(register.responses["201"]).toBeDefined();
    expect(doc.paths["/v1/me"].get.security).toEqual([{ bearer: [] }]);
    expect(doc.paths["/v1/auth/login"].post.security).toBeUndefined();
  });
});

describe("limits and unknown routes", () => {
  /** A register body padded with trailing spaces (valid JSON whitespace) to `bytes` in total. */
  function paddedBody(bytes: number): string {
    const json = JSON.stringify({ email: email(), password: "password123", name: "Big", role: "rider" });
    return json + " ".repeat(bytes - json.length);
  }

  it("answers 413 payload_too_large for a body over MAX_BODY_BYTES", async () => {
    const res = await call("POST", "/v1/auth/register", { body: paddedBody(MAX_BODY_BYTES + 1) });
    expectError(res, 413, "payload_too_large");
    const huge = await call("POST", "/v1/auth/login", {
      body: JSON.stringify({ email: "a@b.co", password: "x".repeat(200_000) }),
      headers: { "CF-Connecting-IP": ip() },
    });
    expectError(huge, 413, "payload_too_large");
  });

  it("takes a body of exactly MAX_BODY_BYTES", async () => {
    const res = await call("POST", "/v1/auth/register", { body: paddedBody(MAX_BODY_BYTES) });
    expect(res.status).toBe(201);
  });

  it("answers 413 for an oversized body sent without Content-Length (streamed)", async () => {
    const chunk = new TextEncoder().encode(" ".repeat(16_384));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0)
          controller.enqueue(
            new TextEncoder().encode(`{"email":"${email()}","password":"password123","name":"S","role":"rider"}`),
          );
        if (sent >= 6) return controller.close();
        sent++;
        controller.enqueue(chunk);
      },
    });
    const res = await exports.default.fetch("http://ridewire.test/v1/auth/register", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: stream,
    });
    const body = await res.json();
    expectError({ status: res.status, body, headers: res.headers }, 413, "payload_too_large");
  });

  it("answers 404 not_found for unknown routes and methods", async () => {
    expectError(await call("GET", "/v1/nope"), 404, "not_found");
    expectError(await call("GET", "/"), 404, "not_found");
    expectError(await call("POST", "/v2/auth/login", { body: {} }), 404, "not_found");
    expectError(await call("GET", "/v1/auth/register"), 404, "not_found");
    expectError(await call("DELETE", "/v1/me"), 404, "not_found");
  });
});
