/**
 * @module http/routes/map
 * The web app's street map (README, "Web app"; docs/API.md, "Map and places"). `GET /v1/map`
 * says what to draw: the operator's MapLibre style (MAP_STYLE_URL), or the PMTiles archive this
 * Worker serves (MAP_TILES_ARCHIVE), or neither (the app's SVG city). `GET /v1/tiles/<name>.pmtiles`
 * serves that one archive out of R2 by HTTP range, as MapLibre's PMTiles source reads it: one
 * range per request, 206 with Content-Range, an ETag (a replaced archive is noticed), 304 on
 * If-None-Match, 416 for a range it cannot serve. Only the configured key is ever read: no
 * listing, no other object of the bucket, no path from the request.
 */
import { Hono } from "hono";
import { parseByteRange } from "../../domain/byte-range";
import { ApiError, notFound } from "../../errors";
import type { MapConfigResponse } from "../../protocol/map";
import type { AppEnv } from "../context";

export const mapRoutes = new Hono<AppEnv>();

/** Browsers and Cloudflare's edge may keep a range an hour; the ETag tells a replaced archive apart. */
const TILE_CACHE_CONTROL = "public, max-age=3600";
const PMTILES_TYPE = "application/vnd.pmtiles";

mapRoutes.get("/map", (c) => {
  const config = c.get("config");
  const archive = config.MAP_TILES_ARCHIVE;
  return c.json({
    style: config.MAP_STYLE_URL ?? null,
    tiles: archive ? `/v1/tiles/${archive}.pmtiles` : null,
    geocoder: config.GEOCODER_URL !== undefined,
  } satisfies MapConfigResponse);
});

mapRoutes.get("/tiles/:file", async (c) => {
  const archive = c.get("config").MAP_TILES_ARCHIVE;
  // The configured name is the only key: the request's own text never reaches R2.
  if (!archive || c.req.param("file") !== `${archive}.pmtiles`) throw notFound("no such tile archive");
  const key = `${archive}.pmtiles`;
  const head = await c.env.TILES.head(key);
  if (!head) throw notFound("the tile archive is not in the bucket yet");
  const headers = new Headers({
    "Accept-Ranges": "bytes",
    "Cache-Control": TILE_CACHE_CONTROL,
    "Content-Type": PMTILES_TYPE,
    ETag: head.httpEtag,
  });
  const ifNoneMatch = c.req.header("If-None-Match");
  if (ifNoneMatch?.split(",").some((tag) => tag.trim() === head.httpEtag))
    return new Response(null, { status: 304, headers });
  // If-Range with another ETag: the client's ranges are of an older archive; it gets the whole new one.
  const ifRange = c.req.header("If-Range");
  const rangeHeader = ifRange !== undefined && ifRange !== head.httpEtag ? undefined : c.req.header("Range");
  const range = parseByteRange(rangeHeader, head.size);
  if (range === "unsatisfiable") {
    const error = new ApiError(
      416,
      "range_not_satisfiable",
      "one range of bytes within the archive, e.g. bytes=0-16383",
    );
    headers.set("Content-Range", `bytes */${head.size}`);
    headers.set("Content-Type", "application/json");
    headers.set("Cache-Control", "no-store");
    return new Response(JSON.stringify(error.toBody()), { status: 416, headers });
  }
  const object = await c.env.TILES.get(key, range ? { range } : {});
  // Gone between the two reads (an operator replacing it): the client asks again.
  if (!object) throw notFound("the tile archive is not in the bucket yet");
  if (!range) {
    headers.set("Content-Length", String(object.size));
    return new Response(object.body, { status: 200, headers });
  }
  headers.set("Content-Range", `bytes ${range.offset}-${range.offset + range.length - 1}/${object.size}`);
  headers.set("Content-Length", String(range.length));
  return new Response(object.body, { status: 206, headers });
});
