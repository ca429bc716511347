/**
 * The web app's errors in words (web/words.ts): every error code of the API has a sentence, made from its code and
 * details; codes that stand for many refusals keep the API's message, as a sentence, unless it is jargon.
 */
import { RidewireError } from "@ridewire/client";
import { describe, expect, it } from "vitest";
import { ErrorCode } from "../../src/protocol/common";
import { CODES_IN_WORDS, describeError } from "../../web/words";

// A sentence for people: a capital first, a full stop last, no code, no braces, no jargon.
const SENTENCE = /^[A-Z][^{}_]*[.!?]$/;
const JARGON = /invalid body|invalid query|missing or invalid token/;

describe("describeError", () => {
  it("has a sentence for every error code of the API, whatever the message and details", () => {
    expect([...CODES_IN_WORDS].sort()).toEqual([...ErrorCode.options].sort());
    for (const code of ErrorCode.options) {
      for (const message of ["", "missing or invalid token", "invalid body"]) {
        const words = describeError(new RidewireError(400, code, message, {}));
        expect(words, code).toMatch(SENTENCE);
        expect(words, code).not.toMatch(JARGON);
        expect(words, code).not.toContain(code);
      }
    }
  });

  it("says 'invalid body' as a sentence naming the fields", () => {
    const err = new RidewireError(400, "invalid_request", "invalid body", [
      { path: "pickup.lat", message: "Too big", code: "too_big" },
      { path: "pickup.lat", message: "Too big", code: "too_big" },
      { path: "note", message: "Required", code: "invalid_type" },
    ]);
    expect(describeError(err)).toBe(
      "Some of what you entered was not accepted (pickup.lat, note). Check it and try again.",
    );
    expect(describeError(new RidewireError(400, "invalid_request", "invalid body"))).toBe(
      "Some of what you entered was not accepted. Check it and try again.",
    );
  });

  it("says an ended session as one, and other messages of the catch-all codes as sentences", () => {
    expect(describeError(new RidewireError(401, "unauthorized", "missing or invalid token"))).toBe(
      "Your session has ended. Sign in again.",
    );
    expect(describeError(new RidewireError(401, "session_expired", "the session has ended"))).toBe(
      "Your session has ended. Sign in again.",
    );
    expect(describeError(new RidewireError(400, "invalid_request", "pickup and dropoff are the same place"))).toBe(
      "Pickup and dropoff are the same place.",
    );
    expect(describeError(new RidewireError(409, "conflict", "the trip is over"))).toBe("The trip is over.");
    expect(describeError(new RidewireError(404, "not_found", "not found"))).toBe(
      "That could not be found: it may have been removed.",
    );
  });

  it("uses the details: which end is outside the area, how far apart, how long to wait, what is missing", () => {
    expect(describeError(new RidewireError(400, "outside_service_area", "x", { end: "dropoff" }))).toBe(
      "The dropoff is outside the area we serve. Choose a place in the city.",
    );
    expect(describeError(new RidewireError(400, "trip_too_short", "x", { distanceKm: 0, minKm: 0.2 }))).toBe(
      "The pickup and dropoff are too close together: they must be at least 200 m apart.",
    );
    expect(
      describeError(new RidewireError(429, "rate_limited", "x", { reason: "cancel_cooldown", retryAfterSeconds: 600 })),
    ).toBe("You cancelled several trips lately. Wait 10 minutes before requesting again.");
    expect(describeError(new RidewireError(403, "wrong_pin", "x", { attemptsLeft: 1 }))).toBe(
      "That PIN is not right. Ask the rider to read it again (1 try left).",
    );
    expect(describeError(new RidewireError(403, "driver_not_approved", "x", { missing: ["licence", "vehicle"] }))).toBe(
      "You cannot go online until your licence and vehicle are approved.",
    );
    expect(
      describeError(new RidewireError(409, "tip_limit_exceeded", "x", { tippable: { amount: 150, currency: "USD" } })),
    ).toBe("This trip's tips can add at most $1.50 more.");
  });

  it("says the SDK's own failures as sentences too", () => {
    expect(describeError(new RidewireError(0, "network_error", "fetch failed"))).toBe(
      "The connection dropped. Check your network and try again.",
    );
    expect(describeError(new Error("something odd"))).toBe("Something odd.");
  });
});
