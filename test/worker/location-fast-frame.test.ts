// The driver channel's fast check of `location` frames: for any input it either stands aside
// (undefined, and zod parses the frame) or returns exactly what DriverClientFrame's zod parse
// returns; and it does take the frames drivers send, or it would save nothing.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DriverClientFrame } from "../../src/protocol/dispatch";
import { fastLocationFrame } from "../../src/protocol/fast-frames";

function expectAgreement(input: unknown): void {
  const fast = fastLocationFrame(input);
  if (fast === undefined) return;
  const zod = DriverClientFrame.safeParse(input);
  expect(zod.success, `zod refuses what the fast check took: ${JSON.stringify(input)}`).toBe(true);
  expect(fast).toStrictEqual(zod.data);
  expect(JSON.stringify(fast)).toBe(JSON.stringify(zod.data));
}

const at = 1_780_000_000_000;
const taken: unknown[] = [
  { type: "location", lat: 52.52, lng: 13.405, at },
  { type: "location", id: "f1", lat: -90, lng: 180, at },
  { type: "location", lat: 90, lng: -180, at: 0 },
  { type: "location", lat: 0, lng: 0, at, heading: 0, speedKmh: 400 },
  { type: "location", lat: 1, lng: 2, at, heading: 360, speedKmh: 0, id: "i".repeat(128) },
  // Keys zod does not know are dropped, by zod and by the fast check alike.
  { type: "location", lat: 1, lng: 2, at, accuracy: 5, etaSec: 3 },
  JSON.parse('{"type":"location","lat":1,"lng":2,"at":3,"__proto__":{"id":7}}'),
];

const refused: unknown[] = [
  null,
  "location",
  [],
  [{ type: "location", lat: 1, lng: 2, at }],
  {},
  { type: "Location", lat: 1, lng: 2, at },
  { type: "location", lng: 2, at },
  { type: "location", lat: 1, at },
  { type: "location", lat: 1, lng: 2 },
  { type: "location", lat: 90.0001, lng: 2, at },
  { type: "location", lat: 1, lng: -180.5, at },
  { type: "location", lat: "1", lng: 2, at },
  { type: "location", lat: 1, lng: 2, at: 1.5 },
  { type: "location", lat: 1, lng: 2, at: "1780000000000" },
  { type: "location", lat: 1, lng: 2, at: 2 ** 60 },
  { type: "location", lat: 1, lng: 2, at, heading: 361 },
  { type: "location", lat: 1, lng: 2, at, heading: null },
  { type: "location", lat: 1, lng: 2, at, speedKmh: -1 },
  { type: "location", lat: 1, lng: 2, at, id: "" },
  { type: "location", lat: 1, lng: 2, at, id: 7 },
  { type: "location", lat: 1, lng: 2, at, id: "i".repeat(129) },
  // Valid for zod, but not a shape JSON produces: left to zod.
  { type: "location", lat: 1, lng: 2, at, id: undefined },
  { type: "offer.accept", tripId: "t" },
  { type: "ping" },
];

describe("fastLocationFrame", () => {
  it("takes the location frames drivers send, with zod's exact result", () => {
    for (const input of taken) {
      expect(fastLocationFrame(input), JSON.stringify(input)).toBeDefined();
      expectAgreement(input);
    }
  });

  it("stands aside for everything else, invalid or another frame type", () => {
    for (const input of refused)
      expect(fastLocationFrame(input), JSON.stringify(input) ?? String(input)).toBeUndefined();
  });

  it("agrees with zod on random frames near every limit", () => {
    const near = (limit: number) =>
      fc.oneof(
        fc.double({ min: limit - 1, max: limit + 1, noNaN: true }),
        fc.constant(limit),
        fc.integer({ min: limit - 2, max: limit + 2 }),
      );
    const frame = fc.record(
      {
        type: fc.oneof(fc.constantFrom("location", "offer.accept", "ping", ""), fc.jsonValue()),
        id: fc.oneof(
          fc.string({ minLength: 0, maxLength: 3 }),
          fc.constant("i".repeat(128)),
          fc.constant("i".repeat(129)),
          fc.jsonValue(),
        ),
        lat: fc.oneof(near(-90), near(90), near(0), fc.jsonValue()),
        lng: fc.oneof(near(-180), near(180), fc.jsonValue()),
        at: fc.oneof(
          fc.integer(),
          fc.double({ noNaN: true, noDefaultInfinity: true }),
          fc.constant(Number.MAX_SAFE_INTEGER + 2),
          fc.jsonValue(),
        ),
        heading: fc.oneof(near(0), near(360), fc.jsonValue()),
        speedKmh: fc.oneof(near(0), near(400), fc.jsonValue()),
        extra: fc.jsonValue(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(frame, fc.jsonValue()), (input) => {
        // As the hub sees it: what JSON.parse makes of a client's text.
        expectAgreement(JSON.parse(JSON.stringify(input) ?? "null"));
      }),
      { numRuns: 3_000 },
    );
  });
});
