// A member who leaves keeps a row in the shard's read_marks (nothing deletes it); when they join
// again, that old mark is below everything new, so it never hides a message posted since.
import { describe, expect, it } from "vitest";
import { call, createRoom, joinRoom, registerUser, type TestUser } from "../helpers/api";
import { flushOutbox, postMessage } from "../helpers/chat";
import { copiedMark } from "../helpers/shards";

const unreadOf = async (user: TestUser, roomId: string) =>
  ((await call("GET", "/v1/rooms", { token: user.token })).body.rooms as { id: string; unread?: number }[]).find(
    (r) => r.id === roomId,
  )?.unread;

describe("a member who left and joined again", () => {
  it("counts what came after the rejoin, not hidden by the old mark, not what came before it", async () => {
    const ada = await registerUser();
    const bob = await registerUser();
    const room = await createRoom(ada);
    await joinRoom(bob, room.id);
    const seqs: number[] = [];
    for (let i = 1; i <= 11; i++) seqs.push((await postMessage(ada, room.id, `before ${i}`)).seq);
    await call("POST", `/v1/rooms/${room.id}/read`, { token: bob.token, body: { seq: seqs.at(-1) } });
    await flushOutbox(room.id);
    const old = await copiedMark(room.id, bob.user.id);
    expect(old).toBe(seqs.at(-1));

    expect((await call("POST", `/v1/rooms/${room.id}/leave`, { token: bob.token })).status).toBe(200);
    for (let i = 1; i <= 3; i++) await postMessage(ada, room.id, `while away ${i}`);
    await joinRoom(bob, room.id);
    await flushOutbox(room.id);
    // The join's mark (the room's newest seq) replaced the old one.
    expect(await copiedMark(room.id, bob.user.id)).toBeGreaterThan(old!);
    expect(await unreadOf(bob, room.id)).toBe(0);
    for (let i = 1; i <= 2; i++) await postMessage(ada, room.id, `after ${i}`);
    await flushOutbox(room.id);
    expect(await unreadOf(bob, room.id)).toBe(2);
  });
});
