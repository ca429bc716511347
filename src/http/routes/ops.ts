/**
 * @module http/routes/ops
 * The operations view of a city: every H3 cell within `rings` of a point, with its supply,
 * demand, surge and active trips (rooms/city-view), polled here or pushed on the desk's feed. Operators only
 * (403 for riders and drivers): it holds counts per cell (about 5 km² at resolution 7), never
 * a position, but where a city's drivers and demand are is the business's to see. Also the SOS
 * alerts that trips' riders and drivers raised (routes/sos.ts), open ones first, their
 * acknowledgement, and the live feed of them (the operations desk object, rooms/ops-desk). And the
 * trips' cancels with their reason codes, filtered, with counts per code. And the live metrics of
 * the last few minutes (connections, throughput, errors, dispatch health per city), which the desk
 * keeps from the counts every isolate flushes to it (src/metrics.ts; docs/METRICS.md).
 */
import { Hono } from "hono";
import { cityView } from "../../rooms/city-view";
import { OpsCancellationsQuery, OpsCellsQuery } from "../../protocol/ops";
import { listCancellations } from "../../db/cancellations";
import { requireUser } from "../auth-middleware";
import type { AppContext, AppEnv } from "../context";
import { requireAdmin } from "../require-admin";
import { readId, readQuery } from "../validate";
import { acknowledgeAlert, listAlerts } from "../../db/alerts";
import { OpsAlertsQuery, type TripAlert } from "../../protocol/safety";
import { notFound, unwrap } from "../../errors";
import { opsDesk } from "../../rooms/stubs";
import { forwardFallback, forwardUpgrade } from "../upgrade";
import { logJson } from "../../log";

export const opsRoutes = new Hono<AppEnv>();

opsRoutes.use("/ops/*", requireUser, requireAdmin);

opsRoutes.get("/ops/cells", async (c) => {
  const area = readQuery(c, OpsCellsQuery);
  return c.json(await cityView(c.env, c.get("config").H3_RESOLUTION, area, Date.now()));
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
