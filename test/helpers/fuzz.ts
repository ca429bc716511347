/**
 * Test helpers for the route fuzzer (test/worker/fuzz-routes.test.ts): the OpenAPI document
 * read back into operations, a plausible body built from each operation's JSON Schema, and the
 * bad inputs sent in place of its fields, its query values, its ids and its headers. Nothing
 * here knows a route by name: whatever the document lists is what gets fuzzed.
 */
import fc from "fast-check";
import { z } from "zod";

/** The subset of JSON Schema that z.toJSONSchema writes for the request bodies. */
export type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
};

const JsonSchema: z.ZodType<JsonSchema> = z.lazy(() =>
  z.looseObject({
    type: z.union([z.string(), z.array(z.string())]).optional(),
    properties: z.record(z.string(), JsonSchema).optional(),
    items: JsonSchema.optional(),
    anyOf: z.array(JsonSchema).optional(),
    oneOf: z.array(JsonSchema).optional(),
    enum: z.array(z.unknown()).optional(),
    const: z.unknown().optional(),
    minimum: z.number().optional(),
    maximum: z.number().optional(),
    minLength: z.number().optional(),
    maxLength: z.number().optional(),
    pattern: z.string().optional(),
    format: z.string().optional(),
  }),
);

const Parameter = z.object({ name: z.string(), in: z.enum(["path", "query", "header", "cookie"]) });

const Operation = z.object({
  parameters: z.array(Parameter).optional(),
  security: z.array(z.unknown()).optional(),
  requestBody: z
    // JSON bodies, or a file's bytes (an upload: `contentMediaType` schemas, not fuzzed as JSON).
    .object({
      required: z.boolean(),
      content: z.record(z.string(), z.object({ schema: z.union([JsonSchema, z.unknown()]) })),
    })
    .optional(),
  responses: z.record(z.string(), z.unknown()),
});

export const OpenApiDocument = z.object({
  openapi: z.string(),
  paths: z.record(z.string(), z.record(z.string(), Operation)),
});

/** One method on one path of the document, with what the fuzzer needs to know about it. */
export type DocOperation = {
  method: string;
  /** The path as documented, with `{name}` for path parameters. */
  path: string;
  pathParams: string[];
  query: string[];
  headers: string[];
  body: JsonSchema | null;
  secured: boolean;
  /** Takes a server API key (`security: [{ apiKey: [] }]`) rather than a user's token. */
  apiKey: boolean;
  /** Answers a WebSocket upgrade (101). */
  socket: boolean;
  /** Takes a `timeout` query parameter: it may hold the request open that long by design. */
  longPoll: boolean;
};

export function operationsOf(document: z.infer<typeof OpenApiDocument>): DocOperation[] {
  const out: DocOperation[] = [];
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const params = op.parameters ?? [];
      const named = (where: string) => params.filter((p) => p.in === where).map((p) => p.name);
      const query = named("query");
      const json = op.requestBody?.content["application/json"];
      out.push({
        method: method.toUpperCase(),
        path,
        pathParams: named("path"),
        query,
        headers: named("header"),
        body: json ? JsonSchema.parse(json.schema) : null,
        secured: (op.security ?? []).length > 0,
        apiKey: (op.security ?? []).some(
          (scheme) => typeof scheme === "object" && scheme !== null && "apiKey" in scheme,
        ),
        socket: "101" in op.responses,
        longPoll: query.includes("timeout"),
      });
    }
  }
  return out;
}

/** Hono's `/rooms/:id/join` written as the document writes it, `/rooms/{id}/join`. */
export const documentPathOf = (honoPath: string) => honoPath.replace(/:(\w+)/g, "{$1}");

// ---------------------------------------------------------------------------------------------
// A plausible body from a schema: the base whose fields are then replaced one at a time, so that
// each bad value is the only thing wrong with its request and reaches as deep as it can.

let exampleCounter = 0;

/** `url`: what a `format: uri` field holds (a receiver that answers, so a registered webhook does no harm). */
export function exampleOf(schema: JsonSchema, url: string, name = ""): unknown {
  if (schema.const !== undefined) return schema.const;
  if (schema.enum && schema.enum.length > 0) return schema.enum[0];
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives?.[0]) return exampleOf(alternatives[0], url, name);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case "object":
      return Object.fromEntries(
        Object.entries(schema.properties ?? {}).map(([key, property]) => [key, exampleOf(property, url, key)]),
      );
    case "array":
      return schema.items ? [exampleOf(schema.items, url, name)] : [];
    case "boolean":
      return true;
    case "null":
      return null;
    case "number":
    case "integer": {
      // A timestamp field gets the present, so a fix is not refused for its age before anything else.
      if (type === "integer" && (name === "at" || name.endsWith("At"))) return Date.now();
      // The middle of a narrow range (a latitude, stars); an unbounded amount gets a modest one.
      const low = schema.minimum ?? -Infinity;
      const high = schema.maximum ?? Infinity;
      const value = high - low <= 10_000 ? low / 2 + high / 2 : Math.min(Math.max(1_000, low), high);
      return type === "integer" ? Math.round(value) : value;
    }
    case "string":
      return schema.format === "uri" ? url : exampleString(schema, name);
    default:
      return null;
  }
}

function exampleString(schema: JsonSchema, name: string): string {
  // The document's email field carries no format (the schema trims before it checks); by name.
  if (name === "email") return `fuzz-${Date.now().toString(36)}-${exampleCounter++}@example.com`;
  if (schema.pattern) {
    const pattern = new RegExp(schema.pattern);
    const fit = ["USD", "abc", "A", "1", "a-b_c"].find((candidate) => pattern.test(candidate));
    if (fit) return fit;
  }
  const text = "fuzz-value".padEnd(schema.minLength ?? 0, "x");
  return schema.maxLength === undefined ? text : text.slice(0, Math.max(schema.maxLength, 1));
}

/** Every place in `value` that can be replaced: each key of each object, each array element. */
export function fieldPaths(value: unknown, prefix: string[] = []): string[][] {
  const out: string[][] = [];
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries())
      out.push([...prefix, String(i)], ...fieldPaths(item, [...prefix, String(i)]));
  } else if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) out.push([...prefix, key], ...fieldPaths(item, [...prefix, key]));
  }
  return out;
}

/** The schema of the field at `path` of a value built by exampleOf from `schema`, if any. */
export function schemaAt(schema: JsonSchema, path: string[]): JsonSchema | undefined {
  let current: JsonSchema | undefined = schema.anyOf?.[0] ?? schema.oneOf?.[0] ?? schema;
  for (const key of path) {
    current = /^\d+$/.test(key) && current?.items ? current.items : current?.properties?.[key];
    current = current?.anyOf?.[0] ?? current?.oneOf?.[0] ?? current;
  }
  return current;
}

/**
 * The edges of a field's documented range: its extremes (valid, and the likeliest to break
 * arithmetic behind validation) and the first values past them; for a string, its length
 * limits, and the longest string of characters that take two UTF-16 units (four UTF-8 bytes).
 */
export function rangeEdges(schema: JsonSchema): Nasty[] {
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  const edges: Nasty[] = [];
  if (type === "number" || type === "integer") {
    const step = type === "integer" ? 1 : 1e-9;
    if (schema.minimum !== undefined)
      edges.push(
        { label: "the minimum", raw: String(schema.minimum) },
        { label: "just below the minimum", raw: String(schema.minimum - step) },
      );
    if (schema.maximum !== undefined)
      edges.push(
        { label: "the maximum", raw: String(schema.maximum) },
        { label: "just above the maximum", raw: String(schema.maximum + step) },
      );
  }
  if (type === "string") {
    if (schema.minLength !== undefined && schema.minLength > 0)
      edges.push({ label: "one character short", raw: JSON.stringify("x".repeat(schema.minLength - 1)) });
    if (schema.maxLength !== undefined) {
      edges.push(
        { label: "the longest allowed", raw: JSON.stringify("x".repeat(schema.maxLength)) },
        { label: "one character too long", raw: JSON.stringify("x".repeat(schema.maxLength + 1)) },
        { label: "the longest allowed, in emoji", raw: JSON.stringify("🚗".repeat(Math.floor(schema.maxLength / 2))) },
      );
    }
  }
  return edges;
}

/**
 * `value` as JSON text with the field at `path` replaced by the raw JSON `raw`. Raw text, not a
 * value, so that inputs JSON.stringify cannot write (`1e999`, `-0`, a 30-digit integer, a
 * repeated key) reach the server's parser as written.
 */
export function jsonWith(value: unknown, path: string[], raw: string): string {
  if (path.length === 0) return raw;
  const [head, ...rest] = path as [string, ...string[]];
  if (Array.isArray(value)) {
    const items = value.map((item, i) => (String(i) === head ? jsonWith(item, rest, raw) : JSON.stringify(item)));
    return `[${items.join(",")}]`;
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).map(
      ([key, item]) => `${JSON.stringify(key)}:${key === head ? jsonWith(item, rest, raw) : JSON.stringify(item)}`,
    );
    return `{${entries.join(",")}}`;
  }
  return raw;
}

// ---------------------------------------------------------------------------------------------
// Known nasties, as raw JSON text for a field and as raw text for a query value or an id.

const deepArray = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;
const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;

export type Nasty = { label: string; raw: string };

/** What replaces one field of a body. */
export const FIELD_NASTIES: Nasty[] = [
  { label: "null", raw: "null" },
  { label: "true", raw: "true" },
  { label: "empty string", raw: '""' },
  { label: "whitespace", raw: '" \\t\\n "' },
  { label: "array", raw: '[1,"a",null]' },
  { label: "empty object", raw: "{}" },
  { label: "-1", raw: "-1" },
  { label: "-0", raw: "-0" },
  { label: "1.5", raw: "1.5" },
  { label: "1e308", raw: "1e308" },
  { label: "1e999 (Infinity when parsed)", raw: "1e999" },
  { label: "-1e999", raw: "-1e999" },
  { label: "1e-400", raw: "1e-400" },
  { label: "past MAX_SAFE_INTEGER", raw: "9007199254740993" },
  { label: "30-digit integer", raw: "123456789012345678901234567890" },
  { label: '"NaN"', raw: '"NaN"' },
  { label: '"Infinity"', raw: '"Infinity"' },
  { label: "numeric string", raw: '"42"' },
  { label: "10 KB string", raw: JSON.stringify("a".repeat(10_240)) },
  { label: "unicode", raw: JSON.stringify("🚗 Zürich \u202e\u0301 \ufeff \uffff 𝓍") },
  { label: "lone surrogate", raw: '"\\ud800 and \\udfff"' },
  { label: "NUL bytes", raw: '"a\\u0000b\\u0000"' },
  { label: "control characters", raw: '"\\u0001\\u001b[31m\\r\\n"' },
  { label: "array nested 5,000 deep", raw: deepArray(5_000) },
  { label: "object nested 5,000 deep", raw: deepObject(5_000) },
  { label: "__proto__ key", raw: '{"__proto__":{"polluted":true}}' },
  { label: "constructor.prototype key", raw: '{"constructor":{"prototype":{"polluted":true}}}' },
  { label: "path traversal", raw: '"../../../etc/passwd"' },
  { label: "SQL", raw: `"' OR 1=1; DROP TABLE users; --"` },
  { label: "html", raw: '"<script>alert(1)</script>"' },
  { label: "url with credentials", raw: '"https://user:pass@127.0.0.1:0/%00"' },
  { label: "not a url", raw: '"x"' },
];

/**
 * Whole bodies that are wrong before any field is looked at; `contentType` null sends none.
 * `streamed` sends the body in chunks with no Content-Length, so a limit must count as it reads.
 */
export type RawBody = { label: string; body: string; contentType: string | null; streamed?: boolean };

export const BODY_NASTIES: RawBody[] = [
  { label: "malformed JSON (unclosed)", body: '{"a":', contentType: "application/json" },
  { label: "malformed JSON (trailing comma)", body: '{"a":1,}', contentType: "application/json" },
  { label: "malformed JSON (single quotes)", body: "{'a':1}", contentType: "application/json" },
  { label: "not JSON at all", body: "hello", contentType: "application/json" },
  { label: "empty body", body: "", contentType: "application/json" },
  { label: "whitespace body", body: " \n\t ", contentType: "application/json" },
  { label: "JSON array", body: "[]", contentType: "application/json" },
  { label: "JSON number", body: "42", contentType: "application/json" },
  { label: "JSON null", body: "null", contentType: "application/json" },
  { label: "JSON string", body: '"text"', contentType: "application/json" },
  { label: "JSON true", body: "true", contentType: "application/json" },
  { label: "empty object", body: "{}", contentType: "application/json" },
  { label: "object nested 5,000 deep", body: deepObject(5_000), contentType: "application/json" },
  { label: "array nested 20,000 deep", body: deepArray(20_000), contentType: "application/json" },
  {
    label: "__proto__ and constructor at the top",
    body: '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}',
    contentType: "application/json",
  },
  { label: "BOM before JSON", body: '\ufeff{"a":1}', contentType: "application/json" },
  { label: "NUL byte in JSON", body: '{"a":1}\u0000', contentType: "application/json" },
  { label: "text/plain", body: '{"a":1}', contentType: "text/plain" },
  { label: "form-urlencoded", body: "a=1&b=2", contentType: "application/x-www-form-urlencoded" },
  { label: "multipart without boundary", body: "--x\r\n\r\n", contentType: "multipart/form-data" },
  { label: "no content type", body: '{"a":1}', contentType: null },
  { label: "JSON with a charset that is not one", body: '{"a":1}', contentType: "application/json; charset=nonsense" },
  {
    label: "over the body limit (70 KB)",
    body: JSON.stringify({ a: "a".repeat(70_000) }),
    contentType: "application/json",
  },
  {
    label: "over the body limit, streamed without Content-Length",
    body: JSON.stringify({ a: "a".repeat(70_000) }),
    contentType: "application/json",
    streamed: true,
  },
];

/** Query values; each is written into the query string as is (some are malformed on purpose). */
export const QUERY_NASTIES: Nasty[] = [
  { label: "empty", raw: "" },
  { label: "-1", raw: "-1" },
  { label: "NaN", raw: "NaN" },
  { label: "Infinity", raw: "Infinity" },
  { label: "1e309", raw: "1e309" },
  { label: "21 digits", raw: "999999999999999999999" },
  { label: "1.5", raw: "1.5" },
  { label: "hex", raw: "0x10" },
  { label: "padded", raw: "%20%201%20" },
  { label: "word", raw: "abc" },
  { label: "NUL", raw: "%00" },
  { label: "malformed percent-encoding", raw: "%zz%E0%A4%A" },
  { label: "unicode", raw: encodeURIComponent("🚗١٢٣") },
  { label: "4 KB", raw: "9".repeat(4_096) },
];

/** Headers any route may get; each is sent alone, on top of the caller's credentials. */
export const HEADER_NASTIES: { label: string; headers: Record<string, string> }[] = [
  { label: "Origin: null", headers: { Origin: "null" } },
  { label: "Origin of another site", headers: { Origin: "https://evil.example" } },
  { label: "Origin that is not a URL", headers: { Origin: "http://[::1" } },
  { label: "4 KB Origin", headers: { Origin: `https://${"a".repeat(4_096)}.example` } },
  { label: "Content-Encoding: gzip on a plain body", headers: { "Content-Encoding": "gzip" } },
  { label: "Content-Encoding: br on a plain body", headers: { "Content-Encoding": "br" } },
  { label: "Accept: text/event-stream", headers: { Accept: "text/event-stream" } },
  { label: "Accept that matches nothing", headers: { Accept: "application/xml;q=0, */*;q=0" } },
  { label: "CF-Connecting-IP junk", headers: { "CF-Connecting-IP": "999.1.1.1, ::ffff:not-an-ip" } },
  { label: "1 KB CF-Connecting-IP", headers: { "CF-Connecting-IP": "1".repeat(1_024) } },
  { label: "X-HTTP-Method-Override: DELETE", headers: { "X-HTTP-Method-Override": "DELETE" } },
  { label: "Cache-Control: no-transform junk", headers: { "Cache-Control": 'max-age=-1, no-transform="x' } },
  { label: "Range on the answer", headers: { Range: "bytes=5-1" } },
  { label: "Expect: 100-continue", headers: { Expect: "100-continue" } },
];

/** Path ids that are not ids; each is written into the path as is. */
export const ID_NASTIES: Nasty[] = [
  { label: "dot dot", raw: ".." },
  { label: "encoded dot dot", raw: "%2E%2E" },
  { label: "encoded traversal", raw: "..%2F..%2Fv1%2Fme" },
  { label: "encoded slash", raw: "a%2Fb" },
  { label: "encoded backslash", raw: "a%5C..%5Cb" },
  { label: "NUL", raw: "room%00" },
  { label: "65 characters", raw: "a".repeat(65) },
  { label: "4 KB", raw: "a".repeat(4_096) },
  { label: "unicode", raw: encodeURIComponent("🚗-Zürich") },
  { label: "malformed percent-encoding", raw: "%zz" },
  { label: "percent sign", raw: "%25" },
  { label: "encoded query", raw: "x%3Fa%3D1%23b" },
  { label: "SQL", raw: encodeURIComponent("' OR 1=1 --") },
  { label: "space", raw: "a%20b" },
];

// ---------------------------------------------------------------------------------------------
// Generated values (fast-check, fixed seed: the same inputs on every run).

export const FUZZ_SEED = 16;

/**
 * Any JSON value, a string of any UTF-16 code units (lone surrogates included), any double, or
 * an integer far past 2^53, as raw JSON. The code units come from an integer arbitrary: the
 * built-in "binary" unit takes seconds to build its table of every code point.
 */
const fieldValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value) ?? "null"),
  fc
    .string({ unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)), maxLength: 40 })
    .map((text) => JSON.stringify(text)),
  fc.double().map((n) => (Number.isFinite(n) ? String(n) : n > 0 ? "1e999" : n < 0 ? "-1e999" : "null")),
  fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
);

export function generatedFieldValues(count: number, seed: number): Nasty[] {
  return fc
    .sample(fieldValue, { seed, numRuns: count })
    .map((raw) => ({ label: `generated ${raw.length > 60 ? `${raw.slice(0, 60)}…` : raw}`, raw }));
}

const segment = fc.string({ unit: "grapheme", minLength: 1, maxLength: 30 });

/** Any printable-or-not text, percent-encoded the way a client would send it. */
export function generatedSegments(count: number, seed: number): Nasty[] {
  return fc
    .sample(segment, { seed, numRuns: count })
    .map((text) => ({ label: `generated ${JSON.stringify(text)}`, raw: encodeURIComponent(text) }));
}

/**
 * `count` items of `list` for turn `index`: consecutive turns take consecutive slices (wrapping
 * round), so every item is sent to some route without every route getting all of them.
 */
export function sliceFor<T>(list: readonly T[], index: number, count: number): T[] {
  if (list.length <= count) return [...list];
  return Array.from({ length: count }, (_, i) => list[(index * count + i) % list.length]!);
}

/** A readable form of an input for a failure message: long text shortened, its length kept. */
export function shorten(text: string, max = 200): string {
  return text.length <= max ? JSON.stringify(text) : `${JSON.stringify(text.slice(0, max))}… (${text.length} chars)`;
}
