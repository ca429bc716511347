import { describe, expect, it } from "vitest";
import { inPolygon, offerBatchSizeAt, rideRefusal, ServiceAreasSetting } from "../../../src/domain/service-area";

// A square 1° on a side with a notch cut from its east side: [lng, lat] corners.
const notched: [number, number][] = [
  [0, 0],
  [1, 0],
  [1, 0.4],
  [0.5, 0.5],
  [1, 0.6],
  [1, 1],
  [0, 1],
];

describe("inPolygon", () => {
  it("tells inside from outside, notch included", () => {
    expect(inPolygon(notched, { lat: 0.2, lng: 0.2 })).toBe(true);
    expect(inPolygon(notched, { lat: 0.5, lng: 0.4 })).toBe(true);
    expect(inPolygon(notched, { lat: 0.5, lng: 0.8 })).toBe(false); // in the notch
    expect(inPolygon(notched, { lat: 1.5, lng: 0.5 })).toBe(false);
    expect(inPolygon(notched, { lat: 0.5, lng: -0.1 })).toBe(false);
  });
});

describe("rideRefusal", () => {
  const rules = { areas: [{ name: "city", polygon: notched }], minTripKm: 0.5 };
  it("refuses an end outside every area, naming which end", () => {
    expect(rideRefusal(rules, { lat: 0.5, lng: 0.8 }, { lat: 0.2, lng: 0.2 })).toMatchObject({
      code: "outside_service_area",
      details: { end: "pickup" },
    });
    expect(rideRefusal(rules, { lat: 0.2, lng: 0.2 }, { lat: 2, lng: 2 })).toMatchObject({
      code: "outside_service_area",
      details: { end: "dropoff" },
    });
  });
  it("refuses ends closer than the minimum, and takes the rest", () => {
    expect(rideRefusal(rules, { lat: 0.2, lng: 0.2 }, { lat: 0.2001, lng: 0.2 })).toMatchObject({
      code: "trip_too_short",
      details: { minKm: 0.5 },
    });
    expect(rideRefusal(rules, { lat: 0.2, lng: 0.2 }, { lat: 0.8, lng: 0.2 })).toBeNull();
  });
  it("runs everywhere when no area is configured", () => {
    expect(rideRefusal({ areas: [], minTripKm: 0 }, { lat: 80, lng: 170 }, { lat: -80, lng: -170 })).toBeNull();
  });
});

describe("SERVICE_AREAS", () => {
  it("reads a JSON array of areas, empty as everywhere, and refuses anything else with a clear message", () => {
    expect(ServiceAreasSetting.parse("")).toEqual([]);
    expect(ServiceAreasSetting.parse(JSON.stringify([{ name: "city", polygon: notched }]))).toHaveLength(1);
    for (const bad of [
      "{",
      "{}",
      JSON.stringify([{ name: "x", polygon: [[0, 0]] }]),
      '[{"name":"x","polygon":[[0,0],[1,1],[200,0]]}]',
    ]) {
      const parsed = ServiceAreasSetting.safeParse(bad);
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues[0]?.message).toMatch(/SERVICE_AREAS/);
    }
  });
});

describe("offerBatchSizeAt", () => {
  const areas = ServiceAreasSetting.parse(
    JSON.stringify([
      { name: "batched", offerBatch: 3, polygon: notched },
      {
        name: "plain",
        polygon: [
          [2, 0],
          [3, 0],
          [3, 1],
          [2, 1],
        ],
      },
    ]),
  );
  it("takes the pickup's area's offerBatch, else the default", () => {
    expect(offerBatchSizeAt(areas, 1, { lat: 0.2, lng: 0.2 })).toBe(3);
    expect(offerBatchSizeAt(areas, 2, { lat: 0.5, lng: 2.5 })).toBe(2);
    expect(offerBatchSizeAt([], 4, { lat: 0.5, lng: 2.5 })).toBe(4);
  });

  it("refuses an offerBatch that is not a whole number from 1 to 10", () => {
    for (const offerBatch of [0, 11, 1.5, "3"])
      expect(ServiceAreasSetting.safeParse(JSON.stringify([{ name: "x", offerBatch, polygon: notched }])).success).toBe(
        false,
      );
  });
});
