/** W3C traceparent parsing (src/trace.ts) and the queue producer stamping the current trace id. */
import { describe, expect, it } from "vitest";
import { chatNotification } from "../../src/notify/message";
import { enqueueNotifications } from "../../src/notify/producer";
import { newTraceId, TRACE_ID, traceIdFromTraceparent, traceparentOf, withTraceId } from "../../src/trace";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";

describe("traceIdFromTraceparent", () => {
  it("takes the trace id of a valid header", () => {
    expect(traceIdFromTraceparent(`00-${TRACE}-00f067aa0ba902b7-01`)).toBe(TRACE);
    expect(traceIdFromTraceparent(` 00-${TRACE}-00f067aa0ba902b7-00 `)).toBe(TRACE);
  });

  it.each([
    ["missing", undefined],
    ["empty", ""],
    ["upper-case hex", `00-${TRACE.toUpperCase()}-00f067aa0ba902b7-01`],
    ["a short trace id", "00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01"],
    ["an all-zero trace id", `00-${"0".repeat(32)}-00f067aa0ba902b7-01`],
    ["an all-zero parent id", `00-${TRACE}-${"0".repeat(16)}-01`],
    ["version ff", `ff-${TRACE}-00f067aa0ba902b7-01`],
    ["extra fields", `00-${TRACE}-00f067aa0ba902b7-01-xx`],
    ["not hex", `00-${"g".repeat(32)}-00f067aa0ba902b7-01`],
    ["a header injection", `00-${TRACE}-00f067aa0ba902b7-01\r\nX-Evil: 1`],
  ])("refuses %s", (_what, header) => {
    expect(traceIdFromTraceparent(header)).toBeUndefined();
  });

  it("makes fresh ids and an answer header that parse back", () => {
    const id = newTraceId();
    expect(id).toMatch(TRACE_ID);
    expect(newTraceId()).not.toBe(id);
    expect(traceIdFromTraceparent(traceparentOf(id))).toBe(id);
  });
});

describe("enqueueNotifications", () => {
  const message = chatNotification(
    { id: "m1", roomId: "r1", seq: 1, userId: "u1", text: "hi", createdAt: 1 } as never,
    "u2",
    "Ann",
  );

  function fakeQueue() {
    const sent: unknown[] = [];
    const queue = {
      sendBatch: async (batch: { body: unknown }[]) => {
        sent.push(...batch.map((m) => m.body));
      },
    } as unknown as Queue;
    return { queue, sent };
  }

  it("stamps the current request's trace id on each message", async () => {
    const { queue, sent } = fakeQueue();
    await withTraceId(TRACE, () => enqueueNotifications(queue, [message]));
    expect(sent).toEqual([{ ...message, traceId: TRACE }]);
  });

  it("sends messages unchanged outside a request", async () => {
    const { queue, sent } = fakeQueue();
    await enqueueNotifications(queue, [message]);
    expect(sent).toEqual([message]);
    expect(sent[0]).not.toHaveProperty("traceId");
  });
});
