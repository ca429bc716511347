// `npm run build:web`: bundles the web app (web/main.ts, with the client SDK and h3-js) into
// public/build/app.js, which wrangler serves as a static asset next to the API, and copies
// Swagger UI's browser bundle from node_modules into public/build/swagger-ui/ for the API
// reference at /docs (public/docs/), so that page needs no CDN. public/build/ is generated and
// not committed. `--watch` rebuilds the app on change. `npm run dev`, `npm test` and
// `npm run deploy` run it first.
import { copyFileSync, mkdirSync } from "node:fs";
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

const watch = process.argv.includes("--watch");
const ctx = await context({
  entryPoints: ["web/main.ts"],
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  outfile: "public/build/app.js",
  // The SDK from its TypeScript source (packages/client's exports list this condition first): no build of it first.
  conditions: ["@ridewire/source"],
  sourcemap: true,
  minify: !watch,
  logLevel: watch ? "info" : "warning",
});
if (watch) {
  await ctx.watch();
} else {
  await ctx.rebuild();
  await ctx.dispose();
}
