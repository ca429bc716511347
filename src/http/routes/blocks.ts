/**
 * @module http/routes/blocks
 * The caller's blocks (docs/API.md, "Blocks"): block a user, lift it, list them. D1 is written
 * first, then every room the two share is told (rooms/room-blocks.ts): a direct conversation
 * stops taking messages, and a group room hides the blocked user's messages from the blocker.
 * Telling the rooms is idempotent, so a repeat of either call also repairs a room that missed one.
 */
import { Hono } from "hono";
import { countBlocks, deleteBlock, findBlock, insertBlock, listBlocks } from "../../db/blocks";
import { sharedRooms } from "../../db/rooms";
import { findUserById } from "../../db/users";
import { ApiError, badRequest, notFound, unwrap } from "../../errors";
import { MAX_BLOCKS_PER_USER } from "../../protocol/common";
import { BlockBody } from "../../protocol/http";
import { chatRoom } from "../../rooms/stubs";
import { requireAccount, requireUser } from "../auth-middleware";
import type { AppContext, AppEnv } from "../context";
import { readBody, readId } from "../validate";

export const blockRoutes = new Hono<AppEnv>();

blockRoutes.use("/me/blocks", requireUser);
blockRoutes.use("/me/blocks/*", requireUser);

/** Tells each room `blocker` and `target` share of the block (`on`) or of its end. */
async function tellSharedRooms(c: AppContext, blocker: string, target: string, on: boolean): Promise<void> {
  const roomIds = await sharedRooms(c.env.DB, blocker, target);
  const results = await Promise.all(roomIds.map((id) => chatRoom(c.env, id).setBlock(blocker, target, on)));
  for (const result of results) unwrap(result);
}

blockRoutes.get("/me/blocks", async (c) => {
  return c.json({ blocks: await listBlocks(c.env.DB, c.get("identity").userId) });
});

blockRoutes.post("/me/blocks", requireAccount, async (c) => {
  const { userId } = c.get("identity");
  const body = await readBody(c, BlockBody);
  if (body.userId === userId) throw badRequest("you cannot block yourself");
  if (!(await findUserById(c.env.DB, body.userId))) throw notFound("user not found");
  const existing = await findBlock(c.env.DB, userId, body.userId);
  if (!existing && (await countBlocks(c.env.DB, userId)) >= MAX_BLOCKS_PER_USER)
    throw new ApiError(409, "too_many_blocks", `you block ${MAX_BLOCKS_PER_USER} users already`, {
      limit: MAX_BLOCKS_PER_USER,
    });
  const added = await insertBlock(c.env.DB, userId, body.userId, Date.now());
  await tellSharedRooms(c, userId, body.userId, true);
  const block = await findBlock(c.env.DB, userId, body.userId);
  if (!block) throw notFound("user not found");
  return c.json({ block }, added ? 201 : 200);
});

blockRoutes.delete("/me/blocks/:userId", async (c) => {
  const { userId } = c.get("identity");
  const target = readId(c, "userId");
  const removed = await deleteBlock(c.env.DB, userId, target);
  // Also when there was none: a room that missed the unblock is repaired.
  await tellSharedRooms(c, userId, target, false);
  if (!removed) throw notFound("not blocked");
  return c.body(null, 204);
});
