/**
 * The metrics' layout in Analytics Engine (src/metrics.ts: index, blobs, doubles) and the
 * recorder that batches counters between flushes, and the operations desk's rolling window
 * (src/metrics-window.ts) that the live view reads.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  dataPoint,
  FLUSH_INTERVAL_MS,
  MAX_POINTS_PER_FLUSH,
  METRIC_NAMES,
  type MetricDataPoint,
  MetricsRecorder,
} from "../../src/metrics";
import { BUCKET_MS, MetricsWindow, WINDOW_BUCKETS } from "../../src/metrics-window";
import { OpsMetricsResponse } from "../../src/protocol/ops-metrics";

/** A dataset that keeps what is written, as Analytics Engine would receive it. */
function dataset() {
  const points: MetricDataPoint[] = [];
  return { points, writeDataPoint: (point: MetricDataPoint) => void points.push(point) };
}

describe("the data point layout", () => {
  it("indexes by name, and puts name, key and city in blobs 1-3, count and ms in doubles 1-2", () => {
    expect(dataPoint("error", "not_found", "", 3)).toEqual({
      indexes: ["error"],
      blobs: ["error", "not_found", ""],
      doubles: [3, 0],
    });
    expect(dataPoint("dispatch_offer_ms", "", "San Francisco", 1, 420)).toEqual({
      indexes: ["dispatch_offer_ms"],
      blobs: ["dispatch_offer_ms", "", "San Francisco"],
      doubles: [1, 420],
    });
  });

  it("cuts a long key or city to 64 characters (blobs are limited; names are short)", () => {
    const point = dataPoint("error", "x".repeat(500), "y".repeat(65), 1);
    expect(point.blobs?.[1]).toHaveLength(64);
    expect(point.blobs?.[2]).toHaveLength(64);
  });

  it("documents every metric in docs/METRICS.md's table", () => {
    const doc = readFileSync("docs/METRICS.md", "utf8");
    for (const name of METRIC_NAMES) expect(doc).toMatch(new RegExp(`^\\| \`${name}\` +\\|`, "m"));
  });

  it("has names that fit an index (96 bytes) and are unique", () => {
    expect(new Set(METRIC_NAMES).size).toBe(METRIC_NAMES.length);
    for (const name of METRIC_NAMES) expect(new TextEncoder().encode(name).length).toBeLessThanOrEqual(96);
  });
});

describe("the recorder", () => {
  it("writes one point per counter at a flush, with the count, and zeroes it", () => {
    const recorder = new MetricsRecorder();
    const frames = recorder.counter("frame_in", "ChatRoom");
    for (let i = 0; i < 1000; i++) frames.add(1);
    recorder.count("error", "not_found");
    recorder.count("error", "not_found");
    const out = dataset();
    expect(recorder.due(10_000)).toBe(true);
    const rows = recorder.take(out, 10_000);
    expect(out.points).toEqual([dataPoint("frame_in", "ChatRoom", "", 1000), dataPoint("error", "not_found", "", 2)]);
    expect(rows).toEqual([
      { name: "frame_in", key: "ChatRoom", city: "", count: 1000, sumMs: 0, maxMs: 0 },
      { name: "error", key: "not_found", city: "", count: 2, sumMs: 0, maxMs: 0 },
    ]);
    // Nothing new: nothing due, nothing written.
    expect(recorder.due(10_000 + FLUSH_INTERVAL_MS)).toBe(false);
    expect(recorder.take(out, 20_000)).toEqual([]);
    expect(out.points).toHaveLength(2);
  });

  it("is due only FLUSH_INTERVAL_MS after its last flush", () => {
    const recorder = new MetricsRecorder();
    recorder.count("http_request");
    recorder.take(undefined, 50_000);
    recorder.count("http_request");
    expect(recorder.due(50_000 + FLUSH_INTERVAL_MS - 1)).toBe(false);
    expect(recorder.due(50_000 + FLUSH_INTERVAL_MS)).toBe(true);
  });

  it("writes timings at once, one point each, and sums them for the window only", () => {
    const recorder = new MetricsRecorder();
    const out = dataset();
    recorder.timing(out, "dispatch_offer_ms", 120.4, "Oakland");
    recorder.timing(out, "dispatch_offer_ms", 480, "Oakland");
    recorder.timing(out, "dispatch_offer_ms", -5, "Oakland");
    expect(out.points).toEqual([
      dataPoint("dispatch_offer_ms", "", "Oakland", 1, 120),
      dataPoint("dispatch_offer_ms", "", "Oakland", 1, 480),
      dataPoint("dispatch_offer_ms", "", "Oakland", 1, 0),
    ]);
    const rows = recorder.take(out, 1_000_000);
    expect(rows).toEqual([{ name: "dispatch_offer_ms", key: "", city: "Oakland", count: 3, sumMs: 600, maxMs: 480 }]);
    expect(out.points).toHaveLength(3);
  });

  it("writes at most Analytics Engine's 250 points in one flush", () => {
    const recorder = new MetricsRecorder();
    for (let i = 0; i < 300; i++) recorder.count("error", `code_${i}`);
    const out = dataset();
    expect(recorder.take(out, 1)).toHaveLength(300);
    expect(out.points).toHaveLength(MAX_POINTS_PER_FLUSH);
  });
});

const row = (name: (typeof METRIC_NAMES)[number], count: number, key = "", city = "", sumMs = 0, maxMs = 0) => ({
  name,
  key,
  city,
  count,
  sumMs,
  maxMs,
});

describe("the desk's window", () => {
  it("sums the flushes of many isolates into the view", () => {
    const window = new MetricsWindow();
    const at = 1_000_000;
    window.add([row("http_request", 8), row("error", 2, "not_found"), row("connection_open", 3, "ChatRoom")], at);
    window.add(
      [
        row("http_request", 2),
        row("error", 1, "forbidden"),
        row("connection_close", 1, "ChatRoom"),
        row("dispatch_request", 4, "", "Oakland"),
        row("offer_sent", 5, "", "Oakland"),
        row("offer_accepted", 3, "", "Oakland"),
        row("offer_expired", 2, "", "Oakland"),
        row("no_driver", 1, "", "Oakland"),
        row("dispatch_offer_ms", 2, "", "Oakland", 300, 200),
        row("notification_sent", 4, "webpush"),
        row("notification_failed", 1, "sms"),
        row("ledger_posting", 2, "top_up"),
      ],
      at + 3_000,
    );
    const view = window.view(at + 5_000);
    expect(OpsMetricsResponse.parse(view)).toEqual(view);
    expect(view.connections).toEqual([{ kind: "ChatRoom", open: 2, opened: 3, closed: 1 }]);
    expect(view.throughput.httpRequests).toBe(10);
    expect(view.errors).toEqual([
      { code: "not_found", count: 2 },
      { code: "forbidden", count: 1 },
    ]);
    expect(view.errorRate).toBeCloseTo(0.3);
    expect(view.dispatch).toEqual([
      {
        city: "Oakland",
        requests: 4,
        offers: 5,
        accepted: 3,
        declined: 0,
        expired: 2,
        noDriver: 1,
        requestToOffer: { count: 2, avgMs: 150, maxMs: 200 },
        requestToMatch: null,
      },
    ]);
    expect(view.notifications).toEqual([
      { channel: "sms", sent: 0, retried: 0, failed: 1 },
      { channel: "webpush", sent: 4, retried: 0, failed: 0 },
    ]);
    expect(view.ledger).toEqual([{ kind: "top_up", posted: 2, refused: 0 }]);
  });

  it("forgets counts older than the window, but keeps the open-connection gauge", () => {
    const window = new MetricsWindow();
    window.add([row("http_request", 5), row("connection_open", 2, "TripRoom")], 0);
    const later = WINDOW_BUCKETS * BUCKET_MS + 1;
    expect(window.view(later - BUCKET_MS - 1).throughput.httpRequests).toBe(5);
    const view = window.view(later);
    expect(view.throughput.httpRequests).toBe(0);
    expect(view.connections).toEqual([{ kind: "TripRoom", open: 2, opened: 0, closed: 0 }]);
  });

  it("never shows fewer than zero open connections", () => {
    const window = new MetricsWindow();
    window.add([row("connection_close", 4, "DriverSession")], 0);
    expect(window.view(1).connections).toEqual([{ kind: "DriverSession", open: 0, opened: 0, closed: 4 }]);
  });
});
