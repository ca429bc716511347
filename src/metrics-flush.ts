/**
 * @module metrics-flush
 * Sends this isolate's counts (src/metrics.ts) on: the data points to Analytics Engine, the rows
 * to the operations desk's live window. At most every FLUSH_INTERVAL_MS per isolate, and never on
 * a hot path's await: the Worker and the objects run it behind their reply (`waitUntil`), never on a timer.
 */
import { logJson } from "./log";
import { metrics, type MetricRow } from "./metrics";
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
