/**
 * @module metrics-window
 * The operations desk's rolling window of metrics: the counts isolates flush (src/metrics.ts)
 * added into 10-second buckets, the last WINDOW_BUCKETS of them kept, and the view
 * `GET /v1/ops/metrics` answers made from them. Open connections are a gauge, not a window:
 * opens minus closes since the desk started counting (kept by the desk across evictions).
 * Pure: the desk owns the instance and its lifetime.
 */
import type { MetricName, MetricRow } from "./metrics";
import type { DispatchHealth, OpsMetricsResponse, TimingSummary } from "./protocol/ops-metrics";

export const BUCKET_MS = 10_000;
/** 30 buckets of 10 s: the last five minutes. */
export const WINDOW_BUCKETS = 30;

type Totals = { count: number; sumMs: number; maxMs: number };
type Bucket = { start: number; rows: Map<string, MetricRow> };

const SEP = "\u0000";

export class MetricsWindow {
  /** Newest last; buckets older than the window are dropped as new ones start. */
  private buckets: Bucket[] = [];

  /** Open connections per socket kind: opens minus closes, never below zero. */
  readonly open = new Map<string, number>();

  add(rows: readonly MetricRow[], at: number): void {
    const start = at - (at % BUCKET_MS);
    let bucket = this.buckets.at(-1);
    if (!bucket || bucket.start !== start) {
      // A flush stamped in an older bucket (a slow RPC) lands in the newest: it is live data.
      if (!bucket || bucket.start < start) {
        bucket = { start, rows: new Map() };
        this.buckets.push(bucket);
      }
    }
    for (const row of rows) {
      const id = row.name + SEP + row.key + SEP + row.city;
      const kept = bucket.rows.get(id);
      if (kept) {
        kept.count += row.count;
        kept.sumMs += row.sumMs;
        kept.maxMs = Math.max(kept.maxMs, row.maxMs);
      } else bucket.rows.set(id, { ...row });
      if (row.name === "connection_open") this.open.set(row.key, (this.open.get(row.key) ?? 0) + row.count);
      if (row.name === "connection_close")
        this.open.set(row.key, Math.max(0, (this.open.get(row.key) ?? 0) - row.count));
    }
    this.prune(at);
  }

  private prune(now: number): void {
    const oldest = now - (now % BUCKET_MS) - (WINDOW_BUCKETS - 1) * BUCKET_MS;
    while (this.buckets.length > 0 && (this.buckets[0]?.start ?? 0) < oldest) this.buckets.shift();
  }

  /** Every (name, key, city) summed over the window. */
  private totals(now: number): Map<string, MetricRow> {
    this.prune(now);
    const sums = new Map<string, MetricRow>();
    for (const bucket of this.buckets)
      for (const [id, row] of bucket.rows) {
        const sum = sums.get(id);
        if (sum) {
          sum.count += row.count;
          sum.sumMs += row.sumMs;
          sum.maxMs = Math.max(sum.maxMs, row.maxMs);
        } else sums.set(id, { ...row });
      }
    return sums;
  }

  view(now: number): OpsMetricsResponse {
    const rows = [...this.totals(now).values()];
    const total = (name: MetricName) => rows.reduce((n, r) => (r.name === name ? n + r.count : n), 0);
    const byKey = (name: MetricName, key: "key" | "city") => {
      const out = new Map<string, Totals>();
      for (const r of rows) {
        if (r.name !== name) continue;
        const t = out.get(r[key]) ?? { count: 0, sumMs: 0, maxMs: 0 };
        t.count += r.count;
        t.sumMs += r.sumMs;
        t.maxMs = Math.max(t.maxMs, r.maxMs);
        out.set(r[key], t);
      }
      return out;
    };
    const keysOf = (...maps: Map<string, Totals>[]) => [...new Set(maps.flatMap((m) => [...m.keys()]))].sort();
    const n = (m: Map<string, Totals>, k: string) => m.get(k)?.count ?? 0;
    const timing = (t: Totals | undefined): TimingSummary =>
      t && t.count > 0 ? { count: t.count, avgMs: Math.round(t.sumMs / t.count), maxMs: t.maxMs } : null;

    const opened = byKey("connection_open", "key");
    const closed = byKey("connection_close", "key");
    const connections = [...new Set([...this.open.keys(), ...opened.keys(), ...closed.keys()])]
      .sort()
      .map((kind) => ({ kind, open: this.open.get(kind) ?? 0, opened: n(opened, kind), closed: n(closed, kind) }));

    const errors = [...byKey("error", "key")]
      .map(([code, t]) => ({ code, count: t.count }))
      .sort((a, b) => b.count - a.count || a.code.localeCompare(b.code));
    const httpRequests = total("http_request");

    const perCity = {
      requests: byKey("dispatch_request", "city"),
      offers: byKey("offer_sent", "city"),
      accepted: byKey("offer_accepted", "city"),
      declined: byKey("offer_declined", "city"),
      expired: byKey("offer_expired", "city"),
      noDriver: byKey("no_driver", "city"),
      toOffer: byKey("dispatch_offer_ms", "city"),
      toMatch: byKey("dispatch_match_ms", "city"),
    };
    const dispatch: DispatchHealth[] = keysOf(...Object.values(perCity)).map((city) => ({
      city,
      requests: n(perCity.requests, city),
      offers: n(perCity.offers, city),
      accepted: n(perCity.accepted, city),
      declined: n(perCity.declined, city),
      expired: n(perCity.expired, city),
      noDriver: n(perCity.noDriver, city),
      requestToOffer: timing(perCity.toOffer.get(city)),
      requestToMatch: timing(perCity.toMatch.get(city)),
    }));

    const sent = byKey("notification_sent", "key");
    const retried = byKey("notification_retry", "key");
    const failed = byKey("notification_failed", "key");
    const posted = byKey("ledger_posting", "key");
    const refused = byKey("ledger_refused", "key");

    return {
      at: now,
      windowSeconds: (WINDOW_BUCKETS * BUCKET_MS) / 1000,
      connections,
      throughput: {
        httpRequests,
        framesIn: total("frame_in"),
        framesOut: total("frame_out"),
        deliveries: total("delivery"),
        acks: total("ack"),
        resumes: total("resume"),
        resets: total("reset"),
      },
      errors,
      errorRate: httpRequests === 0 ? 0 : errors.reduce((a, e) => a + e.count, 0) / httpRequests,
      dispatch,
      notifications: keysOf(sent, retried, failed).map((channel) => ({
        channel,
        sent: n(sent, channel),
        retried: n(retried, channel),
        failed: n(failed, channel),
      })),
      ledger: keysOf(posted, refused).map((kind) => ({ kind, posted: n(posted, kind), refused: n(refused, kind) })),
    };
  }
}
