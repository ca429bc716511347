/**
 * @module http/routes/api-keys
 * Operators make, list and revoke the API keys of the server publish API
 * (`/v1/admin/api-keys`, mounted by routes/admin.ts behind its `admin` check). The secret is in
 * the creation's answer only; D1 keeps its hash. Creating and revoking are audited like every
 * operator's action, in the same batch as the change. A revoke counts from the next call the key
 * makes: http/api-key-auth.ts reads the key on every call, with no cache.
 */
import { Hono } from "hono";
import { mintApiKey } from "../../auth/api-key";
import { createApiKey, listApiKeys, revokeApiKey } from "../../db/api-keys";
import { conflict, notFound } from "../../errors";
import {
  CreateApiKeyBody,
  RevokeApiKeyBody,
  type CreateApiKeyResponse,
  type RevokeApiKeyResponse,
} from "../../protocol/server-api";
import type { AppEnv } from "../context";
import { readBody, readId, readOptionalBody } from "../validate";

export const apiKeyRoutes = new Hono<AppEnv>();

/** Listings stop here; an operator who needs more revokes the old ones. */
const MAX_LISTED = 200;

apiKeyRoutes.post("/", async (c) => {
  const body = await readBody(c, CreateApiKeyBody);
  const actorId = c.get("identity").userId;
  const minted = await mintApiKey();
  const { apiKey, audit } = await createApiKey(
    c.env.DB,
    { id: minted.id, name: body.name, secretHash: minted.secretHash, scopes: body.scopes },
    actorId,
    body.reason ?? `API key "${body.name}" created`,
    Date.now(),
  );
  const answer: CreateApiKeyResponse = { apiKey, secret: minted.secret, audit };
  return c.json(answer, 201);
});

apiKeyRoutes.get("/", async (c) => c.json({ apiKeys: await listApiKeys(c.env.DB, MAX_LISTED) }));

apiKeyRoutes.delete("/:id", async (c) => {
  const keyId = readId(c);
  const body = await readOptionalBody(c, RevokeApiKeyBody);
  const change = await revokeApiKey(c.env.DB, keyId, c.get("identity").userId, body.reason ?? "revoked", Date.now());
  if (!change.apiKey) throw notFound("API key not found");
  if (!change.changed) throw conflict("the API key is revoked already", { revokedAt: change.apiKey.revokedAt });
  const answer: RevokeApiKeyResponse = { apiKey: change.apiKey, audit: change.audit };
  return c.json(answer);
});
