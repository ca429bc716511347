// vitest globalSetup (runs in Node, outside workerd), and a server the browser tests start: a local
// stand-in for a Photon geocoder (github.com/komoot/photon's API), so place search is tested over
// real HTTP without reaching the internet:
//
//   GET /api?q=&limit=&lat=&lon=   GeoJSON features of the places below whose name holds `q`
//                                  (case-insensitive), nearest to lat/lon first when given, `limit` at most.
//   GET /reverse?lat=&lon=         the place within 400 m of the point, nearest first (none: no features).
//   GET /test/requests             every request's path and query so far: [{ path, query }]
//
// Queries that script a failure: "slow geocoder" answers after 5 s (past the tests' timeout),
// "huge answer" sends 300 KiB, "broken geocoder" answers 500, "not json" answers an HTML page.
// The worker tests find it with inject("geocoder"): { baseUrl }.
import { serveStandIn } from "./stand-in-server.mjs";

/** A few real places of San Francisco, none of them in the web app's own list (web/places.ts). */
export const GEOCODER_PLACES = [
  { name: "Coit Tower", street: "Telegraph Hill Boulevard", housenumber: "1", lat: 37.8024, lng: -122.4058 },
  { name: "Pier 39", street: "The Embarcadero", lat: 37.8087, lng: -122.4098 },
  { name: "Salesforce Tower", street: "Mission Street", housenumber: "415", lat: 37.7897, lng: -122.3972 },
  { name: "Oracle Park", street: "King Street", housenumber: "24 Willie Mays Plaza", lat: 37.7786, lng: -122.3893 },
  { name: "Alamo Square", street: "Steiner Street", lat: 37.7763, lng: -122.4346 },
  { name: "Palace of Fine Arts", street: "Palace Drive", housenumber: "3601", lat: 37.8029, lng: -122.4484 },
];

const km = (a, b) => {
  const rad = Math.PI / 180;
  const x = (b.lng - a.lng) * rad * Math.cos(((a.lat + b.lat) / 2) * rad);
  const y = (b.lat - a.lat) * rad;
  return Math.hypot(x, y) * 6371;
};

const feature = (p) => ({
  type: "Feature",
  geometry: { type: "Point", coordinates: [p.lng, p.lat] },
  properties: {
    osm_type: "N",
    name: p.name,
    street: p.street,
    ...(p.housenumber ? { housenumber: p.housenumber } : {}),
    city: "San Francisco",
    country: "United States",
  },
});

/** Starts the stand-in; resolves to { baseUrl, close }. */
export async function startGeocoder() {
  const requests = [];
  const server = await serveStandIn(({ url, res, reply }) => {
    if (url.pathname === "/test/requests") return reply(200, requests);
    requests.push({ path: url.pathname, query: Object.fromEntries(url.searchParams) });
    const q = (url.searchParams.get("q") ?? "").toLowerCase();
    if (q === "slow geocoder")
      return void setTimeout(() => reply(200, { type: "FeatureCollection", features: [] }), 5_000);
    if (q === "broken geocoder") return reply(500, { message: "internal" });
    if (q === "huge answer") {
      const pad = "x".repeat(300 * 1024);
      return reply(200, { type: "FeatureCollection", features: [], pad });
    }
    if (q === "not json") {
      res.writeHead(200, { "Content-Type": "text/html" });
      return res.end("<html>proxy error</html>");
    }
    const near = url.searchParams.has("lat")
      ? { lat: Number(url.searchParams.get("lat")), lng: Number(url.searchParams.get("lon")) }
      : null;
    const limit = Number(url.searchParams.get("limit") ?? "5");
    if (url.pathname === "/api") {
      const found = GEOCODER_PLACES.filter((p) => p.name.toLowerCase().includes(q));
      if (near) found.sort((a, b) => km(a, near) - km(b, near));
      return reply(200, { type: "FeatureCollection", features: found.slice(0, limit).map(feature) });
    }
    if (url.pathname === "/reverse" && near) {
      const found = GEOCODER_PLACES.filter((p) => km(p, near) < 0.4).sort((a, b) => km(a, near) - km(b, near));
      return reply(200, { type: "FeatureCollection", features: found.slice(0, 1).map(feature) });
    }
    return reply(404, { message: "not found" });
  });
  return server;
}

export default async function setup(project) {
  const server = await startGeocoder();
  project.provide("geocoder", { baseUrl: server.baseUrl });
  return server.close;
}
