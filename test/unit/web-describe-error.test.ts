/**
 * The web app's errors in words (web/dom.ts): the API's jargon messages are said as sentences by
 * their code; any other message stays the API's own.
 */
import { RidewireError } from "@ridewire/client";
import { describe, expect, it } from "vitest";
import { describeError } from "../../web/words";

describe("describeError", () => {
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

  it("says an ended session as one, and leaves other messages as the API wrote them", () => {
    expect(describeError(new RidewireError(401, "unauthorized", "missing or invalid token"))).toBe(
      "Your session has ended. Sign in again.",
    );
    expect(describeError(new RidewireError(400, "invalid_request", "pickup and dropoff are the same place"))).toBe(
      "pickup and dropoff are the same place",
    );
    expect(describeError(new RidewireError(409, "conflict", "the trip is over"))).toBe("the trip is over");
  });
});
