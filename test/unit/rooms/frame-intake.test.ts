// What a room makes of one text frame before acting on it (src/rooms/frame-intake.ts): size,
// JSON, rate, the auth frame, the fast path and the zod path with their error wording.
import { describe, expect, it } from "vitest";
import { ChatClientFrame } from "../../../src/protocol/frames";
import { fastChatFrame } from "../../../src/protocol/fast-frames";
import { takeFrame, type IntakeRules } from "../../../src/rooms/frame-intake";

function rules(overrides: Partial<IntakeRules<ChatClientFrame>> = {}): IntakeRules<ChatClientFrame> {
  return { maxFrameBytes: 64, takeToken: () => true, fastFrame: fastChatFrame, schema: ChatClientFrame, ...overrides };
}

describe("takeFrame", () => {
  it("takes a valid frame, through the fast path or zod alike", () => {
    expect(takeFrame('{"type":"message","id":"a","text":"hi"}', rules())).toEqual({
      kind: "frame",
      frame: { type: "message", id: "a", text: "hi" },
    });
    const slow = rules({ fastFrame: () => undefined });
    expect(takeFrame('{"type":"typing","active":true}', slow)).toEqual({
      kind: "frame",
      frame: { type: "typing", active: true },
    });
  });

  it("refuses binary, oversized and non-JSON frames with their own wording", () => {
    expect(takeFrame(new ArrayBuffer(2), rules())).toMatchObject({ kind: "bad", code: "invalid_request" });
    expect(takeFrame(`{"type":"message","text":"${"x".repeat(80)}"}`, rules())).toMatchObject({
      kind: "bad",
      code: "payload_too_large",
      closeCode: 1009,
    });
    // Counted in UTF-8 bytes: 30 three-byte characters are 90 bytes, over 64.
    expect(takeFrame(`{"type":"message","text":"${"€".repeat(30)}"}`, rules())).toMatchObject({
      code: "payload_too_large",
    });
    expect(takeFrame("{nope", rules())).toMatchObject({ kind: "bad", message: "frame is not JSON" });
  });

  it("refuses a frame over the socket's rate, echoing its id", () => {
    expect(takeFrame('{"type":"message","id":"r1","text":"hi"}', rules({ takeToken: () => false }))).toEqual({
      kind: "bad",
      code: "rate_limited",
      message: "too many frames; slow down",
      id: "r1",
    });
  });

  it("hands an auth frame on without the room's schema", () => {
    expect(takeFrame('{"type":"auth","token":"t"}', rules())).toEqual({
      kind: "auth",
      data: { type: "auth", token: "t" },
    });
  });

  it("words unknown types and invalid fields, echoing the id", () => {
    expect(takeFrame('{"type":"dance","id":"d"}', rules())).toEqual({
      kind: "bad",
      code: "invalid_request",
      message: 'unknown frame type "dance"',
      id: "d",
    });
    const invalid = takeFrame('{"type":"read","id":"x","seq":-1}', rules());
    expect(invalid).toMatchObject({ kind: "bad", code: "invalid_request", id: "x" });
    expect(invalid.kind === "bad" && invalid.message).toMatch(/^invalid read frame: seq: /);
  });
});
