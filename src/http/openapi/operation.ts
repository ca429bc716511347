/**
 * @module http/openapi/operation
 * One route as the document describes it. The path groups list these; paths.ts renders them, and
 * tests read the list itself (docs/API.md's headings, the rate-limit classes).
 */
import type { z } from "zod";

export type Operation = {
  method: "get" | "post" | "put" | "patch" | "delete";
  path: string;
  summary: string;
  auth: boolean;
  /** Authenticated by a server API key (`rwk_…`) rather than a user's access token. */
  apiKey?: boolean;
  body?: z.ZodType;
  /** The route reads an empty body as `{}` (readOptionalBody). */
  bodyOptional?: boolean;
  status: number;
  response?: z.ZodType;
  query?: string[];
  idempotent?: boolean;
  /** Answers a Server-Sent Events stream (and honours `Last-Event-ID`) rather than JSON. */
  sse?: boolean;
};
