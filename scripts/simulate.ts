/**
 * The city simulator: `npm run simulate -- --drivers 200 --riders 50 --minutes 2 --city sf`.
 *
 * Against a running ridewire (by default the local dev server), it registers fresh drivers and
 * riders, puts the drivers online with a driver channel each, and lets riders request rides
 * for `--minutes` while drivers roam, accept or decline offers and drive accepted rides to the
 * end (chat, ratings, the rider's PIN at the start, some tips, a few scheduled rides; batched
 * offers lost to another driver are counted, not errors). A progress line while it runs; at the end the rides still
 * open get `--drain` seconds, then rides under way are ended by their drivers (a rider cannot
 * cancel a ride in progress) and the rest are cancelled, every driver signs off, every socket is
 * closed and a summary table is printed (`--json FILE` writes its figures). `--help` lists the
 * options; scripts/simulator/ holds the parts.
 */
import { writeFileSync } from "node:fs";
import { RidewireClient } from "@ridewire/client";
import { areaOf } from "./simulator/city";
import { newPassword, newRunId, pool, settleWithin, sleep, type SimContext } from "./simulator/context";
import { DECIDE_MS, SimDriver } from "./simulator/driver";
import { parseOptions, UsageError, USAGE, type Options } from "./simulator/options";
import { SimRider } from "./simulator/rider";
import { formatMs, Stats } from "./simulator/stats";

/** A status line rewritten in place on a terminal, printed every 5 s otherwise. */
class Progress {
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly tty = process.stdout.isTTY === true;

  constructor(private readonly render: () => string) {}

  start(): void {
    this.stop();
    if (this.tty) {
      this.draw();
      this.timer = setInterval(() => this.draw(), 1_000);
    } else {
      this.timer = setInterval(() => console.log(this.render()), 5_000);
    }
  }

  /** Ends the line (a terminal keeps its last state as a plain line). */
  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = null;
    if (this.tty) process.stdout.write(`\r${this.render()}\x1b[K\n`);
  }

  private draw(): void {
    // Cut to the terminal's width: a wrapped line cannot be rewritten in place.
    const width = process.stdout.columns || 200;
    process.stdout.write(`\r${this.render().slice(0, width - 1)}\x1b[K`);
  }
}

const message = (err: unknown) =>
  err instanceof Error ? `${"code" in err ? `${String(err.code)}: ` : ""}${err.message}` : String(err);

/** Puts the agents in the order they are set up: drivers and riders interleaved. */
function interleave<A, B>(a: A[], b: B[]): (A | B)[] {
  const out: (A | B)[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (i < a.length) out.push(a[i]!);
    if (i < b.length) out.push(b[i]!);
  }
  return out;
}

async function simulate(options: Options): Promise<number> {
  const stats = new Stats();
  const ctx: SimContext = {
    options,
    area: areaOf(options.city, options.radiusKm),
    stats,
    phase: "setup",
    runId: newRunId(),
    password: newPassword(),
    pins: new Map(),
  };
  const { city } = options;

  try {
    await new RidewireClient({ baseUrl: options.url, retries: 1, timeoutMs: 5_000 }).health();
  } catch (err) {
    console.error(
      `simulate: ${options.url} is unreachable (${message(err)}); start it with \`npm run dev\` or pass --url`,
    );
    return 1;
  }

  const radius = options.radiusKm === undefined ? "" : `, ${options.radiusKm} km around the centre`;
  console.log(
    `simulate: ${city.label} (${city.name}${radius}), ` +
      `${options.drivers} drivers, ${options.riders} riders, ${options.minutes} min, accept ${options.accept}, ` +
      `cars ${options.kmh.min}-${options.kmh.max} km/h x${options.speedup}, against ${options.url} (run ${ctx.runId})`,
  );

  const drivers = Array.from({ length: options.drivers }, (_, i) => new SimDriver(ctx, i));
  const riders = Array.from({ length: options.riders }, (_, i) => new SimRider(ctx, i));
  const online = () => drivers.filter((d) => d.online).length;

  // Ctrl-C: the first ends the requests (rides in flight get the drain), the next skips the
  // drain; either way everyone signs off. One more while signing off stops at once.
  let interrupted = false;
  let endWindow = () => {};
  let skipDrain = () => {};
  process.on("SIGINT", () => {
    if (ctx.phase === "ending") process.exit(130);
    interrupted = true;
    if (ctx.phase === "running") endWindow();
    else if (ctx.phase === "draining") skipDrain();
  });

  // ---- setup: accounts, wallets, drivers online with their channel ----
  const agents = interleave<SimDriver, SimRider>(drivers, riders);
  let ready = 0;
  const setupStarted = Date.now();
  const setupProgress = new Progress(
    () => `setting up: ${ready}/${agents.length} accounts ready, ${online()} drivers online`,
  );
  setupProgress.start();
  const results = await pool(agents, options.concurrency, async (agent) => {
    if (interrupted) throw new Error("interrupted");
    await agent.setUp();
    ready++;
  });
  setupProgress.stop();
  const failures = results.flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
  const shutDownDrivers = () =>
    pool(
      drivers.filter((d) => d.api),
      20,
      (d) => d.shutDown(),
    );
  if (failures.length > 0 || interrupted) {
    if (interrupted) console.error("simulate: interrupted during setup");
    else
      console.error(
        `simulate: setup failed for ${failures.length} of ${agents.length} accounts; ` +
          `e.g. ${[...new Set(failures.map(message))].slice(0, 3).join(" | ")}`,
      );
    ctx.phase = "ending";
    await shutDownDrivers();
    return interrupted ? 130 : 1;
  }
  console.log(
    `simulate: ${agents.length} accounts ready in ${formatMs(Date.now() - setupStarted)}; ` +
      `riding for ${options.minutes} min`,
  );

  // ---- the run ----
  const windowEnded = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, options.minutes * 60_000);
    endWindow = () => {
      clearTimeout(timer);
      resolve();
    };
  });

  stats.begin();
  ctx.phase = "running";
  const progress = new Progress(() => {
    const phase =
      ctx.phase === "draining"
        ? ` | draining, ${riders.filter((r) => r.riding).length} open`
        : ctx.phase === "ending"
          ? " | signing off"
          : "";
    return `${stats.progressLine(online(), drivers.length)}${phase}`;
  });
  progress.start();
  const runs = riders.map((r) => r.run().catch((err: unknown) => stats.error("rider", err)));

  await windowEnded;
  const windowMs = Date.now() - stats.startedAt;
  ctx.phase = "draining";
  for (const rider of riders) rider.interrupt();
  const drainUntil = Date.now() + options.drain * 1000;
  let drainSkipped = false;
  skipDrain = () => {
    drainSkipped = true;
  };
  while (!drainSkipped && Date.now() < drainUntil && riders.some((r) => r.riding)) await sleep(250);

  // ---- the end: rides under way ended by their drivers, the rest cancelled, drivers offline, sockets closed ----
  ctx.phase = "ending";
  await pool(
    drivers.filter((d) => d.api),
    20,
    (d) => d.endRideUnderWay(),
  );
  await Promise.all(riders.map((r) => r.cancelOpen()));
  await settleWithin(Promise.all(runs), 10_000);
  await shutDownDrivers();
  progress.stop();

  const drainedMs = Date.now() - stats.startedAt - windowMs;
  const cut = windowMs < options.minutes * 60_000 - 1_000 ? " (interrupted)" : "";
  console.log("");
  console.log(
    stats.table(
      `summary: ${city.label}, ${options.drivers} drivers, ${options.riders} riders, ` +
        `${formatMs(windowMs)} of requests${cut} ` +
        `+ ${formatMs(drainedMs)} to end the rides and sign off, accept ${options.accept}`,
      `, incl. the driver's ${DECIDE_MS.min / 1000}-${DECIDE_MS.max / 1000} s to decide`,
    ),
  );
  if (options.json) {
    const run = {
      runId: ctx.runId,
      url: options.url,
      city: city.name,
      drivers: options.drivers,
      riders: options.riders,
      minutes: options.minutes,
      accept: options.accept,
      speedup: options.speedup,
      kmh: options.kmh,
      idle: options.idle,
      tripKm: options.tripKm,
      radiusKm: options.radiusKm ?? null,
      drain: options.drain,
      tip: options.tip,
      scheduled: options.scheduled,
      scheduleLead: options.scheduleLead,
      windowMs,
      interrupted: cut !== "",
    };
    writeFileSync(options.json, `${JSON.stringify(stats.summary(run), null, 2)}\n`);
    console.log(`simulate: figures written to ${options.json}`);
  }
  return 0;
}

async function main(): Promise<number> {
  let options: Options | null;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`simulate: ${err.message}\n(npm run simulate -- --help lists the options)`);
    return 2;
  }
  if (!options) {
    console.log(USAGE);
    return 0;
  }
  return simulate(options);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error("simulate: failed:", err);
    process.exit(1);
  },
);
