// `npm run build:web`: bundles the web app (web/main.ts, with the client SDK and h3-js) into
// public/build/app.js, which wrangler serves as a static asset next to the API. `--watch`
// rebuilds on change. `npm run dev`, `npm test` and `npm run deploy` run it first.
import { context } from "esbuild";

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
