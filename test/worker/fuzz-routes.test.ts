// Issue 16: no input yields a 5xx. Every route of /v1/openapi.json gets a deterministic, broad
// set of bad inputs (bodies, fields, queries, ids, headers, credentials) from an anonymous
// caller and from signed-in riders and drivers; every answer must come within 5 s, below 500,
// and a 4xx must be API.md's error body. The routes come from the document, so a new route is
// fuzzed without touching this file; the document itself is checked against the Hono app.
import { env, exports } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { toBase64Url } from "../../src/auth/encoding";
import { signToken, type Identity } from "../../src/auth/jwt";
import { loadConfig } from "../../src/config";
import { app } from "../../src/http/app";
import { ErrorBody } from "../../src/protocol/common";
import { registerAdmin } from "../helpers/admin";
import { call, createRoom, registerUser, unique, type TestUser } from "../helpers/api";
import {
  acceptedTrip,
  area,
  driverAction,
  offset,
  onlineDriver,
  requestTrip,
  stopTripAlarms,
  waitDriverStatus,
  type OnlineDriver,
} from "../helpers/dispatch";
import {
  BODY_NASTIES,
  FIELD_NASTIES,
  FUZZ_SEED,
  HEADER_NASTIES,
  ID_NASTIES,
  OpenApiDocument,
  QUERY_NASTIES,
  documentPathOf,
  exampleOf,
  fieldPaths,
  generatedFieldValues,
  generatedSegments,
  jsonWith,
  operationsOf,
  rangeEdges,
  schemaAt,
  shorten,
  sliceFor,
  type DocOperation,
  type JsonSchema,
} from "../helpers/fuzz";
import { hookUrl } from "../helpers/notify";

const BASE = "http://ridewire.test";
/** Issue 16's bound: an answer slower than this fails, whatever its status. */
const ANSWER_WITHIN_MS = 5_000;
/** A long poll may hold a request open by design; one still open after this passes, aborted. */
const LONG_POLL_ABORT_MS = 1_500;

type Caller = "anonymous" | "rider" | "driver";

type FuzzCase = {
  op: DocOperation;
  /** Sent instead of the operation's own method. */
  method?: string;
  /** What is wrong with this request, for the failure message. */
  label: string;
  caller: Caller;
  /** The concrete path (ids already written in, percent-encoded or not on purpose). */
  path: string;
  /** The raw query string, without `?`. */
  query: string;
  /** Replaces the caller's Authorization (null: none at all). */
  authorization?: string | null;
  headers: Record<string, string>;
  body?: { text: string; contentType: string | null; streamed?: boolean };
  /** The body field this case replaced, and the raw JSON it put there. */
  field?: { path: string[]; raw: string };
};

type Outcome = { status: number | "open" | "no answer"; ms: number; detail: string; problems: string[] };

type Fixtures = {
  rider: TestUser;
  driver: OnlineDriver;
  tokens: Record<Exclude<Caller, "anonymous">, string>;
  /**
   * What each caller sends on the server publish API's routes instead of a token: a key for
   * every room (rider), a key for the rider's room only and read alone (driver).
   */
  apiKeys: Record<Exclude<Caller, "anonymous">, string>;
  /** Per resource (the path segment before `{id}`): the caller's own id, someone else's and an unknown one. */
  ids: Record<string, { own: string; others: string; unknown: string }>;
  /** Authorization values that must be refused (null: none, and a junk `?access_token=`); each route gets one. */
  refusedAuthorizations: { label: string; value: string | null }[];
  /** Signed by the server for a user id that has no account, per role; every route gets the caller's. */
  ghostTokens: Record<Exclude<Caller, "anonymous">, { label: string; value: string }>;
  /** Signed by the server for a real user with the other role; each route gets one. */
  roleSwappedTokens: { label: string; value: string }[];
  /** Where webhooks registered by the fuzzer point: the test receiver, which answers 201. */
  webhookUrl: string;
};

// ---------------------------------------------------------------------------------------------
// Setup: the callers and the things they own, made through the API as other tests do.

async function makeFixtures(): Promise<Fixtures> {
  const config = loadConfig(env);
  const jwt = {
    secret: config.JWT_SECRET,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    ttlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
  };
  const rider = await registerUser("rider", "Fuzz Rider");
  const stranger = await registerUser("rider", "Stranger");
  const pickup = area(0);
  const driver = await onlineDriver(pickup, "Fuzz Driver");

  // A completed trip of the rider and the driver, so rating, receipt and the driver's moves
  // reach past "not found" into the trip's own checks.
  const trip = await acceptedTrip(rider, driver, pickup, offset(pickup, 3));
  for (const action of ["arrived", "start", "complete"] as const)
    expect((await driverAction(driver, trip.id, action)).status).toBe(200);
  await waitDriverStatus(driver, "available");
  // The stranger's trip is requested far from every driver: it stays unmatched, and theirs.
  const strangersTrip = await requestTrip(stranger, area(6), offset(area(6), 2));

  const riderRoom = await createRoom(rider, { name: "fuzz room" });
  const admin = await registerAdmin("Fuzz Operator");
  const apiKey = async (scopes: unknown) => {
    const res = await call("POST", "/v1/admin/api-keys", { token: admin.token, body: { name: "fuzz", scopes } });
    expect(res.status).toBe(201);
    return String(res.body.secret);
  };
  const strangersRoom = await createRoom(stranger, { private: true });
  const webhookUrl = hookUrl(unique("fuzz"));
  const device = async (user: TestUser) => {
    const res = await call("POST", "/v1/devices", { token: user.token, body: { kind: "webhook", url: webhookUrl } });
    expect(res.status).toBe(201);
    return String(res.body.device.id);
  };

  const identity: Identity = { userId: rider.user.id, role: "rider", name: rider.user.name };
  const header = toBase64Url(new TextEncoder().encode(JSON.stringify({ alg: "none", typ: "JWT" })));
  const claims = toBase64Url(
    new TextEncoder().encode(
      JSON.stringify({
        sub: rider.user.id,
        role: "rider",
        name: "x",
        iss: jwt.issuer,
        aud: jwt.audience,
        iat: 0,
        exp: 9_999_999_999,
      }),
    ),
  );
  const refusedAuthorizations = [
    { label: "Bearer without a token", value: "Bearer" },
    { label: "Bearer and spaces", value: "Bearer    " },
    { label: "Basic credentials", value: "Basic dXNlcjpwYXNzd29yZA==" },
    { label: "three empty parts", value: "Bearer .." },
    { label: "not base64url", value: "Bearer !!!.@@@.###" },
    { label: "one base64 character too many", value: "Bearer a.b.c" },
    {
      label: "expired",
      value: `Bearer ${await signToken(identity, { ...jwt, ttlSeconds: 60 }, Date.now() - 2 * 3_600_000, "sess_fuzz")}`,
    },
    {
      label: "signed with another secret",
      value: `Bearer ${await signToken(
        identity,
        { ...jwt, secret: "another-secret-0123456789" },
        Date.now(),
        "sess_fuzz",
      )}`,
    },
    { label: "alg none", value: `Bearer ${header}.${claims}.` },
    { label: "token and trailing words", value: `Bearer ${rider.token} extra` },
    { label: "two tokens", value: `Bearer ${rider.token}, Bearer ${driver.token}` },
    { label: "8 KB token", value: `Bearer ${"a".repeat(8_192)}` },
    { label: "a junk ?access_token= with Accept: text/event-stream", value: null },
  ];
  // Signed with the server's own secret, so these get past the signature check on purpose: a
  // token outlives its account when the database is reset, or when environments share a secret.
  const ghost = async (role: "rider" | "driver") => ({
    label: `a ${role} that does not exist`,
    value: `Bearer ${await signToken(
      { userId: `usr_no_such_${role}`, role, name: "Ghost" },
      jwt,
      Date.now(),
      "sess_fuzz",
    )}`,
  });
  const ghostTokens = { rider: await ghost("rider"), driver: await ghost("driver") };
  const roleSwappedTokens = [
    {
      label: "the rider's id with a driver's role",
      value: `Bearer ${await signToken({ ...identity, role: "driver" }, jwt, Date.now(), "sess_fuzz")}`,
    },
    {
      label: "the driver's id with a rider's role",
      value: `Bearer ${await signToken(
        { userId: driver.user.id, role: "rider", name: "x" },
        jwt,
        Date.now(),
        "sess_fuzz",
      )}`,
    },
  ];

  return {
    rider,
    driver,
    tokens: { rider: rider.token, driver: driver.token },
    apiKeys: {
      rider: await apiKey({ rooms: ["*"], actions: ["publish", "read"] }),
      driver: await apiKey({ rooms: [riderRoom.id], actions: ["read"] }),
    },
    ids: {
      rooms: { own: riderRoom.id, others: strangersRoom.id, unknown: "room_00000000000000000000" },
      trips: { own: trip.id, others: strangersTrip.id, unknown: "trip_00000000000000000000" },
      devices: { own: await device(rider), others: await device(stranger), unknown: "dev_00000000000000000000" },
    },
    refusedAuthorizations,
    ghostTokens,
    roleSwappedTokens,
    webhookUrl,
  };
}

// ---------------------------------------------------------------------------------------------
// The cases of one operation.

/** The resource an operation's `{id}` names: `/v1/rooms/{id}/join` -> `rooms`. */
const resourceOf = (op: DocOperation) => /\/([^/{}]+)\/\{/.exec(op.path)?.[1] ?? "";

function idsFor(fixtures: Fixtures, op: DocOperation) {
  // A resource with no fixture yet (a new route) still gets every id below but "its own".
  return (
    fixtures.ids[resourceOf(op)] ?? { own: "fuzz_unknown_id", others: "fuzz_unknown_id", unknown: "fuzz_unknown_id" }
  );
}

const pathWith = (op: DocOperation, id: string) => op.path.replace(/\{\w+\}/g, id);

/** The shapes a body may take: each alternative of a union, or the one schema. */
const alternativesOf = (schema: JsonSchema) => schema.anyOf ?? schema.oneOf ?? [schema];

/** One plausible body per alternative of the schema (a union is fuzzed on each of its shapes). */
function basesOf(schema: JsonSchema, fixtures: Fixtures): unknown[] {
  return alternativesOf(schema).map((alternative) => exampleOf(alternative, fixtures.webhookUrl));
}

const json = (value: unknown) => ({ text: JSON.stringify(value), contentType: "application/json" });

/** The bytes of a UTF-8 string as a header value (headers are byte strings; this is what goes on the wire). */
const utf8Header = (text: string) => String.fromCharCode(...new TextEncoder().encode(text));

/** A fresh Idempotency-Key where the route takes one, as a well-behaved client sends it. */
const keyFor = (op: DocOperation): Record<string, string> =>
  op.headers.includes("Idempotency-Key") ? { "Idempotency-Key": unique("fuzz-key") } : {};

/** The requests every operation gets whoever answers them: each caller, plainly. */
function plainCases(op: DocOperation, fixtures: Fixtures): FuzzCase[] {
  const body = op.body ? json(basesOf(op.body, fixtures)[0]) : undefined;
  const path = pathWith(op, idsFor(fixtures, op).own);
  // A public route reads no caller: one signed-in caller is enough next to the anonymous one.
  const callers = op.secured ? (["anonymous", "rider", "driver"] as const) : (["anonymous", "rider"] as const);
  return callers.map((caller) => ({
    op,
    label: "plain",
    caller,
    path,
    query: "",
    headers: keyFor(op),
    ...(body ? { body } : {}),
  }));
}

/**
 * How far the walk has got, per kind of input: an operation takes the next slice of each list
 * its kind uses and moves its counters on, so consecutive routes with a body (or an id, a query,
 * a field) get consecutive slices, and every item of every list is sent somewhere.
 */
type Turn = { op: number; body: number; ignoredBody: number; id: number; query: number; field: number };

/** The rest, sent as `caller`: the signed-in caller the route does not refuse with 403. */
function fuzzCases(op: DocOperation, turn: Turn, caller: Exclude<Caller, "anonymous">, fixtures: Fixtures): FuzzCase[] {
  const index = turn.op++;
  const cases: FuzzCase[] = [];
  const ids = idsFor(fixtures, op);
  const ownPath = pathWith(op, ids.own);
  const alternatives = op.body ? alternativesOf(op.body) : [];
  const bases = op.body ? basesOf(op.body, fixtures) : [];
  const baseBody = bases.length > 0 ? json(bases[0]) : undefined;
  // Socket routes are asked for a socket, so bad queries and ids reach the object behind them.
  const upgrade: Record<string, string> = op.socket ? { Upgrade: "websocket" } : {};
  const add = (label: string, change: Partial<FuzzCase>) =>
    cases.push({
      op,
      label,
      caller,
      path: ownPath,
      query: "",
      headers: { ...upgrade },
      ...(baseBody ? { body: baseBody } : {}),
      ...change,
    });

  const refused = sliceFor(fixtures.refusedAuthorizations, index, 1)[0];
  if (refused?.value === null) {
    add(`no Authorization, ${refused.label}`, {
      authorization: null,
      query: "access_token=not.a.token",
      headers: { ...upgrade, Accept: "text/event-stream" },
    });
  } else if (refused) {
    add(`Authorization: ${refused.label}`, { authorization: refused.value });
  }
  // Tokens the server signed get past authentication: each shape of body, as a client sends it.
  for (const auth of op.secured
    ? [fixtures.ghostTokens[caller], ...sliceFor(fixtures.roleSwappedTokens, index, 1)]
    : []) {
    for (const [b, base] of (bases.length > 0 ? bases : [undefined]).entries()) {
      add(`Authorization: ${auth.label}${bases.length > 1 ? `, body ${b}` : ""}`, {
        authorization: auth.value,
        headers: { ...upgrade, ...keyFor(op) },
        ...(base === undefined ? {} : { body: json(base) }),
      });
    }
  }

  if (op.pathParams.length > 0) {
    add("someone else's id", { path: pathWith(op, ids.others) });
    add("unknown id", { path: pathWith(op, ids.unknown) });
    for (const id of [...sliceFor(ID_NASTIES, turn.id++, 1), ...generatedSegments(1, FUZZ_SEED + index)])
      add(`id: ${id.label}`, { path: pathWith(op, id.raw) });
  }

  if (op.query.length > 0) {
    op.query.forEach((name, n) => {
      const values = [
        ...sliceFor(QUERY_NASTIES, turn.query++, 1),
        ...generatedSegments(1, FUZZ_SEED * 7 + index * 13 + n),
      ];
      for (const value of values) add(`query ${name}: ${value.label}`, { query: `${name}=${value.raw}` });
    });
    add("every query parameter repeated (the second bad) and in array syntax", {
      query: op.query.map((name) => `${name}=1&${name}=-1&${name}[]=1&${name}[x]=2`).join("&"),
    });
    add("every query parameter without a value, and an unknown one", { query: [...op.query, "unknown"].join("&") });
  }

  if (op.body) {
    for (const raw of sliceFor(BODY_NASTIES, turn.body++, 3))
      add(`body: ${raw.label}`, {
        body: { text: raw.body, contentType: raw.contentType, streamed: raw.streamed ?? false },
      });
    bases.forEach((base, b) => {
      const paths = fieldPaths(base);
      const inner = JSON.stringify(base).slice(1, -1);
      if (base !== null && typeof base === "object" && !Array.isArray(base)) {
        add(`body ${b}: with __proto__ and constructor keys`, {
          body: {
            text: `{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}${
              inner ? `,${inner}` : ""
            }}`,
            contentType: "application/json",
          },
        });
      }
      paths.forEach((path) => {
        const alternative = alternatives[b];
        const schema = alternative && schemaAt(alternative, path);
        const field = turn.field++;
        const edges = schema ? sliceFor(rangeEdges(schema), field, 1) : [];
        for (const value of [...sliceFor(FIELD_NASTIES, field, 1), ...edges]) {
          add(`body ${b}: field ${path.join(".")} = ${value.label}`, {
            body: { text: jsonWith(base, path, value.raw), contentType: "application/json" },
            field: { path, raw: value.raw },
          });
        }
      });
      generatedFieldValues(2, FUZZ_SEED + index * 31 + b).forEach((value, g) => {
        const path = paths[(index + g) % Math.max(paths.length, 1)] ?? [];
        add(`body ${b}: ${path.length ? `field ${path.join(".")}` : "whole body"} = ${value.label}`, {
          body: { text: jsonWith(base, path, value.raw), contentType: "application/json" },
          field: { path, raw: value.raw },
        });
      });
    });
  } else if (op.method !== "GET" && op.method !== "HEAD") {
    // A body on a route that takes none is ignored, never a failure of its own.
    for (const raw of sliceFor(BODY_NASTIES, turn.ignoredBody++, 3))
      add(`unexpected body: ${raw.label}`, {
        body: { text: raw.body, contentType: raw.contentType, streamed: raw.streamed ?? false },
      });
  }

  if (op.headers.includes("Idempotency-Key")) {
    for (const [label, value] of [
      ["empty", ""],
      ["10 KB", "k".repeat(10_240)],
      ["unicode", utf8Header("🚗 ключ")],
      ["a list", "a, b"],
    ] as const) {
      add(`Idempotency-Key: ${label}`, { headers: { ...upgrade, "Idempotency-Key": value } });
    }
  }
  if (op.headers.includes("Last-Event-ID")) {
    for (const [label, value] of [
      ["word", "abc"],
      ["-1", "-1"],
      ["1e3", "1e3"],
      ["24 digits", "999999999999999999999999"],
      ["empty", ""],
      ["unicode", utf8Header("١٢")],
    ] as const) {
      add(`Last-Event-ID: ${label}`, { headers: { ...upgrade, "Last-Event-ID": value } });
    }
  }
  const routing: [string, Partial<FuzzCase>][] = [
    ["a trailing slash", { path: `${ownPath}/` }],
    ["a double slash", { path: ownPath.replace("/", "//") }],
    ["an upper-case path", { path: ownPath.toUpperCase() }],
    ["a method the path does not have", { method: "PUT" }],
    ["HEAD", { method: "HEAD", body: undefined }],
    [
      "a CORS preflight from another site",
      {
        method: "OPTIONS",
        body: undefined,
        headers: {
          Origin: "https://evil.example",
          "Access-Control-Request-Method": op.method,
          "Access-Control-Request-Headers": "authorization, x-evil",
        },
      },
    ],
  ];
  for (const [label, change] of sliceFor(routing, index, 1)) add(label, change);
  for (const nasty of sliceFor(HEADER_NASTIES, index, 1))
    add(nasty.label, { headers: { ...upgrade, ...keyFor(op), ...nasty.headers } });
  if (op.socket) {
    add("a WebSocket upgrade from another site", { headers: { Upgrade: "websocket", Origin: "https://evil.example" } });
    add("no Upgrade header", { headers: {} });
  } else if (op.method === "GET") {
    // GET routes only: workerd sends any request that carries Upgrade: websocket to the Worker
    // as a GET without its body (a POST here is answered by the path's GET route).
    add("Upgrade: websocket on a route that is not a socket", { headers: { Upgrade: "websocket" } });
  }
  return cases;
}

/**
 * A long poll with nothing to answer yet: from the seq it is at (read with `timeout=0`), it
 * waits its whole `timeout`. That is the route working; the fuzzer aborts it (LONG_POLL_ABORT_MS).
 */
async function waitingPoll(
  op: DocOperation,
  caller: Exclude<Caller, "anonymous">,
  fixtures: Fixtures,
): Promise<FuzzCase> {
  const path = pathWith(op, idsFor(fixtures, op).own);
  const res = await exports.default.fetch(`${BASE}${path}?timeout=0`, {
    headers: { Authorization: `Bearer ${fixtures.tokens[caller]}` },
  });
  expect(res.status, `${op.method} ${path}?timeout=0 as ${caller}`).toBe(200);
  const { seq } = z.object({ seq: z.number().int() }).parse(await res.json());
  return { op, label: "a long poll that waits", caller, path, query: `since=${seq}&timeout=30`, headers: {} };
}

// ---------------------------------------------------------------------------------------------
// Sending one case, and judging its answer.

/** `text` as a stream of 8 KB chunks: a body whose length nobody announces. */
function inChunks(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      const end = offset + 8_192;
      controller.enqueue(bytes.slice(offset, end));
      offset = end;
    },
  });
}

const sleep = (ms: number) => new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), ms));

async function send(c: FuzzCase, fixtures: Fixtures): Promise<Outcome> {
  const headers = new Headers(c.headers);
  const authorization =
    c.authorization === undefined
      ? c.caller === "anonymous"
        ? null
        : `Bearer ${(c.op.apiKey ? fixtures.apiKeys : fixtures.tokens)[c.caller]}`
      : c.authorization;
  if (authorization !== null) headers.set("Authorization", authorization);
  if (c.body?.contentType) headers.set("Content-Type", c.body.contentType);
  const url = `${BASE}${c.path}${c.query ? `?${c.query}` : ""}`;
  const controller = new AbortController();
  const waitMs = c.op.longPoll ? LONG_POLL_ABORT_MS : ANSWER_WITHIN_MS;
  const started = Date.now();
  const answer = exports.default
    .fetch(url, {
      method: c.method ?? c.op.method,
      headers,
      ...(c.body ? { body: c.body.streamed ? inChunks(c.body.text) : c.body.text } : {}),
      signal: controller.signal,
    })
    .catch((err: unknown) => new Error(err instanceof Error ? `${err.name}: ${err.message}` : String(err)));
  const res = await Promise.race([answer, sleep(waitMs)]);
  if (res === "timeout") {
    controller.abort();
    const status = c.op.longPoll ? "open" : "no answer";
    return {
      status,
      ms: Date.now() - started,
      detail: "",
      problems: c.op.longPoll ? [] : [`no answer within ${ANSWER_WITHIN_MS} ms`],
    };
  }
  if (res instanceof Error)
    return {
      status: "no answer",
      ms: Date.now() - started,
      detail: res.message,
      problems: [`the request failed: ${res.message}`],
    };

  if (res.status === 101) {
    // An upgrade that succeeded: a socket to close, not a body to read.
    res.webSocket?.accept();
    res.webSocket?.close(1000, "fuzz");
    return { status: 101, ms: Date.now() - started, detail: "", problems: [] };
  }
  if (res.status === 200 && res.headers.get("Content-Type")?.startsWith("text/event-stream")) {
    // An SSE stream opened: that is the route working; it is cancelled rather than read.
    await res.body?.cancel();
    return { status: 200, ms: Date.now() - started, detail: "(event stream)", problems: [] };
  }
  const text = await Promise.race([res.text(), sleep(Math.max(ANSWER_WITHIN_MS - (Date.now() - started), 1))]);
  const ms = Date.now() - started;
  if (text === "timeout") {
    controller.abort();
    return { status: res.status, ms, detail: "", problems: [`the body did not finish within ${ANSWER_WITHIN_MS} ms`] };
  }
  const problems: string[] = [];
  if (res.status >= 500) problems.push(`${res.status}, a server error`);
  if (ms > ANSWER_WITHIN_MS) problems.push(`answered after ${ms} ms`);
  // The one exception to the error body: an answer to HEAD has no body at all (RFC 9110, 9.3.2).
  if (res.status >= 400 && c.method !== "HEAD") problems.push(...errorBodyProblems(res, text));
  return { status: res.status, ms, detail: shorten(text, 300), problems };
}

/** API.md's error body: JSON `{ error: { code, message, details?, traceId } }` and nothing else. */
function errorBodyProblems(res: Response, text: string): string[] {
  if (!res.headers.get("Content-Type")?.startsWith("application/json"))
    return [`a ${res.status} that is not JSON (${res.headers.get("Content-Type")})`];
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return [`a ${res.status} whose body does not parse as JSON`];
  }
  const parsed = ErrorBody.strict().safeParse(body);
  if (!parsed.success) return [`a ${res.status} whose body is not the API error body`];
  const { error } = parsed.data;
  if (
    Object.keys(error).some((key) => !["code", "message", "details", "traceId"].includes(key)) ||
    !error.code ||
    !error.message
  )
    return [`a ${res.status} whose error has other fields or empty ones`];
  if (!error.traceId || error.traceId !== res.headers.get("X-Trace-Id"))
    return [`a ${res.status} whose error lacks the response's trace id`];
  return [];
}

function describeCase(c: FuzzCase): string {
  const auth =
    c.authorization === undefined
      ? c.caller
      : c.authorization === null
        ? "no Authorization"
        : `Authorization ${shorten(c.authorization, 60)}`;
  const headers = Object.entries(c.headers).map(([name, value]) => `${name}: ${shorten(value, 40)}`);
  const query = c.query
    ? `?${c.query.length > 200 ? `${c.query.slice(0, 200)}… (${c.query.length} chars)` : c.query}`
    : "";
  const path = c.path.length > 200 ? `${c.path.slice(0, 200)}… (${c.path.length} chars)` : c.path;
  const body = c.body
    ? ` body ${shorten(c.body.text)} (${c.body.contentType ?? "no Content-Type"}${c.body.streamed ? ", streamed" : ""})`
    : "";
  return (
    `${c.op.method} ${c.op.path} [${c.label}] as ${auth}: ${c.method ?? c.op.method} ` +
    `${path}${query}${headers.length ? ` headers {${headers.join(", ")}}` : ""}${body}`
  );
}

// ---------------------------------------------------------------------------------------------

let fixtures: Fixtures;
let operations: DocOperation[];

beforeAll(async () => {
  fixtures = await makeFixtures();
  const res = await exports.default.fetch(`${BASE}/v1/openapi.json`);
  expect(res.status).toBe(200);
  operations = operationsOf(OpenApiDocument.parse(await res.json()));
}, 60_000);

afterAll(async () => {
  fixtures?.driver.socket.close();
  await stopTripAlarms();
});

describe("the route fuzzer", () => {
  it("finds routes in the document, and every route of the Hono app among them", () => {
    // Without routes the walk below would pass by sending nothing.
    expect(operations.length).toBeGreaterThan(10);
    const documented = new Set(operations.map((op) => `${op.method} ${op.path}`));
    // `use()` middleware registers as method ALL; only real routes are compared.
    const registered = new Set(
      app.routes
        .filter((route) => route.method !== "ALL")
        .map((route) => `${route.method} ${documentPathOf(route.path)}`),
    );
    expect(
      [...registered].filter((route) => !documented.has(route)),
      "routes of the app missing from /v1/openapi.json",
    ).toEqual([]);
    expect(
      [...documented].filter((route) => !registered.has(route)),
      "routes in /v1/openapi.json the app does not have",
    ).toEqual([]);
  });

  it("answers every bad input to every documented route below 500, " +
    "within 5 s, with the API error body on a 4xx", async () => {
    const failures: string[] = [];
    /** Per operation, the statuses it answered, to show that signed-in callers got past authentication. */
    const statuses = new Map<DocOperation, Set<number | string>>();
    let sent = 0;
    let heldOpen = 0;
    const started = Date.now();
    const run = async (c: FuzzCase) => {
      const outcome = await send(c, fixtures);
      sent++;
      statuses.get(c.op)?.add(outcome.status) ?? statuses.set(c.op, new Set([outcome.status]));
      if (outcome.status === "open") heldOpen++;
      if (outcome.problems.length > 0)
        failures.push(
          `${describeCase(c)}\n    -> ${outcome.status} in ${outcome.ms} ms: ${outcome.problems.join("; ")} ` +
            `${outcome.detail}`,
        );
      return outcome;
    };

    const turn: Turn = { op: 0, body: 0, ignoredBody: 0, id: 0, query: 0, field: 0 };
    // Logging out ends the callers' sessions, and the stream routes then refuse their tokens
    // (401): the routes that end sessions go last, so every other route meets a live session.
    const endsSession = (op: DocOperation) => op.path === "/v1/auth/logout";
    for (const op of [...operations.filter((o) => !endsSession(o)), ...operations.filter(endsSession)]) {
      const plain = plainCases(op, fixtures);
      const answers = new Map<Caller, Outcome>();
      for (const c of plain) answers.set(c.caller, await run(c));
      // The rider unless the route refuses riders (driver-only routes): bad input should reach validation.
      const caller = answers.get("rider")?.status === 403 && answers.get("driver")?.status !== 403 ? "driver" : "rider";
      for (const c of fuzzCases(op, turn, caller, fixtures)) await run(c);
      if (op.longPoll && op.query.includes("since")) await run(await waitingPoll(op, caller, fixtures));
    }
    const seconds = (Date.now() - started) / 1_000;
    console.log(
      `route fuzzer: ${sent} requests to ${operations.length} operations in ${seconds.toFixed(1)} s (${heldOpen} ` +
        `long polls held open and aborted)`,
    );

    expect(failures, `${failures.length} of ${sent} requests failed:\n${failures.join("\n")}`).toEqual([]);
    // A walk that never got past authentication would prove nothing about the routes behind it.
    const stuckAtAuth = operations
      .filter((op) => op.secured && [...(statuses.get(op) ?? [])].every((status) => status === 401))
      .map((op) => `${op.method} ${op.path}`);
    expect(stuckAtAuth).toEqual([]);
    expect(sent).toBeGreaterThan(operations.length * 5);
    // Prototype-pollution keys went through every body parser in this isolate.
    expect(Object.prototype).not.toHaveProperty("polluted");
  }, 120_000);
});
