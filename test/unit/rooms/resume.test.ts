// How a connection catches up with a room's log (src/rooms/resume.ts), the same for sockets,
// SSE streams and long polls: welcome, replay and synced, or reset; the reader's floor; pages.
import { describe, expect, it } from "vitest";
import { EMPTY_LOG, openingFrames, POLL_PAGE, pollPage, type ReadableLog } from "../../../src/rooms/resume";

/** A log holding seqs first..last, each event's text naming its seq. */
function logOf(first: number, last: number): ReadableLog {
  return {
    lastSeq: last,
    firstSeq: first,
    *after(since: number) {
      for (let seq = Math.max(since + 1, first); seq <= last; seq++) yield { seq, frame: `{"seq":${seq}}` };
    },
  };
}

const WELCOME = '{"type":"welcome"}';
const types = (frames: { text: string }[]) => frames.map((f) => JSON.parse(f.text).type ?? JSON.parse(f.text).seq);

describe("openingFrames", () => {
  it("without since: only the welcome, with the newest seq as its SSE id", () => {
    expect(openingFrames(logOf(1, 5), WELCOME, null, 0)).toEqual([{ text: WELCOME, id: 5 }]);
  });

  it("replays the events after since, each with its seq as the id, then synced", () => {
    const frames = openingFrames(logOf(1, 5), WELCOME, 3, 0);
    expect(types(frames)).toEqual(["welcome", 4, 5, "synced"]);
    expect(frames.map((f) => f.id)).toEqual([undefined, 4, 5, undefined]);
    expect(JSON.parse(frames[3]!.text)).toEqual({ type: "synced", seq: 5 });
  });

  it("resets to the newest seq when since is older than the log keeps or beyond it", () => {
    for (const since of [0, 2, 6, 99]) {
      const frames = openingFrames(logOf(4, 5), WELCOME, since, 0);
      expect(frames, `since ${since}`).toEqual([{ text: WELCOME }, { text: '{"type":"reset","seq":5}', id: 5 }]);
    }
    // since = firstSeq - 1 is still replayable: nothing between it and the log is missing.
    expect(types(openingFrames(logOf(4, 5), WELCOME, 3, 0))).toEqual(["welcome", 4, 5, "synced"]);
  });

  it("a reader below its floor is reset to the floor and replayed from there", () => {
    const frames = openingFrames(logOf(1, 6), WELCOME, 1, 4);
    expect(types(frames)).toEqual(["welcome", "reset", 5, 6, "synced"]);
    expect(frames[1]).toEqual({ text: '{"type":"reset","seq":4}', id: 4 });
  });

  it("a room without a log: seq 0, nothing to replay", () => {
    expect(openingFrames(EMPTY_LOG, WELCOME, null, 0)).toEqual([{ text: WELCOME, id: 0 }]);
    expect(types(openingFrames(EMPTY_LOG, WELCOME, 0, 0))).toEqual(["welcome", "synced"]);
    expect(types(openingFrames(EMPTY_LOG, WELCOME, 3, 0))).toEqual(["welcome", "reset"]);
  });
});

describe("pollPage", () => {
  it("is null (wait) when nothing is newer than since", () => {
    expect(pollPage(logOf(1, 5), 5, 0)).toBeNull();
  });

  it("answers the events after since, a page at most, ending at the last one given", () => {
    expect(pollPage(logOf(1, 5), 3, 0)).toEqual({ texts: ['{"seq":4}', '{"seq":5}'], seq: 5 });
    const page = pollPage(logOf(1, 500), 0, 0);
    expect(page?.texts).toHaveLength(POLL_PAGE);
    expect(page?.seq).toBe(POLL_PAGE);
  });

  it("answers reset to the newest seq when since is out of the log, and to the floor below it", () => {
    expect(pollPage(logOf(4, 5), 1, 0)).toEqual({ texts: ['{"type":"reset","seq":5}'], seq: 5 });
    expect(pollPage(logOf(1, 5), 9, 0)).toEqual({ texts: ['{"type":"reset","seq":5}'], seq: 5 });
    expect(pollPage(logOf(1, 5), 1, 3)).toEqual({ texts: ['{"type":"reset","seq":3}'], seq: 3 });
  });
});
