// `npm run build -w @ridewire/client` (and `npm pack`): ESM JavaScript with esbuild, one file
// per entry point (h3-js, zod and react stay imports: they are dependencies), then the .d.ts
// files with tsc. esbuild because it is already the repository's bundler, installs from npm
// with no post-install download, and does the job in milliseconds; tsc because declarations
// need the type checker (TypeScript 7's tsc has no JavaScript API for a .d.ts bundler to use).
//
// The output is written to a directory of its own and swapped in for dist/ at the end: two
// builds at once (the pack test and the runtime smoke test in one `vitest run`) then never
// leave a half-written dist/ for the other's readers.
import { execFileSync } from "node:child_process";
import { readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");
const staging = join(here, `dist.build-${process.pid}`);
await rm(staging, { recursive: true, force: true });

try {
  await build({
    absWorkingDir: here,
    entryPoints: { index: "src/index.ts", geo: "src/geo.ts", react: "src/react.ts" },
    outdir: staging,
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    external: ["h3-js", "zod", "react"],
    sourcemap: true,
    logLevel: "warning",
  });
  const tsc = join(here, "../../node_modules/.bin/tsc");
  execFileSync(tsc, ["-p", join(here, "tsconfig.build.json"), "--outDir", join(staging, "types")], {
    stdio: "inherit",
  });
  await addDeclarationExtensions(join(staging, "types"));
  await swapInto(staging, dist);
} finally {
  await rm(staging, { recursive: true, force: true });
}

/**
 * The sources import each other without extensions (bundler resolution), and tsc keeps the
 * specifiers as written; a consumer on `moduleResolution: "nodenext"` needs them explicit.
 * `./http` becomes `./http.js`, which TypeScript maps to `./http.d.ts`.
 */
async function addDeclarationExtensions(dir) {
  for (const entry of await readdir(dir, { recursive: true })) {
    if (!entry.endsWith(".d.ts")) continue;
    const file = join(dir, entry);
    const text = await readFile(file, "utf8");
    const fixed = text.replace(/((?:from |import\()\s*")(\.{1,2}\/[^"]*?)(")/g, (whole, before, specifier, after) =>
      /\.(js|mjs|cjs|json)$/.test(specifier) ? whole : `${before}${specifier}.js${after}`,
    );
    if (fixed !== text) await writeFile(file, fixed);
  }
}

/** Replaces `target` with `source` by two renames; another build swapping at the same moment makes it try again. */
async function swapInto(source, target) {
  for (let attempt = 0; attempt < 10; attempt++) {
    const old = `${target}.old-${process.pid}-${attempt}`;
    try {
      await rename(target, old);
    } catch (err) {
      if (err.code !== "ENOENT") throw err;
    }
    try {
      await rename(source, target);
      return;
    } catch (err) {
      if (err.code !== "ENOTEMPTY" && err.code !== "EEXIST") throw err;
    } finally {
      await rm(old, { recursive: true, force: true });
    }
  }
  throw new Error(`could not move the build into ${target}`);
}
