/**
 * @module config
 * The one place where `[vars]` and secrets become typed settings. Everything is validated once
 * per `env` object; a bad value fails loudly at the first request instead of misbehaving later.
 */
import { TiersSetting } from "./domain/tiers";
import { z } from "zod";
import type { JwtSettings } from "./auth/jwt";
import type { TravelModel } from "./domain/geo";
import { MAX_OFFER_BATCH, ServiceAreasSetting } from "./domain/service-area";
import { FcmServiceAccount } from "./notify/fcm-auth";

const int = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);
/** A var that may be left unset or set empty (`--var NAME:` or an empty line in .dev.vars): both are unset. */
const optional = <S extends z.ZodType>(schema: S) => z.preprocess((v) => (v === "" ? undefined : v), schema.optional());

const ConfigSchema = z
  .object({
    JWT_SECRET: z.string().min(16, "JWT_SECRET must be at least 16 characters"),
    JWT_ISSUER: z.string().min(1).default("ridewire"),
    JWT_AUDIENCE: z.string().min(1).default("ridewire-clients"),
    /** Access tokens are short-lived: a stolen one works this long; clients renew with their refresh token. */
    ACCESS_TOKEN_TTL_SECONDS: int(900, 5),
    /**
     * A refresh token's lifetime; each refresh hands out a new one with a fresh lifetime (a session idle this long
     * ends).
     */
    REFRESH_TOKEN_TTL_SECONDS: int(2_592_000, 60),
    ALLOWED_ORIGINS: z.string().default(""),
    ROOM_RETENTION_EVENTS: int(5_000, 1),
    /** Members a chat room may have; a join or an add past it answers 409 `room_full`. */
    ROOM_MAX_MEMBERS: int(1_000, 1),
    MAX_FRAME_BYTES: int(65_536, 256),
    FRAME_RATE_PER_SECOND: int(10, 1),
    FRAME_BURST: int(20, 1),
    BAD_FRAMES_BEFORE_CLOSE: int(20, 1),
    BAD_FRAME_WINDOW_MS: int(10_000, 100),
    OUTBOX_FLUSH_DELAY_MS: int(1_000, 0),
    /**
     * A chat message reaches D1 within this long of the first message waiting in its room: after
     * the room's own share of it, from half to all (rooms/sequenced-log.ts `spreadDelay`), so rooms
     * busy together do not flush together; or at once when OUTBOX_BATCH_SIZE events wait. The
     * rooms of a bucket range share one D1 shard (db/shards), which has one writer, and each active
     * room writes a batch per flush, so a slower beat lets a shard serve more busy rooms; the
     * message itself is in the room's SQLite before its ack, and history reads the room first.
     */
    MESSAGE_ARCHIVE_DELAY_MS: int(5_000, 0),
    OUTBOX_BATCH_SIZE: int(100, 1),
    /**
     * A trip's status reaches D1's trip history this long after a change while the trip is active; an ended trip's
     * within OUTBOX_FLUSH_DELAY_MS.
     */
    TRIP_HISTORY_FLUSH_MS: int(15_000, 0),
    /**
     * How long a Worker isolate trusts its last look at whether a user is banned (0: look on every
     * request). A ban closes sockets at once; this bounds how long another isolate may still take
     * the banned user's HTTP requests (see http/ban-check.ts).
     */
    BAN_CACHE_MS: int(5_000, 0).pipe(z.number().max(60_000)),
    /** Password checks per (email, client IP) in LOGIN_WINDOW_SECONDS. */
    LOGIN_MAX_FAILURES: int(10, 1),
    LOGIN_WINDOW_SECONDS: int(300, 1),
    /** Password checks per client IP, whatever the emails, in LOGIN_WINDOW_SECONDS. */
    LOGIN_IP_MAX_FAILURES: int(30, 1),
    /**
     * Failed checks of one email from all addresses before each further one waits: 1 s, doubling
     * up to LOGIN_EMAIL_MAX_DELAY_SECONDS. Loose on purpose: a flood slows the owner down, never
     * locks them out for long. A quiet LOGIN_WINDOW_SECONDS starts the count over.
     */
    LOGIN_EMAIL_FREE_FAILURES: int(20, 1),
    LOGIN_EMAIL_MAX_DELAY_SECONDS: int(60, 1),
    MAX_BODY_BYTES: int(65_536, 1_024),
    // Dispatch (see README, "Geo index", for why resolution 7).
    H3_RESOLUTION: int(7, 0).pipe(z.number().max(15)),
    SEARCH_RING: int(1, 0),
    WIDE_SEARCH_RING: int(2, 0),
    /** An available driver's keep-alive report to its cell; must stay well under DRIVER_STALE_MS. */
    CELL_REPORT_INTERVAL_MS: int(20_000, 0),
    /** ... and a report as soon as they moved this far (metres) since the last one. */
    CELL_REPORT_DISTANCE_M: int(100, 1),
    DRIVER_STALE_MS: int(60_000, 1_000),
    DISCONNECT_GRACE_MS: int(30_000, 0),
    LOCATIONS_PER_SECOND: int(2, 1),
    MAX_SPEED_KMH: int(250, 1),
    OFFER_TIMEOUT_MS: int(15_000, 1_000),
    MATCH_TIMEOUT_MS: int(120_000, 1_000),
    MATCH_RETRY_MS: int(5_000, 100),
    /**
     * How many drivers dispatch offers a trip at once (K): the first accept wins, the others see `offer.expired`.
     * 1 offers one driver at a time. A service area's `offerBatch` overrides it for trips picked up there.
     */
    OFFER_BATCH_SIZE: z.coerce.number().int().min(1).max(MAX_OFFER_BATCH).default(1),
    DETOUR_FACTOR: z.coerce.number().min(1).max(3).default(1.3),
    CITY_SPEED_KMH: z.coerce.number().min(1).max(150).default(25),
    /**
     * Where the service takes rides: a JSON array of `{ name, polygon: [[lng, lat], ...], tripPin? }`
     * (domain/service-area.ts), with `offerBatch?` too. Empty: everywhere.
     */
    SERVICE_AREAS: ServiceAreasSetting,
    /** The shortest ride taken, pickup to dropoff in a straight line (km). */
    MIN_TRIP_KM: z.coerce.number().min(0).max(100).default(0.2),
    QUOTE_TTL_MS: int(300_000, 1_000),
    // Scheduled rides (README, "Scheduled rides"): a pickup time from SCHEDULE_MIN_LEAD_MS to
    // SCHEDULE_MAX_AHEAD_MS ahead, at most SCHEDULE_MAX_UPCOMING upcoming per rider, SCHEDULE_MIN_GAP_MS
    // apart. The fare is held
    // SCHEDULE_HOLD_LEAD_MS before pickup, dispatch starts SCHEDULE_DISPATCH_LEAD_MS before it, and
    // a ride with no driver SCHEDULE_NO_DRIVER_GRACE_MS after it ends `no_driver`. A ride whose
    // rider is on another trip when dispatch is due tries again every SCHEDULE_SLOT_RETRY_MS.
    SCHEDULE_MIN_LEAD_MS: int(900_000, 60_000),
    SCHEDULE_MAX_AHEAD_MS: int(2_592_000_000, 3_600_000),
    SCHEDULE_MAX_UPCOMING: int(5, 1),
    /** How far apart (pickup to pickup) two of a rider's scheduled rides must be: one rider, one car at a time. */
    SCHEDULE_MIN_GAP_MS: int(1_800_000, 0),
    SCHEDULE_HOLD_LEAD_MS: int(3_600_000, 0),
    SCHEDULE_DISPATCH_LEAD_MS: int(600_000, 0),
    SCHEDULE_NO_DRIVER_GRACE_MS: int(120_000, 0),
    SCHEDULE_SLOT_RETRY_MS: int(30_000, 1_000),
    // Trip safety (README, "Safety"). Whether `start` needs the trip's PIN from the driver; a
    // service area's `tripPin` overrides it for trips picked up there.
    TRIP_PIN_REQUIRED: z
      .enum(["true", "false"])
      .default("true")
      .transform((v) => v === "true"),
    // Drivers and vehicles (README, "Drivers and vehicles"). Whether a driver needs an approved
    // licence and vehicle to go online; a service area's `driverApproval` overrides it where the
    // driver goes online. `npm run dev` turns it off (scripts/dev.mjs) unless asked to keep it.
    DRIVER_APPROVAL_REQUIRED: z
      .enum(["true", "false"])
      .default("true")
      .transform((v) => v === "true"),
    /** The tiers and their fare rules, default first (domain/tiers.ts, README "Tiers"). */
    TIERS: TiersSetting,
    /** The tiers a vehicle may be registered under, comma-separated (their rules are TIERS'). */
    VEHICLE_TIERS: z
      .string()
      .default("economy,comfort,xl,moto")
      .transform((raw) =>
        raw
          .split(",")
          .map((t) => t.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.string().regex(/^[a-z][a-z0-9_-]{0,19}$/, "a tier is a lower-case name")).min(1)),
    /** Vehicles one driver may have that are not rejected. */
    VEHICLES_PER_DRIVER: int(3, 1),
    /** The largest document (licence, registration, insurance scan) a driver may upload, in bytes (≤ 25 MiB). */
    DRIVER_DOCUMENT_MAX_BYTES: int(10_485_760, 1).pipe(z.number().max(26_214_400)),
    /** Wrong PINs in a row before the trip's PIN is locked; each lock lasts TRIP_PIN_LOCK_MS, doubling per lock. */
    TRIP_PIN_MAX_ATTEMPTS: int(5, 1),
    TRIP_PIN_LOCK_MS: int(300_000, 1_000),
    /** How long a share link works at most (it stops earlier, at the trip's end or when revoked). */
    TRIP_SHARE_TTL_MS: int(14_400_000, 60_000),
    /** Live share links one trip may have at once. */
    TRIP_SHARE_MAX_LINKS: int(5, 1),
    SURGE_WINDOW_MS: int(600_000, 1_000),
    // Fares, in minor units of FARE_CURRENCY.
    FARE_CURRENCY: z
      .string()
      .regex(/^[A-Z]{3}$/)
      .default("USD"),
    FARE_BASE_MINOR: int(250),
    FARE_PER_KM_MINOR: int(120),
    FARE_PER_MINUTE_MINOR: int(30),
    FARE_MINIMUM_MINOR: int(700),
    CANCELLATION_FEE_MINOR: int(500),
    FREE_CANCEL_WINDOW_MS: int(120_000),
    /**
     * A rider who cancels after the driver has waited at the pickup this long pays the fee, inside the free window or
     * not.
     */
    FREE_PICKUP_WAIT_MS: int(60_000),
    /** ... counted only if the driver's last fix was this close (metres) to the pickup when they arrived. */
    PICKUP_ARRIVAL_RADIUS_M: int(300, 1),
    // Money rules (README, "Money rules"). The rider pays the quote unless the ride really differs.
    /**
     * A metered fare this many percent above the quote (with a plausible trace) replaces it; below, the quote stands.
     */
    FARE_REPRICE_PERCENT: int(20),
    /**
     * The most a final fare may exceed the quote by, in percent; the metered rest is flagged for review, not charged.
     */
    FARE_CAP_PERCENT: int(50),
    /** The fastest a ride's trace may move between two fixes, judged on the server's receive times. */
    FARE_MAX_SPEED_KMH: int(150, 1),
    /** A ride that ends this far (metres) from the dropoff ended early: the part driven is billed. */
    FARE_EARLY_END_M: int(500, 1),
    /** A fix whose `at` is further ahead of the server's clock than this is refused. */
    FIX_MAX_AHEAD_MS: int(5_000, 0),
    // A rider's trip requests: at most TRIP_REQUEST_LIMIT per TRIP_REQUEST_WINDOW_MS, and after
    // more than CANCEL_COOLDOWN_AFTER cancels within CANCEL_COOLDOWN_WINDOW_MS a cool-down that
    // starts at CANCEL_COOLDOWN_BASE_MS and doubles with each further cancel, up to CANCEL_COOLDOWN_MAX_MS.
    TRIP_REQUEST_LIMIT: int(10, 1),
    TRIP_REQUEST_WINDOW_MS: int(600_000, 1_000),
    CANCEL_COOLDOWN_AFTER: int(2),
    CANCEL_COOLDOWN_WINDOW_MS: int(3_600_000, 1_000),
    CANCEL_COOLDOWN_BASE_MS: int(30_000, 1_000),
    CANCEL_COOLDOWN_MAX_MS: int(1_800_000, 1_000),
    /** The reconciliation cron leaves a hold younger than this alone: its trip request may still be in flight. */
    RECONCILE_HOLD_GRACE_MS: int(600_000, 60_000),
    // The names of the notifications queue and its dead-letter queue, as wrangler.toml's consumers
    // name them: each environment (staging, production) has its own pair.
    NOTIFY_QUEUE: z.string().trim().min(1).max(63).default("ridewire-notifications"),
    NOTIFY_DEAD_LETTER_QUEUE: z.string().trim().min(1).max(63).default("ridewire-notifications-dlq"),
    // Notifications (src/notify/). The VAPID pair (base64url: the 65-byte uncompressed P-256
    // public key, the 32-byte private scalar) is optional: without it Web Push is off.
    VAPID_SUBJECT: z
      .string()
      .regex(/^(mailto:|https:\/\/)/, "VAPID_SUBJECT must be a mailto: or https: URL")
      .default("mailto:ops@ridewire.example"),
    VAPID_PUBLIC_KEY: z
      .string()
      .regex(/^[A-Za-z0-9_-]{87}$/, "VAPID_PUBLIC_KEY must be 65 bytes, base64url")
      .optional(),
    VAPID_PRIVATE_KEY: z
      .string()
      .regex(/^[A-Za-z0-9_-]{43}$/, "VAPID_PRIVATE_KEY must be 32 bytes, base64url")
      .optional(),
    PUSH_TTL_SECONDS: int(3_600),
    /**
     * A Google service account's JSON key (secret): without it the FCM channel is off, and a
     * notification for an FCM device records `not_configured`.
     */
    FCM_SERVICE_ACCOUNT: z
      .string()
      .optional()
      .transform((raw, ctx) => {
        if (raw === undefined) return undefined;
        let json: unknown;
        try {
          json = JSON.parse(raw);
        } catch {
          ctx.addIssue({ code: "custom", message: "FCM_SERVICE_ACCOUNT must be a service account's JSON key" });
          return z.NEVER;
        }
        const account = FcmServiceAccount.safeParse(json);
        if (account.success) return account.data;
        for (const issue of account.error.issues)
          ctx.addIssue({ code: "custom", message: `FCM_SERVICE_ACCOUNT.${issue.path.join(".")}: ${issue.message}` });
        return z.NEVER;
      }),
    /** Where FCM's HTTP v1 API is (configuration only: tests point it at a local stand-in). */
    FCM_API_BASE: z.url({ protocol: /^https?$/ }).default("https://fcm.googleapis.com"),
    /**
     * Email over Resend (notify/email.ts): on once the secret RESEND_API_KEY and the var
     * EMAIL_FROM are both set; off otherwise, and an email the routing table asks for is logged
     * `skipped` with `not_configured`.
     */
    RESEND_API_KEY: z.string().min(1).optional(),
    EMAIL_FROM: z.string().trim().min(3).max(320).optional(),
    /** Where Resend's API is (configuration only: tests point it at a local stand-in). */
    RESEND_API_BASE: z.url({ protocol: /^https?$/ }).default("https://api.resend.com"),
    /**
     * SMS over Twilio (notify/sms.ts): on once the secrets TWILIO_ACCOUNT_SID and
     * TWILIO_AUTH_TOKEN and the var TWILIO_FROM (an E.164 number or a sender id) are set.
     */
    TWILIO_ACCOUNT_SID: z
      .string()
      .regex(/^AC[0-9a-fA-F]{32}$/, "TWILIO_ACCOUNT_SID must be AC and 32 hex digits")
      .optional(),
    TWILIO_AUTH_TOKEN: z.string().min(1).optional(),
    TWILIO_FROM: z.string().trim().min(1).max(32).optional(),
    TWILIO_API_BASE: z.url({ protocol: /^https?$/ }).default("https://api.twilio.com"),
    /** Texts one user may be sent per rolling hour (they cost money); past it the channel logs `rate_limited`. */
    SMS_PER_HOUR: int(5, 0),
    /**
     * "Your driver has arrived" goes by SMS too when no device of the rider acknowledged the push
     * (`POST /v1/notifications/:id/ack`) this many seconds after it was sent (rooms/trip-arrival-sms.ts).
     * A minute: long enough for a phone to wake and the app to ack, short enough that the driver is
     * still waiting at the pickup. At most an hour: by then the text is no use.
     */
    ARRIVED_SMS_AFTER_SECONDS: int(60, 1).pipe(z.number().max(3_600)),
    /**
     * The trip's watchdog (domain/trip-watchdog): an assigned driver (accepted or arrived) who sent no fix for this
     * long loses the trip, which goes back to matching without them. Two minutes: far past the session's
     * disconnect grace and a tunnel's worth of missed fixes. At least 10 s.
     */
    DRIVER_SILENT_MS: int(120_000, 10_000),
    /**
     * A trip left `arrived` with no start for this long is cancelled by the service; the rider pays the
     * cancellation fee only if the driver's fix was at the pickup when they arrived (a no-show). At least a minute.
     */
    ARRIVED_NO_START_MS: int(900_000, 60_000),
    /** Emails one user may be sent per rolling hour; past it the channel logs `rate_limited`. */
    EMAIL_PER_HOUR: int(20, 0),
    /** A phone verification code lives this long (it is six digits: minutes, not days). */
    PHONE_CODE_TTL_SECONDS: int(600, 60),
    /** Guesses at one code; then it is dead and a new one must be sent. */
    PHONE_CODE_MAX_ATTEMPTS: int(5, 1),
    /** Codes one number may be sent per rolling hour, whichever accounts ask: no stranger is texted on a loop. */
    PHONE_CODES_PER_NUMBER_PER_HOUR: int(3, 1),
    NOTIFY_RETRY_BASE_SECONDS: int(10, 1),
    // Queues delays a retry by at most 12 hours.
    NOTIFY_RETRY_MAX_SECONDS: int(3_600, 1).pipe(z.number().max(43_200)),
    NOTIFY_TIMEOUT_MS: int(10_000, 100),
    // Abuse limits (README, "Security").
    /**
     * Plain http webhooks and push endpoints on loopback (127.0.0.0/8, ::1, localhost): local development and tests
     * only.
     */
    ALLOW_LOOPBACK_WEBHOOKS: z
      .enum(["true", "false"])
      .default("false")
      .transform((v) => v === "true"),
    /** Devices (webhooks and push subscriptions) one user may register; each notification goes to all of them. */
    MAX_DEVICES_PER_USER: int(10, 1),
    /** Notifications one user is sent per minute; beyond it they are logged `rate_limited`, not delivered. */
    NOTIFICATIONS_PER_USER_PER_MINUTE: int(30, 1),
    /** Open sockets and SSE streams one user may hold in one room; one more answers 429. */
    MAX_CONNECTIONS_PER_USER_PER_ROOM: int(5, 1),
    /**
     * Bytes an SSE stream may have written and not yet read by its client; past it the stream ends with
     * `slow_consumer`.
     */
    SSE_MAX_BUFFERED_BYTES: int(1_048_576, 1_024),
    /** Attachments (src/files/, README "Attachments"): the largest file a member may upload, in bytes (≤ 100 MiB). */
    ATTACHMENT_MAX_BYTES: int(10_485_760, 1).pipe(z.number().max(104_857_600)),
    /** How long an upload URL stays valid; each one takes a single upload. */
    UPLOAD_GRANT_TTL_SECONDS: int(600, 10).pipe(z.number().max(3_600)),
    /**
     * How long a chat upload may wait for a message to carry it before the room's alarm deletes it
     * (bytes and record). At least an hour: longer than any upload URL lives, so none outlives its record.
     */
    UPLOAD_UNATTACHED_TTL_MS: int(86_400_000, 3_600_000),
    /** Bytes of chat uploads that no message carries one user may hold in one room (unused URLs count as declared). */
    UPLOAD_PENDING_MAX_BYTES: int(52_428_800, 1),
    // Payments (src/payments/, README "Payments"). Amounts in minor units of FARE_CURRENCY.
    PAYMENT_PROVIDER: z.enum(["sandbox", "stripe"]).default("sandbox"),
    TOP_UP_MIN_MINOR: int(500, 1),
    TOP_UP_MAX_MINOR: int(50_000, 1),
    /** The platform's share of each fare and fee, in percent (two decimals at most). */
    COMMISSION_PERCENT: z.coerce.number().min(0).max(100).default(25),
    /**
     * Tips (README, "Tips"): how long after completion a rider may tip, and the most a trip's tips add up to, the
     * lower of TIP_MAX_PERCENT of the fare charged (two decimals at most) and TIP_MAX_MINOR.
     */
    TIP_WINDOW_MS: int(86_400_000, 60_000),
    TIP_MAX_PERCENT: z.coerce.number().min(0).max(100).default(50),
    TIP_MAX_MINOR: int(10_000, 0),
    /**
     * Payouts (README, "Payouts"): the smallest payout, on request or scheduled; how long a credit to a driver's
     * earnings stays on hold before it can be paid out (the time operators have to refund the ride first); drivers
     * paid per scheduled run at most; and how long a payout may stay pending before the cron tries its transfer again.
     */
    PAYOUT_MIN_MINOR: int(1_000, 1),
    PAYOUT_HOLD_MS: int(86_400_000, 0),
    PAYOUT_BATCH_SIZE: int(100, 1).pipe(z.number().max(1_000)),
    PAYOUT_RETRY_AFTER_MS: int(60_000, 1_000),
    STRIPE_API_BASE: z.url({ protocol: /^https?$/ }).default("https://api.stripe.com"),
    STRIPE_SECRET_KEY: z.string().min(1).optional(),
    STRIPE_WEBHOOK_SECRET: z.string().min(1).optional(),
    STRIPE_WEBHOOK_TOLERANCE_SECONDS: int(300, 1),
    PAYMENT_TIMEOUT_MS: int(10_000, 100),
    // The web app's street map and place search (README, "Web app"). All three are the operator's:
    // nothing a user sends names an archive, a style or a geocoder.
    /**
     * The PMTiles archive in the TILES bucket (its key, without `.pmtiles`) that GET /v1/tiles/<name>.pmtiles
     * serves; unset: no tiles are served and the app draws its SVG city, unless MAP_STYLE_URL is set.
     */
    MAP_TILES_ARCHIVE: optional(z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "MAP_TILES_ARCHIVE: a-z, 0-9 and -")),
    /** A MapLibre style document's URL (a hosted basemap); it wins over MAP_TILES_ARCHIVE. */
    MAP_STYLE_URL: optional(z.url({ protocol: /^https?$/ })),
    /** A Photon-compatible geocoder (`/api?q=`, `/reverse?lat=&lon=`) the Worker asks for place search. */
    GEOCODER_URL: optional(z.url({ protocol: /^https?$/ })),
    GEOCODER_TIMEOUT_MS: int(3_000, 100).pipe(z.number().max(30_000)),
  })
  .refine((c) => c.ACCESS_TOKEN_TTL_SECONDS < c.REFRESH_TOKEN_TTL_SECONDS, {
    message: "ACCESS_TOKEN_TTL_SECONDS must be below REFRESH_TOKEN_TTL_SECONDS",
    path: ["ACCESS_TOKEN_TTL_SECONDS"],
  })
  .refine((c) => (c.VAPID_PUBLIC_KEY === undefined) === (c.VAPID_PRIVATE_KEY === undefined), {
    message: "set both VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY, or neither",
    path: ["VAPID_PRIVATE_KEY"],
  })
  .refine((c) => c.CELL_REPORT_INTERVAL_MS < c.DRIVER_STALE_MS, {
    message:
      "CELL_REPORT_INTERVAL_MS must be below DRIVER_STALE_MS, " +
      "or idle drivers drop out of the geo index between reports",
    path: ["CELL_REPORT_INTERVAL_MS"],
  })
  .refine((c) => c.FARE_REPRICE_PERCENT <= c.FARE_CAP_PERCENT, {
    message: "FARE_REPRICE_PERCENT must not exceed FARE_CAP_PERCENT, or no repriced fare could be charged",
    path: ["FARE_REPRICE_PERCENT"],
  })
  .refine((c) => c.CANCEL_COOLDOWN_BASE_MS <= c.CANCEL_COOLDOWN_MAX_MS, {
    message: "CANCEL_COOLDOWN_BASE_MS must not exceed CANCEL_COOLDOWN_MAX_MS",
    path: ["CANCEL_COOLDOWN_MAX_MS"],
  })
  .refine((c) => c.SCHEDULE_MIN_LEAD_MS < c.SCHEDULE_MAX_AHEAD_MS, {
    message: "SCHEDULE_MIN_LEAD_MS must be less than SCHEDULE_MAX_AHEAD_MS, or no pickup time could be scheduled",
    path: ["SCHEDULE_MAX_AHEAD_MS"],
  })
  .refine((c) => c.SCHEDULE_DISPATCH_LEAD_MS <= c.SCHEDULE_HOLD_LEAD_MS, {
    message: "SCHEDULE_DISPATCH_LEAD_MS must not exceed SCHEDULE_HOLD_LEAD_MS: the fare is held before dispatch",
    path: ["SCHEDULE_DISPATCH_LEAD_MS"],
  })
  .refine((c) => c.TOP_UP_MIN_MINOR <= c.TOP_UP_MAX_MINOR, {
    message: "TOP_UP_MIN_MINOR must not exceed TOP_UP_MAX_MINOR",
    path: ["TOP_UP_MAX_MINOR"],
  })
  .refine(
    (c) =>
      c.PAYMENT_PROVIDER !== "stripe" || (c.STRIPE_SECRET_KEY !== undefined && c.STRIPE_WEBHOOK_SECRET !== undefined),
    {
      message: "PAYMENT_PROVIDER=stripe needs the secrets STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET",
      path: ["PAYMENT_PROVIDER"],
    },
  );

export type Config = z.infer<typeof ConfigSchema> & {
  allowedOrigins: string[];
  commissionBps: number;
  /** DETOUR_FACTOR and CITY_SPEED_KMH as ETAs and fares take them. */
  travelModel: TravelModel;
  /** The JWT_* settings and ACCESS_TOKEN_TTL_SECONDS as access tokens are signed and verified with them. */
  jwt: JwtSettings;
};

const cache = new WeakMap<object, Config>();

export function loadConfig(env: Env): Config {
  const cached = cache.get(env);
  if (cached) return cached;
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`invalid configuration: ${problems}`);
  }
  const allowedOrigins = parsed.data.ALLOWED_ORIGINS.split(",")
    .map((o) => o.trim())
    .filter(Boolean);
  const config = {
    ...parsed.data,
    allowedOrigins,
    commissionBps: Math.round(parsed.data.COMMISSION_PERCENT * 100),
    travelModel: { detourFactor: parsed.data.DETOUR_FACTOR, citySpeedKmh: parsed.data.CITY_SPEED_KMH },
    jwt: {
      secret: parsed.data.JWT_SECRET,
      issuer: parsed.data.JWT_ISSUER,
      audience: parsed.data.JWT_AUDIENCE,
      ttlSeconds: parsed.data.ACCESS_TOKEN_TTL_SECONDS,
    },
  };
  cache.set(env, config);
  return config;
}
