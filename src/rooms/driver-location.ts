/**
 * @module rooms/driver-location
 * The driver session's location intake: which fixes it takes (`FixIntake`: age, clock, rate
 * and speed checks) and when an available driver's position goes to the geo index
 * (`CellReporter`): on a change of cell, after CELL_REPORT_DISTANCE_M of movement, or every
 * CELL_REPORT_INTERVAL_MS. Both hold memory only and start afresh after the object wakes.
 */
import type { Config } from "../config";
import { CellTracker, haversineKm, impliedSpeedKmh, type Fix, type LatLng } from "../domain/geo";
import type { Candidate } from "../domain/matching";
import { ApiError } from "../errors";
import { SocketGuard } from "./socket-guard";
import { geoCell } from "./stubs";

/**
 * Older fixes are history, not a position. (Fixes more than FIX_MAX_AHEAD_MS ahead of this
 * object's clock are refused too: a future `at` would buy a driver's app room to make a jump
 * look slow.)
 */
const MAX_FIX_AGE_MS = 120_000;

const badFix = (message: string) => new ApiError(400, "invalid_request", message);

export class FixIntake {
  /** Locations-per-second limit of this driver across their sockets; memory only, refills after waking. */
  private guard: SocketGuard | null = null;

  constructor(private readonly config: Config) {}

  /** Throws the 400 or 429 that refuses `fix`; `last` is the driver's previous fix, if any. */
  check(fix: Fix, last: Fix | null, now: number): void {
    const { config } = this;
    if (fix.at > now + config.FIX_MAX_AHEAD_MS) throw badFix("the fix is from the future; check the device clock");
    if (fix.at < now - MAX_FIX_AGE_MS) throw badFix("the fix is too old");
    this.guard ??= new SocketGuard(
      {
        ratePerSecond: config.LOCATIONS_PER_SECOND,
        burst: config.LOCATIONS_PER_SECOND,
        badFramesBeforeClose: 1,
        badFrameWindowMs: 1,
      },
      now,
    );
    if (!this.guard.take(now))
      throw new ApiError(429, "rate_limited", `at most ${config.LOCATIONS_PER_SECOND} locations per second`);
    if (last) {
      if (fix.at <= last.at) throw badFix("the fix is older than the last one");
      if (impliedSpeedKmh(last, fix) > config.MAX_SPEED_KMH) {
        throw badFix(`the fix implies more than ${config.MAX_SPEED_KMH} km/h; dropped as a jump`);
      }
    }
  }
}

/** The cell the session last reported the driver in (null: none), and when. */
export type LastReport = { cell: string | null; at: number };

export class CellReporter {
  /** The H3 cell of the driver's fixes, without an H3 lookup per fix. Memory only. */
  private cellTracker: CellTracker | null = null;
  /** Where the last report to the cell put the driver; null after waking, so the first fix reports. Memory only. */
  private reportedPosition: LatLng | null = null;

  constructor(
    private readonly env: Env,
    private readonly config: Config,
    private readonly logError: (where: string, err: unknown) => void,
  ) {}

  /**
   * Tells the geo index where an available driver is: on a change of cell, once they moved
   * CELL_REPORT_DISTANCE_M since the last report, and otherwise every CELL_REPORT_INTERVAL_MS
   * to stay fresh. Each report is an RPC, the costliest step of a fix, so a driver moving at
   * city speed reports every 10-20 s rather than on every fix. Returns the cell reported to,
   * and whether the session must store the report now (a change of cell, or `force`), so that
   * SQLite always names the cell to leave; null when no report was due.
   */
  report(driver: Candidate, last: LastReport, now: number, force: boolean): { cell: string; store: boolean } | null {
    const point = driver.location;
    this.cellTracker ??= new CellTracker(this.config.H3_RESOLUTION);
    const cell = this.cellTracker.cellOf(point);
    const moved = cell !== last.cell;
    const due =
      force ||
      moved ||
      this.reportedPosition === null ||
      now - last.at >= this.config.CELL_REPORT_INTERVAL_MS ||
      haversineKm(this.reportedPosition, point) * 1000 >= this.config.CELL_REPORT_DISTANCE_M;
    if (!due) return null;
    if (moved) this.leave(driver.driverId, last.cell);
    geoCell(this.env, cell)
      .upsertDriver(driver)
      .catch((err: unknown) => this.logError("reportToCell", err));
    this.reportedPosition = point;
    return { cell, store: moved || force };
  }

  /** Takes the driver out of `cell`'s index, if they are in one. */
  leave(driverId: string, cell: string | null): void {
    if (!cell) return;
    geoCell(this.env, cell)
      .removeDriver(driverId)
      .catch((err: unknown) => this.logError("leaveCell", err));
  }
}
