/**
 * @module protocol/ops-metrics
 * The operations view's live metrics (`GET /v1/ops/metrics`, admins only): what the service did
 * in the last few minutes, from the counts every isolate hands the operations desk
 * (src/metrics.ts, rooms/ops-desk.ts). Analytics Engine has the long history (docs/METRICS.md);
 * this is the short window an operator watches.
 */
import { z } from "zod";

/** The metrics, by name; docs/METRICS.md describes each; src/metrics.ts lays them out in Analytics Engine. */
export const METRIC_NAMES = [
  "http_request",
  "error",
  "connection_open",
  "connection_close",
  "frame_in",
  "frame_out",
  "delivery",
  "ack",
  "resume",
  "reset",
  "dispatch_request",
  "offer_sent",
  "offer_accepted",
  "offer_declined",
  "offer_expired",
  "no_driver",
  "dispatch_offer_ms",
  "dispatch_match_ms",
  "notification_sent",
  "notification_retry",
  "notification_failed",
  "ledger_posting",
  "ledger_refused",
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

const Count = z.number().int().min(0);

/** A timing over the window: how many, their mean and largest (ms); null when none. */
export const TimingSummary = z.object({ count: Count, avgMs: z.number().min(0), maxMs: z.number().min(0) }).nullable();
export type TimingSummary = z.infer<typeof TimingSummary>;

export const DispatchHealth = z.object({
  /** The service area's name; "" for pickups outside every named area (or with no areas set). */
  city: z.string(),
  requests: Count,
  offers: Count,
  accepted: Count,
  declined: Count,
  expired: Count,
  noDriver: Count,
  requestToOffer: TimingSummary,
  requestToMatch: TimingSummary,
});
export type DispatchHealth = z.infer<typeof DispatchHealth>;

export const OpsMetricsResponse = z.object({
  /** When the desk answered (epoch ms), and how far back the window reaches (seconds). */
  at: z.number().int(),
  windowSeconds: Count,
  /** Per socket kind (ChatRoom, TripRoom, DriverSession, OpsDesk): open now, and opened and closed in the window. */
  connections: z.array(z.object({ kind: z.string(), open: Count, opened: Count, closed: Count })),
  /** Totals in the window. */
  throughput: z.object({
    httpRequests: Count,
    framesIn: Count,
    framesOut: Count,
    deliveries: Count,
    acks: Count,
    resumes: Count,
    resets: Count,
  }),
  /** Error answers in the window by code (API.md's codes), most first; `errorRate` is errors per HTTP request. */
  errors: z.array(z.object({ code: z.string(), count: Count })),
  errorRate: z.number().min(0),
  dispatch: z.array(DispatchHealth),
  notifications: z.array(z.object({ channel: z.string(), sent: Count, retried: Count, failed: Count })),
  ledger: z.array(z.object({ kind: z.string(), posted: Count, refused: Count })),
});
export type OpsMetricsResponse = z.infer<typeof OpsMetricsResponse>;

/** A batch of counts as an isolate hands it to the desk (RPC input: checked again there). */
export const MetricRows = z
  .array(
    z.object({
      name: z.enum(METRIC_NAMES),
      key: z.string().max(64),
      city: z.string().max(64),
      count: Count,
      sumMs: z.number().min(0),
      maxMs: z.number().min(0),
    }),
  )
  .max(1000);
