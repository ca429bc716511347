/**
 * @module http/routes/direct-rooms
 * Direct conversations (docs/API.md, "Direct conversations"): `POST /v1/rooms/direct` with the
 * other user's id answers the one room of that pair, made the first time (201) and found after
 * (200). Its id is derived from the pair (domain/direct-rooms.ts), so two calls at once, in
 * either order, name the same room: the room object makes it once, and D1's insert tells which
 * call was first. Everything else about it is a chat room's: messages, history, sockets.
 */
import { Hono } from "hono";
import { blocksBetween } from "../../db/blocks";
import { findRoom, insertDirectRoom } from "../../db/rooms";
import { findUserById } from "../../db/users";
import { directRoomId } from "../../domain/direct-rooms";
import { badRequest, blocked, notFound, unwrap } from "../../errors";
import type { Room } from "../../protocol/common";
import { DirectRoomBody } from "../../protocol/http";
import { chatRoom } from "../../rooms/stubs";
import { requireAccount } from "../auth-middleware";
import type { AppEnv } from "../context";
import { readBody } from "../validate";

/** Mounted with the room routes: their `/rooms/*` middleware (requireUser) runs first. */
export const directRoomRoutes = new Hono<AppEnv>();

directRoomRoutes.post("/rooms/direct", requireAccount, async (c) => {
  const { userId } = c.get("identity");
  const body = await readBody(c, DirectRoomBody);
  if (body.userId === userId) throw badRequest("a direct conversation is with another user");
  // As `POST /rooms/:id/members` does: an unknown id is 404, no more said.
  if (!(await findUserById(c.env.DB, body.userId))) throw notFound("user not found");
  const blocks = await blocksBetween(c.env.DB, userId, body.userId);
  if (blocks.some((b) => b.blocker === body.userId)) throw blocked("you cannot send messages to this user");
  const id = await directRoomId(userId, body.userId);
  const found = await findRoom(c.env.DB, id);
  if (found) return c.json({ room: found }, 200);
  const room: Room = { id, name: "direct", private: true, kind: "direct", createdBy: userId, createdAt: Date.now() };
  // The object first, as for any room: if D1 then fails, a retry finds the object made.
  unwrap(await chatRoom(c.env, id).initializeDirect(room, body.userId, blocks));
  if (await insertDirectRoom(c.env.DB, room, body.userId)) return c.json({ room }, 201);
  // Another call stored it in the meantime: its room (creator, time) is the one.
  return c.json({ room: (await findRoom(c.env.DB, id)) ?? room }, 200);
});
