/**
 * @module http/openapi/errors
 * The error response every operation has: app.onError answers any failure with the one error
 * body of protocol/common, whatever the status, so the document lists it once as `default`.
 */
import { ErrorBody } from "../../protocol/common";
import { jsonSchema } from "./components";

export const errorResponse = () => ({
  description: "error",
  content: { "application/json": { schema: jsonSchema(ErrorBody) } },
});
