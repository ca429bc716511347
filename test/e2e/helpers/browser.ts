/**
 * Which Chromium the browser tests drive, and how it is launched. In order: `CHROMIUM_PATH`,
 * Debian's `/usr/bin/chromium`, else the build that arrives inside the `@sparticuz/chromium`
 * npm package (unpacked into the temp dir on first use), so `npm install && npm test` needs
 * no system package. The chosen source is returned so a test can say which one ran.
 */
import { existsSync } from "node:fs";
import sparticuz from "@sparticuz/chromium";
import { chromium, type Browser } from "playwright-core";

export type BrowserSource = "CHROMIUM_PATH" | "system" | "npm";

/** Flags for a system Chromium on a closed network: without the background-networking ones,
 * it keeps opening connections that this machine refuses. */
const SYSTEM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"];
/** `SYSTEM_CHROMIUM_PATH` lets CI hide a system browser to prove the npm one serves alone. */
const SYSTEM_CHROMIUM = process.env.SYSTEM_CHROMIUM_PATH ?? "/usr/bin/chromium";

/** A Chromium installed on the machine, if one is named or at Debian's path; else the npm one serves. */
function installedChromium(): { source: Exclude<BrowserSource, "npm">; executablePath: string } | undefined {
  const override = process.env.CHROMIUM_PATH;
  if (override) {
    if (!existsSync(override)) throw new Error(`CHROMIUM_PATH=${override} does not exist`);
    return { source: "CHROMIUM_PATH", executablePath: override };
  }
  if (existsSync(SYSTEM_CHROMIUM)) return { source: "system", executablePath: SYSTEM_CHROMIUM };
  return undefined;
}

/**
 * The e2e project's global setup: unpack the npm Chromium once, before the test files start.
 * On a machine with more than two cores vitest runs files side by side, and two of them unpacking
 * into the same temp dir at once could launch a half-written binary.
 */
export default async function unpackChromiumOnce(): Promise<void> {
  if (installedChromium() === undefined) await sparticuz.executablePath();
}

/**
 * The npm build's flags that these tests leave out. `--single-process` (made for AWS Lambda's one-process limit):
 * in it, a second browser context loading a page with a service worker (the web app's, public/sw.js) brings the whole
 * browser down. The GPU ones: they composite every frame through SwiftShader, a GPU emulated on the CPU, which cost
 * the browser tests about a third of their CPU time; with `--disable-gpu` Chromium paints in software, and WebGL
 * (MapLibre's street map) still has SwiftShader through `--enable-unsafe-swiftshader`, which stays.
 */
const UNWANTED_NPM_ARGS = new Set([
  "--single-process",
  "--in-process-gpu",
  "--ignore-gpu-blocklist",
  "--use-gl=angle",
  "--use-angle=swiftshader",
]);

export async function launchChromium(): Promise<{ browser: Browser; source: BrowserSource; executablePath: string }> {
  const installed = installedChromium();
  if (installed) {
    return {
      browser: await chromium.launch({ executablePath: installed.executablePath, args: SYSTEM_ARGS }),
      ...installed,
    };
  }
  const executablePath = await sparticuz.executablePath();
  const args = [
    ...sparticuz.args.filter((arg) => !UNWANTED_NPM_ARGS.has(arg)),
    "--disable-gpu",
    "--disable-background-networking",
  ];
  return { browser: await chromium.launch({ executablePath, args, headless: true }), source: "npm", executablePath };
}
