// `npm run build:web`: bundles the web app (web/main.ts, with the client SDK and h3-js) into
// public/build/app.js (the street map's maplibre-gl in a chunk of its own, with its stylesheet and
// worker), which wrangler serves as a static asset next to the API, and copies
// Swagger UI's browser bundle from node_modules into public/build/swagger-ui/ for the API
// reference at /docs (public/docs/), so that page needs no CDN. public/build/ is generated and
// not committed. `--watch` rebuilds the app on change. `npm run dev`, `npm test` and
// `npm run deploy` run it first. It also writes public/build/shell-version.js, the version the
// service worker (public/sw.js) names its cache after: a hash of the app shell's files, so a
// changed app is a changed worker, which the browser installs again.
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { context } from "esbuild";

/** What /docs loads, plus the licence that must travel with the copied code. */
const SWAGGER_UI_FILES = ["swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "NOTICE"];

function copySwaggerUi() {
  const from = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
  const to = "public/build/swagger-ui";
  mkdirSync(to, { recursive: true });
  for (const file of SWAGGER_UI_FILES) copyFileSync(join(from, file), join(to, file));
}

copySwaggerUi();

/**
 * The street map's stylesheet (web/ride-map.ts adds it to the page when a street map is drawn) and
 * maplibre-gl's Web Worker, which its ES module build loads from a file of its own (web/street-map.ts
 * names where).
 */
function copyMapLibre() {
  const from = dirname(createRequire(import.meta.url).resolve("maplibre-gl/package.json"));
  mkdirSync("public/build", { recursive: true });
  copyFileSync(join(from, "dist/maplibre-gl.css"), "public/build/maplibre-gl.css");
  copyFileSync(join(from, "dist/maplibre-gl-worker.mjs"), "public/build/maplibre-gl-worker.mjs");
}

copyMapLibre();

/** What the service worker caches as the shell (and so what its version is a hash of). */
const SHELL_FILES = ["public/index.html", "public/app.css", "public/build/app.js", "public/manifest.webmanifest"];

function writeShellVersion() {
  const hash = createHash("sha256");
  for (const file of SHELL_FILES) hash.update(readFileSync(file));
  const version = hash.digest("hex").slice(0, 16);
  writeFileSync("public/build/shell-version.js", `self.SHELL_VERSION = ${JSON.stringify(version)};\n`);
}

const watch = process.argv.includes("--watch");
const ctx = await context({
  entryPoints: { app: "web/main.ts" },
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  // The street map (maplibre-gl, most of the weight) is a chunk of its own, loaded only where a
  // street map is configured and WebGL is there (web/ride-map.ts).
  splitting: true,
  outdir: "public/build",
  chunkNames: "chunks/[name]-[hash]",
  // The SDK from its TypeScript source (packages/client's exports list this condition first): no build of it first.
  conditions: ["@ridewire/source"],
  sourcemap: true,
  minify: !watch,
  logLevel: watch ? "info" : "warning",
  plugins: [
    { name: "shell-version", setup: (build) => build.onEnd((result) => result.errors.length || writeShellVersion()) },
  ],
});
if (watch) {
  await ctx.watch();
} else {
  await ctx.rebuild();
  await ctx.dispose();
}
