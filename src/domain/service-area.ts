/**
 * @module domain/service-area
 * Where the service runs and which rides it takes: the operator's service areas (polygons, in
 * config) and a shortest ride. A quote or request whose pickup or dropoff lies outside every
 * area, or whose ends are closer than the minimum, is refused before anything is priced or
 * held, so that a pickup in the sea, or "from here to here", never becomes a trip.
 */
import { z } from "zod";
import type { LatLng } from "../protocol/common";
import { haversineKm } from "./geo";

/** The most drivers one trip is offered at once: each holds a reservation, so K is kept small. */
export const MAX_OFFER_BATCH = 10;

/** A ring of [lng, lat] corners, GeoJSON's order; closed implicitly (the last joins the first). */
export const ServiceArea = z.object({
  name: z.string().min(1).max(100),
  polygon: z
    .array(z.tuple([z.number().min(-180).max(180), z.number().min(-90).max(90)]))
    .min(3)
    .max(10_000),
  /** Whether a ride picked up here needs the trip's PIN to start; unset: TRIP_PIN_REQUIRED. */
  tripPin: z.boolean().optional(),
  /** How many drivers dispatch offers a ride picked up here at once (K); unset: OFFER_BATCH_SIZE. */
  offerBatch: z.number().int().min(1).max(MAX_OFFER_BATCH).optional(),
  /** Whether a driver going online here needs an approved licence and vehicle; unset: DRIVER_APPROVAL_REQUIRED. */
  driverApproval: z.boolean().optional(),
  /** The tiers offered to rides picked up here (domain/tiers.ts); unset: every tier of TIERS. */
  tiers: z
    .array(z.string().regex(/^[a-z][a-z0-9_-]{0,19}$/, "a tier is a lower-case name"))
    .min(1)
    .max(20)
    .optional(),
});
export type ServiceArea = z.infer<typeof ServiceArea>;

/** SERVICE_AREAS as the config holds it: a JSON array of areas, or empty for "everywhere". */
export const ServiceAreasSetting = z
  .string()
  .default("")
  .transform((raw, ctx): ServiceArea[] => {
    if (raw.trim() === "") return [];
    let data: unknown;
    try {
      data = JSON.parse(raw);
    } catch {
      ctx.addIssue({ code: "custom", message: "SERVICE_AREAS must be JSON: [{ name, polygon: [[lng, lat], ...] }]" });
      return z.NEVER;
    }
    const parsed = z.array(ServiceArea).max(1_000).safeParse(data);
    if (!parsed.success) {
      ctx.addIssue({ code: "custom", message: `SERVICE_AREAS: ${parsed.error.issues[0]?.message ?? "invalid"}` });
      return z.NEVER;
    }
    return parsed.data;
  });

/** Even-odd ray casting: true when `point` is inside the ring (a point on an edge may fall either way). */
export function inPolygon(polygon: readonly (readonly [number, number])[], point: LatLng): boolean {
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, yi] = polygon[i] as readonly [number, number];
    const [xj, yj] = polygon[j] as readonly [number, number];
    if (yi > point.lat !== yj > point.lat && point.lng < ((xj - xi) * (point.lat - yi)) / (yj - yi) + xi)
      inside = !inside;
  }
  return inside;
}

/** The area that serves `point`, or null; with no areas configured, the service runs everywhere. */
export function areaAt(areas: readonly ServiceArea[], point: LatLng): ServiceArea | { name: null } | null {
  if (areas.length === 0) return { name: null };
  return areas.find((area) => inPolygon(area.polygon, point)) ?? null;
}

export type RideRefusal =
  | { code: "outside_service_area"; message: string; details: { end: "pickup" | "dropoff" } }
  | { code: "trip_too_short"; message: string; details: { distanceKm: number; minKm: number } };

/** Why the service would not take a ride from `pickup` to `dropoff`, or null when it would. */
export function rideRefusal(
  rules: { areas: readonly ServiceArea[]; minTripKm: number },
  pickup: LatLng,
  dropoff: LatLng,
): RideRefusal | null {
  for (const [end, point] of [
    ["pickup", pickup],
    ["dropoff", dropoff],
  ] as const) {
    if (areaAt(rules.areas, point) === null)
      return { code: "outside_service_area", message: `the ${end} is outside the service area`, details: { end } };
  }
  const distanceKm = haversineKm(pickup, dropoff);
  if (distanceKm < rules.minTripKm)
    return {
      code: "trip_too_short",
      message: `pickup and dropoff must be at least ${rules.minTripKm} km apart`,
      details: { distanceKm: Math.round(distanceKm * 1000) / 1000, minKm: rules.minTripKm },
    };
  return null;
}

/** How many drivers a trip picked up at `pickup` is offered at once: its area's `offerBatch`, else `byDefault`. */
export function offerBatchSizeAt(areas: readonly ServiceArea[], byDefault: number, pickup: LatLng): number {
  const area = areaAt(areas, pickup);
  return area !== null && "offerBatch" in area && area.offerBatch !== undefined ? area.offerBatch : byDefault;
}
