// useRoom keeps the messages of its connection as they are now: the edit, delete and reaction
// frames it receives are applied by applyChange, a pure function tested here on its own.
import { describe, expect, it } from "vitest";
import { applyChange } from "../../../packages/client/src/react";
import type { ChatMessage } from "../../../src/protocol/common";

const message = (seq: number, userId = "usr_a"): ChatMessage => ({
  id: `msg_room_${seq}`,
  roomId: "room",
  seq,
  userId,
  text: `text ${seq}`,
  createdAt: 1_000 + seq,
});
const reaction = (messageSeq: number, userId: string, emoji: string, on: boolean, count: number) =>
  ({
    type: "reaction",
    seq: 100,
    reaction: { roomId: "room", messageSeq, userId, emoji, on, count, at: 5 },
  }) as const;

describe("applyChange", () => {
  it("edits and deletes the message it names, and leaves the others as they were", () => {
    const list = [message(1), message(2)];
    const edited = applyChange(
      list,
      { type: "edit", seq: 3, edit: { roomId: "room", messageSeq: 2, userId: "usr_a", text: "new", editedAt: 9 } },
      "usr_a",
    );
    expect(edited).toEqual([list[0], { ...list[1], text: "new", editedAt: 9 }]);
    expect(edited[0]).toBe(list[0]);
    const deleted = applyChange(
      edited,
      { type: "delete", seq: 4, delete: { roomId: "room", messageSeq: 2, userId: "usr_b", deletedAt: 10 } },
      "usr_a",
    );
    expect(deleted[1]).toEqual({
      id: "msg_room_2",
      roomId: "room",
      seq: 2,
      userId: "usr_a",
      createdAt: 1_002,
      deleted: true,
      deletedAt: 10,
    });
    // A change to a message this list does not hold changes nothing.
    expect(
      applyChange(
        list,
        { type: "delete", seq: 5, delete: { roomId: "room", messageSeq: 7, userId: "u", deletedAt: 1 } },
        null,
      ),
    ).toEqual(list);
  });

  it("counts reactions from the frames, marks mine, and drops an emoji nobody has any more", () => {
    let list = [message(1)];
    list = applyChange(list, reaction(1, "usr_b", "👍", true, 1), "usr_a");
    expect(list[0]?.reactions).toEqual([{ emoji: "👍", count: 1, me: false }]);
    list = applyChange(list, reaction(1, "usr_a", "👍", true, 2), "usr_a");
    list = applyChange(list, reaction(1, "usr_a", "🎉", true, 1), "usr_a");
    expect(list[0]?.reactions).toEqual([
      { emoji: "👍", count: 2, me: true },
      { emoji: "🎉", count: 1, me: true },
    ]);
    list = applyChange(list, reaction(1, "usr_a", "👍", false, 1), "usr_a");
    list = applyChange(list, reaction(1, "usr_a", "🎉", false, 0), "usr_a");
    expect(list[0]?.reactions).toEqual([{ emoji: "👍", count: 1, me: false }]);
    list = applyChange(list, reaction(1, "usr_b", "👍", false, 0), "usr_a");
    expect(list[0]).toEqual(message(1));
  });
});
