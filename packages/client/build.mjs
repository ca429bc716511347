// `npm run build -w @ridewire/client` (and `npm pack`): ESM JavaScript with esbuild, one file
// per entry point (h3-js, zod and react stay imports: they are dependencies), then the .d.ts
// files with tsc. esbuild because it is already the repository's bundler, installs from npm
// with no post-install download, and does the job in milliseconds; tsc because declarations
// need the type checker (TypeScript 7's tsc has no JavaScript API for a .d.ts bundler to use).
import { execFileSync } from "node:child_process";
import { rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");
await rm(dist, { recursive: true, force: true });

await build({
  absWorkingDir: here,
  entryPoints: { index: "src/index.ts", geo: "src/geo.ts", react: "src/react.ts" },
  outdir: dist,
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  external: ["h3-js", "zod", "react"],
  sourcemap: true,
  logLevel: "warning",
});

const tsc = join(here, "../../node_modules/.bin/tsc");
execFileSync(tsc, ["-p", join(here, "tsconfig.build.json")], { stdio: "inherit" });
