// The chat room's fast check of `message` frames: for any input it either stands aside
// (undefined, and zod parses the frame) or returns exactly what ChatClientFrame's zod parse
// returns; and it does take the common frames, or it would save nothing.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ChatClientFrame } from "../../src/protocol/frames";
import { fastChatFrame } from "../../src/protocol/fast-frames";

/** The fast result agrees with zod: none, or zod's own success value. */
function expectAgreement(input: unknown): void {
  const fast = fastChatFrame(input);
  if (fast === undefined) return;
  const zod = ChatClientFrame.safeParse(input);
  expect(zod.success, `zod refuses what the fast check took: ${JSON.stringify(input)}`).toBe(true);
  expect(fast).toStrictEqual(zod.data);
  expect(JSON.stringify(fast)).toBe(JSON.stringify(zod.data));
}

const id128 = "i".repeat(128);
const text4000 = "t".repeat(4_000);
// 2,000 astral characters are 4,000 UTF-16 units, as zod counts them: still within the limit.
const astral4000 = "😀".repeat(2_000);

const taken: unknown[] = [
  { type: "message", text: "hi" },
  { type: "message", id: "c1", text: "hi" },
  { type: "message", id: "x", text: "x" },
  { type: "message", id: id128, text: text4000 },
  { type: "message", text: astral4000 },
  { type: "message", text: "  padded  " },
  { type: "message", text: "\u00a0a" },
  // Keys zod does not know are dropped, by zod and by the fast check alike.
  { type: "message", id: "c2", text: "hi", extra: 1, seq: 4 },
  JSON.parse('{"type":"message","text":"hi","__proto__":{"id":7}}'),
];

const refused: unknown[] = [
  null,
  "message",
  42,
  [],
  [{ type: "message", text: "hi" }],
  {},
  { text: "hi" },
  { type: "Message", text: "hi" },
  { type: "message" },
  { type: "message", text: "" },
  { type: "message", text: "   " },
  { type: "message", text: "\n\t\u2003" },
  { type: "message", text: `${text4000}t` },
  { type: "message", text: `${astral4000}a` },
  { type: "message", text: 5 },
  { type: "message", text: null },
  { type: "message", text: ["hi"] },
  { type: "message", id: "", text: "hi" },
  { type: "message", id: `${id128}i`, text: "hi" },
  { type: "message", id: 7, text: "hi" },
  { type: "message", id: null, text: "hi" },
  { type: "message", id: ["c"], text: "hi" },
  // Valid for zod, but not a shape JSON produces: left to zod.
  { type: "message", id: undefined, text: "hi" },
  { type: "typing", active: true },
  { type: "read", seq: 3 },
  { type: "ping" },
  { type: "ping", id: "p" },
];

describe("fastChatFrame", () => {
  it("takes the message frames clients send, with zod's exact result", () => {
    for (const input of taken) {
      expect(fastChatFrame(input), JSON.stringify(input)).toBeDefined();
      expectAgreement(input);
    }
  });

  it("stands aside for everything else, invalid or another frame type", () => {
    for (const input of refused) expect(fastChatFrame(input), JSON.stringify(input) ?? String(input)).toBeUndefined();
  });

  it("agrees with zod on random frames near every limit", () => {
    const lengthNear = (limit: number) => fc.integer({ min: Math.max(0, limit - 2), max: limit + 2 });
    const stringOf = (length: fc.Arbitrary<number>) =>
      length.chain((n) =>
        fc.oneof(
          fc.constant("a".repeat(n)),
          fc.constant(" ".repeat(n)),
          fc.string({ minLength: n, maxLength: n, unit: "grapheme" }),
        ),
      );
    const text = fc.oneof(
      stringOf(lengthNear(0)),
      stringOf(lengthNear(4_000)),
      fc.string(),
      fc.string({ unit: fc.constantFrom(" ", "\t", "\u3000", "x", "😀") }),
      fc.jsonValue(),
    );
    const id = fc.oneof(stringOf(lengthNear(0)), stringOf(lengthNear(128)), fc.string(), fc.jsonValue());
    const frame = fc.record(
      {
        type: fc.oneof(fc.constantFrom("message", "typing", "read", "ping", "MESSAGE", ""), fc.jsonValue()),
        id,
        text,
        extra: fc.jsonValue(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(frame, fc.jsonValue()), (input) => {
        // As the hub sees it: what JSON.parse makes of a client's text.
        expectAgreement(JSON.parse(JSON.stringify(input) ?? "null"));
      }),
      { numRuns: 2_000 },
    );
  });
});
