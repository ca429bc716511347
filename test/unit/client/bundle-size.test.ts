/**
 * The SDK's weight as an app's bundler sees it: each entry point of @ridewire/client bundled by
 * esbuild from its source, minified, gzipped with node:zlib. The core entry must stay under
 * 20 KB gzipped and carry neither h3-js nor zod (the H3 helpers are the `./geo` entry's; the
 * protocol's zod schemas stay on the server, the client imports their types only).
 */
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

const PACKAGE = fileURLToPath(new URL("../../../packages/client/", import.meta.url).href);
const CORE_LIMIT_BYTES = 20 * 1024;

async function bundle(
  entry: string,
  external: string[] = [],
): Promise<{ minified: number; gzipped: number; inputs: string[] }> {
  const result = await build({
    entryPoints: [`${PACKAGE}src/${entry}`],
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    metafile: true,
    external,
    logLevel: "silent",
  });
  const code = result.outputFiles[0]!.contents;
  return { minified: code.byteLength, gzipped: gzipSync(code).byteLength, inputs: Object.keys(result.metafile.inputs) };
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

describe("@ridewire/client bundle size", () => {
  it("keeps the core entry under 20 KB gzipped, without h3-js or zod", async () => {
    const core = await bundle("index.ts");
    console.log(
      `@ridewire/client core: ${kb(core.minified)} minified, ${kb(core.gzipped)} gzipped (limit ` +
        `${kb(CORE_LIMIT_BYTES)})`,
    );
    expect(core.inputs.filter((input) => /node_modules\/(h3-js|zod)\//.test(input))).toEqual([]);
    expect(core.gzipped).toBeGreaterThan(1024);
    expect(core.gzipped).toBeLessThanOrEqual(CORE_LIMIT_BYTES);
  });

  it("keeps h3-js in the geo entry and React out of the react entry", async () => {
    const geo = await bundle("geo.ts");
    const react = await bundle("react.ts", ["react"]);
    console.log(`@ridewire/client/geo: ${kb(geo.minified)} minified, ${kb(geo.gzipped)} gzipped (h3-js)`);
    console.log(
      `@ridewire/client/react: ${kb(react.minified)} minified, ${kb(react.gzipped)} gzipped (react external)`,
    );
    expect(geo.inputs.some((input) => input.includes("node_modules/h3-js/"))).toBe(true);
    expect(react.inputs.filter((input) => input.includes("node_modules/"))).toEqual([]);
  });
});
