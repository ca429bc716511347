/**
 * @module client/answers
 * What the SDK checks of an HTTP answer before handing it on, without a schema library: the
 * server validates everything it writes with the protocol module's zod schemas, and full zod
 * would be most of the SDK's weight, so the client checks only the fields it reads itself (the
 * envelope's keys, a token, a cursor) and types the rest with the protocol's types. A proxy's
 * page or an answer from another service still fails here with `invalid_response`.
 */

type Base = "object" | "array" | "string" | "number" | "integer" | "boolean" | "unknown";
/** The JSON kind a field must have; `| null` allows null as well. */
export type Kind = Base | `${Base} | null`;

/** Where a field does not fit: its path and what was expected, like zod's issues. */
export type AnswerIssue = { path: string[]; message: string };
export type AnswerCheck<T> = {
  safeParse(data: unknown): { success: true; data: T } | { success: false; error: { issues: AnswerIssue[] } };
};

/** A check of the top-level fields of an answer `T`; fields left out of `fields` are not looked at. */
export function answer<T>(fields: { [K in keyof T]?: Kind }): AnswerCheck<T> {
  return {
    safeParse(data) {
      if (!isRecord(data)) return { success: false, error: { issues: [{ path: [], message: "expected an object" }] } };
      const issues: AnswerIssue[] = [];
      for (const [key, kind] of Object.entries(fields) as [string, Kind][]) {
        if (!fits(data[key], kind)) issues.push({ path: [key], message: `expected ${kind}` });
      }
      // The checked fields are the ones the SDK reads; the rest is typed by the protocol module.
      return issues.length === 0 ? { success: true, data: data as T } : { success: false, error: { issues } };
    },
  };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function fits(value: unknown, kind: Kind): boolean {
  if (value === null) return kind.endsWith("| null") || kind === "unknown";
  const base = kind.replace(" | null", "") as Base;
  switch (base) {
    case "object":
      return isRecord(value);
    case "array":
      return Array.isArray(value);
    case "integer":
      return Number.isInteger(value);
    case "unknown":
      return true;
    default:
      return typeof value === base;
  }
}
