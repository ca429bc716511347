import fc from "fast-check";
import {
  cellToBoundary,
  cellToLatLng,
  getHexagonEdgeLengthAvg,
  getPentagons,
  getResolution,
  isValidCell,
  latLngToCell,
  UNITS,
} from "h3-js";
import { describe, expect, it } from "vitest";
import {
  CellTracker,
  cellOf,
  distanceToBoundaryKm,
  etaSec,
  etaSecForKm,
  haversineKm,
  insideCellKm,
  impliedSpeedKmh,
  LatLng,
  ringOnly,
  searchCells,
} from "../../../src/domain/geo";
import { pickup } from "./fixtures";

const latLng = fc.record({
  lat: fc.double({ min: -89, max: 89, noNaN: true }),
  lng: fc.double({ min: -179, max: 179, noNaN: true }),
});

describe("haversineKm", () => {
  it("matches known distances", () => {
    expect(haversineKm({ lat: 0, lng: 0 }, { lat: 1, lng: 0 })).toBeCloseTo(111.19, 1);
    // San Francisco to Los Angeles, about 559 km as the crow flies.
    expect(haversineKm(pickup, { lat: 34.0522, lng: -118.2437 })).toBeCloseTo(559, -1);
    expect(haversineKm(pickup, pickup)).toBe(0);
  });

  it("stays finite for antipodal points", () => {
    expect(haversineKm({ lat: 0, lng: 0 }, { lat: 0, lng: 180 })).toBeCloseTo(Math.PI * 6371.0088, 3);
  });

  it("is symmetric, non-negative and obeys the triangle inequality", () => {
    fc.assert(
      fc.property(latLng, latLng, latLng, (a, b, c) => {
        const ab = haversineKm(a, b);
        expect(ab).toBeGreaterThanOrEqual(0);
        expect(ab).toBeCloseTo(haversineKm(b, a), 9);
        expect(ab).toBeLessThanOrEqual(haversineKm(a, c) + haversineKm(c, b) + 1e-6);
      }),
    );
  });
});

describe("LatLng", () => {
  it("rejects coordinates off the globe", () => {
    expect(LatLng.safeParse({ lat: 37.7, lng: -122.4 }).success).toBe(true);
    expect(LatLng.safeParse({ lat: 91, lng: 0 }).success).toBe(false);
    expect(LatLng.safeParse({ lat: 0, lng: -181 }).success).toBe(false);
  });
});

describe("H3 cells", () => {
  const cell = cellOf(pickup, 8);

  it("buckets a point into a valid cell of the asked resolution", () => {
    expect(isValidCell(cell)).toBe(true);
    expect(getResolution(cell)).toBe(8);
    expect(cellOf({ lat: pickup.lat + 1e-7, lng: pickup.lng }, 8)).toBe(cell);
  });

  it("searches the cell and its ring", () => {
    expect(searchCells(cell, 0)).toEqual([cell]);
    expect(searchCells(cell, 1)).toHaveLength(7);
    expect(searchCells(cell, 1)).toContain(cell);
    expect(searchCells(cell, 2)).toHaveLength(19);
  });

  it("widens by exactly the cells not searched yet", () => {
    expect(ringOnly(cell, 0)).toEqual([cell]);
    expect(ringOnly(cell, 1)).toHaveLength(6);
    expect(ringOnly(cell, 2)).toHaveLength(12);
    const rings = [0, 1, 2, 3].map((k) => ringOnly(cell, k));
    const union = rings.flat();
    expect(new Set(union).size).toBe(union.length);
    expect(new Set(union)).toEqual(new Set(searchCells(cell, 3)));
  });

  it("rings a pentagon, where hexagon rings are short by one", () => {
    const pentagon = getPentagons(8)[0];
    if (pentagon === undefined) throw new Error("h3 lists no pentagons");
    expect(ringOnly(pentagon, 1)).toHaveLength(5);
    expect(new Set([...ringOnly(pentagon, 0), ...ringOnly(pentagon, 1), ...ringOnly(pentagon, 2)])).toEqual(
      new Set(searchCells(pentagon, 2)),
    );
  });

  it("refuses a negative or fractional ring", () => {
    expect(() => ringOnly(cell, -1)).toThrow(RangeError);
    expect(() => ringOnly(cell, 1.5)).toThrow(RangeError);
  });
});

describe("impliedSpeedKmh", () => {
  const a = { lat: 0, lng: 0, at: 0 };

  it("divides distance by elapsed time", () => {
    const b = { lat: 1, lng: 0, at: 3_600_000 };
    expect(impliedSpeedKmh(a, b)).toBeCloseTo(111.19, 1);
  });

  it("treats standing still as zero speed, even with no elapsed time", () => {
    expect(impliedSpeedKmh(a, { ...a })).toBe(0);
    expect(impliedSpeedKmh(a, { ...a, at: 5_000 })).toBe(0);
  });

  it("treats moving in zero or negative time as a jump", () => {
    expect(impliedSpeedKmh(a, { lat: 0.001, lng: 0, at: 0 })).toBe(Number.POSITIVE_INFINITY);
    expect(impliedSpeedKmh(a, { lat: 0.001, lng: 0, at: -1_000 })).toBe(Number.POSITIVE_INFINITY);
  });
});

describe("etaSec", () => {
  it("is great-circle distance times detour over speed, rounded up", () => {
    const to = { lat: 0.1, lng: 0 };
    const km = haversineKm({ lat: 0, lng: 0 }, to);
    expect(etaSec({ lat: 0, lng: 0 }, to, { detourFactor: 1, citySpeedKmh: 36 })).toBe(Math.ceil(km * 100));
    expect(etaSec({ lat: 0, lng: 0 }, to, { detourFactor: 2, citySpeedKmh: 36 })).toBe(Math.ceil(km * 200));
  });

  it("is zero for the same place", () => {
    expect(etaSec(pickup, pickup, { detourFactor: 1.3, citySpeedKmh: 25 })).toBe(0);
  });

  it("refuses a travel model that cannot move", () => {
    expect(() => etaSec(pickup, pickup, { detourFactor: 1.3, citySpeedKmh: 0 })).toThrow(RangeError);
    expect(() => etaSec(pickup, pickup, { detourFactor: 0, citySpeedKmh: 25 })).toThrow(RangeError);
    expect(() => etaSec(pickup, pickup, { detourFactor: 1.3, citySpeedKmh: Number.NaN })).toThrow(RangeError);
  });

  it("is a whole, non-negative number that grows with the detour", () => {
    fc.assert(
      fc.property(latLng, latLng, fc.double({ min: 1, max: 3, noNaN: true }), (from, to, detour) => {
        const eta = etaSec(from, to, { detourFactor: detour, citySpeedKmh: 25 });
        expect(Number.isInteger(eta)).toBe(true);
        expect(eta).toBeGreaterThanOrEqual(0);
        expect(etaSec(from, to, { detourFactor: detour + 0.5, citySpeedKmh: 25 })).toBeGreaterThanOrEqual(eta);
      }),
    );
  });
});

/** A point `km` away from `from` on `bearing` (radians), on the sphere. */
function moved(from: { lat: number; lng: number }, km: number, bearing: number) {
  const d = km / 6371.0088;
  const lat1 = (from.lat * Math.PI) / 180;
  const lng1 = (from.lng * Math.PI) / 180;
  const lat2 = Math.asin(Math.sin(lat1) * Math.cos(d) + Math.cos(lat1) * Math.sin(d) * Math.cos(bearing));
  const lng2 =
    lng1 + Math.atan2(Math.sin(bearing) * Math.sin(d) * Math.cos(lat1), Math.cos(d) - Math.sin(lat1) * Math.sin(lat2));
  return { lat: (lat2 * 180) / Math.PI, lng: (((lng2 * 180) / Math.PI + 540) % 360) - 180 };
}

describe("CellTracker", () => {
  it("always answers the cell h3 gives, along random drives anywhere (pentagons included)", () => {
    const start = fc.oneof(
      fc.record({
        lat: fc.double({ min: -85, max: 85, noNaN: true }),
        lng: fc.double({ min: -180, max: 179.999, noNaN: true }),
      }),
      fc.constantFrom(...getPentagons(7).map((p) => cellToLatLng(p))).map(([lat, lng]) => ({ lat, lng })),
    );
    const step = fc.record({
      km: fc.double({ min: 0, max: 0.6, noNaN: true }),
      bearing: fc.double({ min: 0, max: 2 * Math.PI, noNaN: true }),
    });
    fc.assert(
      fc.property(
        start,
        fc.array(step, { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 5, max: 9 }),
        (origin, steps, resolution) => {
          const tracker = new CellTracker(resolution);
          let point = origin;
          expect(tracker.cellOf(point)).toBe(latLngToCell(point.lat, point.lng, resolution));
          for (const { km, bearing } of steps) {
            point = moved(point, km, bearing);
            expect(tracker.cellOf(point)).toBe(latLngToCell(point.lat, point.lng, resolution));
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it("skips the lookup for small moves well inside a cell", () => {
    const [lat, lng] = cellToLatLng(latLngToCell(52.52, 13.405, 7));
    const center = { lat, lng };
    // From the centre, the nearest edge of a resolution-7 cell is over a kilometre away.
    expect(distanceToBoundaryKm(center, cellToBoundary(latLngToCell(lat, lng, 7)))).toBeGreaterThan(1);
    const tracker = new CellTracker(7);
    let point = center;
    // 50 fixes 17 m apart (30 km/h, every 2 s) heading east: 850 m, still inside.
    for (let i = 0; i < 50; i++) {
      tracker.cellOf(point);
      point = moved(point, 0.017, Math.PI / 2);
    }
    expect(tracker.lookups).toBe(1);
  });
});

describe("insideCellKm", () => {
  // The bound that lets matching ask the pickup's own cell first (domain/area-search nearSearch):
  // no point outside a cell is nearer than insideCellKm, so none can have a shorter ETA.
  it("is never more than the distance to any point of another cell, anywhere (pentagons included)", () => {
    const start = fc.oneof(
      fc.record({
        lat: fc.double({ min: -85, max: 85, noNaN: true }),
        lng: fc.double({ min: -180, max: 179.999, noNaN: true }),
      }),
      fc.constantFrom(...getPentagons(7).map((p) => cellToLatLng(p))).map(([lat, lng]) => ({ lat, lng })),
    );
    const model = { detourFactor: 1.3, citySpeedKmh: 25 };
    let crossings = 0;
    fc.assert(
      // Up to two edge lengths away: near the edge, across it, and a cell or more beyond.
      fc.property(
        start,
        fc.integer({ min: 0, max: 2000 }),
        fc.double({ min: 0, max: 2 * Math.PI, noNaN: true }),
        fc.integer({ min: 6, max: 9 }),
        (point, permille, bearing, resolution) => {
          const cell = latLngToCell(point.lat, point.lng, resolution);
          const other = moved(point, (permille / 1000) * getHexagonEdgeLengthAvg(resolution, UNITS.km), bearing);
          if (latLngToCell(other.lat, other.lng, resolution) === cell) return;
          crossings++;
          const bound = insideCellKm(point, cell);
          expect(haversineKm(point, other)).toBeGreaterThanOrEqual(bound);
          expect(etaSec(other, point, model)).toBeGreaterThanOrEqual(etaSecForKm(bound, model));
        },
      ),
      { numRuns: 3000 },
    );
    // Most of the runs must have reached another cell, or the property says little.
    expect(crossings).toBeGreaterThan(1000);
  });

  it("is most of the way to the edge: the centre of a resolution-7 cell is over 900 m inside", () => {
    const cell = latLngToCell(52.52, 13.405, 7);
    const [lat, lng] = cellToLatLng(cell);
    expect(insideCellKm({ lat, lng }, cell)).toBeGreaterThan(0.9);
  });
});
