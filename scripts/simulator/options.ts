/**
 * @module simulator/options
 * The simulator's command line: every option parsed, range-checked and explained by `--help`.
 */
import { parseArgs } from "node:util";
import { CITIES, type City } from "./city";

/** The server drops a fix implying 250 km/h or more; cars stay below this, speed-up included. */
export const MAX_WIRE_KMH = 240;

export type Range = { min: number; max: number };

export type Options = {
  url: string;
  drivers: number;
  riders: number;
  minutes: number;
  city: City;
  accept: number;
  speedup: number;
  kmh: Range;
  idle: Range;
  tripKm: Range;
  radiusKm: number | undefined;
  drain: number;
  concurrency: number;
  json: string | undefined;
  /** Share of completed rides whose rider tips. */
  tip: number;
  /** Share of riders who book one scheduled ride first. */
  scheduled: number;
  /** How far ahead a scheduled ride is booked, in seconds. */
  scheduleLead: number;
  /** Share of rides whose rider picks another tier than the default, when one came back with a pickup ETA. */
  upgrade: number;
  /** Share of drivers who go online taking the lower tiers their car's tier accepts. */
  acceptLower: number;
};

export const USAGE = `usage: npm run simulate -- [options]

A city of drivers and riders against a running ridewire: drivers go online, stream a fix
every 2 s while they drive and accept or decline offers; riders top up their wallet and
request rides (a few book a scheduled ride first); accepted rides are driven to the pickup
and the dropoff (the rider's PIN starts them where the area asks for one), with trip chat,
ratings and some tips at the end. Riders quote every tier and request the default one or,
now and then, another tier that came back with a driver near (README, "Tiers"). Drivers
cope with batched offers (OFFER_BATCH_SIZE > 1): an offer another driver of the batch took
first is counted as lost, not as an error. A progress line while it runs, a summary at the
end.

  --url URL            the service; http:// for loopback hosts only, https:// anywhere
                                                           (default http://127.0.0.1:8787)
  --drivers N          drivers, 0..2000                    (default 200)
  --riders N           riders, 0..1000                     (default 50)
  --minutes M          how long riders request rides, 0.05..240, fractions allowed (default 2)
  --city NAME          ${Object.keys(CITIES).join(", ")}                    (default sf)
  --accept P           probability that a driver accepts an offer, 0..1 (default 0.8)
  --kmh MIN-MAX        cars' speed range, km/h             (default 20-45)
  --speedup X          time-lapse for driving, 1..10: cars cover X times the distance of
                       their speed, so rides end within a short run; the server sees
                       speed x X km/h, which must stay under ${MAX_WIRE_KMH}  (default 5)
  --idle MIN-MAX       seconds a rider waits before each ride request (default 5-30)
  --trip-km MIN-MAX    pickup to dropoff as the crow flies, km, more short rides than
                       long ones                           (default 1-8)
  --radius KM          only the square of this half-size around the city centre, 0.3..50
                       (default: the whole city)
  --drain S            after the last request, how long rides in flight may take to end,
                       0..1800 s; the rest are cancelled   (default 120)
  --tip P              share of completed rides whose rider tips a random amount within
                       the server's bound (TIP_MAX_PERCENT of the fare, TIP_MAX_MINOR), 0..1
                                                           (default 0.4)
  --scheduled P        share of riders who first book one scheduled ride and follow it,
                       0..1; 0 turns scheduled rides off   (default 0.1)
  --schedule-lead S    how far ahead those rides are booked, seconds, 60..86400; the
                       server's SCHEDULE_MIN_LEAD_MS (15 min by default) must allow it,
                       and they dispatch within the run only if SCHEDULE_DISPATCH_LEAD_MS
                       comes before its end                (default 960)
  --upgrade P          share of rides whose rider picks another tier than the default,
                       among those quoted with a pickup ETA, 0..1 (default 0.3)
  --accept-lower P     share of drivers who go online with acceptLowerTiers, 0..1
                                                           (default 0.5)
  --concurrency N      parallel calls while setting up, 1..100 (default 10)
  --json FILE          also write the summary figures as JSON to FILE
  --help               this text

Ctrl-C ends the requests early (once more: skips the drain); the summary is still printed.
Exit code 0 when the run went through (errors are counted in the summary), 1 when the
service was unreachable or setting up the accounts failed, 2 for a bad option.
Several cities at once, with checks of the routing to the shards: npm run simulate:cities.`;

export class UsageError extends Error {}

function number(raw: string, name: string, min: number, max: number, integer = false): number {
  const value = Number(raw);
  if (
    raw.trim() === "" ||
    !Number.isFinite(value) ||
    value < min ||
    value > max ||
    (integer && !Number.isInteger(value))
  ) {
    throw new UsageError(
      `--${name} must be ${integer ? "an integer" : "a number"} from ${min} to ${max}, got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

function range(raw: string, name: string, min: number, max: number): Range {
  const match = /^\s*([^-\s]+)\s*-\s*([^-\s]+)\s*$/.exec(raw);
  if (!match) throw new UsageError(`--${name} must be MIN-MAX (e.g. ${min}-${max}), got ${JSON.stringify(raw)}`);
  const lo = number(match[1]!, name, min, max);
  const hi = number(match[2]!, name, min, max);
  if (lo > hi) throw new UsageError(`--${name}: MIN must not be above MAX, got ${JSON.stringify(raw)}`);
  return { min: lo, max: hi };
}

export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === "localhost" || host.endsWith(".localhost") || host === "::1") return true;
  const octets = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (octets === null) return false;
  return octets.slice(1).every((o) => Number(o) <= 255);
}

function serviceUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--url must be an http(s) URL, got ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new UsageError(`--url must be http:// or https://, got ${url.protocol}`);
  // Passwords and tokens travel in the clear over http: only to this machine.
  if (url.protocol === "http:" && !isLoopback(url.hostname))
    throw new UsageError(
      `--url: plain http:// only to a loopback host (127.0.0.0/8, ::1, localhost); use https:// for ${url.hostname}`,
    );
  if (url.username || url.password) throw new UsageError("--url must not carry credentials");
  if (url.search || url.hash) throw new UsageError("--url must not have a query or fragment");
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

/** The parsed flags of `argv`, typed by their declarations; throws UsageError on a bad one. */
function readArgs(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: "string", default: "http://127.0.0.1:8787" },
        drivers: { type: "string", default: "200" },
        riders: { type: "string", default: "50" },
        minutes: { type: "string", default: "2" },
        city: { type: "string", default: "sf" },
        accept: { type: "string", default: "0.8" },
        kmh: { type: "string", default: "20-45" },
        speedup: { type: "string", default: "5" },
        idle: { type: "string", default: "5-30" },
        "trip-km": { type: "string", default: "1-8" },
        radius: { type: "string" },
        drain: { type: "string", default: "120" },
        concurrency: { type: "string", default: "10" },
        tip: { type: "string", default: "0.4" },
        scheduled: { type: "string", default: "0.1" },
        "schedule-lead": { type: "string", default: "960" },
        upgrade: { type: "string", default: "0.3" },
        "accept-lower": { type: "string", default: "0.5" },
        json: { type: "string" },
        help: { type: "boolean", default: false },
      },
    }).values;
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

/** The options of `argv`; null when `--help` was asked for. Throws UsageError on a bad one. */
export function parseOptions(argv: string[]): Options | null {
  const values = readArgs(argv);
  if (values.help) return null;

  const city = CITIES[values.city.toLowerCase()];
  if (!city)
    throw new UsageError(
      `unknown --city ${JSON.stringify(values.city)}; choose one of: ${Object.entries(CITIES)
        .map(([k, c]) => `${k} (${c.label})`)
        .join(", ")}`,
    );
  const kmh = range(values.kmh, "kmh", 1, MAX_WIRE_KMH);
  const speedup = number(values.speedup, "speedup", 1, 10);
  if (kmh.max * speedup >= MAX_WIRE_KMH) {
    throw new UsageError(
      `--kmh max x --speedup is ${kmh.max * speedup} km/h as the server sees it; ` +
        `it must stay under ${MAX_WIRE_KMH} (the server drops fixes implying 250 km/h)`,
    );
  }
  if (values.json !== undefined && values.json.trim() === "") throw new UsageError("--json needs a file name");
  return {
    url: serviceUrl(values.url),
    drivers: number(values.drivers, "drivers", 0, 2000, true),
    riders: number(values.riders, "riders", 0, 1000, true),
    minutes: number(values.minutes, "minutes", 0.05, 240),
    city,
    accept: number(values.accept, "accept", 0, 1),
    speedup,
    kmh,
    idle: range(values.idle, "idle", 0, 3600),
    tripKm: range(values["trip-km"], "trip-km", 0.25, 50), // above the server's MIN_TRIP_KM (0.2)
    radiusKm: values.radius === undefined ? undefined : number(values.radius, "radius", 0.3, 50),
    drain: number(values.drain, "drain", 0, 1800),
    concurrency: number(values.concurrency, "concurrency", 1, 100, true),
    json: values.json,
    tip: number(values.tip, "tip", 0, 1),
    scheduled: number(values.scheduled, "scheduled", 0, 1),
    scheduleLead: number(values["schedule-lead"], "schedule-lead", 60, 86_400),
    upgrade: number(values.upgrade, "upgrade", 0, 1),
    acceptLower: number(values["accept-lower"], "accept-lower", 0, 1),
  };
}
