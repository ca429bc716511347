/**
 * How the SDK's HTTP client reads answers now that it checks fields instead of parsing with
 * zod: a real HTTP server in this process answers each route the way a working ridewire, a
 * broken proxy or another service would, and the client must hand on the good answers and
 * turn every other one into the right `RidewireError`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RidewireClient, RidewireError } from "@ridewire/client";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const json =
  (status: number, body: unknown, headers: Record<string, string> = {}): Handler =>
  (_req, res) => {
    res.writeHead(status, { "Content-Type": "application/json", ...headers }).end(JSON.stringify(body));
  };
const html =
  (status: number): Handler =>
  (_req, res) => {
    res.writeHead(status, { "Content-Type": "text/html" }).end("<html><body>Bad gateway</body></html>");
  };

const trip = { id: "trip_1", riderId: "u1", driverId: null, status: "matching" };
const seenAuthorization: (string | undefined)[] = [];
const routes: Record<string, Handler> = {
  "GET /v1/trips/trip_1": json(200, { trip }),
  "GET /v1/trips/wrong_shape": json(200, { trip: "not an object" }),
  "GET /v1/trips/html": html(200),
  "GET /v1/trips/missing": json(404, {
    error: { code: "not_found", message: "no such trip", details: { id: "missing" } },
  }),
  "GET /v1/trips/traced": json(
    500,
    { error: { code: "internal", message: "internal error", traceId: "4bf92f3577b34da6a3ce929d0e0e4736" } },
    { "X-Trace-Id": "4bf92f3577b34da6a3ce929d0e0e4736" },
  ),
  "GET /v1/trips/proxy_down": html(503),
  "GET /v1/trips/odd_error": json(400, { error: { code: 5, message: "a number for a code" } }),
  "GET /v1/trips/slow_down": json(
    429,
    { error: { code: "rate_limited", message: "slow down" } },
    { "Retry-After": "7" },
  ),
  "POST /v1/auth/register": json(201, {
    user: { id: "u1", email: "a@b.c", name: "Ada", role: "rider", createdAt: 1 },
    token: "token-from-register",
    refreshToken: "refresh-from-register",
    expiresAt: 4_102_444_800_000,
    expiresIn: 900,
  }),
  "POST /v1/auth/login": json(200, { user: { id: "u1" } }),
  "GET /v1/me": (req, res) => {
    seenAuthorization.push(req.headers.authorization);
    json(200, { user: { id: "u1", rating: { average: null, count: 0 } } })(req, res);
  },
};

let server: Server;
let api: RidewireClient;

beforeAll(async () => {
  server = createServer((req, res) => {
    const route = routes[`${req.method} ${req.url?.split("?")[0]}`];
    if (route) route(req, res);
    else json(404, { error: { code: "not_found", message: "no route" } })(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  api = new RidewireClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, retries: 0 });
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

async function failure(call: () => Promise<unknown>): Promise<RidewireError> {
  try {
    await call();
  } catch (err) {
    if (err instanceof RidewireError) return err;
    throw err;
  }
  throw new Error("expected a RidewireError");
}

describe("RidewireClient answers", () => {
  it("hands on an answer whose envelope fits", async () => {
    expect(await api.trip("trip_1")).toEqual(trip);
  });

  it("rejects an answer whose envelope does not fit, naming the field", async () => {
    const err = await failure(() => api.trip("wrong_shape"));
    expect(err).toMatchObject({
      status: 200,
      code: "invalid_response",
      details: [{ path: ["trip"], message: "expected object" }],
    });
  });

  it("rejects a page that is not JSON", async () => {
    expect(await failure(() => api.trip("html"))).toMatchObject({ status: 200, code: "invalid_response" });
  });

  it("turns the API's error body into code, message and details", async () => {
    expect(await failure(() => api.trip("missing"))).toMatchObject({
      status: 404,
      code: "not_found",
      message: "no such trip",
      details: { id: "missing" },
    });
  });

  it("calls an error without the API's error body an http_error", async () => {
    expect(await failure(() => api.trip("proxy_down"))).toMatchObject({ status: 503, code: "http_error" });
    expect(await failure(() => api.trip("odd_error"))).toMatchObject({ status: 400, code: "http_error" });
  });

  it("passes the request's trace id on, and none when the answer names none", async () => {
    expect(await failure(() => api.trip("traced"))).toMatchObject({
      status: 500,
      code: "internal",
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    });
    expect((await failure(() => api.trip("missing"))).traceId).toBeUndefined();
  });

  it("passes Retry-After on", async () => {
    expect(await failure(() => api.trip("slow_down"))).toMatchObject({
      status: 429,
      code: "rate_limited",
      retryAfter: 7,
    });
  });

  it("keeps the token of a sign-up, and refuses an auth answer without one", async () => {
    await api.signUp({ email: "a@b.c", password: "long enough password", name: "Ada", role: "rider" });
    await api.me();
    expect(seenAuthorization.at(-1)).toBe("Bearer token-from-register");
    expect(await failure(() => api.signIn({ email: "a@b.c", password: "long enough password" }))).toMatchObject({
      code: "invalid_response",
    });
    expect(await api.token()).toBe("token-from-register");
  });
});
