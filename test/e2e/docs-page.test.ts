/**
 * The API reference at /docs, over HTTP against a real `wrangler dev`: the page is served from
 * the static assets (public/docs/), every script and stylesheet it names is served from this
 * origin (Swagger UI copied from npm by `npm run build:web`, no CDN), and the document it renders
 * is the Worker's /v1/openapi.json. That the page draws the routes in a browser was checked by
 * eye when it was built (a screenshot); this keeps it served.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { devServer, type DevServer } from "./helpers/server";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

let server: DevServer;

beforeAll(async () => {
  // `npm test` builds the assets before vitest runs; a run of this file alone builds them.
  if (!existsSync(`${ROOT}public/build/swagger-ui/swagger-ui-bundle.js`)) {
    const built = spawnSync(process.execPath, ["scripts/build-web.mjs"], { cwd: ROOT, encoding: "utf8" });
    if (built.status !== 0) throw new Error(`web build failed: ${built.stderr}`);
  }
  server = await devServer("docs");
  await server.start();
});

afterAll(async () => {
  await server?.stop();
});

/** The `src` of every script and the `href` of every stylesheet a page names. */
function assetsOf(html: string): { scripts: string[]; styles: string[] } {
  const scripts = [...html.matchAll(/<script\b[^>]*\bsrc="([^"]+)"/g)].map((m) => m[1]!);
  const styles = [...html.matchAll(/<link\b[^>]*\brel="stylesheet"[^>]*\bhref="([^"]+)"/g)].map((m) => m[1]!);
  return { scripts, styles };
}

describe("/docs", () => {
  it("redirects /docs to the page at /docs/, which is HTML", async () => {
    const redirect = await fetch(`${server.baseUrl}/docs`, { redirect: "manual" });
    expect([301, 302, 307, 308]).toContain(redirect.status);
    expect(new URL(redirect.headers.get("location") ?? "", server.baseUrl).pathname).toBe("/docs/");

    const page = await fetch(`${server.baseUrl}/docs`);
    expect(page.status).toBe(200);
    expect(page.url).toBe(`${server.baseUrl}/docs/`);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain('id="swagger-ui"');
  });

  it("serves every script and stylesheet the page names from this origin", async () => {
    const html = await (await fetch(`${server.baseUrl}/docs/`)).text();
    const { scripts, styles } = assetsOf(html);
    expect(scripts).toEqual(expect.arrayContaining(["/build/swagger-ui/swagger-ui-bundle.js", "/docs/docs.js"]));
    expect(styles).toContain("/build/swagger-ui/swagger-ui.css");
    for (const path of [...scripts, ...styles]) {
      // Offline: nothing from another site.
      expect(path, `${path} is not on this origin`).toMatch(/^\/[^/]/);
      const res = await fetch(`${server.baseUrl}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type"), path).toMatch(path.endsWith(".css") ? /^text\/css/ : /javascript/);
      expect((await res.text()).length, path).toBeGreaterThan(0);
    }
    const bundle = await (await fetch(`${server.baseUrl}/build/swagger-ui/swagger-ui-bundle.js`)).text();
    expect(bundle).toContain("SwaggerUIBundle");
  });

  it("points Swagger UI at the Worker's OpenAPI document, which answers", async () => {
    const init = await (await fetch(`${server.baseUrl}/docs/docs.js`)).text();
    expect(init).toMatch(/url:\s*"\/v1\/openapi\.json"/);
    expect(init).toMatch(/validatorUrl:\s*null/);
    const doc = await fetch(`${server.baseUrl}/v1/openapi.json`);
    expect(doc.status).toBe(200);
    const body = (await doc.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(body.openapi).toBe("3.1.0");
    expect(Object.keys(body.paths)).toContain("/v1/trips");
  });
});
