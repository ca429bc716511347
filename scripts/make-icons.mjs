// `node scripts/make-icons.mjs`: draws the web app's icons (public/icons/) with no image library: a
// map pin on the app's ink colour, anti-aliased by 4x4 supersampling, written as PNG with node:zlib.
// "any" icons have rounded corners; the "maskable" one fills its square and keeps the pin inside
// the safe zone (the middle 80%), since a launcher may cut it to a circle. The PNGs are committed;
// run this again only after changing the drawing.
import { mkdirSync, writeFileSync } from "node:fs";
import { crc32, deflateSync } from "node:zlib";

const INK = [0x1d, 0x23, 0x30];
const ACCENT = [0x1f, 0x6f, 0xeb];
const WHITE = [0xff, 0xff, 0xff];

function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** An RGBA PNG of `size` x `size` whose pixel at (u, v) in 0..1 is `paint(u, v)`: [r, g, b, a] or null. */
function png(size, paint) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // truecolour with alpha
  const rows = [];
  const samples = 4;
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 4);
    for (let x = 0; x < size; x++) {
      const sum = [0, 0, 0, 0];
      for (let sy = 0; sy < samples; sy++)
        for (let sx = 0; sx < samples; sx++) {
          const colour = paint((x + (sx + 0.5) / samples) / size, (y + (sy + 0.5) / samples) / size);
          if (!colour) continue;
          for (let i = 0; i < 3; i++) sum[i] += colour[i];
          sum[3] += 255;
        }
      const n = samples * samples;
      const covered = sum[3] / 255;
      const px = covered ? [sum[0] / covered, sum[1] / covered, sum[2] / covered, sum[3] / n] : [0, 0, 0, 0];
      row.set(px.map(Math.round), 1 + x * 4);
    }
    rows.push(row);
  }
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([
    signature,
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(Buffer.concat(rows))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** The pin, in a unit square scaled by `scale` around the centre: a circle head and a point below it. */
function pin(u, v, scale) {
  const x = (u - 0.5) / scale;
  const y = (v - 0.5) / scale;
  const head = { x: 0, y: -0.08, r: 0.26 };
  const d = Math.hypot(x - head.x, y - head.y);
  if (d < 0.1) return WHITE;
  if (d < head.r) return ACCENT;
  // The point: a triangle from the head's sides down to (0, 0.4).
  const tipY = 0.4;
  if (y > head.y && y < tipY) {
    const halfWidth = (head.r * 0.86 * (tipY - y)) / (tipY - head.y);
    if (Math.abs(x) < halfWidth) return ACCENT;
  }
  return null;
}

function roundedSquare(u, v, radius) {
  const dx = Math.max(radius - u, 0, u - (1 - radius));
  const dy = Math.max(radius - v, 0, v - (1 - radius));
  return Math.hypot(dx, dy) <= radius;
}

const icon = (maskable) => (u, v) => {
  if (!maskable && !roundedSquare(u, v, 0.18)) return null;
  return pin(u, v, maskable ? 0.72 : 0.95) ?? INK;
};

mkdirSync("public/icons", { recursive: true });
for (const size of [192, 512]) writeFileSync(`public/icons/icon-${size}.png`, png(size, icon(false)));
writeFileSync("public/icons/maskable-512.png", png(512, icon(true)));
// iOS ignores the manifest's icons and rounds the corners itself: a full square.
writeFileSync("public/icons/apple-touch-icon.png", png(180, icon(true)));
console.log("wrote public/icons/");
