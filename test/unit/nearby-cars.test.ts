// What a rider sees of nearby cars (src/domain/nearby-cars.ts): coarse cell centres, one per cell,
// nearest first, capped.
import { cellToLatLng, latLngToCell } from "h3-js";
import { describe, expect, it } from "vitest";
import { coarseCarDots, NEARBY_CAR_LIMIT, NEARBY_CAR_RESOLUTION } from "../../src/domain/nearby-cars";
import { haversineKm } from "../../src/domain/geo";

const from = { lat: 37.7749, lng: -122.4194 };

describe("coarseCarDots", () => {
  it("moves each car to its coarse cell's centre, within the cell's reach", () => {
    const car = { lat: 37.7761, lng: -122.4172 };
    const [dot] = coarseCarDots([car], from);
    const [lat, lng] = cellToLatLng(latLngToCell(car.lat, car.lng, NEARBY_CAR_RESOLUTION));
    expect(dot?.lat).toBeCloseTo(lat, 4);
    expect(dot?.lng).toBeCloseTo(lng, 4);
    expect(haversineKm(dot ?? from, car)).toBeLessThan(0.55);
  });

  it("shows one dot per cell, nearest first, at most the limit", () => {
    const cars = Array.from({ length: 40 }, (_, i) => ({ lat: from.lat + (i % 20) * 0.004, lng: from.lng }));
    const dots = coarseCarDots(cars, from);
    expect(dots.length).toBe(NEARBY_CAR_LIMIT);
    expect(new Set(dots.map((d) => `${d.lat},${d.lng}`)).size).toBe(dots.length);
    const distances = dots.map((d) => haversineKm(d, from));
    expect(distances).toEqual([...distances].sort((a, b) => a - b));
    expect(coarseCarDots([], from)).toEqual([]);
  });
});
