// The SDK's DeliveryTracker: ticks and counts from a chat connection's frames, by the server's
// rule (an online member's mark follows the room's seq; reading implies delivery).
import { describe, expect, it } from "vitest";
import { type ChatServerFrame, DeliveryTracker } from "@ridewire/client";

const message = (seq: number, userId: string): ChatServerFrame => ({
  type: "message",
  seq,
  message: { id: `m${seq}`, roomId: "room", seq, userId, text: "hi", createdAt: seq },
});

function tracked(frames: ChatServerFrame[]): DeliveryTracker {
  const tracker = new DeliveryTracker();
  for (const frame of frames) tracker.apply(frame);
  return tracker;
}

const welcome = (online: string[], delivered: Record<string, number> = {}, reads: Record<string, number> = {}) =>
  ({ type: "welcome", seq: 0, members: ["ada", "bob", "cy"], online, reads, roles: {}, delivered }) as ChatServerFrame;

describe("DeliveryTracker", () => {
  it("goes sent → delivered → read in a direct conversation", () => {
    const tracker = tracked([
      { type: "welcome", seq: 0, members: ["ada", "bob"], online: ["ada"], reads: {}, roles: {}, delivered: {} },
      message(1, "ada"),
    ]);
    expect(tracker.stateOf(1, "ada")).toEqual({ status: "sent", deliveredTo: 0, readBy: 0 });
    tracker.apply({ type: "presence", event: "join", userId: "bob" });
    expect(tracker.stateOf(1, "ada").status).toBe("delivered");
    // While Bob is online, a new message is delivered as it is sent.
    tracker.apply(message(2, "ada"));
    expect(tracker.stateOf(2, "ada").status).toBe("delivered");
    tracker.apply({ type: "read", userId: "bob", seq: 1 });
    expect(tracker.stateOf(1, "ada").status).toBe("read");
    expect(tracker.stateOf(2, "ada").status).toBe("delivered");
    // Bob leaves: what reached him stays; what comes after does not reach him.
    tracker.apply({ type: "presence", event: "leave", userId: "bob" });
    tracker.apply(message(3, "ada"));
    expect(tracker.deliveredThrough("bob")).toBe(2);
    expect(tracker.stateOf(3, "ada").status).toBe("sent");
    tracker.apply({ type: "delivered", userId: "bob", seq: 3 });
    expect(tracker.stateOf(3, "ada").status).toBe("delivered");
  });

  it("counts a group's members but the author, from the welcome's marks on", () => {
    const tracker = tracked([welcome(["ada"], { bob: 2 }, { cy: 1 }), message(1, "ada"), message(2, "ada")]);
    expect(tracker.stateOf(1, "ada")).toEqual({ status: "read", deliveredTo: 2, readBy: 1 });
    expect(tracker.stateOf(2, "ada")).toEqual({ status: "delivered", deliveredTo: 1, readBy: 0 });
    // The author's own connection does not count for their message.
    expect(tracker.stateOf(2, "bob")).toEqual({ status: "delivered", deliveredTo: 1, readBy: 0 });
    // A member who leaves no longer counts.
    tracker.apply({
      type: "member",
      seq: 3,
      member: { roomId: "room", userId: "cy", event: "left", at: 3 },
    });
    expect(tracker.stateOf(1, "ada")).toEqual({ status: "delivered", deliveredTo: 1, readBy: 0 });
  });

  it("never moves a mark back, and starts over on a new welcome", () => {
    const tracker = tracked([welcome([], { bob: 5 }), { type: "delivered", userId: "bob", seq: 3 }]);
    expect(tracker.deliveredThrough("bob")).toBe(5);
    tracker.apply(welcome([], {}));
    expect(tracker.deliveredThrough("bob")).toBe(0);
  });
});
