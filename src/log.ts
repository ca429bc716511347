/**
 * @module log
 * One JSON line per event, with the current request's trace id (trace.ts) when there is one.
 * Ids and reasons only: never message text, tokens or secrets.
 */
import { currentTraceId } from "./trace";

export type LogLevel = "info" | "warn" | "error";

export function logJson(level: LogLevel, fields: Record<string, unknown>): void {
  const traceId = currentTraceId();
  const line = JSON.stringify({ level, ...fields, ...(traceId === undefined ? {} : { traceId }) });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}
