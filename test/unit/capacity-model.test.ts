// scripts/capacity-model.mjs, the arithmetic behind docs/SCALE.md, on an input small enough to
// work out by hand: the trip's floor, who is busy, the write-behind's flushes, the load per path,
// the partition databases, the bill's included allowances and the rounding of what it prints.
import { describe, expect, it } from "vitest";
import {
  ASSUMED,
  archiveFlushesPerS,
  BEGIN,
  END,
  floorPerTripUs,
  fleet,
  fmt,
  model,
  render,
  replaceBlock,
  round2,
  SECONDS_PER_MONTH,
  tallyOf,
  type TripFloor,
} from "../../scripts/capacity-model.mjs";

const us = (n: number) => ({ medianS: n / 1e6 });

/** Unit costs in round µs, and events per trip with a few keys the floor must not count twice. */
const tiny: TripFloor = {
  units: {
    http: us(1_000),
    d1: us(100),
    rpc: us(10),
    objectStart: us(500),
    queueMessage: us(200),
    alarm: us(50),
    socket: us(2_000),
    frameIn: us(20),
    frameOut: us(5),
  },
  counts: {
    perTrip: {
      "http request": 2,
      "d1 round trip": 3,
      rpc: 4,
      "rpc trip.accept": 1,
      "rpc cell.snapshot": 2,
      "rpc cell.noteTrip": 1.5,
      "object started (trip)": 1,
      "object started (driver)": 0.5,
      "queue sendBatch": 1,
      "queue message sent (receipt)": 1,
      "alarm (trip)": 1,
      "socket opened": 1,
      "webSocketMessage (driver)": 2,
      "frame sent": 10,
      "sqlite statement (trip)": 100,
    },
  },
  trip: { netS: 0.01 },
};

const scenario = { cities: 1, drivers: 100, fixIntervalS: 4, riders: 1_000, tripsPerS: 1, chatMessagesPerS: 10 };
const measured = { fixUs: 400, chatOwnUsPerMessage: 100, chatUsPerDelivery: 10 };
const assumed = {
  ...ASSUMED,
  tripMinutes: 0.5,
  averageToPeak: 0.5,
  cellReportsPerDriverS: 0.1,
  chatRecipients: 2,
  chatOfflineShare: 0.1,
  activeRiders: 100,
  tokenRefreshS: 100,
  otherRequestsPerClientS: 0.01,
  reconnectsPerDriverS: 0.01,
};

describe("the capacity model's arithmetic", () => {
  it("prices a trip's floor as each kind of event times its unit cost, every object start once", () => {
    // 2×1000 + 3×100 + 4×10 + 1.5×500 + 1×200 + 1×50 + 1×2000 + 2×20 + 10×5
    expect(floorPerTripUs(tiny.units, tiny.counts.perTrip)).toBeCloseTo(5_430, 6);
  });

  it("reads what a trip does from the tally: the detail of the RPCs and queue messages, summed by kind", () => {
    expect(tallyOf(tiny.counts.perTrip)).toEqual({
      httpPerTrip: 2,
      rpcPerTrip: 4,
      cellRpcPerTrip: 3.5,
      queueMessagesPerTrip: 1,
      socketsPerTrip: 1,
    });
  });

  it("splits the fleet into busy and available drivers from the trip rate and length", () => {
    const f = fleet(scenario, assumed);
    expect(f.tripsInProgress).toBe(30); // 1 trip/s × 30 s
    expect([f.busyDrivers, f.availableDrivers]).toEqual([30, 70]);
    expect([f.fixesPerS, f.tripFixesPerS, f.cellReportsPerS]).toEqual([25, 7.5, 7]);
    // More trips in progress than drivers: every driver is busy, none is negative.
    expect(fleet(scenario, { ...assumed, tripMinutes: 10 }).availableDrivers).toBe(0);
  });

  it("counts one write-behind flush per message in quiet rooms and one per beat in busy ones", () => {
    expect(archiveFlushesPerS(100, 0.001, 5)).toBeCloseTo(99.75, 1);
    expect(archiveFlushesPerS(100, 10, 5)).toBeCloseTo(2, 6); // 10 rooms, each once per 5 s
  });

  it("adds up the cores per path from events/s and µs per event", () => {
    const md = model(tiny, scenario, assumed, measured);
    const row = (name: string) => md.paths.rows.find((r) => r.path.startsWith(name));
    expect(row("driver fixes")?.cores).toBeCloseTo((25 * 400) / 1e6, 12);
    expect(row("trips")?.cores).toBeCloseTo(0.01, 12); // 1 trip/s × 10 ms
    expect(row("chat messages")?.us).toBe(20 + 100 + 2 * 10);
    expect(row("notifications")?.perS).toBe(1 + 1); // the tally's 1 per trip + 10 % of 10 messages
    expect(row("token refreshes")?.perS).toBe(2 + 2); // 200 clients / 100 s + 200 × 0.01
    expect(md.paths.totalCores).toBeCloseTo(
      md.paths.rows.reduce((sum, r) => sum + (r.perS * r.us) / 1e6, 0),
      12,
    );
  });

  it("sizes the partition databases by whichever of writes and storage needs more", () => {
    const md = model(tiny, scenario, assumed, measured);
    expect(md.d1.byWrites).toBe(Math.ceil(md.d1.writesPerS / (assumed.d1WritesPerS * assumed.d1Utilisation)));
    // A trip a second keeps ~8.4 GB in D1's windows (a month of trips in two copies, 35 days of
    // ledger): storage, not writes, asks for the second shard.
    expect(md.d1.byStorage).toBe(Math.ceil(md.d1.hotGb / assumed.d1FillGb));
    expect(md.d1.byStorage).toBeGreaterThan(md.d1.byWrites);
    expect(md.d1.shards).toBe(2);
    const big = model(tiny, { ...scenario, chatMessagesPerS: 1e6 }, assumed, measured);
    // A million messages/s of 300 bytes for 0.5 × 86,400 s: 12,960 GB in one day, at 8 GB a shard.
    expect(big.d1.kinds[0]?.gbPerDay).toBeCloseTo(12_960, 6);
    expect(big.d1.byStorage).toBeGreaterThan(big.d1.byWrites);
    expect(big.d1.shards).toBe(Math.ceil(big.d1.hotGb / assumed.d1FillGb));
  });

  it("bills only what is above each included allowance", () => {
    const md = model(tiny, scenario, assumed, measured);
    // (2 trip calls + 2 refreshes + 2 other calls + 1 reconnect + 1 trip socket)/s over half a month.
    const requests = md.cost.lines.find((l) => l.meter === "Workers: requests");
    expect(requests?.quantity).toBeCloseTo(8 * 0.5 * SECONDS_PER_MONTH, 3);
    expect(requests?.usd).toBeCloseTo(((8 * 0.5 * SECONDS_PER_MONTH - 10e6) / 1e6) * 0.3, 9);
    // Nothing else of this tiny service passes its allowance: a line is never negative.
    for (const l of md.cost.lines) expect(l.usd, l.meter).toBeGreaterThanOrEqual(0);
    expect(md.cost.totalUsd).toBeCloseTo(
      md.cost.lines.reduce((sum, l) => sum + l.usd, 0),
      9,
    );
  });

  it("puts the densest cell's dispatch calls from the tally's cell RPCs over the 7 cells of a ring", () => {
    const md = model(tiny, scenario, assumed, measured);
    const cell = md.objects.find((o) => o.object.startsWith("GeoCell"));
    // 1 trip/s × 10 % × 3 % × 7 cells, each asking this one 3.5 / 7 times; plus its own reports.
    expect(cell?.eventsPerS).toBeCloseTo(assumed.densestCellReportsPerS + 1 * 0.1 * 0.03 * 7 * 0.5, 9);
  });

  it("orders the limits from the nearest one", () => {
    const shares = model(tiny, scenario, assumed, measured).limits.map((l) => l.share);
    expect(shares).toEqual([...shares].sort((x, y) => y - x));
  });
});

describe("what the model prints", () => {
  it("rounds to two significant figures", () => {
    expect([round2(1_234), round2(0.0456), round2(-987), round2(0)]).toEqual([1_200, 0.046, -990, 0]);
    expect([fmt(1_234_567), fmt(0.000156), fmt(47.1)]).toEqual(["1,200,000", "0.00016", "47"]);
  });

  it("replaces only the text between the markers, and refuses a document without them", () => {
    const doc = `# SCALE\n\n${BEGIN}\n\nold\n${END}\n\nafter\n`;
    const body = render(model(tiny, scenario, assumed, measured));
    const next = replaceBlock(doc, body);
    expect(next.startsWith(`# SCALE\n\n${BEGIN}\n\n`)).toBe(true);
    expect(next).toContain(body);
    expect(next).not.toContain("old");
    expect(next.endsWith(`${END}\n\nafter\n`)).toBe(true);
    expect(replaceBlock(next, body)).toBe(next);
    expect(() => replaceBlock("# no markers\n", body)).toThrow(/markers/);
  });
});
