/**
 * Trace ids (src/trace.ts) through the public API: the caller's W3C traceparent is echoed in the
 * answer's headers and error body, a missing or malformed one gets a fresh id, an error a
 * Durable Object answers gets it too, and a notification a request queues carries it into the
 * consumer's log line (the real local queue, console captured).
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { TRACE_ID } from "../../src/trace";
import { call, createRoom, registerUser } from "../helpers/api";
import { area, editTripState, offset, runTripAlarm, waitFor } from "../helpers/dispatch";

const randomTraceId = () =>
  Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
const traceparent = (traceId: string) => `00-${traceId}-00f067aa0ba902b7-01`;

afterEach(() => {
  vi.restoreAllMocks();
});

/**
 * Captures the console from now on; answers a function that waits for the notifications consumer's JSON line about
 * the notification whose id contains `idPart`.
 */
function captureConsumerLines(): (what: string, idPart: string) => Promise<Record<string, unknown>> {
  const lines: string[] = [];
  const capture = (...args: unknown[]) => {
    lines.push(args.map(String).join(" "));
  };
  vi.spyOn(console, "log").mockImplementation(capture);
  vi.spyOn(console, "error").mockImplementation(capture);
  return (what, idPart) =>
    waitFor(
      `the consumer's line about ${what}`,
      async () =>
        lines
          .filter((l) => l.startsWith("{"))
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .find((l) => l.where === "notify.consumer" && String(l.notificationId).includes(idPart)),
      10_000,
    );
}

describe("trace ids", () => {
  it("echoes a valid traceparent's trace id in the headers and the error body", async () => {
    const traceId = randomTraceId();
    const res = await call("GET", "/v1/no-such-route", { headers: { traceparent: traceparent(traceId) } });
    expect(res.status).toBe(404);
    expect(res.headers.get("X-Trace-Id")).toBe(traceId);
    expect(res.headers.get("traceparent")).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(res.headers.get("traceparent")).not.toBe(traceparent(traceId));
    expect(res.body.error).toEqual({ code: "not_found", message: expect.any(String), traceId });
  });

  it("puts it in validation and auth errors and on successful answers", async () => {
    const traceId = randomTraceId();
    const bad = await call("POST", "/v1/auth/register", {
      body: { email: "not-an-email" },
      headers: { traceparent: traceparent(traceId) },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.traceId).toBe(traceId);
    const unauthorized = await call("GET", "/v1/me", { headers: { traceparent: traceparent(traceId) } });
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.body.error.traceId).toBe(traceId);
    const health = await call("GET", "/health", { headers: { traceparent: traceparent(traceId) } });
    expect(health.status).toBe(200);
    expect(health.headers.get("X-Trace-Id")).toBe(traceId);
    expect(health.body).not.toHaveProperty("traceId");
  });

  it.each([
    ["no traceparent", undefined],
    ["a malformed one", "00-abc-def-01"],
    ["an all-zero trace id", `00-${"0".repeat(32)}-00f067aa0ba902b7-01`],
    ["upper-case hex", traceparent(randomTraceId().toUpperCase())],
  ])("gives a fresh trace id to a request with %s", async (_what, header) => {
    const headers: Record<string, string> = header === undefined ? {} : { traceparent: header };
    const first = await call("GET", "/v1/no-such-route", { headers });
    const second = await call("GET", "/v1/no-such-route", { headers });
    const id = first.headers.get("X-Trace-Id");
    expect(id).toMatch(TRACE_ID);
    expect(id).not.toBe("0".repeat(32));
    expect(header?.toLowerCase() ?? "").not.toContain(id);
    expect(second.headers.get("X-Trace-Id")).not.toBe(id);
    expect(first.body.error.traceId).toBe(id);
  });

  it("adds it to an error a Durable Object answers on a forwarded request", async () => {
    const owner = await registerUser();
    const room = await createRoom(owner, { private: true });
    const user = await registerUser();
    const traceId = randomTraceId();
    // A long poll of a private room the user is not a member of: the ChatRoom object refuses it.
    const res = await call("GET", `/v1/rooms/${room.id}/poll?since=0&timeout=0`, {
      token: user.token,
      headers: { traceparent: traceparent(traceId) },
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.body.error.traceId).toBe(traceId);
    expect(res.headers.get("X-Trace-Id")).toBe(traceId);
  });

  it("carries it in a queued notification to the consumer's log line", async () => {
    const registered = await call("POST", "/v1/auth/register", {
      body: { email: `trace-${randomTraceId()}@example.com`, password: "password123", name: "Tracy", role: "rider" },
    });
    expect(registered.status).toBe(201);
    const consumerLine = captureConsumerLines();
    const traceId = randomTraceId();
    const login = await call("POST", "/v1/auth/login", {
      body: { email: registered.body.user.email, password: "password123" },
      headers: { traceparent: traceparent(traceId) },
    });
    expect(login.status).toBe(200);
    expect(login.headers.get("X-Trace-Id")).toBe(traceId);
    const line = await consumerLine("the new_login notification", registered.body.user.id);
    expect(line).toMatchObject({ level: "info", type: "security", traceId });
  });

  it("gives an object's alarm run a trace id of its own, carried by the notification it queues", async () => {
    const rider = await registerUser("rider");
    const pickup = area(140);
    const requestTrace = randomTraceId();
    const requested = await call("POST", "/v1/trips", {
      token: rider.token,
      body: { pickup, dropoff: offset(pickup, 3) },
      headers: { traceparent: traceparent(requestTrace) },
    });
    expect(requested.status).toBe(201);
    const consumerLine = captureConsumerLines();
    // Nobody drives there: matching gives up at the alarm, and the rider (no socket open) is told by a notification.
    await editTripState(requested.body.trip.id, (s) => {
      s.matchingStartedAt = Date.now() - 121_000;
    });
    await runTripAlarm(requested.body.trip.id);
    const line = await consumerLine("the no_driver notification", requested.body.trip.id);
    expect(line).toMatchObject({ type: "trip_status", traceId: expect.stringMatching(TRACE_ID) });
    // The alarm's own: not the trace of the request that made the trip.
    expect(line.traceId).not.toBe(requestTrace);
  });
});
