/**
 * @module metrics-flush
 * Sends this isolate's counts (src/metrics.ts) on: the data points to Analytics Engine, the rows
 * to the operations desk's live window. At most every FLUSH_INTERVAL_MS per isolate, and never on
 * a hot path's await: the Worker runs it behind the reply (`waitUntil`), an object on a timer.
 */
import { logJson } from "./log";
import { FLUSH_INTERVAL_MS, metrics, type MetricRow } from "./metrics";
import { errorReason } from "./redact";
import { opsDesk } from "./rooms/stubs";

/** Where a flush's rows go: the operations desk, unless the desk flushes its own. */
export type MetricsSink = (rows: MetricRow[], at: number) => Promise<unknown>;

const toDesk =
  (env: Env): MetricsSink =>
  (rows, at) =>
    opsDesk(env).recordMetrics(rows, at);

/** Flushes if due; the promise to wait on (`waitUntil`), or null when nothing was due. */
export function flushMetricsIfDue(env: Env, sink: MetricsSink = toDesk(env)): Promise<void> | null {
  const now = Date.now();
  if (!metrics.due(now)) return null;
  const rows = metrics.take(env.METRICS, now);
  if (rows.length === 0) return null;
  return sink(rows, now).then(
    () => undefined,
    // Lost counts cost a dashboard a few seconds; never the request or the object.
    (err: unknown) => logJson("warn", { where: "metrics.flush", rows: rows.length, reason: errorReason(err) }),
  );
}

/**
 * For Durable Objects, whose handlers return before a flush is due: one timer per object at a
 * time flushes the isolate's counts FLUSH_INTERVAL_MS after something was counted. The timer
 * lives with the object (its I/O context outlives each handler); `armed` is how long ago it was
 * set, so a timer lost with an evicted object is set again.
 */
export class MetricsTimer {
  /** When this object's timer was set (epoch ms), or 0 for none; lives with the object's memory. */
  private armedAt = 0;

  constructor(
    private readonly env: Env,
    private readonly sink?: MetricsSink,
  ) {}

  /** Cheap when nothing was counted or a timer is set: call it at the end of every handler. */
  arm(waitUntil: (promise: Promise<unknown>) => void): void {
    if (!metrics.pending) return;
    const now = Date.now();
    if (this.armedAt !== 0 && now - this.armedAt < 2 * FLUSH_INTERVAL_MS) return;
    this.armedAt = now;
    setTimeout(() => {
      this.armedAt = 0;
      const flush = flushMetricsIfDue(this.env, this.sink);
      if (flush) waitUntil(flush);
      else if (metrics.pending) this.arm(waitUntil);
    }, FLUSH_INTERVAL_MS);
  }
}
