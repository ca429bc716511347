/**
 * @module http/routes/server-api
 * The server publish API (README, "Server publish API"), for backends holding an API key, never
 * for users: publish into a chat room as a named system sender, broadcast one message to many
 * rooms, and read a room's history. Each room is checked against the key's scopes. A message
 * goes through the room's own log (ChatRoom.postSystem), so it is sequenced, stored, sent to
 * sockets, SSE and long polls, resumed, archived and notified like a member's.
 *
 * Idempotency: the `Idempotency-Key` header (or the body's `id`) is claimed in the room under
 * the key; a retry answers the first message and posts nothing, and the same key with another
 * text or sender is 409. A broadcast's key is claimed in each of its rooms.
 */
import { Hono } from "hono";
import { ApiError, badRequest, unwrap } from "../../errors";
import { HistoryQuery } from "../../protocol/http";
import { BroadcastBody, type BroadcastResponse, type BroadcastResult, ServerPostBody } from "../../protocol/server-api";
import { chatRoom } from "../../rooms/stubs";
import { scopeAllows } from "../../domain/api-key-scopes";
import { outOfScope, requireApiKey, requireScope } from "../api-key-auth";
import type { AppContext, AppEnv } from "../context";
import { readBody, readId, readIdempotencyKey, readQuery } from "../validate";
import { logJson } from "../../log";

export const serverRoutes = new Hono<AppEnv>();

serverRoutes.use("/server/*", requireApiKey);

/** How many rooms of a broadcast are posted to at once: a bound on the calls one request has open. */
const BROADCAST_CONCURRENCY = 10;

serverRoutes.post("/server/rooms/:id/messages", async (c) => {
  const roomId = readId(c);
  requireScope(c, "publish", roomId);
  const body = await readBody(c, ServerPostBody);
  const key = commandIdOf(c, body.id);
  const message = unwrap(await chatRoom(c.env, roomId).postSystem(c.get("apiKey").id, body.sender, body.text, key));
  return c.json({ message }, 201);
});

serverRoutes.get("/server/rooms/:id/messages", async (c) => {
  const roomId = readId(c);
  requireScope(c, "read", roomId);
  const query = readQuery(c, HistoryQuery);
  return c.json(unwrap(await chatRoom(c.env, roomId).systemHistory(query.before, query.limit)));
});

/**
 * One message to each listed room, each checked against the key's scopes on its own: a room
 * refused or missing is reported in its result and does not stop the others. 200 with a
 * result per room, in the order given.
 */
serverRoutes.post("/server/broadcast", async (c) => {
  const body = await readBody(c, BroadcastBody);
  const key = readIdempotencyKey(c);
  const apiKey = c.get("apiKey");
  const results: BroadcastResult[] = new Array(body.rooms.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < body.rooms.length; i = next++) {
      const roomId = body.rooms[i] as string;
      if (!scopeAllows(apiKey.scopes, "publish", roomId)) {
        results[i] = failed(roomId, outOfScope("publish", roomId));
        continue;
      }
      results[i] = await postOne(c, roomId, apiKey.id, body.sender, body.text, key);
    }
  };
  await Promise.all(Array.from({ length: Math.min(BROADCAST_CONCURRENCY, body.rooms.length) }, worker));
  const posted = results.filter((r) => r.status === 201).length;
  const answer: BroadcastResponse = { results, posted, failed: results.length - posted };
  return c.json(answer);
});

async function postOne(
  c: AppContext,
  roomId: string,
  keyId: string,
  sender: string,
  text: string,
  key: string | undefined,
): Promise<BroadcastResult> {
  try {
    const message = unwrap(await chatRoom(c.env, roomId).postSystem(keyId, sender, text, key));
    return { roomId, status: 201, message };
  } catch (err) {
    if (err instanceof ApiError) return failed(roomId, err);
    // One room's object failing (an overloaded or restarting object) is that room's result only.
    logJson("error", {
      where: "server.broadcast",
      reason: err instanceof Error ? `${err.name}: ${err.message}` : typeof err,
    });
    return failed(roomId, new ApiError(500, "internal", "internal error"));
  }
}

function failed(roomId: string, error: ApiError): BroadcastResult {
  return { roomId, status: error.status, error: { code: error.code, message: error.message } };
}

/** The header's key or the body's `id`: one of them, or both the same. */
function commandIdOf(c: AppContext, bodyId: string | undefined): string | undefined {
  const header = readIdempotencyKey(c);
  if (header !== undefined && bodyId !== undefined && header !== bodyId)
    throw badRequest("the Idempotency-Key header and the body's id differ");
  return header ?? bodyId;
}
