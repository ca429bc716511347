/**
 * @module simulator/stats
 * What the simulation counts: trips by outcome, offers, fixes, chat, ratings, errors by code
 * (and where they happened), and two latencies kept as plain arrays with exact percentiles:
 * match time (the request sent -> the rider's trip socket shows `accepted`) and
 * location-to-rider (a driver's fix with `at` -> the rider's `location` frame with that `at`,
 * both on this process's clock). Renders the progress line, the summary table and its JSON.
 */
import { isRidewireError } from "@ridewire/client";

/** Exact nearest-rank percentile of unsorted samples; null when there are none. */
export function percentile(samples: readonly number[], p: number): number | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

export function formatMs(ms: number | null): string {
  if (ms === null) return "-";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

const formatElapsed = (ms: number) => {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
};

type ErrorEntry = { count: number; where: Map<string, number>; sample: string };

export class Stats {
  /** When the measured run began (after setup); reset by `begin`. */
  startedAt = Date.now();
  readonly trips = { requested: 0, created: 0, matched: 0, completed: 0, noDriver: 0, cancelled: 0, cancelledAtEnd: 0 };
  /** `lost`: accepted too late, another driver of the batch (or the timeout) was first (409). */
  readonly offers = { received: 0, accepted: 0, declined: 0, expired: 0, lost: 0 };
  /** Rides started with the rider's PIN (areas that ask for one). */
  pinStarts = 0;
  /** Tips sent after completed rides, and their sum in minor units. */
  readonly tips = { sent: 0, minor: 0 };
  /** Scheduled rides: booked, then dispatched to a driver, completed, or still open at the end. */
  readonly scheduled = { booked: 0, matched: 0, completed: 0, cancelledAtEnd: 0 };
  readonly fixes = { sent: 0, notSent: 0, refused: 0, onTrip: 0 };
  /** `closed`: sent as the trip ended, refused by its closed chat (409). */
  readonly chat = { sent: 0, acked: 0, closed: 0, received: 0 };
  /** Requests by the tier the rider picked (README, "Tiers"). */
  readonly tiers = new Map<string, number>();
  ratings = 0;
  /** Sockets that dropped while in use (the SDK reconnects them). */
  socketDrops = 0;
  readonly matchMs: number[] = [];
  readonly locationMs: number[] = [];
  private readonly errors = new Map<string, ErrorEntry>();

  begin(): void {
    this.startedAt = Date.now();
  }

  /** Counts a request of `tier`; a quote without one is from before tiers, which was the default tier's. */
  countTier(tier: string | undefined): void {
    const name = tier ?? "default";
    this.tiers.set(name, (this.tiers.get(name) ?? 0) + 1);
  }

  /** Counts a failure by its code (a RidewireError's, else `exception`) and where it happened. */
  /**
   * A trip chat message that was not acked: one that raced the trip's end meets its closed chat
   * (409), which is the trip ending, not an error; anything else is.
   */
  chatRefused(who: "rider" | "driver", err: unknown): void {
    if (isRidewireError(err) && err.code === "conflict") this.chat.closed++;
    else this.error(`trip chat (${who})`, err);
  }

  error(where: string, err: unknown): void {
    const code = isRidewireError(err) ? err.code : typeof err === "string" ? err : "exception";
    const message = err instanceof Error ? err.message : String(err);
    let entry = this.errors.get(code);
    if (!entry) {
      entry = { count: 0, where: new Map(), sample: `${where}: ${message}` };
      this.errors.set(code, entry);
    }
    entry.count++;
    entry.where.set(where, (entry.where.get(where) ?? 0) + 1);
  }

  get errorCount(): number {
    let total = 0;
    for (const entry of this.errors.values()) total += entry.count;
    return total;
  }

  progressLine(driversOnline: number, drivers: number): string {
    const t = this.trips;
    return (
      `[${formatElapsed(Date.now() - this.startedAt)}] drivers online ${driversOnline}/${drivers}` +
      ` | trips requested ${t.requested} matched ${t.matched} completed ${t.completed} no_driver ${t.noDriver}` +
      ` | errors ${this.errorCount}`
    );
  }

  /** Every figure, as `--json` writes it. */
  summary(run: object) {
    const ms = (samples: number[]) => ({
      count: samples.length,
      p50: percentile(samples, 0.5),
      p99: percentile(samples, 0.99),
      max: samples.length ? Math.max(...samples) : null,
    });
    return {
      run,
      durationMs: Date.now() - this.startedAt,
      trips: { ...this.trips },
      requestsByTier: Object.fromEntries(this.tiers),
      matchTimeMs: ms(this.matchMs),
      locationToRiderMs: ms(this.locationMs),
      offers: { ...this.offers },
      fixes: { ...this.fixes },
      chat: { ...this.chat },
      ratings: this.ratings,
      pinStarts: this.pinStarts,
      tips: { ...this.tips },
      scheduled: { ...this.scheduled },
      socketDrops: this.socketDrops,
      errors: Object.fromEntries(
        [...this.errors].map(([code, e]) => [
          code,
          { count: e.count, where: Object.fromEntries(e.where), sample: e.sample },
        ]),
      ),
      errorCount: this.errorCount,
    };
  }

  /** The summary table; `matchNote` says what the match time includes besides the service. */
  table(title: string, matchNote = ""): string {
    const s = this.summary({});
    const t = s.trips;
    const rows: [string, string, string?][] = [
      ["trips requested", String(t.requested), t.created === t.requested ? undefined : `${t.created} created`],
      [
        "tiers requested",
        String(this.tiers.size),
        [...this.tiers].map(([tier, n]) => `${tier} ${n}`).join(", ") || undefined,
      ],
      ["matched", String(t.matched)],
      ["completed", String(t.completed)],
      ["no_driver", String(t.noDriver)],
      [
        "cancelled",
        String(t.cancelled),
        t.cancelledAtEnd ? `${t.cancelledAtEnd} still open at the end, cancelled by the simulator` : undefined,
      ],
      [
        "match time p50 / p99",
        `${formatMs(s.matchTimeMs.p50)} / ${formatMs(s.matchTimeMs.p99)}`,
        `${s.matchTimeMs.count} trips; request sent -> rider sees accepted${matchNote}`,
      ],
      [
        "location -> rider p50 / p99",
        `${formatMs(s.locationToRiderMs.p50)} / ${formatMs(s.locationToRiderMs.p99)}`,
        `${s.locationToRiderMs.count} fixes of ${s.fixes.onTrip} sent on trips`,
      ],
      [
        "offers",
        `${s.offers.received}`,
        `${s.offers.accepted} accepted, ${s.offers.declined} declined, ${s.offers.expired} expired, ` +
          `${s.offers.lost} lost to another driver of the batch`,
      ],
      ["started with a PIN", String(s.pinStarts)],
      [
        "scheduled rides",
        String(s.scheduled.booked),
        `${s.scheduled.matched} dispatched, ${s.scheduled.completed} completed, ` +
          `${s.scheduled.cancelledAtEnd} still booked or open at the end`,
      ],
      ["tips", String(s.tips.sent), `${(s.tips.minor / 100).toFixed(2)} in total`],
      ["fixes sent", String(s.fixes.sent), `${s.fixes.notSent} not sent (socket down), ${s.fixes.refused} refused`],
      [
        "chat messages",
        String(s.chat.sent),
        `${s.chat.acked} acked, ${s.chat.closed} after the trip ended, ${s.chat.received} received`,
      ],
      ["ratings", String(s.ratings)],
      ["socket drops", String(s.socketDrops), "reconnected by the SDK"],
    ];
    const width = Math.max(...rows.map((r) => r[0].length));
    const valueWidth = Math.max(...rows.map((r) => r[1].length));
    const lines = [
      title,
      ...rows.map(
        ([label, value, note]) => `  ${label.padEnd(width)}  ${value.padStart(valueWidth)}${note ? `   ${note}` : ""}`,
      ),
    ];
    lines.push("errors by code");
    if (this.errors.size === 0) lines.push("  none");
    const codeWidth = Math.max(0, ...[...this.errors.keys()].map((k) => k.length));
    for (const [code, entry] of [...this.errors].sort((a, b) => b[1].count - a[1].count)) {
      const where = [...entry.where]
        .sort((a, b) => b[1] - a[1])
        .map(([w, n]) => `${w} ${n}`)
        .join(", ");
      lines.push(`  ${code.padEnd(codeWidth)}  ${String(entry.count).padStart(5)}   ${where}`);
      lines.push(`  ${"".padEnd(codeWidth)}         e.g. ${entry.sample.slice(0, 160)}`);
    }
    return lines.join("\n");
  }
}
