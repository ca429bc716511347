/**
 * @module rooms/ops-desk
 * The operations desk: one object for the whole service, to which operators' pages hold a
 * socket (or an SSE stream) and on which every SOS alert is announced the moment it is raised
 * or acknowledged, so that operators see it at once rather than at their next poll; and every trip
 * the trips' watchdog moved (a silent driver's, one never started at the pickup). It keeps
 * no log: D1 is the record of alerts (db/alerts), and a page that (re)connects reads the open ones
 * there after its `welcome`.
 *
 * It is also where the live metrics meet (src/metrics.ts): every isolate flushes its counts here
 * every few seconds, the desk adds them into a rolling window (metrics-window.ts) and answers
 * `GET /v1/ops/metrics` from it. The window lives in memory (a few minutes, refilled by the next
 * flushes after an eviction); the open-connection gauge is kept in storage, as it is not a window.
 */
import type { Identity } from "../auth/jwt";
import { type ApiError, badRequest, forbidden, type Result } from "../errors";
import type { MetricRow } from "../metrics";
import { MetricsWindow } from "../metrics-window";
import { MetricRows, type OpsMetricsResponse } from "../protocol/ops-metrics";
import type { CityArea, OpsCellsResponse } from "../protocol/ops";
import { OpsDeskClientFrame, type OpsDeskFrame, type StuckTrip, type TripAlert } from "../protocol/safety";
import { cityView } from "./city-view";
import type { SocketAttachment } from "./identity";
import { SocketHub, type WelcomeSnapshot } from "./socket-hub";

/** Storage key of the open-connection gauge per socket kind. */
const OPEN_KEY = "metrics:open";
/**
 * How often a watched area's cells go out. Each push reads every cell of the area (91 objects for the web
 * app's 5 rings) once for all the pages that watch it; the pages polled every 3 s each before.
 */
const CITY_PUSH_MS = 2_000;

export class OpsDesk extends SocketHub<OpsDeskClientFrame, OpsDeskFrame> {
  protected readonly kind = "OpsDesk";
  protected readonly clientFrames = OpsDeskClientFrame;
  /** The last few minutes of metrics; lives in memory, empty after an eviction until the next flushes. */
  private metricsWindow?: MetricsWindow;

  /** Takes an isolate's flushed counts (src/metrics-flush.ts) into the window. */
  recordMetrics(rows: MetricRow[], at: number): Promise<Result<number>> {
    return this.rpc("recordMetrics", () => this.takeMetrics(rows, at));
  }

  /** The window as the operations view shows it (protocol/ops-metrics). */
  metricsView(traceId?: string): Promise<Result<OpsMetricsResponse>> {
    return this.tracedRpc(traceId, "metricsView", () => this.window().view(Date.now()));
  }

  /** The desk's own counts (its sockets) go straight into its window: no RPC to itself. */
  protected override sendMetrics(rows: MetricRow[], at: number): Promise<unknown> {
    return Promise.resolve(this.takeMetrics(rows, at));
  }

  private takeMetrics(rows: unknown, at: number): number {
    const parsed = MetricRows.safeParse(rows);
    if (!parsed.success || !Number.isFinite(at)) throw badRequest("not a batch of metric rows");
    const window = this.window();
    // Stamped by the desk's clock: an isolate's clock may be behind or ahead of it.
    window.add(parsed.data, Date.now());
    if (parsed.data.some((row) => row.name === "connection_open" || row.name === "connection_close"))
      this.ctx.storage.kv.put(OPEN_KEY, Object.fromEntries(window.open));
    return parsed.data.length;
  }

  private window(): MetricsWindow {
    if (!this.metricsWindow) {
      this.metricsWindow = new MetricsWindow();
      const open = this.ctx.storage.kv.get<Record<string, number>>(OPEN_KEY);
      if (open) for (const [kind, count] of Object.entries(open)) this.metricsWindow.open.set(kind, count);
    }
    return this.metricsWindow;
  }

  /** Sends an alert as it is now to every operator connected; answers how many sockets and streams got it. */
  announce(alert: TripAlert): Promise<Result<number>> {
    return this.rpc("announce", () => {
      this.broadcast({ type: "alert", alert });
      return this.onlineUsers().length;
    });
  }

  /** Sends a trip the watchdog just moved to every operator connected; answers how many got it. */
  announceStuck(trip: StuckTrip): Promise<Result<number>> {
    return this.rpc("announceStuck", () => {
      this.broadcast({ type: "stuck_trip", trip });
      return this.onlineUsers().length;
    });
  }

  /** The desk has nothing to create: it is there for whoever connects. */
  protected exists(): boolean {
    return true;
  }

  /** The Worker let only operators through (their account read afresh); this holds the line if it did not. */
  protected denyConnection(identity: Identity): ApiError | null {
    return identity.role === "admin" ? null : forbidden("operators only");
  }

  protected welcomeSnapshot(): WelcomeSnapshot<OpsDeskFrame> {
    return {};
  }

  /** `city.watch` (pings the hub answers): the socket's area, kept in its attachment, and its first view now. */
  protected async onClientFrame(ws: WebSocket, _identity: Identity, frame: OpsDeskClientFrame): Promise<null> {
    if (frame.type !== "city.watch") return null;
    const who = this.connections.of(ws);
    if (!who) return null;
    const cityWatch: CityArea = { lat: frame.lat, lng: frame.lng, rings: frame.rings };
    const watching: SocketAttachment = { ...who, cityWatch };
    ws.serializeAttachment(watching);
    this.connections.renew(ws, watching);
    this.sendFrame(ws, { type: "city", city: await this.city(cityWatch, Date.now()) });
    this.wakeAt(Date.now() + CITY_PUSH_MS);
    return null;
  }

  /** After a wake: the pushes go on while a page watches. */
  protected override wakeNeeded(now: number): number | null {
    return this.watchers().size > 0 ? now : null;
  }

  /**
   * Every CITY_PUSH_MS while a page watches: the live metrics, and each area watched, read once however many pages
   * watch it.
   */
  protected override async onAlarm(now: number): Promise<number | null> {
    const watchers = this.watchers();
    if (watchers.size === 0) return null;
    const metrics: OpsDeskFrame = { type: "metrics", metrics: this.window().view(now) };
    for (const { sockets } of watchers.values()) for (const ws of sockets) this.sendFrame(ws, metrics);
    await Promise.all(
      [...watchers.values()].map(async ({ area, sockets }) => {
        const frame: OpsDeskFrame = { type: "city", city: await this.city(area, now) };
        for (const ws of sockets) this.sendFrame(ws, frame);
      }),
    );
    return Date.now() + CITY_PUSH_MS;
  }

  private city(area: CityArea, now: number): Promise<OpsCellsResponse> {
    return cityView(this.env, this.config.H3_RESOLUTION, area, now);
  }

  /** The open sockets that watch an area, by area. */
  private watchers(): Map<string, { area: CityArea; sockets: WebSocket[] }> {
    const byArea = new Map<string, { area: CityArea; sockets: WebSocket[] }>();
    for (const [ws, who] of this.connections.entries()) {
      if (!who.cityWatch) continue;
      const key = `${who.cityWatch.lat},${who.cityWatch.lng},${who.cityWatch.rings}`;
      const entry = byArea.get(key) ?? { area: who.cityWatch, sockets: [] };
      entry.sockets.push(ws);
      byArea.set(key, entry);
    }
    return byArea;
  }
}
