import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  admitRequest,
  cancelCooldownMs,
  type RequestLimits,
  type RiderActivity,
} from "../../../src/domain/request-limits";

const limits: RequestLimits = {
  requestLimit: 10,
  requestWindowMs: 600_000,
  cooldownAfter: 2,
  cooldownWindowMs: 3_600_000,
  cooldownBaseMs: 30_000,
  cooldownMaxMs: 1_800_000,
};
const now = 1_700_000_000_000;
const quiet: RiderActivity = { requests: 0, oldestRequestAt: null, cancels: 0, lastCancelAt: null };

describe("admitRequest", () => {
  it("lets an ordinary rider through", () => {
    expect(admitRequest(quiet, now, limits)).toEqual({ ok: true });
    expect(
      admitRequest({ requests: 9, oldestRequestAt: now - 1_000, cancels: 2, lastCancelAt: now - 1 }, now, limits),
    ).toEqual({ ok: true });
  });

  it("refuses the request over the limit until the oldest one leaves the window", () => {
    const busy = { ...quiet, requests: 10, oldestRequestAt: now - 400_000 };
    expect(admitRequest(busy, now, limits)).toEqual({ ok: false, reason: "request_limit", retryAfterMs: 200_000 });
  });

  it("cools a rider down after repeated cancels, longer with each one", () => {
    const admit = (cancels: number, sinceLast: number) =>
      admitRequest({ ...quiet, cancels, lastCancelAt: now - sinceLast }, now, limits);
    expect(admit(3, 0)).toEqual({ ok: false, reason: "cancel_cooldown", retryAfterMs: 30_000 });
    expect(admit(3, 30_000)).toEqual({ ok: true });
    expect(admit(4, 10_000)).toEqual({ ok: false, reason: "cancel_cooldown", retryAfterMs: 50_000 });
    expect(admit(5, 0)).toMatchObject({ retryAfterMs: 120_000 });
    expect(admit(40, 0)).toMatchObject({ retryAfterMs: 1_800_000 });
  });
});

describe("cancelCooldownMs", () => {
  it("is zero up to the free cancels, then doubles up to the max (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), (cancels) => {
        const ms = cancelCooldownMs(cancels, limits);
        if (cancels <= limits.cooldownAfter) expect(ms).toBe(0);
        else
          expect(ms).toBe(
            Math.min(limits.cooldownMaxMs, limits.cooldownBaseMs * 2 ** (cancels - limits.cooldownAfter - 1)),
          );
        expect(cancelCooldownMs(cancels + 1, limits)).toBeGreaterThanOrEqual(ms);
      }),
    );
  });
});
