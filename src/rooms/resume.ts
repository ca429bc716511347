/**
 * @module rooms/resume
 * How a connection catches up with a room's log, the same for a socket, an SSE stream and a
 * long poll: `welcome`, then with `since` either the missed events and `synced`, or `reset`
 * when the log no longer holds what the client missed (or never held it: a seq from the
 * future). Pure: it reads the log through `ReadableLog` and returns frame texts.
 */
import type { ResetFrame, SyncedFrame } from "../protocol/frames";

/** What resuming reads of a room's log. */
export interface ReadableLog {
  /** The newest seq (0: nothing stored yet). */
  readonly lastSeq: number;
  /** The oldest seq still held; a `since` below `firstSeq - 1` cannot be replayed. */
  readonly firstSeq: number;
  /** Stored events after `since`, oldest first, as the exact text that was broadcast. */
  after(since: number): Iterable<{ seq: number; frame: string }>;
}

/** A room with no log (the driver channel): seq 0 for ever, nothing to replay. */
export const EMPTY_LOG: ReadableLog = { lastSeq: 0, firstSeq: 1, after: () => [] };

/** A frame's text and its SSE event id (see `openingFrames`). */
export type OpeningFrame = { text: string; id?: number };

/** Events a long poll answers with at most; the client polls again from the last one. */
export const POLL_PAGE = 100;

/**
 * The frames that open a connection. `id` is the SSE event id, the seq the client stands at
 * once it has the frame: a stored event's own seq; a fresh welcome's seq (nothing to replay,
 * so a browser that reconnects resumes from there rather than skipping what came meanwhile);
 * a reset's seq (else the browser would resume from the same lost seq again and again). A
 * welcome before a replay has none: the client still stands at its `since`. `floor` is the seq
 * up to which this reader may not read the log (a trip's later driver): a resume from below it
 * gets `reset { seq: floor }` and then the events after it.
 */
export function openingFrames(log: ReadableLog, welcome: string, since: number | null, floor: number): OpeningFrame[] {
  const seq = log.lastSeq;
  if (since === null) return [{ text: welcome, id: seq }];
  if (since < log.firstSeq - 1 || since > seq) return [{ text: welcome }, { text: resetText(seq), id: seq }];
  const frames: OpeningFrame[] = [{ text: welcome }];
  if (since < floor) {
    frames.push({ text: resetText(floor), id: floor });
    since = floor;
  }
  for (const event of log.after(since)) frames.push({ text: event.frame, id: event.seq });
  frames.push({ text: JSON.stringify({ type: "synced", seq } satisfies SyncedFrame) });
  return frames;
}

/**
 * A long poll's answer: a reset, or a page of the events after `since` (at most POLL_PAGE);
 * null when there is nothing newer yet, so the poll waits.
 */
export function pollPage(log: ReadableLog, since: number, floor: number): { texts: string[]; seq: number } | null {
  if (since < log.firstSeq - 1 || since > log.lastSeq) return { texts: [resetText(log.lastSeq)], seq: log.lastSeq };
  if (since < floor) return { texts: [resetText(floor)], seq: floor };
  if (since === log.lastSeq) return null;
  const texts: string[] = [];
  let last = since;
  for (const event of log.after(since)) {
    texts.push(event.frame);
    last = event.seq;
    if (texts.length === POLL_PAGE) break;
  }
  return { texts, seq: last };
}

function resetText(seq: number): string {
  return JSON.stringify({ type: "reset", seq } satisfies ResetFrame);
}
