/**
 * @module rooms/ops-desk
 * The operations desk: one object for the whole service, to which operators' pages hold a
 * socket (or an SSE stream) and on which every SOS alert is announced the moment it is raised
 * or acknowledged, so that operators see it at once rather than at their next poll; and every trip
 * the trips' watchdog moved (a silent driver's, one never started at the pickup). It keeps
 * no log and no storage: D1 is the record of alerts (db/alerts), and a page that (re)connects
 * reads the open ones there after its `welcome`.
 */
import type { Identity } from "../auth/jwt";
import { type ApiError, forbidden, type Result } from "../errors";
import { OpsDeskClientFrame, type OpsDeskFrame, type StuckTrip, type TripAlert } from "../protocol/safety";
import { SocketHub, type WelcomeSnapshot } from "./socket-hub";

export class OpsDesk extends SocketHub<OpsDeskClientFrame, OpsDeskFrame> {
  protected readonly kind = "OpsDesk";
  protected readonly clientFrames = OpsDeskClientFrame;

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

  protected onClientFrame(): number | null {
    // Only pings come (the hub answers them): nothing to do.
    return null;
  }
}
