/**
 * @module http/routes/room-members
 * Membership of chat rooms beyond joining (docs/API.md, "Members and roles"): leave, remove a
 * member, give or take the admin role, transfer ownership, ban and unban. Who may do what is
 * decided here from D1's roles (the record), D1 is written first, then the room object applies
 * the change: it logs a `member` event and ends the connections of whoever is gone.
 *
 * The owner and admins remove and ban; an admin never removes or bans the owner or another
 * admin. Only the owner changes roles and hands the room over; the owner leaves only after a
 * transfer.
 */
import { Hono } from "hono";
import {
  banFromRoom,
  memberRole,
  removeRoomMember,
  setRoomMemberRole,
  transferRoomOwnership,
  unbanFromRoom,
} from "../../db/rooms";
import { findUserById } from "../../db/users";
import { badRequest, conflict, directRoom, forbidden, notFound, unwrap } from "../../errors";
import type { MemberRole } from "../../protocol/common";
import { BanBody, SetRoleBody, TransferOwnershipBody } from "../../protocol/http";
import { chatRoom } from "../../rooms/stubs";
import type { AppContext, AppEnv } from "../context";
import { readBody, readId } from "../validate";
import { requireKnownRoom } from "./rooms";

/**
 * Mounted after `roomRoutes` (http/app.ts), whose `/rooms/*` middleware (requireUser) runs first
 * for these routes too: applying it here again would verify and rate-limit each call twice.
 */
export const roomMemberRoutes = new Hono<AppEnv>();

/** The caller's role in the room (403 when not a member; 409 in a direct conversation), and the room's id. */
async function callerRole(c: AppContext): Promise<{ roomId: string; userId: string; role: MemberRole }> {
  const { userId } = c.get("identity");
  const [room] = await requireKnownRoom(c.env.DB, readId(c), userId);
  // Its two members stay its two members: nobody leaves, moderates or hands over a direct conversation.
  if (room.kind === "direct") throw directRoom();
  const role = await memberRole(c.env.DB, room.id, userId);
  if (role === null) throw forbidden("join the room first");
  return { roomId: room.id, userId, role };
}

/** The `:userId` of a route: an id, not the caller's own. */
function readTarget(c: AppContext, self: string): string {
  const target = readId(c, "userId");
  if (target === self) throw badRequest("not on yourself: leave the room instead");
  return target;
}

/** Whether `actor` may remove or ban someone with `target`'s role (null: not a member). */
function mayModerate(actor: MemberRole, target: MemberRole | null): boolean {
  if (actor === "owner") return true;
  return actor === "admin" && (target === null || target === "member");
}

roomMemberRoutes.post("/rooms/:id/leave", async (c) => {
  const { roomId, userId, role } = await callerRole(c);
  if (role === "owner")
    throw conflict("the owner cannot leave: transfer ownership to another member first", {
      reason: "owner_must_transfer",
    });
  await removeRoomMember(c.env.DB, roomId, userId);
  unwrap(await chatRoom(c.env, roomId).endMembership(userId, "left"));
  return c.json({ roomId, userId, left: true });
});

roomMemberRoutes.delete("/rooms/:id/members/:userId", async (c) => {
  const { roomId, userId, role } = await callerRole(c);
  const target = readTarget(c, userId);
  const targetRole = await memberRole(c.env.DB, roomId, target);
  if (!mayModerate(role, targetRole))
    throw forbidden(
      role === "member"
        ? "only the owner and admins remove members"
        : "admins cannot remove the owner or another admin",
    );
  if (targetRole === null) {
    // Gone from D1 already: perhaps a removal whose call to the room failed. Repeating the call
    // (idempotent) makes sure the room holds them no longer either.
    unwrap(await chatRoom(c.env, roomId).endMembership(target, "removed", userId));
    throw notFound("not a member of this room");
  }
  await removeRoomMember(c.env.DB, roomId, target);
  unwrap(await chatRoom(c.env, roomId).endMembership(target, "removed", userId));
  return c.body(null, 204);
});

roomMemberRoutes.patch("/rooms/:id/members/:userId", async (c) => {
  const { roomId, userId, role } = await callerRole(c);
  const target = readTarget(c, userId);
  const body = await readBody(c, SetRoleBody);
  if (role !== "owner") throw forbidden("only the owner changes roles");
  const targetRole = await memberRole(c.env.DB, roomId, target);
  if (targetRole === null) throw notFound("not a member of this room");
  await setRoomMemberRole(c.env.DB, roomId, target, body.role);
  unwrap(await chatRoom(c.env, roomId).setRoles([{ userId: target, role: body.role }], userId));
  return c.json({ userId: target, role: body.role });
});

roomMemberRoutes.post("/rooms/:id/owner", async (c) => {
  const { roomId, userId, role } = await callerRole(c);
  const body = await readBody(c, TransferOwnershipBody);
  if (role !== "owner") throw forbidden("only the owner transfers ownership");
  if (body.userId === userId) throw badRequest("you own the room already");
  if ((await memberRole(c.env.DB, roomId, body.userId)) === null) throw notFound("not a member of this room");
  await transferRoomOwnership(c.env.DB, roomId, userId, body.userId);
  unwrap(
    await chatRoom(c.env, roomId).setRoles(
      [
        { userId: body.userId, role: "owner" },
        { userId, role: "admin" },
      ],
      userId,
    ),
  );
  return c.json({ userId: body.userId, role: "owner" });
});

roomMemberRoutes.post("/rooms/:id/bans", async (c) => {
  const { roomId, userId, role } = await callerRole(c);
  const body = await readBody(c, BanBody);
  if (body.userId === userId) throw badRequest("not on yourself: leave the room instead");
  const targetRole = await memberRole(c.env.DB, roomId, body.userId);
  if (!mayModerate(role, targetRole))
    throw forbidden(
      role === "member" ? "only the owner and admins ban" : "admins cannot ban the owner or another admin",
    );
  if (targetRole === null && !(await findUserById(c.env.DB, body.userId))) throw notFound("user not found");
  await banFromRoom(c.env.DB, roomId, body.userId, userId, Date.now());
  unwrap(await chatRoom(c.env, roomId).endMembership(body.userId, "removed", userId, true));
  return c.json({ roomId, userId: body.userId, banned: true }, 201);
});

roomMemberRoutes.delete("/rooms/:id/bans/:userId", async (c) => {
  const { roomId, userId, role } = await callerRole(c);
  const target = readTarget(c, userId);
  if (role === "member") throw forbidden("only the owner and admins unban");
  if (!(await unbanFromRoom(c.env.DB, roomId, target))) throw notFound("not banned from this room");
  return c.body(null, 204);
});
