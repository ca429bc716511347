/**
 * What `npm publish` would put in @ridewire/client's tarball: `npm pack --dry-run --json` (which
 * runs the package's prepack build) must list exactly the built entry points, the declarations
 * of the SDK and of the protocol module it takes its types from, the README, the changelog and
 * package.json: no sources, no tests, nothing of the server beyond those types.
 */
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const PACKAGE = fileURLToPath(new URL("../../../packages/client/", import.meta.url).href);

type PackResult = { name: string; version: string; files: { path: string }[] }[];

function pack(): Promise<PackResult> {
  return new Promise((resolve, reject) => {
    execFile(
      "npm",
      ["pack", "--dry-run", "--json", "--ignore-scripts=false"],
      { cwd: PACKAGE, timeout: 60_000 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`npm pack failed: ${stderr}`));
        resolve(JSON.parse(stdout) as PackResult);
      },
    );
  });
}

it("publishes the built entry points, their declarations, README, CHANGELOG and package.json only", async () => {
  const [result] = await pack();
  expect(result).toMatchObject({ name: "@ridewire/client", version: "0.1.0" });
  const files = result!.files.map((file) => file.path).sort();

  const sdkDeclarations = readdirSync(`${PACKAGE}src`)
    .filter((name) => name.endsWith(".ts"))
    .map((name) => `dist/types/packages/client/src/${name.replace(/\.ts$/, ".d.ts")}`);
  const fixed = [
    "CHANGELOG.md",
    "README.md",
    "package.json",
    ...["index", "geo", "react"].flatMap((entry) => [`dist/${entry}.js`, `dist/${entry}.js.map`]),
    ...sdkDeclarations,
  ];
  const serverTypes = files.filter((path) => !fixed.includes(path));

  expect(files).toEqual(expect.arrayContaining(fixed));
  // Beyond those, only declarations of the protocol module and the domain values it is built on.
  expect(serverTypes.filter((path) => !/^dist\/types\/src\/(protocol|domain)\/[\w-]+\.d\.ts$/.test(path))).toEqual([]);
  expect(serverTypes).toEqual(
    expect.arrayContaining(["dist/types/src/protocol/frames.d.ts", "dist/types/src/protocol/dispatch.d.ts"]),
  );
  expect(files.filter((path) => /test|\.ts$/.test(path) && !path.endsWith(".d.ts"))).toEqual([]);

  // Consumers on `moduleResolution: "nodenext"` resolve only explicit extensions in declarations.
  const extensionless = files
    .filter((path) => path.endsWith(".d.ts"))
    .flatMap((path) =>
      [...readFileSync(`${PACKAGE}${path}`, "utf8").matchAll(/(?:from |import\()\s*"(\.{1,2}\/[^"]*)"/g)].map(
        (m) => m[1]!,
      ),
    )
    .filter((specifier) => !specifier.endsWith(".js"));
  expect(extensionless).toEqual([]);
}, 90_000);
