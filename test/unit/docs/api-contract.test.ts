/**
 * docs/API.md and the OpenAPI document (src/http/openapi/) name the same routes, and API.md
 * documents every client frame each socket accepts. A route is documented by a heading that is
 * its method and path in code, path parameters as `:name`:
 *
 *   ### `POST /v1/trips/:id/cancel`
 *
 * When this fails, the message lists each route missing on either side.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { operations } from "../../../src/http/openapi";
import { DriverClientFrame, TripClientFrame } from "../../../src/protocol/dispatch";
import { ChatClientFrame } from "../../../src/protocol/frames";
import { headings, proseLines } from "./markdown";

const API_MD = fileURLToPath(new URL("../../../docs/API.md", import.meta.url));
const api = readFileSync(API_MD, "utf8");

const ROUTE_HEADING = /^`(GET|POST|PUT|PATCH|DELETE) (\/\S*)`$/;

/** `{id}` (OpenAPI) and `:id` (API.md) name the same parameter. */
const routeKey = (method: string, path: string) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`;

function documentedRoutes(markdown: string): { key: string; line: number }[] {
  const out: { key: string; line: number }[] = [];
  for (const { line, text } of headings(markdown)) {
    const match = ROUTE_HEADING.exec(text);
    if (match) out.push({ key: routeKey(match[1]!, match[2]!), line });
  }
  return out;
}

describe("docs/API.md and /v1/openapi.json", () => {
  const documented = documentedRoutes(api);
  const served = operations.map((op) => routeKey(op.method, op.path));

  it("documents every route of the OpenAPI document under a heading of its own", () => {
    const have = new Set(documented.map((r) => r.key));
    const missing = served.filter((key) => !have.has(key));
    const advice = missing.map((key) => `  ### \`${key}\``).join("\n");
    expect(
      missing,
      `docs/API.md has no heading for ${missing.length} route(s) of src/http/openapi/; add:\n${advice}\n`,
    ).toEqual([]);
  });

  it("names no route under a heading that the OpenAPI document lacks", () => {
    const have = new Set(served);
    const extra = documented.filter((r) => !have.has(r.key));
    const where = extra.map((r) => `  docs/API.md:${r.line} ${r.key}`).join("\n");
    expect(
      extra,
      `routes documented in docs/API.md but missing from the operations of src/http/openapi/:\n${where}\n`,
    ).toEqual([]);
  });

  it("documents each route once", () => {
    const lines = new Map<string, number[]>();
    for (const r of documented) lines.set(r.key, [...(lines.get(r.key) ?? []), r.line]);
    const repeated = [...lines]
      .filter(([, at]) => at.length > 1)
      .map(([key, at]) => `  ${key} at lines ${at.join(", ")}`);
    expect(repeated, `routes with more than one heading in docs/API.md:\n${repeated.join("\n")}\n`).toEqual([]);
  });
});

/** The `type` of every frame a discriminated union of client frames accepts. */
function frameTypes(union: z.ZodDiscriminatedUnion): string[] {
  return union.options.map((option) => {
    const type = (option as z.ZodObject<{ type: z.ZodLiteral<string> }>).shape.type;
    return type.value;
  });
}

/**
 * The first column of the "Client frames:" table in the section under `heading`: each row's
 * first cell is the frame's type in code.
 */
function documentedClientFrames(markdown: string, heading: string): string[] {
  const lines = proseLines(markdown).map((l) => l.text);
  const start = lines.findIndex((l) => l.trim() === `## ${heading}`);
  if (start < 0) throw new Error(`docs/API.md has no "## ${heading}" section`);
  const end = lines.findIndex((l, i) => i > start && l.startsWith("## "));
  const section = lines.slice(start, end < 0 ? undefined : end);
  const table = section.findIndex((l) => l.trim() === "Client frames:");
  if (table < 0) throw new Error(`"## ${heading}" in docs/API.md has no "Client frames:" table`);
  const types: string[] = [];
  for (const row of section.slice(table + 1)) {
    if (row.trim() === "") {
      if (types.length > 0) break;
      continue;
    }
    const cell = /^\|\s*`([^`]+)`\s*\|/.exec(row);
    if (cell) types.push(cell[1]!);
    else if (!row.startsWith("|")) break;
  }
  return types;
}

describe("docs/API.md and the socket frame schemas", () => {
  const sockets = [
    { heading: "Chat room frames", schema: ChatClientFrame, module: "src/protocol/frames.ts ChatClientFrame" },
    { heading: "Trip room frames", schema: TripClientFrame, module: "src/protocol/dispatch.ts TripClientFrame" },
    {
      heading: "Driver channel frames",
      schema: DriverClientFrame,
      module: "src/protocol/dispatch.ts DriverClientFrame",
    },
  ];

  for (const { heading, schema, module } of sockets) {
    it(`lists exactly the client frames ${module} accepts under "${heading}"`, () => {
      const accepted = frameTypes(schema).sort();
      const documented = documentedClientFrames(api, heading).sort();
      const undocumented = accepted.filter((t) => !documented.includes(t));
      const unknown = documented.filter((t) => !accepted.includes(t));
      expect(
        { undocumented, unknown },
        `"${heading}" in docs/API.md: frames ${module} accepts but the table lacks: [${undocumented.join(", ")}]; ` +
          `frames the table lists that it does not accept: [${unknown.join(", ")}]`,
      ).toEqual({ undocumented: [], unknown: [] });
    });
  }
});
