/**
 * @module metrics
 * Every metric the service emits, and the one layout its data points have in Workers Analytics
 * Engine (the METRICS binding; docs/METRICS.md has the SQL that reads them):
 *
 * - `indexes[0]`: the metric's name (the sampling key: Analytics Engine samples within an index,
 *   so a flood of frames never thins out the rarer dispatch or error points);
 * - `blobs[0]`: the metric's name, `blobs[1]`: its key (the socket kind, error code, channel or
 *   ledger entry kind; "" for none), `blobs[2]`: the city (the service area's name; "" for none);
 * - `doubles[0]`: how many events the point stands for, `doubles[1]`: milliseconds (timings only).
 *
 * Counters are cheap on hot paths: they add to a number in this isolate's memory (a `Counter`
 * a caller may hold, so a frame costs one addition and no allocation) and are written as one
 * data point per (name, key, city) when the isolate flushes, at most every FLUSH_INTERVAL_MS.
 * Timings (dispatch) are rare and are written as they happen, one point each, so that the SQL
 * API can take their quantiles. A flush also hands its counts to the operations desk
 * (rooms/ops-desk.ts), which keeps the live window the operations view reads: Analytics Engine
 * cannot be read from inside the service, nor at all in `wrangler dev`.
 *
 * What a flush loses: counts of an isolate evicted before its next flush (at most a few seconds
 * of that isolate's events). The counts are for dashboards and alerts, not for money.
 */

// The names live with the protocol (the desk's RPC input and the live view read them); this module owns their layout.
import { METRIC_NAMES, type MetricName } from "./protocol/ops-metrics";

export { METRIC_NAMES, type MetricName };

/** The metrics written one point per event, with milliseconds in `doubles[1]`. */
export const TIMINGS: ReadonlySet<MetricName> = new Set<MetricName>(["dispatch_offer_ms", "dispatch_match_ms"]);

/** How often an isolate writes its counters and hands them to the operations desk, at most. */
export const FLUSH_INTERVAL_MS = 5_000;

/** Analytics Engine takes at most 250 data points per invocation: a flush writes no more. */
export const MAX_POINTS_PER_FLUSH = 250;

/** A blob is at most 16 KB in all; keys and cities are short names, cut to this many characters. */
const MAX_LABEL_CHARS = 64;

/** One metric's running total in this isolate, between two flushes. */
export class Counter {
  /** Events since the last flush. */
  n = 0;
  /** Timings only: their sum and largest, since the last flush. */
  sumMs = 0;
  maxMs = 0;

  constructor(
    private readonly recorder: { pending: boolean },
    readonly name: MetricName,
    readonly key: string,
    readonly city: string,
  ) {}

  add(count = 1): void {
    this.n += count;
    this.recorder.pending = true;
  }
}

/**
 * A data point as this module writes it, and what it needs of a dataset: the shapes of the
 * runtime's AnalyticsEngineDataPoint and AnalyticsEngineDataset, spelled out so that the protocol
 * (and the client SDK that reads it) can import the metric names without the Workers types.
 */
export type MetricDataPoint = { indexes: string[]; blobs: string[]; doubles: number[] };
export type MetricDataset = { writeDataPoint(point: MetricDataPoint): void };

/** A flushed counter, as the operations desk takes it. */
export type MetricRow = { name: MetricName; key: string; city: string; count: number; sumMs: number; maxMs: number };

/** The data point of a flushed counter, or of one timing (`ms`). */
export function dataPoint(name: MetricName, key: string, city: string, count: number, ms = 0): MetricDataPoint {
  return { indexes: [name], blobs: [name, label(key), label(city)], doubles: [count, ms] };
}

const label = (text: string) => (text.length > MAX_LABEL_CHARS ? text.slice(0, MAX_LABEL_CHARS) : text);

/**
 * This isolate's counters. One per isolate (module scope): a Worker isolate's requests, or the
 * Durable Objects an isolate hosts, add to the same counters, and whichever flushes sends all.
 */
export class MetricsRecorder {
  /** Lives as long as the isolate; a counter once made is kept (names, kinds, codes and cities are few). */
  private readonly counters = new Map<string, Counter>();
  private lastFlushAt = 0;
  /** Something was counted since the last flush. */
  pending = false;

  /** The counter of (name, key, city): hold it on a hot path, rather than looking it up per event. */
  counter(name: MetricName, key = "", city = ""): Counter {
    const id = `${name}\u0000${key}\u0000${city}`;
    let counter = this.counters.get(id);
    if (!counter) {
      counter = new Counter(this, name, label(key), label(city));
      this.counters.set(id, counter);
    }
    return counter;
  }

  /** Counts `count` events of (name, key, city). */
  count(name: MetricName, key = "", city = "", count = 1): void {
    this.counter(name, key, city).add(count);
  }

  /** A timing: written to `dataset` now (its own point, for quantiles), and counted for the live window. */
  timing(dataset: MetricDataset | undefined, name: MetricName, ms: number, city = ""): void {
    const value = Math.max(0, Math.round(ms));
    dataset?.writeDataPoint(dataPoint(name, "", city, 1, value));
    const counter = this.counter(name, "", city);
    counter.add(1);
    counter.sumMs += value;
    if (value > counter.maxMs) counter.maxMs = value;
  }

  /** Whether a flush is due: something may have been counted, and the last flush was long enough ago. */
  due(now: number): boolean {
    return this.pending && now - this.lastFlushAt >= FLUSH_INTERVAL_MS;
  }

  /**
   * Takes what was counted since the last flush (and zeroes it): the rows for the operations desk,
   * and the counters' data points written to `dataset` (timings were written as they happened).
   */
  take(dataset: MetricDataset | undefined, now: number): MetricRow[] {
    this.lastFlushAt = now;
    this.pending = false;
    const rows: MetricRow[] = [];
    let points = 0;
    for (const c of this.counters.values()) {
      if (c.n === 0) continue;
      rows.push({ name: c.name, key: c.key, city: c.city, count: c.n, sumMs: c.sumMs, maxMs: c.maxMs });
      if (!TIMINGS.has(c.name) && points < MAX_POINTS_PER_FLUSH) {
        dataset?.writeDataPoint(dataPoint(c.name, c.key, c.city, c.n));
        points++;
      }
      c.n = 0;
      c.sumMs = 0;
      c.maxMs = 0;
    }
    return rows;
  }
}

/** This isolate's recorder. */
export const metrics = new MetricsRecorder();
