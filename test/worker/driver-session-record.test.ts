// When the driver routes make the DriverSession's record and read the driver's rating from D1:
// on going online, on opening the channel, and when the session has no record yet; never on a
// fix over HTTP, which is one RPC to the session (routes/drivers.ts).
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { call, registerUser, type TestUser } from "../helpers/api";
import { area } from "../helpers/dispatch";

/** `d1`, with the SQL of every statement prepared on it (drizzle's included) written to `seen`. */
function recordingD1(d1: D1Database, seen: string[]): D1Database {
  return new Proxy(d1, {
    get(target, name) {
      if (name === "prepare")
        return (sql: string) => {
          seen.push(sql);
          return target.prepare(sql);
        };
      const value = Reflect.get(target, name, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Calls the Worker with a D1 that records its statements; answers the status and the SQL it ran. */
async function callRecordingD1(method: string, path: string, user: TestUser, body: unknown) {
  const seen: string[] = [];
  const request = new Request(`http://ridewire.test${path}`, {
    method,
    headers: { Authorization: `Bearer ${user.token}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, { ...env, DB: recordingD1(env.DB, seen) }, ctx);
  await waitOnExecutionContext(ctx);
  return { status: res.status, seen };
}

/** The statements beyond the ban check's look at the account, which every signed-in request may make. */
const beyondBanLook = (seen: string[]) => seen.filter((sql) => !/^SELECT banned_at, ban_reason FROM users/.test(sql));

describe("the driver session's record", () => {
  it("takes a fix over HTTP to the session alone: no rating read, no other D1 statement", async () => {
    const point = area(120);
    const driver = await registerUser("driver");
    expect(
      (await call("POST", "/v1/drivers/me/online", { token: driver.token, body: { location: point } })).status,
    ).toBe(200);
    // Later than the fix going online stored, and where it put the driver (no jump to refuse).
    await new Promise((resolve) => setTimeout(resolve, 20));
    const fix = { ...point, at: Date.now() };
    const { status, seen } = await callRecordingD1("POST", "/v1/drivers/me/location", driver, fix);
    expect(status).toBe(200);
    expect(beyondBanLook(seen)).toEqual([]);
    const me = await call("GET", "/v1/drivers/me", { token: driver.token });
    expect(me.body.driver).toMatchObject({ status: "available", location: { lat: fix.lat, lng: fix.lng } });
  });

  it("is made when the session has none: a driver who never went online can read and post a fix", async () => {
    const point = area(121);
    const driver = await registerUser("driver");
    const me = await call("GET", "/v1/drivers/me", { token: driver.token });
    expect(me.status).toBe(200);
    expect(me.body.driver).toMatchObject({ id: driver.user.id, status: "offline", location: null });

    const other = await registerUser("driver");
    const fix = { ...point, at: Date.now() };
    const { status, seen } = await callRecordingD1("POST", "/v1/drivers/me/location", other, fix);
    expect(status).toBe(200);
    // The session answered that it had no record: the rating was read to make it.
    expect(beyondBanLook(seen).some((sql) => /ratings/.test(sql))).toBe(true);
    const after = await call("GET", "/v1/drivers/me", { token: other.token });
    expect(after.body.driver).toMatchObject({ status: "offline", location: { lat: point.lat, lng: point.lng } });
  });
});
