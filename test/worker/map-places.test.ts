// The street map's routes through the public API (README, "Web app"; docs/API.md, "Map and
// places"): the map's settings, the tile archive served by range out of R2 (206, ETag, 304, 416,
// nothing but the configured key), place search and reverse lookup through the local stand-in
// geocoder (test/helpers/geocoder-server.mjs) with its failures, and the coarse dots of nearby cars.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { cellToLatLng, latLngToCell } from "h3-js";
import { call, registerUser } from "../helpers/api";
import { geocoderRequests } from "../helpers/geocoder";
import { area, expectError, offset, onlineDriver } from "../helpers/dispatch";

const ARCHIVE = "test-city.pmtiles";
/** 64 KiB of known bytes: byte i is i mod 251 (a prime, so ranges do not line up with the pattern). */
const BYTES = Uint8Array.from({ length: 65_536 }, (_, i) => i % 251);

async function putArchive(): Promise<string> {
  const object = await env.TILES.put(ARCHIVE, BYTES);
  return object?.httpEtag ?? "";
}

const tiles = (path: string, headers: Record<string, string> = {}) =>
  exports.default.fetch(`https://ridewire.test/v1/tiles/${path}`, { headers });

describe("map settings", () => {
  it("names the archive this Worker serves and says place search is on, without sign-in", async () => {
    const res = await call("GET", "/v1/map");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ style: null, tiles: "/v1/tiles/test-city.pmtiles", geocoder: true });
  });
});

describe("tile archive by range", () => {
  it("answers one range with 206, Content-Range, ETag and caching headers", async () => {
    const etag = await putArchive();
    const res = await tiles(ARCHIVE, { Range: "bytes=100-199" });
    expect(res.status).toBe(206);
    expect(res.headers.get("Content-Range")).toBe(`bytes 100-199/${BYTES.length}`);
    expect(res.headers.get("Content-Length")).toBe("100");
    expect(res.headers.get("ETag")).toBe(etag);
    expect(res.headers.get("Accept-Ranges")).toBe("bytes");
    expect(res.headers.get("Cache-Control")).toMatch(/max-age=\d+/);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(BYTES.slice(100, 200));
  });

  it("serves open-ended and suffix ranges, clipped to the end", async () => {
    await putArchive();
    const tail = await tiles(ARCHIVE, { Range: "bytes=65500-" });
    expect(tail.status).toBe(206);
    expect(new Uint8Array(await tail.arrayBuffer())).toEqual(BYTES.slice(65_500));
    const suffix = await tiles(ARCHIVE, { Range: "bytes=-10" });
    expect(suffix.headers.get("Content-Range")).toBe(`bytes 65526-65535/${BYTES.length}`);
    expect(new Uint8Array(await suffix.arrayBuffer())).toEqual(BYTES.slice(-10));
    const past = await tiles(ARCHIVE, { Range: "bytes=65000-999999" });
    expect(past.headers.get("Content-Range")).toBe(`bytes 65000-65535/${BYTES.length}`);
    await past.arrayBuffer();
  });

  it("answers 304 to a matching If-None-Match, and the whole archive without Range", async () => {
    const etag = await putArchive();
    const same = await tiles(ARCHIVE, { Range: "bytes=0-9", "If-None-Match": etag });
    expect(same.status).toBe(304);
    const whole = await tiles(ARCHIVE);
    expect(whole.status).toBe(200);
    expect((await whole.arrayBuffer()).byteLength).toBe(BYTES.length);
    // If-Range of an older archive: the client's ranges are stale, it gets the whole new one.
    const stale = await tiles(ARCHIVE, { Range: "bytes=0-9", "If-Range": '"old"' });
    expect(stale.status).toBe(200);
    await stale.arrayBuffer();
  });

  it("refuses ranges it cannot serve with 416 and the size", async () => {
    await putArchive();
    for (const range of ["bytes=70000-70010", "bytes=20-10", "bytes=0-1,5-9", "items=0-10", "bytes=-0", "bytes=x-y"]) {
      const res = await tiles(ARCHIVE, { Range: range });
      expect({ range, status: res.status }).toEqual({ range, status: 416 });
      expect(res.headers.get("Content-Range")).toBe(`bytes */${BYTES.length}`);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("range_not_satisfiable");
    }
  });

  it("serves the configured archive only: no other key, no listing, no path tricks", async () => {
    await putArchive();
    await env.TILES.put("secret.pmtiles", "not for you");
    for (const path of [
      "secret.pmtiles",
      "",
      "test-city",
      "..%2Fsecret.pmtiles",
      "test-city.pmtiles%2F..%2Fsecret.pmtiles",
    ]) {
      const res = await tiles(path, { Range: "bytes=0-9" });
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
      await res.arrayBuffer();
    }
    const dotted = await exports.default.fetch("https://ridewire.test/v1/tiles/../tiles/secret.pmtiles");
    expect(dotted.status).toBe(404);
    await dotted.arrayBuffer();
  });
});

describe("place search", () => {
  it("finds places through the geocoder, near the point first, as names and points", async () => {
    const rider = await registerUser();
    const res = await call("GET", "/v1/places/search?q=tower&lat=37.79&lng=-122.397", { token: rider.token });
    expect(res.status).toBe(200);
    expect(res.body.places).toEqual([
      { name: "Salesforce Tower, San Francisco", at: { lat: 37.7897, lng: -122.3972 } },
      { name: "Coit Tower, San Francisco", at: { lat: 37.8024, lng: -122.4058 } },
    ]);
  });

  it("names a point by reverse lookup, null where the geocoder knows nothing", async () => {
    const rider = await registerUser();
    const near = await call("GET", "/v1/places/reverse?lat=37.8088&lng=-122.4097", { token: rider.token });
    expect(near.body).toEqual({ place: { name: "Pier 39, San Francisco", at: { lat: 37.8087, lng: -122.4098 } } });
    const nowhere = await call("GET", "/v1/places/reverse?lat=10&lng=10", { token: rider.token });
    expect(nowhere.body).toEqual({ place: null });
  });

  it("sends only the words to the configured geocoder, never a URL of the caller's", async () => {
    const rider = await registerUser();
    const q = "http://169.254.169.254/latest/meta-data";
    const res = await call("GET", `/v1/places/search?q=${encodeURIComponent(q)}`, { token: rider.token });
    expect(res.status).toBe(200);
    expect(res.body.places).toEqual([]);
    const seen = await geocoderRequests();
    expect(seen.filter((r) => r.query.q === q)).toEqual([{ path: "/api", query: { q, limit: "5" } }]);
  });

  it("answers 502 when the geocoder is slow, too big, broken or not JSON", async () => {
    const rider = await registerUser();
    for (const q of ["slow geocoder", "huge answer", "broken geocoder", "not json"]) {
      const res = await call("GET", `/v1/places/search?q=${encodeURIComponent(q)}`, { token: rider.token });
      expect({ q, status: res.status, code: res.body?.error?.code }).toEqual({
        q,
        status: 502,
        code: "geocoder_unavailable",
      });
    }
  });

  it("validates its query and needs a signed-in user", async () => {
    const rider = await registerUser();
    expectError(await call("GET", "/v1/places/search?q=a", { token: rider.token }), 400, "invalid_request");
    expectError(
      await call("GET", `/v1/places/search?q=${"x".repeat(101)}`, { token: rider.token }),
      400,
      "invalid_request",
    );
    expectError(await call("GET", "/v1/places/search?q=tower&lat=37", { token: rider.token }), 400, "invalid_request");
    expectError(await call("GET", "/v1/places/search?q=tower&url=x", { token: rider.token }), 400, "invalid_request");
    expectError(await call("GET", "/v1/places/reverse?lat=91&lng=0", { token: rider.token }), 400, "invalid_request");
    expectError(await call("GET", "/v1/places/reverse?lat=abc&lng=0", { token: rider.token }), 400, "invalid_request");
    expectError(await call("GET", "/v1/places/search?q=tower"), 401, "unauthorized");
  });
});

describe("nearby cars", () => {
  it("shows available cars as coarse cell centres, with no ids or exact positions", async () => {
    const here = area(1);
    const exact = offset(here, 0.3, 0.2);
    const driver = await onlineDriver(exact);
    const rider = await registerUser();
    const res = await call("GET", `/v1/cars/nearby?lat=${here.lat}&lng=${here.lng}`, { token: rider.token });
    expect(res.status).toBe(200);
    const [lat, lng] = cellToLatLng(latLngToCell(exact.lat, exact.lng, 8));
    expect(res.body.cars).toHaveLength(1);
    expect(res.body.cars[0].lat).toBeCloseTo(lat, 4);
    expect(res.body.cars[0].lng).toBeCloseTo(lng, 4);
    expect(res.body.cars[0]).not.toEqual(exact);
    expect(res.body.precisionM).toBeGreaterThanOrEqual(400);
    expect(JSON.stringify(res.body)).not.toContain(driver.user.id);
    driver.socket.close();
  });

  it("shows one dot for cars sharing a cell, at most 8, and none far away", async () => {
    const here = area(2);
    // Three drivers a few metres apart share one coarse cell: one dot, no count.
    const together = [offset(here, 0.01), offset(here, 0.02), offset(here, 0.015, 0.01)];
    const drivers = [];
    for (const at of together) drivers.push(await onlineDriver(at));
    const rider = await registerUser();
    const res = await call("GET", `/v1/cars/nearby?lat=${here.lat}&lng=${here.lng}`, { token: rider.token });
    expect(res.body.cars).toHaveLength(1);
    const far = offset(here, 30);
    const none = await call("GET", `/v1/cars/nearby?lat=${far.lat}&lng=${far.lng}`, { token: rider.token });
    expect(none.body.cars).toEqual([]);
    for (const d of drivers) d.socket.close();
  });

  it("validates the point and needs a signed-in user", async () => {
    const rider = await registerUser();
    expectError(await call("GET", "/v1/cars/nearby?lat=0", { token: rider.token }), 400, "invalid_request");
    expectError(await call("GET", "/v1/cars/nearby?lat=0&lng=200", { token: rider.token }), 400, "invalid_request");
    expectError(await call("GET", "/v1/cars/nearby?lat=0&lng=0"), 401, "unauthorized");
  });
});
