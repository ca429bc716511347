/**
 * @module rooms/geo-cell
 * One H3 cell of the geo index: the drivers available in it (position, freshness, rating,
 * acceptance), the ride requests made in it recently, for surge, and the trips picked up in it
 * that are not over yet (counts for the operations view). Drivers' sessions report
 * here on a change of cell and at most every CELL_REPORT_INTERVAL_MS; matching and quotes
 * read a snapshot.
 *
 * The drivers are soft state: every available driver reports again within
 * CELL_REPORT_INTERVAL_MS, so the map in memory is the index, and SQLite gets a copy of the
 * changed rows at most every DRIVERS_SAVE_MS, written with a report that comes after it. A
 * cell woken after an eviction starts from that copy, and the reports fill in the rest within
 * one interval. A row that is out of date there is harmless: matching only ever reserves a
 * driver through the driver's own session, which refuses one who is not available.
 *
 * Each tier's drivers are indexed apart (`byTier`), so that asking a cell for a tier costs a walk
 * of that tier's drivers only: a quote asks every cell of its ring for each tier its pickup cell
 * did not settle, and a tier nobody serves there is answered at once.
 *
 * Demand lives in memory too (domain/surge's `DemandWindow`), so a quote's surge reads no
 * storage; every request and withdrawal is also written to SQLite at once (they are rare next
 * to driver reports), and a woken cell reloads its window from there.
 */
import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import { loadConfig, type Config } from "../config";
import { haversineKm, type LatLng } from "../domain/geo";
import type { Candidate } from "../domain/matching";
import { DemandWindow } from "../domain/surge";
import { defaultTierOf } from "../domain/tiers";
import { VehicleTier } from "../protocol/vehicles";

/** Fresh drivers (all, or the nearest few to a point), how many are available in all, and recent demand. */
export type CellSnapshot = { drivers: Candidate[]; availableDrivers: number; recentRequests: number };

/** Counts only, never positions: what the operations view shows of a cell. */
export type CellSummary = { availableDrivers: number; recentRequests: number; activeTrips: Record<string, number> };

/**
 * Asks a cell for only the `limit` drivers nearest to `point`, leaving out `exclude`; with `tier`, only drivers who
 * serve it, and the supply counted among them.
 */
export type NearestQuery = { point: LatLng; limit: number; exclude: string[]; tier?: string };

/** Per tier asked: the nearest few drivers serving it, how many available drivers serve it, its recent demand. */
export type TierSnapshot = {
  byTier: Record<string, { drivers: Candidate[]; availableDrivers: number; recentRequests: number }>;
};

/** How long an ended trip's row outlives it, against late reports. */
const ENDED_TRIPS_KEPT_MS = 3_600_000;

/** Stale rows are deleted at most this often; reads skip them in between. */
const PRUNE_EVERY_MS = 10_000;

/** How often the drivers in memory are copied to SQLite (see the module comment). */
const DRIVERS_SAVE_MS = 5_000;

type DriverRow = {
  driver_id: string;
  lat: number;
  lng: number;
  at: number;
  rating: number | null;
  acceptance: number | null;
  tiers: string | null;
};

export class GeoCell extends DurableObject<Env> {
  private readonly config: Config;
  /** When stale rows were last deleted. Memory only: a woken cell prunes on its first read. */
  private prunedAt = 0;
  /** The available drivers of this cell, by id: the index matching reads. */
  private readonly drivers = new Map<string, Candidate>();
  /** The ids of `drivers` by each tier they serve (see `tiersServed`): the cell's per-tier supply. */
  private readonly byTier = new Map<string, Set<string>>();
  /** Drivers added, moved or removed since the last copy to SQLite. Memory only. */
  private readonly unsaved = new Set<string>();
  private savedAt = 0;
  /**
   * Ride requests of the surge window: who asked, and whether it was called off. Rebuilt from the `demand` table after
   * waking.
   */
  private readonly demand: DemandWindow;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.config = loadConfig(env);
    const sql = ctx.storage.sql;
    sql.exec(
      `CREATE TABLE IF NOT EXISTS drivers (driver_id TEXT PRIMARY KEY, lat REAL NOT NULL, lng REAL NOT NULL,
       at INTEGER NOT NULL, rating REAL, acceptance REAL, tiers TEXT)`,
    );
    // Cells made before tiers get the column here (SQLite has no ADD COLUMN IF NOT EXISTS).
    const columns = sql.exec<{ name: string }>(`PRAGMA table_info(drivers)`).toArray();
    if (!columns.some((c) => c.name === "tiers")) sql.exec(`ALTER TABLE drivers ADD COLUMN tiers TEXT`);
    // Requests used to be bare timestamps; surge now counts distinct riders, so the old rows go.
    sql.exec(`DROP TABLE IF EXISTS requests`);
    sql.exec(
      `CREATE TABLE IF NOT EXISTS demand (trip_id TEXT PRIMARY KEY, rider_id TEXT NOT NULL, at INTEGER NOT NULL,
       withdrawn INTEGER NOT NULL, tier TEXT)`,
    );
    const demandColumns = sql.exec<{ name: string }>(`PRAGMA table_info(demand)`).toArray();
    if (!demandColumns.some((c) => c.name === "tier")) sql.exec(`ALTER TABLE demand ADD COLUMN tier TEXT`);
    sql.exec(
      `CREATE TABLE IF NOT EXISTS trips (trip_id TEXT PRIMARY KEY, status TEXT NOT NULL, active INTEGER NOT NULL,
       at INTEGER NOT NULL)`,
    );
    for (const row of sql.exec<DriverRow>(`SELECT driver_id, lat, lng, at, rating, acceptance, tiers FROM drivers`)) {
      this.index({
        driverId: row.driver_id,
        location: { lat: row.lat, lng: row.lng },
        locationAt: row.at,
        rating: row.rating,
        acceptanceRate: row.acceptance,
        ...tiersOf(row.tiers),
      });
    }
    this.demand = new DemandWindow(this.config.SURGE_WINDOW_MS);
    for (const row of sql.exec<{
      trip_id: string;
      rider_id: string;
      at: number;
      withdrawn: number;
      tier: string | null;
    }>(`SELECT trip_id, rider_id, at, withdrawn, tier FROM demand`)) {
      this.demand.restore(row.trip_id, {
        riderId: row.rider_id,
        at: row.at,
        withdrawn: row.withdrawn === 1,
        ...(row.tier === null ? {} : { tier: row.tier }),
      });
    }
  }

  /** Adds or moves an available driver. */
  upsertDriver(candidate: Candidate): void {
    this.index(candidate);
    this.changed(candidate.driverId);
  }

  /** The driver left the cell, went offline, or took an offer. */
  removeDriver(driverId: string): void {
    if (this.unindex(driverId)) this.changed(driverId);
  }

  /** The tiers `driver` serves; a row without tiers (from before them) serves the default tier. */
  private tiersServed(driver: Candidate): readonly string[] {
    return driver.tiers ?? [defaultTierOf(this.config.TIERS)];
  }

  /**
   * Puts `driver` in `drivers` and under each tier it serves. A move that keeps the driver's tiers leaves the tier
   * sets as they were, so each lists its drivers in the order `drivers` does (the order reads walked before the index).
   */
  private index(driver: Candidate): void {
    const before = this.drivers.get(driver.driverId);
    const sameTiers = before !== undefined && sameList(this.tiersServed(before), this.tiersServed(driver));
    if (before && !sameTiers) this.unlist(before);
    this.drivers.set(driver.driverId, driver);
    if (sameTiers) return;
    for (const tier of this.tiersServed(driver)) {
      let ids = this.byTier.get(tier);
      if (!ids) {
        ids = new Set();
        this.byTier.set(tier, ids);
      }
      ids.add(driver.driverId);
    }
  }

  /** Takes the driver out of `drivers` and its tiers; false when it was not there. */
  private unindex(driverId: string): boolean {
    const driver = this.drivers.get(driverId);
    if (!driver) return false;
    this.drivers.delete(driverId);
    this.unlist(driver);
    return true;
  }

  private unlist(driver: Candidate): void {
    for (const tier of this.tiersServed(driver)) {
      const ids = this.byTier.get(tier);
      ids?.delete(driver.driverId);
      if (ids?.size === 0) this.byTier.delete(tier);
    }
  }

  private changed(driverId: string): void {
    this.unsaved.add(driverId);
    const now = Date.now();
    if (now - this.savedAt >= DRIVERS_SAVE_MS) this.saveDrivers(now);
  }

  /** Copies the changed drivers to SQLite, in the one transaction of this call. */
  private saveDrivers(now: number): void {
    const sql = this.ctx.storage.sql;
    for (const driverId of this.unsaved) {
      const d = this.drivers.get(driverId);
      if (!d) {
        sql.exec(`DELETE FROM drivers WHERE driver_id = ?`, driverId);
        continue;
      }
      sql.exec(
        `INSERT INTO drivers (driver_id, lat, lng, at, rating, acceptance, tiers) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (driver_id) DO UPDATE SET
           lat = excluded.lat, lng = excluded.lng, at = excluded.at,
           rating = excluded.rating, acceptance = excluded.acceptance, tiers = excluded.tiers`,
        driverId,
        d.location.lat,
        d.location.lng,
        d.locationAt,
        d.rating,
        d.acceptanceRate,
        d.tiers === undefined ? null : JSON.stringify(d.tiers),
      );
    }
    this.unsaved.clear();
    this.savedAt = now;
  }

  /** The drivers whose last report is fresh; stale ones stay in memory until the next prune. */
  private freshDrivers(now: number): Candidate[] {
    const freshSince = now - this.config.DRIVER_STALE_MS;
    return [...this.drivers.values()].filter((d) => d.locationAt >= freshSince);
  }

  /**
   * Drops stale drivers and requests now and then: reads are the hot path (every quote and
   * dispatch pass asks several cells), so they skip stale entries themselves in between.
   */
  private pruneIfDue(now: number): void {
    if (now - this.prunedAt < PRUNE_EVERY_MS) return;
    const freshSince = now - this.config.DRIVER_STALE_MS;
    for (const d of this.drivers.values()) {
      if (d.locationAt >= freshSince) continue;
      this.unindex(d.driverId);
      this.unsaved.add(d.driverId);
    }
    if (this.demand.prune(now).length > 0)
      this.ctx.storage.sql.exec(`DELETE FROM demand WHERE at <= ?`, now - this.config.SURGE_WINDOW_MS);
    this.ctx.storage.sql.exec(`DELETE FROM trips WHERE active = 0 AND at < ?`, now - ENDED_TRIPS_KEPT_MS);
    this.prunedAt = now;
  }

  /** A rider requested a ride picked up here: it counts towards surge while it is live. */
  private recordRequest(tripId: string, riderId: string, now: number, tier?: string): void {
    const entry = this.demand.record(tripId, riderId, now, tier);
    if (entry)
      this.ctx.storage.sql.exec(
        `INSERT INTO demand (trip_id, rider_id, at, withdrawn, tier) VALUES (?, ?, ?, 0, ?)
         ON CONFLICT (trip_id) DO NOTHING`,
        tripId,
        riderId,
        now,
        tier ?? null,
      );
  }

  /**
   * The rider called the request off for free: it stops counting (even if the request itself is still on its way here).
   */
  withdrawRequest(tripId: string, now: number): void {
    const entry = this.demand.withdraw(tripId, now);
    if (entry) {
      this.ctx.storage.sql.exec(
        `INSERT INTO demand (trip_id, rider_id, at, withdrawn, tier) VALUES (?, ?, ?, 1, ?)
         ON CONFLICT (trip_id) DO UPDATE SET withdrawn = 1`,
        tripId,
        entry.riderId,
        entry.at,
        entry.tier ?? null,
      );
    }
  }

  /**
   * A trip picked up in this cell changed status. Reports may arrive out of order, so an older
   * one never overwrites a newer one, and an ended trip stays ended (its row is kept a while so
   * that a late report cannot bring it back). `requestedBy`: the trip was just created by this
   * rider, and its request counts towards surge (one call where a request took two), of its `tier`.
   */
  noteTrip(tripId: string, status: string, active: boolean, at: number, requestedBy?: string, tier?: string): void {
    if (requestedBy !== undefined) this.recordRequest(tripId, requestedBy, at, tier);
    this.pruneIfDue(at);
    const sql = this.ctx.storage.sql;
    sql.exec(
      `INSERT INTO trips (trip_id, status, active, at) VALUES (?, ?, ?, ?)
       ON CONFLICT (trip_id) DO UPDATE SET status = excluded.status, active = excluded.active, at = excluded.at
       WHERE trips.active = 1 AND excluded.at >= trips.at`,
      tripId,
      status,
      active ? 1 : 0,
      at,
    );
  }

  summary(now: number): CellSummary {
    const sql = this.ctx.storage.sql;
    const availableDrivers = this.freshDrivers(now).length;
    const recentRequests = this.demand.liveRiders(now);
    const activeTrips: Record<string, number> = {};
    for (const row of sql.exec<{ status: string; n: number }>(
      `SELECT status, COUNT(*) AS n FROM trips WHERE active = 1 GROUP BY status`,
    ))
      activeTrips[row.status] = row.n;
    return { availableDrivers, recentRequests, activeTrips };
  }

  /** The fresh drivers who serve `tier`, from its index: no walk of the cell's other drivers. */
  private freshServing(tier: string, now: number): Candidate[] {
    const ids = this.byTier.get(tier);
    if (!ids) return [];
    const freshSince = now - this.config.DRIVER_STALE_MS;
    const drivers: Candidate[] = [];
    for (const id of ids) {
      const d = this.drivers.get(id);
      if (d && d.locationAt >= freshSince) drivers.push(d);
    }
    return drivers;
  }

  /** Whether a request of `requested` counts towards `tier`'s surge; one from before tiers was the default tier's. */
  private ofTier(tier: string): (requested: string | undefined) => boolean {
    const defaultTier = defaultTierOf(this.config.TIERS);
    return (requested) => (requested ?? defaultTier) === tier;
  }

  /**
   * Fresh available drivers and the request count inside the surge window. With `nearest`,
   * only the few drivers nearest to the pickup cross the RPC: matching and quotes want the
   * best candidates and a count, not every driver of a busy cell; with `nearest.tier`, only
   * those who serve it, and the counts are the tier's (its supply, and requests of that tier).
   */
  snapshot(now: number, nearest?: NearestQuery): CellSnapshot {
    this.pruneIfDue(now);
    if (!nearest) {
      const fresh = this.freshDrivers(now);
      return { drivers: fresh, availableDrivers: fresh.length, recentRequests: this.demand.liveRiders(now) };
    }
    const tier = nearest.tier;
    if (tier === undefined) {
      const fresh = this.freshDrivers(now);
      const recentRequests = this.demand.liveRiders(now);
      return {
        drivers: nearestOf(fresh, nearest.point, nearest.limit, new Set(nearest.exclude)),
        availableDrivers: fresh.length,
        recentRequests,
      };
    }
    const drivers = this.freshServing(tier, now);
    return {
      drivers: nearestOf(drivers, nearest.point, nearest.limit, new Set(nearest.exclude)),
      availableDrivers: drivers.length,
      recentRequests: this.demand.liveRiders(now, this.ofTier(tier)),
    };
  }

  /**
   * A quote's view of the cell in one call, whatever the number of tiers: per tier, the `limit`
   * drivers nearest to `point` who serve it and how many available drivers do.
   */
  tierSnapshot(now: number, point: LatLng, tiers: readonly string[], limit: number): TierSnapshot {
    this.pruneIfDue(now);
    const byTier: TierSnapshot["byTier"] = {};
    for (const tier of tiers.slice(0, 20)) {
      const drivers = this.freshServing(tier, now);
      byTier[tier] = {
        drivers: nearestOf(drivers, point, limit, new Set()),
        availableDrivers: drivers.length,
        recentRequests: this.demand.liveRiders(now, this.ofTier(tier)),
      };
    }
    return { byTier };
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The `limit` drivers nearest to `point`, leaving out `excluded`. */
function nearestOf(drivers: Candidate[], point: LatLng, limit: number, excluded: ReadonlySet<string>): Candidate[] {
  return drivers
    .filter((d) => !excluded.has(d.driverId))
    .map((d) => ({ d, km: haversineKm(d.location, point) }))
    .sort((a, b) => a.km - b.km)
    .slice(0, limit)
    .map(({ d }) => d);
}

const StoredTiers = z.array(VehicleTier);

/**
 * The tiers a driver row in the cell's SQLite serves, checked as they are read back: a row that does not read as a
 * list of tier names (written by an older version, or damaged) counts as none given, i.e. the default tier.
 */
function tiersOf(text: string | null): { tiers?: string[] } {
  if (text === null) return {};
  try {
    const parsed = StoredTiers.safeParse(JSON.parse(text));
    return parsed.success ? { tiers: parsed.data } : {};
  } catch {
    return {};
  }
}
