/**
 * @module protocol/fast-frames
 * The hottest client frames checked without zod: a chat `message` (one per message sent; a reply goes to zod) and
 * a driver's `location` (one every few seconds per driver); zod's discriminated unions were a
 * sixth of the driver path's CPU (bench/PROFILE.md). Each check returns exactly what the zod
 * schema's parse returns, or undefined for anything else, valid or not, which zod then parses
 * and words as before.
 */
import { MessageText } from "./common";
import { LocationFrame } from "./dispatch";
import { FrameId, type ChatClientFrame } from "./frames";

type Range = { min: number; max: number };
const rangeOf = (min: number | null, max: number | null): Range | null =>
  min !== null && max !== null ? { min, max } : null;

// Read from the schemas so the checks cannot drift from them; should one lose a bound, its
// check stands aside and zod parses every frame.
const ID = rangeOf(FrameId.minLength, FrameId.maxLength);
const TEXT = rangeOf(MessageText.minLength, MessageText.maxLength);
const shape = LocationFrame.shape;
const LOCATION = (() => {
  const lat = rangeOf(shape.lat.minValue, shape.lat.maxValue);
  const lng = rangeOf(shape.lng.minValue, shape.lng.maxValue);
  const heading = rangeOf(shape.heading.unwrap().minValue, shape.heading.unwrap().maxValue);
  const speedKmh = rangeOf(shape.speedKmh.unwrap().minValue, shape.speedKmh.unwrap().maxValue);
  return lat && lng && heading && speedKmh ? { lat, lng, heading, speedKmh } : null;
})();

const inRange = (value: unknown, range: Range): value is number =>
  typeof value === "number" && value >= range.min && value <= range.max;
const isFrameId = (value: unknown): value is string =>
  ID !== null && typeof value === "string" && value.length >= ID.min && value.length <= ID.max;
const isObject = (data: unknown): data is Record<string, unknown> =>
  typeof data === "object" && data !== null && !Array.isArray(data);

/** An optional field: absent (ok, nothing), valid (ok, the value), or anything else (not ok). */
function optional<T>(
  data: object,
  key: string,
  value: unknown,
  valid: (v: unknown) => v is T,
): { ok: boolean; value?: T } {
  // zod keeps a key that is present but undefined; JSON never makes one, so leave that to zod.
  if (value === undefined) return { ok: !(key in data) };
  return valid(value) ? { ok: true, value } : { ok: false };
}

/** The chat `message` frame as ChatClientFrame checks it: MessageText, an optional FrameId, other keys dropped. */
export function fastChatFrame(data: unknown): ChatClientFrame | undefined {
  if (!ID || !TEXT || !isObject(data)) return undefined;
  // Read like zod reads an object: by property access, so inherited keys count the same.
  const { type, text } = data;
  if (
    type !== "message" ||
    typeof text !== "string" ||
    text.length < TEXT.min ||
    text.length > TEXT.max ||
    text.trim().length === 0
  )
    return undefined;
  const id = optional(data, "id", data.id, isFrameId);
  // A reply or attachments are left to zod, which checks and keeps `replyTo` and `attachments`.
  if (!id.ok || data.replyTo !== undefined || data.attachments !== undefined) return undefined;
  return id.value === undefined ? { type, text } : { type, id: id.value, text };
}

/** The driver channel's `location` frame as LocationFrame checks it. */
export function fastLocationFrame(data: unknown): LocationFrame | undefined {
  if (!ID || !LOCATION || !isObject(data)) return undefined;
  const { type, lat, lng, at } = data;
  if (
    type !== "location" ||
    !inRange(lat, LOCATION.lat) ||
    !inRange(lng, LOCATION.lng) ||
    typeof at !== "number" ||
    !Number.isSafeInteger(at)
  )
    return undefined;
  const id = optional(data, "id", data.id, isFrameId);
  const heading = optional(data, "heading", data.heading, (v): v is number => inRange(v, LOCATION.heading));
  const speedKmh = optional(data, "speedKmh", data.speedKmh, (v): v is number => inRange(v, LOCATION.speedKmh));
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
