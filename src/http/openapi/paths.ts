/**
 * @module http/openapi/paths
 * Renders the operations as the document's `paths`: path, query and header parameters, the JSON
 * request body (or a file's bytes), and the success and error responses.
 */
import { apiKeySecurity, bearerSecurity, jsonSchema } from "./components";
import { errorResponse } from "./errors";
import type { Operation } from "./operation";

const IDEMPOTENCY_KEY = {
  name: "Idempotency-Key",
  in: "header",
  required: false,
  schema: { type: "string", maxLength: 128 },
};
/** A reconnecting EventSource sends the last id it saw, a seq; upgrade.ts resumes after it. */
const LAST_EVENT_ID = {
  name: "Last-Event-ID",
  in: "header",
  required: false,
  schema: { type: "string", pattern: "^[0-9]+$" },
};

function parametersOf(op: Operation) {
  return [
    ...(op.path.match(/\{(\w+)\}/g) ?? []).map((p) => ({
      name: p.slice(1, -1),
      in: "path",
      required: true,
      schema: { type: "string" },
    })),
    ...(op.query ?? []).map((name) => ({ name, in: "query", required: false, schema: { type: "string" } })),
    ...(op.idempotent ? [IDEMPOTENCY_KEY] : []),
    ...(op.sse ? [LAST_EVENT_ID] : []),
  ];
}

/** Raw bytes of each of `types`: an uploaded or downloaded file. */
const fileContent = (types: readonly string[]) =>
  Object.fromEntries(types.map((type) => [type, { schema: { type: "string", contentMediaType: type } }]));

function requestBodyOf(op: Operation) {
  if (op.fileBody) return { requestBody: { required: true, content: fileContent(op.fileBody) } };
  if (!op.body) return {};
  return {
    requestBody: { required: !op.bodyOptional, content: { "application/json": { schema: jsonSchema(op.body) } } },
  };
}

function successContent(op: Operation) {
  if (op.sse) return { "text/event-stream": { schema: { type: "string" } } };
  if (op.fileResponse) return fileContent(op.fileResponse);
  return op.response ? { "application/json": { schema: jsonSchema(op.response) } } : undefined;
}

/** Operations sharing a path become methods of one path item, in the order they are listed. */
export function pathsOf(operations: readonly Operation[]) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    const parameters = parametersOf(op);
    const content = successContent(op);
    const pathItem = paths[op.path] ?? {};
    paths[op.path] = pathItem;
    pathItem[op.method] = {
      summary: op.summary,
      ...(op.auth ? { security: op.apiKey ? apiKeySecurity : bearerSecurity } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...requestBodyOf(op),
      responses: {
        [op.status]: { description: "success", ...(content ? { content } : {}) },
        default: errorResponse(),
      },
    };
  }
  return paths;
}
