/**
 * @module http/validate
 * Every input goes through a zod schema here: bodies, queries and path ids. Failures become
 * 400 `invalid_request` with the zod issues in `details`.
 */
import type { z } from "zod";
import { badRequest } from "../errors";
import type { AppContext } from "./context";

function issues(error: z.ZodError) {
  return error.issues.map((i) => ({ path: i.path.join("."), message: i.message, code: i.code }));
}

export async function readBody<S extends z.ZodType>(c: AppContext, schema: S): Promise<z.infer<S>> {
  let data: unknown;
  try {
    data = await c.req.json();
  } catch {
    throw badRequest("body must be JSON");
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) throw badRequest("invalid body", issues(parsed.error));
  return parsed.data;
}

/** For routes whose body is optional: an empty body reads as `{}`. */
export async function readOptionalBody<S extends z.ZodType>(c: AppContext, schema: S): Promise<z.infer<S>> {
  const text = await c.req.text();
  let data: unknown = {};
  if (text.trim() !== "") {
    try {
      data = JSON.parse(text);
    } catch {
      throw badRequest("body must be JSON");
    }
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) throw badRequest("invalid body", issues(parsed.error));
  return parsed.data;
}

export function readQuery<S extends z.ZodType>(c: AppContext, schema: S): z.infer<S> {
  const parsed = schema.safeParse(c.req.query());
  if (!parsed.success) throw badRequest("invalid query", issues(parsed.error));
  return parsed.data;
}

export function readIdempotencyKey(c: AppContext): string | undefined {
  const key = c.req.header("Idempotency-Key");
  if (key === undefined) return undefined;
  if (key.length < 1 || key.length > 128) throw badRequest("Idempotency-Key must be 1 to 128 characters");
  return key;
}

/** Ids are opaque, but bounded, so a long or odd path segment never reaches storage. */
export function readId(c: AppContext, name = "id"): string {
  const id = c.req.param(name) ?? "";
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw badRequest(`invalid ${name}`);
  return id;
}
