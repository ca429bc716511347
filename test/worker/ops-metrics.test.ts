/**
 * The live metrics (src/metrics.ts, rooms/ops-desk.ts, GET /v1/ops/metrics) through the public
 * API: what users do shows up in the operators' window a few seconds later (isolates flush every
 * 5 s), by error code, socket kind and dispatch city; riders and drivers get 403. And the trace id
 * of a request reaches the objects it calls: a chat post's notification, queued by the room's
 * object, carries it into the consumer's log line (console captured, as in trace.test.ts).
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../src/config";
import type { OpsMetricsResponse } from "../../src/protocol/ops-metrics";
import { cityOf } from "../../src/rooms/trip-metrics";
import { registerAdmin } from "../helpers/admin";
import { call, connectOk, createRoom, joinRoom, registerUser, type TestUser } from "../helpers/api";
import {
  area,
  driverAction,
  expectError,
  inCell,
  nextOffer,
  offset,
  onlineDriver,
  requestTrip,
  waitFor,
} from "../helpers/dispatch";

afterEach(() => {
  vi.restoreAllMocks();
});

async function readMetrics(admin: TestUser): Promise<OpsMetricsResponse> {
  const res = await call("GET", "/v1/ops/metrics", { token: admin.token });
  expect(res.status).toBe(200);
  return res.body as OpsMetricsResponse;
}

/**
 * Reads the window until `ready` holds (each read is a request, which lets the Worker's isolate
 * flush too); every 200 ms, within the poll class's rate limit.
 */
async function metricsUntil(
  admin: TestUser,
  what: string,
  ready: (view: OpsMetricsResponse) => boolean,
): Promise<OpsMetricsResponse> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const view = await readMetrics(admin);
    if (ready(view)) return view;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(view)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const errorsOf = (view: OpsMetricsResponse, code: string) => view.errors.find((e) => e.code === code)?.count ?? 0;
const connectionsOf = (view: OpsMetricsResponse, kind: string) =>
  view.connections.find((c) => c.kind === kind) ?? { kind, open: 0, opened: 0, closed: 0 };

describe("GET /v1/ops/metrics", () => {
  it("is for operators only: 403 for riders and drivers, 401 without a token", async () => {
    for (const role of ["rider", "driver"] as const) {
      const user = await registerUser(role);
      expectError(await call("GET", "/v1/ops/metrics", { token: user.token }), 403, "forbidden");
    }
    expectError(await call("GET", "/v1/ops/metrics"), 401, "unauthorized");
  });

  it("counts error answers by code and HTTP requests", async () => {
    const admin = await registerAdmin();
    const before = await readMetrics(admin);
    for (let i = 0; i < 3; i++) expect((await call("GET", `/v1/no-such-route-${i}`)).status).toBe(404);
    const rider = await registerUser("rider");
    // An object's refusal counts too: a long poll of a private room the rider is not in.
    const owner = await registerUser();
    const room = await createRoom(owner, { private: true });
    const refused = await call("GET", `/v1/rooms/${room.id}/poll?since=0&timeout=0`, { token: rider.token });
    expect(refused.status).toBe(403);
    const after = await metricsUntil(
      admin,
      "three not_found and a forbidden",
      (view) =>
        errorsOf(view, "not_found") >= errorsOf(before, "not_found") + 3 &&
        errorsOf(view, "forbidden") >= errorsOf(before, "forbidden") + 1,
    );
    expect(after.throughput.httpRequests).toBeGreaterThanOrEqual(before.throughput.httpRequests + 6);
    expect(after.errorRate).toBeGreaterThan(0);
    expect(after.windowSeconds).toBe(300);
  });

  it("counts sockets opened and closed by kind, frames in and out, acks and deliveries", async () => {
    const admin = await registerAdmin();
    const owner = await registerUser();
    const room = await createRoom(owner);
    const member = await registerUser();
    await joinRoom(member, room.id);
    const before = await readMetrics(admin);
    const a = await connectOk(`/v1/rooms/${room.id}/ws`, owner.token);
    const b = await connectOk(`/v1/rooms/${room.id}/ws`, member.token);
    await a.nextOfType("welcome");
    await b.nextOfType("welcome");
    a.send({ type: "message", id: "m1", text: "hello" });
    await a.next((f) => f.type === "ack" && f.id === "m1");
    await b.next((f) => f.type === "message");
    a.close();
    const after = await metricsUntil(
      admin,
      "two ChatRoom sockets, a frame in, an ack and its deliveries",
      (view) =>
        connectionsOf(view, "ChatRoom").opened >= connectionsOf(before, "ChatRoom").opened + 2 &&
        connectionsOf(view, "ChatRoom").closed >= connectionsOf(before, "ChatRoom").closed + 1 &&
        view.throughput.framesIn >= before.throughput.framesIn + 1 &&
        view.throughput.acks >= before.throughput.acks + 1 &&
        view.throughput.deliveries >= before.throughput.deliveries + 2,
    );
    expect(after.throughput.framesOut).toBeGreaterThanOrEqual(before.throughput.framesOut + 5);
    b.close();
  });

  it("shows dispatch health per city: requests, offers, accepted, declined and the request-to-offer time", async () => {
    const admin = await registerAdmin();
    const pickup = area(71);
    const city = cityOf(loadConfig(env), pickup);
    const cityOfView = (view: OpsMetricsResponse) =>
      view.dispatch.find((d) => d.city === city) ?? {
        requests: 0,
        offers: 0,
        accepted: 0,
        declined: 0,
        requestToOffer: null,
        requestToMatch: null,
      };
    const before = cityOfView(await readMetrics(admin));
    const first = await onlineDriver(offset(pickup, 0.2));
    const rider = await registerUser("rider");
    const trip = await requestTrip(rider, pickup, offset(pickup, 3));
    await nextOffer(first, trip.id);
    expect((await driverAction(first, trip.id, "decline")).status).toBe(200);
    const second = await onlineDriver(offset(pickup, 0.3));
    await nextOffer(second, trip.id, 10_000);
    expect((await driverAction(second, trip.id, "accept")).status).toBe(200);
    const view = await metricsUntil(admin, `dispatch in ${JSON.stringify(city)}`, (v) => {
      const now = cityOfView(v);
      return (
        now.requests >= before.requests + 1 &&
        now.offers >= before.offers + 2 &&
        now.declined >= before.declined + 1 &&
        now.accepted >= before.accepted + 1
      );
    });
    const now = cityOfView(view);
    expect(now.requestToOffer?.count ?? 0).toBeGreaterThanOrEqual((before.requestToOffer?.count ?? 0) + 1);
    expect(now.requestToMatch?.count ?? 0).toBeGreaterThanOrEqual((before.requestToMatch?.count ?? 0) + 1);
    expect(now.requestToMatch?.maxMs ?? 0).toBeGreaterThanOrEqual(now.requestToOffer?.avgMs ?? 0);
    first.socket.close();
    second.socket.close();
  });
});

describe("trace ids in the objects", () => {
  const randomTraceId = () =>
    Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");

  function captureLines(): Record<string, unknown>[] {
    const lines: Record<string, unknown>[] = [];
    const capture = (...args: unknown[]) => {
      const text = args.map(String).join(" ");
      if (text.startsWith("{")) lines.push(JSON.parse(text) as Record<string, unknown>);
    };
    vi.spyOn(console, "log").mockImplementation(capture);
    vi.spyOn(console, "error").mockImplementation(capture);
    vi.spyOn(console, "warn").mockImplementation(capture);
    return lines;
  }

  it("a chat post's trace id reaches the notification the room's object queues", async () => {
    const owner = await registerUser();
    const room = await createRoom(owner);
    const offline = await registerUser();
    await joinRoom(offline, room.id);
    const lines = captureLines();
    const traceId = randomTraceId();
    const posted = await call("POST", `/v1/rooms/${room.id}/messages`, {
      token: owner.token,
      body: { text: "are you there?" },
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    expect(posted.status).toBe(201);
    const line = await waitFor(
      "the consumer's line about the chat notification",
      async () =>
        lines.find(
          (l) =>
            l.where === "notify.consumer" &&
            l.type === "chat_message" &&
            String(l.notificationId).includes(offline.user.id) &&
            String(l.notificationId).includes(room.id),
        ),
      10_000,
    );
    expect(line.traceId).toBe(traceId);
  });

  it("a trip request's trace id reaches the offer notification a driver without a socket gets", async () => {
    const pickup = area(72);
    // Online over HTTP with no channel opened: the offer goes out as a notification, from the driver's session.
    const driver = await registerUser("driver");
    const at = offset(pickup, 0.2);
    expect((await call("POST", "/v1/drivers/me/online", { token: driver.token, body: { location: at } })).status).toBe(
      200,
    );
    await waitFor("the driver in the geo index", async () => ((await inCell(at, driver.user.id)) ? true : undefined));
    const rider = await registerUser("rider");
    const lines = captureLines();
    const traceId = randomTraceId();
    const trip = await requestTrip(rider, pickup, offset(pickup, 3), {
      traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
    });
    const line = await waitFor(
      "the consumer's line about the offer",
      async () =>
        lines.find(
          (l) => l.where === "notify.consumer" && l.type === "offer" && String(l.notificationId).includes(trip.id),
        ),
      10_000,
    );
    expect(line.traceId).toBe(traceId);
  });
});
