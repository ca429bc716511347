/**
 * @module rooms/fast-location
 * The driver channel's `location` frame checked without zod: a driver streams one every few
 * seconds, and zod's discriminated union was a sixth of the driver path's CPU (bench/PROFILE.md).
 * The check returns exactly what LocationFrame's parse returns, or undefined for anything
 * else, valid or not, which zod then parses and words as before.
 */
import { LocationFrame } from "../protocol/dispatch";
import { FrameId } from "../protocol/frames";

type Range = { min: number; max: number };
const rangeOf = (schema: { minValue: number | null; maxValue: number | null }): Range | null =>
  schema.minValue !== null && schema.maxValue !== null ? { min: schema.minValue, max: schema.maxValue } : null;

// Read from the schemas so the two cannot drift; should one lose a bound, the fast check stands aside.
const shape = LocationFrame.shape;
const LIMITS = (() => {
  const lat = rangeOf(shape.lat);
  const lng = rangeOf(shape.lng);
  const heading = rangeOf(shape.heading.unwrap());
  const speedKmh = rangeOf(shape.speedKmh.unwrap());
  const id = FrameId.minLength !== null && FrameId.maxLength !== null ? { min: FrameId.minLength, max: FrameId.maxLength } : null;
  return lat && lng && heading && speedKmh && id ? { lat, lng, heading, speedKmh, id } : null;
})();

const inRange = (value: unknown, range: Range): value is number => typeof value === "number" && value >= range.min && value <= range.max;

/** An optional field: absent (ok, nothing), valid (ok, the value), or anything else (not ok). */
function optional<T>(data: object, key: string, value: unknown, valid: (v: unknown) => v is T): { ok: boolean; value?: T } {
  // zod keeps a key that is present but undefined; JSON never makes one, so leave that to zod.
  if (value === undefined) return { ok: !(key in data) };
  return valid(value) ? { ok: true, value } : { ok: false };
}

export function fastLocationFrame(data: unknown): LocationFrame | undefined {
  if (!LIMITS || typeof data !== "object" || data === null || Array.isArray(data)) return undefined;
  // Read like zod reads an object: by property access, so inherited keys count the same.
  const fields = data as Record<string, unknown>;
  const { type, lat, lng, at } = fields;
  if (type !== "location" || !inRange(lat, LIMITS.lat) || !inRange(lng, LIMITS.lng) || typeof at !== "number" || !Number.isSafeInteger(at)) return undefined;
  const id = optional(data, "id", fields.id, (v): v is string => typeof v === "string" && v.length >= LIMITS.id.min && v.length <= LIMITS.id.max);
  const heading = optional(data, "heading", fields.heading, (v): v is number => inRange(v, LIMITS.heading));
  const speedKmh = optional(data, "speedKmh", fields.speedKmh, (v): v is number => inRange(v, LIMITS.speedKmh));
  if (!id.ok || !heading.ok || !speedKmh.ok) return undefined;
  // Keys in the schema's order, as zod builds its output.
  return {
    type,
    ...(id.value === undefined ? {} : { id: id.value }),
    lat,
    lng,
    ...(heading.value === undefined ? {} : { heading: heading.value }),
    ...(speedKmh.value === undefined ? {} : { speedKmh: speedKmh.value }),
    at,
  };
}
