// Runs a TypeScript entry point on Node: `node scripts/run-ts.mjs scripts/simulate.ts [args...]`.
// The client SDK's source is TypeScript with extensionless imports, which Node cannot load as it is, so
// the entry is bundled with esbuild (dependencies included) into node_modules/.cache/ridewire/
// and that bundle is imported, with the remaining arguments as its process.argv.
import { rename, mkdir, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const [entry, ...args] = process.argv.slice(2);
if (!entry?.endsWith(".ts")) {
  console.error("usage: node scripts/run-ts.mjs <entry.ts> [args...]");
  process.exit(2);
}

const outDir = join(ROOT, "node_modules/.cache/ridewire");
const outfile = join(outDir, `${basename(entry, ".ts")}.mjs`);
let result;
try {
  result = await build({
    entryPoints: [resolve(entry)],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    sourcemap: "inline",
    write: false,
    outfile,
    // "@ridewire/client" from its TypeScript source (its exports list this condition first).
    conditions: ["@ridewire/source"],
    // Wrangler (scripts/migrate-to-shards.ts reads wrangler.toml with it) is loaded as installed:
    // its CLI bundle has modules esbuild cannot re-bundle as ESM.
    external: ["wrangler"],
    logLevel: "silent",
    // Some bundled CommonJS modules call require() for Node built-ins; ESM has no require.
    banner: {
      js:
        'import { createRequire as __createRequire } from "node:module"; ' +
        "const require = __createRequire(import.meta.url);",
    },
  });
} catch (err) {
  for (const e of err.errors ?? [])
    console.error(`${e.location ? `${e.location.file}:${e.location.line}:${e.location.column}: ` : ""}${e.text}`);
  if (!err.errors) console.error(err);
  process.exit(2);
}

// Written aside and renamed into place: two runs at once never import a half-written file.
await mkdir(outDir, { recursive: true });
const temp = `${outfile}.${process.pid}.tmp`;
await writeFile(temp, result.outputFiles[0].contents);
await rename(temp, outfile);

process.setSourceMapsEnabled(true);
process.argv = [process.argv[0], outfile, ...args];
await import(pathToFileURL(outfile).href);
