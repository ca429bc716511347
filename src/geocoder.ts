/**
 * @module geocoder
 * Place search and reverse lookup through the operator's geocoder (GEOCODER_URL, Photon's API:
 * `GET /api?q=&limit=&lat=&lon=` and `GET /reverse?lat=&lon=`, both GeoJSON). Only the
 * configured base is ever fetched, with the user's words as query parameters: a user never
 * names a URL. Each call has GEOCODER_TIMEOUT_MS and reads at most GEOCODER_MAX_BYTES; an
 * answer that is late, too big or not GeoJSON is a 502 `geocoder_unavailable`, never passed on.
 */
import { z } from "zod";
import type { Config } from "./config";
import type { LatLng } from "./domain/geo";
import { ApiError } from "./errors";
import type { Place } from "./protocol/map";
import { logJson } from "./log";

/** A geocoder's answer for 5 places is a few KiB; 256 KiB is a broken or hostile one. */
export const GEOCODER_MAX_BYTES = 256 * 1024;
const SEARCH_LIMIT = 5;

const PhotonFeature = z.object({
  geometry: z.object({ coordinates: z.tuple([z.number().min(-180).max(180), z.number().min(-90).max(90)]) }),
  properties: z
    .object({
      name: z.string().optional(),
      housenumber: z.string().optional(),
      street: z.string().optional(),
      district: z.string().optional(),
      city: z.string().optional(),
    })
    .loose(),
});
const PhotonAnswer = z.object({ features: z.array(z.unknown()) });

const unavailable = (message: string) => new ApiError(502, "geocoder_unavailable", message);

/** "Ferry Building, San Francisco", "1 Market Street, San Francisco": a name, else number and street; then the city. */
function placeName(properties: z.infer<typeof PhotonFeature>["properties"]): string | null {
  const street = properties.street ? [properties.housenumber, properties.street].filter(Boolean).join(" ") : undefined;
  const first = properties.name ?? street ?? properties.district;
  if (!first) return null;
  const city = properties.city && properties.city !== first ? `, ${properties.city}` : "";
  return `${first}${city}`.slice(0, 200);
}

/** The places of a GeoJSON answer that have a name; features of another shape are skipped, not trusted. */
function placesOf(json: unknown): Place[] {
  const answer = PhotonAnswer.safeParse(json);
  if (!answer.success) throw unavailable("the geocoder's answer is not GeoJSON");
  const places: Place[] = [];
  for (const raw of answer.data.features) {
    const feature = PhotonFeature.safeParse(raw);
    if (!feature.success) continue;
    const name = placeName(feature.data.properties);
    const [lng, lat] = feature.data.geometry.coordinates;
    if (name) places.push({ name, at: { lat, lng } });
  }
  return places;
}

/** The body of `res` as JSON, refusing past GEOCODER_MAX_BYTES without reading the rest. */
async function cappedJson(res: Response): Promise<unknown> {
  const declared = Number(res.headers.get("Content-Length") ?? "0");
  if (declared > GEOCODER_MAX_BYTES) throw unavailable("the geocoder's answer is too large");
  const reader = res.body?.getReader();
  if (!reader) throw unavailable("the geocoder answered no body");
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > GEOCODER_MAX_BYTES) {
      await reader.cancel();
      throw unavailable("the geocoder's answer is too large");
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as unknown;
  } catch {
    throw unavailable("the geocoder's answer is not JSON");
  }
}

async function ask(config: Config, path: "/api" | "/reverse", params: Record<string, string>): Promise<Place[]> {
  const base = config.GEOCODER_URL;
  if (!base) throw new ApiError(503, "geocoder_unavailable", "place search is not configured (GEOCODER_URL)");
  // The base's own path is kept (a geocoder behind /photon/): the route is appended to it.
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/$/, "")}${path}`;
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  let res: Response;
  try {
    res = await fetch(url, {
      headers: { Accept: "application/json" },
      // A redirect is not followed (it would leave the configured host): a 3xx is a failure below.
      redirect: "manual",
      signal: AbortSignal.timeout(config.GEOCODER_TIMEOUT_MS),
    });
  } catch (err) {
    logJson("warn", { where: "geocoder", path, reason: err instanceof Error ? err.name : typeof err });
    throw unavailable("the geocoder did not answer in time");
  }
  if (!res.ok) {
    await res.body?.cancel();
    logJson("warn", { where: "geocoder", path, status: res.status });
    throw unavailable(`the geocoder answered ${res.status}`);
  }
  return placesOf(await cappedJson(res));
}

/** Up to 5 places matching `text`, those near `near` first when given. */
export function searchPlaces(config: Config, text: string, near?: LatLng): Promise<Place[]> {
  const params: Record<string, string> = { q: text, limit: String(SEARCH_LIMIT) };
  if (near) {
    params.lat = String(near.lat);
    params.lon = String(near.lng);
  }
  return ask(config, "/api", params).then((places) => places.slice(0, SEARCH_LIMIT));
}

/** The geocoder's name for the place at `point`, or null when it knows none there. */
export async function reversePlace(config: Config, point: LatLng): Promise<Place | null> {
  const places = await ask(config, "/reverse", { lat: String(point.lat), lon: String(point.lng), limit: "1" });
  return places[0] ?? null;
}
