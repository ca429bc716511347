/**
 * @module http/openapi/components
 * What every operation of the document shares: JSON Schema made from the routes' own zod
 * schemas, and the bearer scheme that `auth: true` operations name.
 */
import { z } from "zod";

/**
 * The schema of what a client sends (`io: "input"`: a field with a default is optional). A type
 * JSON Schema cannot express (a Date, a bigint) becomes `{}` instead of throwing.
 */
export const jsonSchema = (type: z.ZodType) => z.toJSONSchema(type, { io: "input", unrepresentable: "any" });

export const securitySchemes = {
  bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
  /** The server publish API's keys (`/v1/server/*`): `Authorization: Bearer rwk_<key id>_<secret>`. */
  apiKey: { type: "http", scheme: "bearer", bearerFormat: "rwk_<key id>_<secret>" },
};
/** An operation's `security`: the access token as `Authorization: Bearer` (the scheme above). */
export const bearerSecurity = [{ bearer: [] }];
/** An operation's `security` on the server publish API: an API key, never a user's token. */
export const apiKeySecurity = [{ apiKey: [] }];
