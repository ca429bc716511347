/**
 * @module http/routes/ops
 * The operations view of a city: every H3 cell within `rings` of a point, with its supply,
 * demand, surge and active trips, read from the cells' objects in parallel. Operators only
 * (403 for riders and drivers): it holds counts per cell (about 5 km² at resolution 7), never
 * a position, but where a city's drivers and demand are is the business's to see. Also the SOS
 * alerts that trips' riders and drivers raised (routes/sos.ts), open ones first, their
 * acknowledgement, and the live feed of them (the operations desk object, rooms/ops-desk). And the
 * trips' cancels with their reason codes, filtered, with counts per code. And the live metrics of
 * the last few minutes (connections, throughput, errors, dispatch health per city), which the desk
 * keeps from the counts every isolate flushes to it (src/metrics.ts; docs/METRICS.md).
 */
import { Hono } from "hono";
import { cellOf, searchCells } from "../../domain/geo";
import { surgeMultiplier } from "../../domain/surge";
import type { CellSummary } from "../../rooms/geo-cell";
import { OpsCancellationsQuery, OpsCellsQuery, type OpsCell, type OpsCellsResponse } from "../../protocol/ops";
import { listCancellations } from "../../db/cancellations";
import { requireUser } from "../auth-middleware";
import type { AppContext, AppEnv } from "../context";
import { requireAdmin } from "../require-admin";
import { readId, readQuery } from "../validate";
import { acknowledgeAlert, listAlerts } from "../../db/alerts";
import { OpsAlertsQuery, type TripAlert } from "../../protocol/safety";
import { notFound, unwrap } from "../../errors";
import { geoCell, opsDesk } from "../../rooms/stubs";
import { forwardFallback, forwardUpgrade } from "../upgrade";
import { logJson } from "../../log";

export const opsRoutes = new Hono<AppEnv>();

opsRoutes.use("/ops/*", requireUser, requireAdmin);

const EMPTY: CellSummary = { availableDrivers: 0, recentRequests: 0, activeTrips: {} };

opsRoutes.get("/ops/cells", async (c) => {
  const { lat, lng, rings } = readQuery(c, OpsCellsQuery);
  const config = c.get("config");
  const now = Date.now();
  const cells = searchCells(cellOf({ lat, lng }, config.H3_RESOLUTION), rings);
  // A cell that cannot answer shows as empty rather than failing the whole view.
  const summaries = await Promise.all(
    cells.map((cell) =>
      geoCell(c.env, cell)
        .summary(now)
        .catch(() => EMPTY),
    ),
  );
  const out: OpsCell[] = cells.map((cell, i) => {
    const s = summaries[i] ?? EMPTY;
    return { cell, ...s, surge: surgeMultiplier(s) };
  });
  const sum = (pick: (cell: OpsCell) => number) => out.reduce((total, cell) => total + pick(cell), 0);
  const body: OpsCellsResponse = {
    resolution: config.H3_RESOLUTION,
    center: { lat, lng },
    cells: out,
    totals: {
      availableDrivers: sum((x) => x.availableDrivers),
      recentRequests: sum((x) => x.recentRequests),
      activeTrips: sum((x) => Object.values(x.activeTrips).reduce((a, b) => a + b, 0)),
    },
    at: now,
  };
  return c.json(body);
});

/** Why trips were cancelled: the newest cancels (rider, driver, operator) and how many per reason code. */
opsRoutes.get("/ops/cancellations", async (c) => {
  const query = readQuery(c, OpsCancellationsQuery);
  return c.json(await listCancellations(c.env.DB, query, c.get("config").FARE_CURRENCY));
});

/** The desk's window of live metrics (protocol/ops-metrics); Analytics Engine has the history. */
opsRoutes.get("/ops/metrics", async (c) => c.json(unwrap(await opsDesk(c.env).metricsView(c.get("traceId")))));

opsRoutes.get("/ops/alerts", async (c) => {
  const query = readQuery(c, OpsAlertsQuery);
  return c.json({ alerts: await listAlerts(c.env.DB, query) });
});

/** An operator takes an alert in hand; the first acknowledgement stands, a repeat answers it. */
opsRoutes.post("/ops/alerts/:id/ack", async (c) => {
  const alert = await acknowledgeAlert(c.env.DB, readId(c), c.get("identity").userId, Date.now());
  if (!alert) throw notFound("no such alert");
  announce(c, alert);
  return c.json({ alert });
});

/** Every alert as it is raised or acknowledged, live: the desk's socket, or its SSE stream. */
opsRoutes.get("/ops/alerts/ws", (c) => forwardUpgrade(c, opsDesk(c.env)));
opsRoutes.get("/ops/alerts/events", (c) => forwardFallback(c, opsDesk(c.env), "events"));

/** Tells the operators connected now, behind the reply: D1 has the alert either way. */
export function announce(c: AppContext, alert: TripAlert): void {
  c.executionCtx.waitUntil(
    opsDesk(c.env)
      .announce(alert)
      .then((result) => unwrap(result))
      .catch((err: unknown) =>
        logJson("error", {
          where: "ops.announce",
          alertId: alert.id,
          error: err instanceof Error ? err.name : typeof err,
        }),
      ),
  );
}
