/**
 * @module http/routes/rooms
 * Chat rooms (docs/API.md): create, list, join, add member, members, history, post (and reply,
 * with attachments: http/routes/attachments.ts),
 * edit, delete and react, and the socket upgrade. Leaving, removing, roles and bans are in
 * http/routes/room-members.ts.
 * Membership changes go to D1 first, then to the room object; messages and history go
 * straight to the room object, which keeps D1 off the message path.
 */
import { Hono } from "hono";
import {
  addRoomMember,
  countRoomMembers,
  findRoom,
  insertRoom,
  isBannedFromRoom,
  isRoomMember,
  listVisibleRooms,
  roomMembersWithNames,
  unreadTotal,
} from "../../db/rooms";
import { blocksWithMembers } from "../../db/blocks";
import { findUserById } from "../../db/users";
import { ApiError, badRequest, directRoom, forbidden, notFound, unwrap } from "../../errors";
import type { Room } from "../../protocol/common";
import {
  AddMemberBody,
  CreateRoomBody,
  EditMessageBody,
  HistoryQuery,
  MessageSeqParam,
  PostRoomMessageBody,
  ReactBody,
  ReadMarkBody,
} from "../../protocol/http";
import { requireAccount, requireUser } from "../auth-middleware";
import type { AppContext, AppEnv } from "../context";
import { forwardFallback, forwardUpgrade } from "../upgrade";
import { newId } from "../../ids";
import { readBody, readId, readIdempotencyKey, readQuery } from "../validate";
import { chatRoom } from "../../rooms/stubs";

export const roomRoutes = new Hono<AppEnv>();

roomRoutes.use("/rooms", requireUser);
roomRoutes.use("/rooms/*", requireUser);

roomRoutes.post("/rooms", requireAccount, async (c) => {
  const body = await readBody(c, CreateRoomBody);
  const room: Room = {
    id: newId("room"),
    name: body.name,
    private: body.private,
    kind: "group",
    createdBy: c.get("identity").userId,
    createdAt: Date.now(),
  };
  // The object first: if D1 then fails, nothing lists the room, and a retry makes a new one.
  unwrap(await chatRoom(c.env, room.id).initialize(room));
  await insertRoom(c.env.DB, room);
  return c.json({ room }, 201);
});

roomRoutes.get("/rooms", async (c) => {
  const { userId } = c.get("identity");
  const [rooms, total] = await Promise.all([listVisibleRooms(c.env, userId, 100), unreadTotal(c.env, userId)]);
  return c.json({ rooms, unreadTotal: total });
});

export async function requireRoom(d1: D1Database, roomId: string): Promise<Room> {
  const room = await findRoom(d1, roomId);
  if (!room) throw notFound("room not found");
  return room;
}

/**
 * A room as `userId` may know of it: a direct conversation they are not in answers 404, as a
 * room that does not exist (its id is computable from the pair: nobody learns who talks to whom).
 * Answers whether they are a member.
 */
export async function requireKnownRoom(d1: D1Database, roomId: string, userId: string): Promise<[Room, boolean]> {
  const room = await requireRoom(d1, roomId);
  const member = await isRoomMember(d1, room.id, userId);
  if (room.kind === "direct" && !member) throw notFound("room not found");
  return [room, member];
}

/**
 * What a new member must pass: not banned from the room, and room for one more (ROOM_MAX_MEMBERS).
 * The count is D1's; two joins at the same moment may both pass it by one.
 */
async function admitNewMember(c: AppContext, room: Room, userId: string): Promise<void> {
  if (await isBannedFromRoom(c.env.DB, room.id, userId)) throw forbidden("banned from this room");
  const limit = c.get("config").ROOM_MAX_MEMBERS;
  if ((await countRoomMembers(c.env.DB, room.id)) >= limit)
    throw new ApiError(409, "room_full", `the room is full (${limit} members)`, { limit });
}

roomRoutes.post("/rooms/:id/join", requireAccount, async (c) => {
  const { userId } = c.get("identity");
  const [room, member] = await requireKnownRoom(c.env.DB, readId(c), userId);
  if (room.kind === "direct") throw directRoom("nobody joins a direct conversation");
  if (!member && (await isBannedFromRoom(c.env.DB, room.id, userId))) throw forbidden("banned from this room");
  if (room.private && !member) throw forbidden("this room is private; a member must add you");
  if (!member) await admitNewMember(c, room, userId);
  if (!member) await addRoomMember(c.env.DB, room.id, userId, Date.now());
  // Also when already a member in D1: repairs an object that missed an earlier call.
  unwrap(await chatRoom(c.env, room.id).addMember(userId, await blocksWithMembers(c.env.DB, room.id, userId)));
  return c.json({ room });
});

roomRoutes.post("/rooms/:id/members", async (c) => {
  const [room, member] = await requireKnownRoom(c.env.DB, readId(c), c.get("identity").userId);
  const body = await readBody(c, AddMemberBody);
  if (!member) throw forbidden("only members may add members");
  if (room.kind === "direct") throw directRoom();
  if (!(await findUserById(c.env.DB, body.userId))) throw notFound("user not found");
  if (!(await isRoomMember(c.env.DB, room.id, body.userId))) {
    await admitNewMember(c, room, body.userId);
    await addRoomMember(c.env.DB, room.id, body.userId, Date.now());
  }
  unwrap(
    await chatRoom(c.env, room.id).addMember(body.userId, await blocksWithMembers(c.env.DB, room.id, body.userId)),
  );
  return c.json({ room, userId: body.userId });
});

/** Who is in the room, with names to show next to their messages (members only). */
roomRoutes.get("/rooms/:id/members", async (c) => {
  const [room, member] = await requireKnownRoom(c.env.DB, readId(c), c.get("identity").userId);
  if (!member) throw forbidden("join the room first");
  return c.json({ members: await roomMembersWithNames(c.env.DB, room.id) });
});

roomRoutes.get("/rooms/:id/messages", async (c) => {
  const query = readQuery(c, HistoryQuery);
  const page = unwrap(await chatRoom(c.env, readId(c)).history(c.get("identity"), query.before, query.limit));
  return c.json(page);
});

/** The socket's `read` frame, for clients without a socket: moves the caller's read mark (unread counts). */
roomRoutes.post("/rooms/:id/read", async (c) => {
  const roomId = readId(c);
  const body = await readBody(c, ReadMarkBody);
  const seq = unwrap(await chatRoom(c.env, roomId).markReadOver(c.get("identity"), body.seq));
  return c.json({ roomId, seq });
});

roomRoutes.post("/rooms/:id/messages", async (c) => {
  const roomId = readId(c);
  const idempotencyKey = readIdempotencyKey(c);
  const body = await readBody(c, PostRoomMessageBody);
  const message = unwrap(
    await chatRoom(c.env, roomId).postMessage(
      c.get("identity"),
      body.text ?? "",
      idempotencyKey,
      body.replyTo,
      body.attachments?.map((a) => a.key),
      c.get("traceId"),
    ),
  );
  return c.json({ message }, 201);
});

/** The `:seq` of a message route. */
function readSeq(c: AppContext): number {
  const raw = c.req.param("seq") ?? "";
  const parsed = MessageSeqParam.safeParse(/^[0-9]{1,16}$/.test(raw) ? raw : Number.NaN);
  if (!parsed.success) throw badRequest("invalid seq");
  return parsed.data;
}

roomRoutes.patch("/rooms/:id/messages/:seq", async (c) => {
  const roomId = readId(c);
  const seq = readSeq(c);
  const idempotencyKey = readIdempotencyKey(c);
  const body = await readBody(c, EditMessageBody);
  const message = unwrap(await chatRoom(c.env, roomId).editMessage(c.get("identity"), seq, body.text, idempotencyKey));
  return c.json({ message });
});

roomRoutes.delete("/rooms/:id/messages/:seq", async (c) => {
  const roomId = readId(c);
  const seq = readSeq(c);
  const idempotencyKey = readIdempotencyKey(c);
  const message = unwrap(await chatRoom(c.env, roomId).deleteMessage(c.get("identity"), seq, idempotencyKey));
  return c.json({ message });
});

roomRoutes.post("/rooms/:id/messages/:seq/reactions", async (c) => {
  const roomId = readId(c);
  const seq = readSeq(c);
  const idempotencyKey = readIdempotencyKey(c);
  const body = await readBody(c, ReactBody);
  const message = unwrap(
    await chatRoom(c.env, roomId).react(c.get("identity"), seq, body.emoji, body.on, idempotencyKey),
  );
  return c.json({ message });
});

roomRoutes.get("/rooms/:id/ws", async (c) => forwardUpgrade(c, chatRoom(c.env, readId(c))));
roomRoutes.get("/rooms/:id/events", async (c) => forwardFallback(c, chatRoom(c.env, readId(c)), "events"));
roomRoutes.get("/rooms/:id/poll", async (c) => forwardFallback(c, chatRoom(c.env, readId(c)), "poll"));
