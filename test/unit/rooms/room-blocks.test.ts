// Who did what a stored chat frame records (src/rooms/room-blocks.ts), which decides what a
// blocker does not see, and the `hidden` frame that stands in for it.
import { describe, expect, it } from "vitest";
import { directRoomId } from "../../../src/domain/direct-rooms";
import { actorOf, hiddenText } from "../../../src/rooms/room-blocks";

describe("actorOf", () => {
  it("names the user of a message, an edit, a delete and a reaction", () => {
    const at = 1;
    expect(actorOf(JSON.stringify({ type: "message", seq: 1, message: { userId: "u1", text: "hi" } }))).toBe("u1");
    expect(
      actorOf(JSON.stringify({ type: "edit", seq: 2, edit: { messageSeq: 1, userId: "u2", text: "x", at } })),
    ).toBe("u2");
    expect(actorOf(JSON.stringify({ type: "delete", seq: 3, delete: { messageSeq: 1, userId: "u3" } }))).toBe("u3");
    expect(actorOf(JSON.stringify({ type: "reaction", seq: 4, reaction: { userId: "u4", emoji: "👍" } }))).toBe("u4");
  });

  it("names nobody for membership events, other frames and anything malformed", () => {
    expect(actorOf(JSON.stringify({ type: "member", seq: 5, member: { userId: "u5", event: "left" } }))).toBeNull();
    expect(actorOf(JSON.stringify({ type: "message", seq: 6, edit: { userId: "u6" } }))).toBeNull();
    expect(actorOf(JSON.stringify({ type: "message", seq: 7, message: { userId: 7 } }))).toBeNull();
    expect(actorOf(JSON.stringify({ type: "constructor", seq: 8 }))).toBeNull();
    for (const text of ["", "not json", "null", "[]", "42", '{"type":1}', '{"type":"message","message":null}'])
      expect(actorOf(text)).toBeNull();
  });
});

describe("hiddenText", () => {
  it("carries the seq and nothing else", () => {
    expect(JSON.parse(hiddenText(12))).toEqual({ type: "hidden", seq: 12 });
  });
});

describe("directRoomId", () => {
  it("is the same for both orders, differs per pair, and is a valid path id", async () => {
    const ab = await directRoomId("usr_a", "usr_b");
    expect(await directRoomId("usr_b", "usr_a")).toBe(ab);
    expect(await directRoomId("usr_a", "usr_c")).not.toBe(ab);
    // A pair that concatenates alike is still another pair.
    expect(await directRoomId("usr_a\nx", "y")).not.toBe(await directRoomId("usr_a", "x\ny"));
    expect(ab).toMatch(/^dm_[0-9a-f]{40}$/);
  });
});
