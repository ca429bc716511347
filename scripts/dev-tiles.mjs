// `node scripts/dev-tiles.mjs [--out <file>] [--put] [--persist-to <dir>]`: writes a tiny PMTiles v3
// archive of the dev city (web/places.ts) for the street map in development and the browser tests,
// so they need no download: land over the city, a schematic street grid (every 0.005°, about
// 450 m; not the real streets) and the city's places as points, as Mapbox Vector Tiles at zooms
// 10 to 14, in the layers a Protomaps basemap has (earth, roads, places), so one style draws both.
// `--put` stores it in the local R2 bucket as `dev-city.pmtiles` (`wrangler r2 object put --local`);
// then run with MAP_TILES_ARCHIVE=dev-city (README, "Web app"). A real city: a Protomaps extract.
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { zxyToTileId } from "pmtiles";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const MIN_ZOOM = 10;
const MAX_ZOOM = 14;
const EXTENT = 4096;
const GRID_STEP_DEG = 0.005;

/** web/places.ts's city, compiled on the fly (it is TypeScript with a type-only import). */
async function devCity() {
  const out = await build({ entryPoints: [join(ROOT, "web/places.ts")], bundle: false, write: false, format: "esm" });
  const code = out.outputFiles[0].text;
  const module = await import(`data:text/javascript;base64,${Buffer.from(code).toString("base64")}`);
  return module.SAN_FRANCISCO;
}

// ---- protobuf, as much as Mapbox Vector Tile 2.1 needs
function varint(n) {
  const out = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}
const key = (field, wire) => varint((field << 3) | wire);
const bytesField = (field, bytes) => [...key(field, 2), ...varint(bytes.length), ...bytes];
const stringField = (field, text) => bytesField(field, [...Buffer.from(text, "utf8")]);
const uintField = (field, n) => [...key(field, 0), ...varint(n)];
const packed = (field, values) => bytesField(field, values.flatMap(varint));
const zigzag = (n) => (n << 1) ^ (n >> 31);
const command = (id, count) => (count << 3) | id;

/** MVT geometry commands for one part (a point, a line, or a ring that is closed with `close`). */
function geometry(points, close) {
  const out = [];
  let cx = 0;
  let cy = 0;
  points.forEach(([x, y], i) => {
    if (i === 0) out.push(command(1, 1));
    else if (i === 1) out.push(command(2, points.length - 1));
    out.push(zigzag(x - cx), zigzag(y - cy));
    cx = x;
    cy = y;
  });
  if (close) out.push(command(7, 1));
  return out;
}

/** One layer: features of { type (1 point, 2 line, 3 polygon), geometry, name? }. */
function layer(name, features) {
  const values = [];
  const feats = features.map((f, i) => {
    const tags = [];
    if (f.name !== undefined) {
      values.push(f.name);
      tags.push(0, values.length - 1);
    }
    return bytesField(2, [
      ...uintField(1, i + 1),
      ...(tags.length ? packed(2, tags) : []),
      ...uintField(3, f.type),
      ...packed(4, f.geometry),
    ]);
  });
  return bytesField(3, [
    ...uintField(15, 2),
    ...stringField(1, name),
    ...feats.flat(),
    ...(values.length ? stringField(3, "name") : []),
    ...values.flatMap((v) => bytesField(4, stringField(1, v))),
    ...uintField(5, EXTENT),
  ]);
}

// ---- Web Mercator
const tileX = (lng, z) => ((lng + 180) / 360) * 2 ** z;
const tileY = (lat, z) => {
  const r = (lat * Math.PI) / 180;
  return ((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * 2 ** z;
};

function tile(city, z, x, y) {
  const px = (lng) => Math.round((tileX(lng, z) - x) * EXTENT);
  const py = (lat) => Math.round((tileY(lat, z) - y) * EXTENT);
  const land = [
    [px(city.west), py(city.south)],
    [px(city.east), py(city.south)],
    [px(city.east), py(city.north)],
    [px(city.west), py(city.north)],
  ];
  const roads = [];
  for (let lat = Math.ceil(city.south / GRID_STEP_DEG) * GRID_STEP_DEG; lat < city.north; lat += GRID_STEP_DEG)
    roads.push({
      type: 2,
      geometry: geometry(
        [
          [px(city.west), py(lat)],
          [px(city.east), py(lat)],
        ],
        false,
      ),
    });
  for (let lng = Math.ceil(city.west / GRID_STEP_DEG) * GRID_STEP_DEG; lng < city.east; lng += GRID_STEP_DEG)
    roads.push({
      type: 2,
      geometry: geometry(
        [
          [px(lng), py(city.south)],
          [px(lng), py(city.north)],
        ],
        false,
      ),
    });
  const places = city.places
    .map((p) => ({ name: p.name, at: [px(p.at.lng), py(p.at.lat)] }))
    .filter(({ at: [ax, ay] }) => ax >= 0 && ax < EXTENT && ay >= 0 && ay < EXTENT)
    .map((p) => ({ type: 1, name: p.name, geometry: geometry([p.at], false) }));
  return Uint8Array.from([
    ...layer("earth", [{ type: 3, geometry: geometry(land, true) }]),
    ...layer("roads", roads),
    ...(places.length ? layer("places", places) : []),
  ]);
}

/** PMTiles v3 directory: counts, tile id deltas, run lengths, lengths, offsets (0: right after the previous). */
function directory(entries) {
  const out = [...varint(entries.length)];
  let last = 0;
  for (const e of entries) {
    out.push(...varint(e.tileId - last));
    last = e.tileId;
  }
  for (const _ of entries) out.push(...varint(1));
  for (const e of entries) out.push(...varint(e.length));
  entries.forEach((e, i) => {
    const previous = entries[i - 1];
    out.push(...varint(previous && e.offset === previous.offset + previous.length ? 0 : e.offset + 1));
  });
  return Uint8Array.from(out);
}

/** The archive's bytes: header, root directory, metadata, tile data (clustered, no compression). */
export async function devArchive() {
  const city = await devCity();
  const tiles = [];
  for (let z = MIN_ZOOM; z <= MAX_ZOOM; z++)
    for (let x = Math.floor(tileX(city.west, z)); x <= Math.floor(tileX(city.east, z)); x++)
      for (let y = Math.floor(tileY(city.north, z)); y <= Math.floor(tileY(city.south, z)); y++)
        tiles.push({ tileId: zxyToTileId(z, x, y), data: tile(city, z, x, y) });
  tiles.sort((a, b) => a.tileId - b.tileId);
  let offset = 0;
  const entries = tiles.map((t) => {
    const entry = { tileId: t.tileId, offset, length: t.data.length };
    offset += t.data.length;
    return entry;
  });
  const root = directory(entries);
  const metadata = Buffer.from(
    JSON.stringify({
      name: `${city.name} (development, schematic)`,
      vector_layers: ["earth", "roads", "places"].map((id) => ({
        id,
        fields: id === "places" ? { name: "String" } : {},
      })),
    }),
  );
  const header = Buffer.alloc(127);
  header.write("PMTiles", 0, "ascii");
  header.writeUInt8(3, 7);
  const rootOffset = 127;
  const metadataOffset = rootOffset + root.length;
  const dataOffset = metadataOffset + metadata.length;
  const u64 = [rootOffset, root.length, metadataOffset, metadata.length, 0, 0, dataOffset, offset];
  u64.push(tiles.length, tiles.length, tiles.length);
  for (const [i, v] of u64.entries()) header.writeBigUInt64LE(BigInt(v), 8 + i * 8);
  // clustered, internal compression none (1), tile compression none (1), tile type MVT (1), zooms
  for (const [i, v] of [1, 1, 1, 1, MIN_ZOOM, MAX_ZOOM].entries()) header.writeUInt8(v, 96 + i);
  const e7 = (deg) => Math.round(deg * 1e7);
  const bounds = [e7(city.west), e7(city.south), e7(city.east), e7(city.north)];
  for (const [i, v] of bounds.entries()) header.writeInt32LE(v, 102 + i * 4);
  header.writeUInt8(12, 118);
  header.writeInt32LE(e7(city.center.lng), 119);
  header.writeInt32LE(e7(city.center.lat), 123);
  return Buffer.concat([header, root, metadata, ...tiles.map((t) => t.data)]);
}

/** Writes the archive to `file`; with `persistTo`, also into that local R2 state as `dev-city.pmtiles`. */
export async function writeDevArchive(file, options = {}) {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, await devArchive());
  if (!options.put) return;
  const args = ["r2", "object", "put", "ridewire-tiles/dev-city.pmtiles", "--local", "--file", file];
  if (options.persistTo) args.push("--persist-to", options.persistTo);
  const wrangler = join(ROOT, "node_modules/wrangler/bin/wrangler.js");
  const put = spawnSync(process.execPath, [wrangler, ...args], { cwd: ROOT, encoding: "utf8" });
  if (put.status !== 0) throw new Error(`wrangler r2 object put failed:\n${put.stdout}\n${put.stderr}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = (name) => {
    const at = process.argv.indexOf(name);
    return at === -1 ? undefined : process.argv[at + 1];
  };
  const out = arg("--out") ?? join(ROOT, ".wrangler/dev-tiles/dev-city.pmtiles");
  await writeDevArchive(out, { put: process.argv.includes("--put"), persistTo: arg("--persist-to") });
  console.log(
    `wrote ${out}${process.argv.includes("--put") ? " and put it in the local bucket as dev-city.pmtiles" : ""}`,
  );
}
