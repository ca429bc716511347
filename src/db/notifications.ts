/**
 * @module db/notifications
 * Devices and preferences in the directory database, the notification log and its channels in
 * each user's notification shard (db/shards). The log's writes are guarded by the
 * row's status (only a `pending` row changes) and by a short lease, so redelivered and
 * concurrent queue messages cannot push one notification twice.
 */
import { and, desc, eq, inArray, isNull, lte, or, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import type { ArrivalPush } from "../notify/arrival-sms";
import { loggedData, type NotificationMessage } from "../notify/message";
import {
  Channel,
  NotificationType,
  type ChannelAttempt,
  type ChannelOutcome,
  type Notification,
  type NotificationStatus,
  type Preferences,
  QuietHours,
  UNMUTABLE_TYPES,
} from "../protocol/notifications";
import { devices, notificationChannels, notificationPreferences, notifications, users } from "./schema";
import { groupByShard, shardDatabase, shardHomes } from "./shards";

export type DeviceRow = typeof devices.$inferSelect;
export type NewDevice = typeof devices.$inferInsert;

/** Why a device was not registered. */
export type DeviceRefusal = "endpoint_taken" | "too_many_devices";

/**
 * Registers a device; the same user registering the same endpoint again gets the same device
 * with the new keys, secret or platform. One statement decides, so concurrent registrations
 * cannot get past the checks together: a Web Push endpoint or an FCM registration token
 * belongs to the one user who registered it first (another user's registration is refused
 * and never removes theirs; a browser that changes account gets a new endpoint by subscribing
 * again, an app a new token with `deleteToken()` + `getToken()`), and a user holds at most
 * `maxDevices` devices.
 */
export async function registerDevice(
  d1: D1Database,
  device: NewDevice,
  maxDevices: number,
): Promise<{ row: DeviceRow } | { refused: DeviceRefusal }> {
  const row = await d1
    .prepare(
      `INSERT INTO devices (id, user_id, kind, endpoint, p256dh, auth, secret, platform, created_at)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?10, ?8
       WHERE NOT (?3 IN ('webpush', 'fcm')
                  AND EXISTS (SELECT 1 FROM devices WHERE endpoint = ?4 AND user_id != ?2 AND kind = ?3))
         AND ((SELECT COUNT(*) FROM devices WHERE user_id = ?2) < ?9
              OR EXISTS (SELECT 1 FROM devices WHERE user_id = ?2 AND endpoint = ?4))
       ON CONFLICT (user_id, endpoint) DO UPDATE SET
         kind = excluded.kind, p256dh = excluded.p256dh, auth = excluded.auth, secret = excluded.secret,
         platform = excluded.platform
       RETURNING id, user_id, kind, endpoint, p256dh, auth, secret, platform, created_at`,
    )
    .bind(
      device.id,
      device.userId,
      device.kind,
      device.endpoint,
      device.p256dh ?? null,
      device.auth ?? null,
      device.secret ?? null,
      device.createdAt,
      maxDevices,
      device.platform ?? null,
    )
    .first<{
      id: string;
      user_id: string;
      kind: DeviceRow["kind"];
      endpoint: string;
      p256dh: string | null;
      auth: string | null;
      secret: string | null;
      platform: DeviceRow["platform"];
      created_at: number;
    }>();
  if (row)
    return {
      row: {
        id: row.id,
        userId: row.user_id,
        kind: row.kind,
        endpoint: row.endpoint,
        p256dh: row.p256dh,
        auth: row.auth,
        secret: row.secret,
        platform: row.platform,
        createdAt: row.created_at,
      },
    };
  if (device.kind === "webpush" || device.kind === "fcm") {
    const taken = await d1
      .prepare(`SELECT 1 FROM devices WHERE endpoint = ? AND user_id != ? AND kind = ? LIMIT 1`)
      .bind(device.endpoint, device.userId, device.kind)
      .first();
    if (taken) return { refused: "endpoint_taken" };
  }
  return { refused: "too_many_devices" };
}

export async function devicesOf(d1: D1Database, userId: string): Promise<DeviceRow[]> {
  return devicesQuery(drizzle(d1), userId);
}

const devicesQuery = (db: DrizzleD1Database, userId: string) =>
  db.select().from(devices).where(eq(devices.userId, userId)).orderBy(devices.createdAt, devices.id);

/** Deletes one of the user's own devices; false when the user has no such device. */
export async function deleteDevice(d1: D1Database, userId: string, id: string): Promise<boolean> {
  const deleted = await drizzle(d1)
    .delete(devices)
    .where(and(eq(devices.id, id), eq(devices.userId, userId)))
    .returning({ id: devices.id });
  return deleted.length > 0;
}

/** What the consumer learns about a notification before it delivers; see `openNotification`. */
export type OpenedNotification = {
  /** The user muted this type: nothing was claimed, the consumer ends it `muted`. */
  muted: boolean;
  /**
   * The lease and the attempt it counts; null when the row is not pending, is leased to another consumer, or is muted.
   */
  claim: { attempts: number; deliveredTo: string[] } | null;
  /** The row's status after the claim (read in the same transaction). */
  current: { status: NotificationStatus; leaseUntil: number | null } | undefined;
  /** The user's devices, oldest first. */
  devices: DeviceRow[];
  /** Channels the user muted (notify/routing.ts decides whether the type heeds them). */
  mutedChannels: Channel[];
  /** The user's quiet hours, if any. */
  quietHours: QuietHours | null;
  /** Where email and SMS go; undefined when the account is gone. */
  recipient: Recipient | undefined;
};

export type Recipient = { email: string; name: string; phone: string | null };

const ChannelList = Channel.array();

/** What the directory database says about one recipient: their devices, preferences and address. */
type RecipientFacts = {
  devices: DeviceRow[];
  muted: unknown;
  mutedChannels: unknown;
  quietHours: unknown;
  recipient: Recipient | undefined;
};

/**
 * One round trip to the directory database for every recipient of a batch: devices, the account's
 * address and the notification preferences (account data, which stays in `DB`; the log itself is
 * in each user's shard).
 */
async function recipientFacts(d1: D1Database, userIds: readonly string[]): Promise<Map<string, RecipientFacts>> {
  const db = drizzle(d1);
  const statements = userIds.flatMap(
    (userId) =>
      [
        devicesQuery(db, userId),
        db
          .select({
            email: users.email,
            name: users.name,
            // Only a number its holder proved (http/routes/phone.ts) is texted; an unverified one reads as none.
            phone: sql<string | null>`CASE WHEN ${users.phoneVerifiedAt} IS NOT NULL THEN ${users.phone} END`,
          })
          .from(users)
          .where(eq(users.id, userId))
          .limit(1),
        db
          .select(preferenceColumns)
          .from(notificationPreferences)
          .where(eq(notificationPreferences.userId, userId))
          .limit(1),
      ] as const,
  );
  const [first, ...rest] = statements as BatchItem<"sqlite">[];
  const results = first ? ((await db.batch([first, ...rest])) as unknown[]) : [];
  return new Map(
    userIds.map((userId, i) => {
      const [deviceRows, userRows, preferenceRows] = results.slice(i * 3, i * 3 + 3) as [
        DeviceRow[],
        Recipient[],
        { muted: unknown; mutedChannels: unknown; quietHours: unknown }[],
      ];
      const preferences = preferenceRows[0];
      return [
        userId,
        {
          devices: deviceRows,
          muted: preferences?.muted ?? [],
          mutedChannels: preferences?.mutedChannels ?? [],
          quietHours: preferences?.quietHours ?? null,
          recipient: userRows[0],
        },
      ];
    }),
  );
}

/** Statements `openNotifications` runs per message in its user's shard (the type checks the list's length). */
const OPEN_STATEMENTS = 3;

/**
 * Two round trips for a whole queue batch, where each message took five: one to the directory
 * database for every recipient's devices, address and preferences, then one batch (one
 * transaction) per notification shard that, per message, logs the notification as `pending` the
 * first time its id is seen (`rate_limited` past the per-minute cap), takes the lease on a pending
 * row whose type the user did not mute and counts the attempt (the lease keeps two consumers from
 * pushing the same row), and reads the row's status. `messages` must have distinct ids: a second
 * copy would find the lease the first one just took. The mute is decided from the preferences
 * read just before, so a type muted while its notification is claimed is heeded from the next one.
 */
export async function openNotifications(
  env: Env,
  messages: readonly NotificationMessage[],
  now: number,
  leaseMs: number,
  perMinute: number,
): Promise<OpenedNotification[]> {
  const facts = await recipientFacts(env.DB, [...new Set(messages.map((m) => m.userId))]);
  const mutedOf = (message: NotificationMessage): boolean => {
    // A type that cannot be muted (security notices) is never muted, whatever a stored list says.
    if (UNMUTABLE_TYPES.has(message.type)) return false;
    const muted = MutedList.safeParse(facts.get(message.userId)?.muted ?? []);
    return muted.success && muted.data.includes(message.type);
  };
  const opened: OpenedNotification[] = new Array(messages.length);
  await Promise.all(
    groupByShard(env, "notifications", messages, (m) => m.userId).map(async ({ db: d1, items }) => {
      const db = drizzle(d1);
      const statements = items.flatMap(({ item: message }) => {
        // Over `perMinute` notifications of this type for this user in the minute up to this one,
        // it is logged `rate_limited` and never claimed: a user spamming a room cannot turn it into
        // a stream of pushes to its members, and a spammed driver still gets their offers (another type).
        const overLimit = sql`(SELECT COUNT(*) FROM ${notifications}
          WHERE ${notifications.userId} = ${message.userId} AND ${notifications.type} = ${message.type}
            AND ${notifications.createdAt} > ${message.createdAt - 60_000}
            AND ${notifications.createdAt} <= ${message.createdAt}
            AND ${notifications.status} != 'rate_limited') >= ${perMinute}`;
        return [
          db
            .insert(notifications)
            .values({
              id: message.id,
              userId: message.userId,
              type: message.type,
              payload: loggedData(message),
              status: sql`CASE WHEN ${overLimit} THEN 'rate_limited' ELSE 'pending' END`,
              attempts: 0,
              deliveredTo: [],
              createdAt: message.createdAt,
              updatedAt: now,
            })
            .onConflictDoNothing(),
          // A muted notification is never claimed, so it counts no attempt.
          db
            .update(notifications)
            .set({ attempts: sql`${notifications.attempts} + 1`, leaseUntil: now + leaseMs, updatedAt: now })
            .where(
              and(
                eq(notifications.id, message.id),
                eq(notifications.status, "pending"),
                or(isNull(notifications.leaseUntil), lte(notifications.leaseUntil, now)),
                mutedOf(message) ? sql`0` : sql`1`,
              ),
            )
            .returning({ attempts: notifications.attempts, deliveredTo: notifications.deliveredTo }),
          db
            .select({ status: notifications.status, leaseUntil: notifications.leaseUntil })
            .from(notifications)
            .where(eq(notifications.id, message.id))
            .limit(1),
        ] as const satisfies { length: typeof OPEN_STATEMENTS };
      });
      const [first, ...rest] = statements as BatchItem<"sqlite">[];
      const results = first ? ((await db.batch([first, ...rest])) as unknown[]) : [];
      items.forEach(({ item: message, index }, i) => {
        // Each message's results, in the order of its statements above: insert, claim, status.
        const [, claimRows, statusRows] = results.slice(i * OPEN_STATEMENTS, (i + 1) * OPEN_STATEMENTS) as [
          unknown,
          { attempts: number; deliveredTo: string[] }[],
          { status: NotificationStatus; leaseUntil: number | null }[],
        ];
        const row = statusRows[0];
        const user = facts.get(message.userId);
        opened[index] = {
          muted: row !== undefined && mutedOf(message),
          claim: claimRows[0] ?? null,
          current: row && { status: row.status, leaseUntil: row.leaseUntil },
          devices: user?.devices ?? [],
          mutedChannels: parseChannels(user?.mutedChannels ?? null),
          quietHours: parseQuietHours(user?.quietHours ?? null),
          recipient: user?.recipient,
        };
      });
    }),
  );
  return opened;
}

/** What an attempt at a notification decided, for `recordAttempts` to write. */
export type AttemptRecord =
  /** The notification ends delivered, failed or muted. `userId`: whose it is (its shard's key). */
  | {
      kind: "end";
      id: string;
      userId: string;
      status: Exclude<NotificationStatus, "pending">;
      lastError: string | null;
    }
  /** The lease goes back after a failed attempt, remembering which devices already have it. */
  | { kind: "release"; id: string; userId: string; deliveredTo: string[]; lastError: string }
  /** A push service said the subscription is gone (404/410), or FCM that the token is no longer valid. */
  | { kind: "remove_device"; deviceId: string }
  /** One channel's outcome in this attempt; `tried`: a send was made on it (its attempts count one more). */
  | {
      kind: "channel";
      id: string;
      userId: string;
      channel: Channel;
      outcome: ChannelOutcome;
      lastError: string | null;
      tried: boolean;
    };

/**
 * Writes what a batch's attempts decided: one round trip to each notification shard concerned
 * (a batch is one transaction there) and one to the directory database for removed devices, at
 * once. Only a `pending` row changes; every write may run again (a retried batch) to the same end.
 */
export async function recordAttempts(env: Env, records: readonly AttemptRecord[], now: number): Promise<void> {
  const deviceIds: string[] = [];
  const logged: Exclude<AttemptRecord, { kind: "remove_device" }>[] = [];
  for (const record of records) {
    if (record.kind === "remove_device") deviceIds.push(record.deviceId);
    else logged.push(record);
  }
  const writes: Promise<unknown>[] = [];
  if (deviceIds.length > 0) writes.push(drizzle(env.DB).delete(devices).where(inArray(devices.id, deviceIds)));
  for (const { db: d1, items } of groupByShard(env, "notifications", logged, (r) => r.userId)) {
    const db = drizzle(d1);
    const [first, ...rest] = items.map(({ item }) => attemptStatement(db, item, now));
    if (first) writes.push(db.batch([first, ...rest]));
  }
  // Every write is tried even if one fails; the first failure is thrown (the consumer retries the batch).
  const settled = await Promise.allSettled(writes);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) throw failed.reason;
}

function attemptStatement(
  db: DrizzleD1Database,
  record: Exclude<AttemptRecord, { kind: "remove_device" }>,
  now: number,
): BatchItem<"sqlite"> {
  switch (record.kind) {
    case "end":
      return db
        .update(notifications)
        .set({ status: record.status, lastError: record.lastError, leaseUntil: null, updatedAt: now })
        .where(and(eq(notifications.id, record.id), eq(notifications.status, "pending")));
    case "release":
      return db
        .update(notifications)
        .set({ deliveredTo: record.deliveredTo, lastError: record.lastError, leaseUntil: null, updatedAt: now })
        .where(and(eq(notifications.id, record.id), eq(notifications.status, "pending")));
    case "channel":
      return db
        .insert(notificationChannels)
        .values({
          notificationId: record.id,
          channel: record.channel,
          userId: record.userId,
          outcome: record.outcome,
          attempts: record.tried ? 1 : 0,
          lastError: record.lastError,
          updatedAt: now,
        })
        .onConflictDoUpdate({
          target: [notificationChannels.notificationId, notificationChannels.channel],
          set: {
            outcome: record.outcome,
            lastError: record.lastError,
            attempts: sql`${notificationChannels.attempts} + ${record.tried ? 1 : 0}`,
            updatedAt: now,
          },
        });
    default: {
      // Every kind is handled above; a new one fails to compile here until it is.
      const unknown: never = record;
      throw new Error(`recordAttempts: unknown record ${JSON.stringify(unknown)}`);
    }
  }
}

/**
 * A dead letter: the notification ends `failed`, logged even if the consumer never saw it, and
 * so do its channels still `retrying` (or `pending`), in the same batch.
 */
export async function failDeadLetter(
  env: Env,
  message: NotificationMessage,
  reason: string,
  now: number,
): Promise<void> {
  const db = drizzle(shardDatabase(env, "notifications", message.userId));
  const channels = db
    .update(notificationChannels)
    .set({ outcome: "failed", updatedAt: now })
    .where(
      and(
        eq(notificationChannels.notificationId, message.id),
        eq(notificationChannels.userId, message.userId),
        inArray(notificationChannels.outcome, ["retrying", "pending"]),
      ),
    );
  const notification = db
    .insert(notifications)
    .values({
      id: message.id,
      userId: message.userId,
      type: message.type,
      payload: loggedData(message),
      status: "failed",
      attempts: 0,
      lastError: reason,
      deliveredTo: [],
      createdAt: message.createdAt,
      updatedAt: now,
    })
    .onConflictDoUpdate({
      target: notifications.id,
      set: {
        status: "failed",
        leaseUntil: null,
        updatedAt: now,
        lastError: sql`coalesce(${notifications.lastError}, ${reason})`,
      },
      setWhere: eq(notifications.status, "pending"),
    });
  await db.batch([notification, channels]);
}

/**
 * The user's notifications, newest first, each with its channels' attempts: one round trip to
 * their shard, and while a shard move runs, one to the shard before it too (a row in both is
 * taken from today's, where the consumer now writes).
 */
export async function listNotifications(env: Env, userId: string, limit: number): Promise<Notification[]> {
  const pages = await Promise.all(shardHomes(env, "notifications", userId).map((d1) => listIn(d1, userId, limit)));
  if (pages.length === 1) return pages[0] as Notification[];
  const byId = new Map<string, Notification>();
  for (const page of pages) for (const n of page) if (!byId.has(n.id)) byId.set(n.id, n);
  return [...byId.values()]
    .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
    .slice(0, limit);
}

async function listIn(d1: D1Database, userId: string, limit: number): Promise<Notification[]> {
  const db = drizzle(d1);
  const page = db
    .select({ id: notifications.id })
    .from(notifications)
    .where(eq(notifications.userId, userId))
    .orderBy(desc(notifications.createdAt), desc(notifications.id))
    .limit(limit);
  const [rows, channelRows] = await db.batch([
    db
      .select({
        id: notifications.id,
        type: notifications.type,
        status: notifications.status,
        attempts: notifications.attempts,
        lastError: notifications.lastError,
        createdAt: notifications.createdAt,
        updatedAt: notifications.updatedAt,
        ackedAt: notifications.ackedAt,
      })
      .from(notifications)
      .where(eq(notifications.userId, userId))
      .orderBy(desc(notifications.createdAt), desc(notifications.id))
      .limit(limit),
    // The user's own rows only, of the same page: never another user's channels.
    db
      .select({
        notificationId: notificationChannels.notificationId,
        channel: notificationChannels.channel,
        outcome: notificationChannels.outcome,
        attempts: notificationChannels.attempts,
        lastError: notificationChannels.lastError,
        updatedAt: notificationChannels.updatedAt,
      })
      .from(notificationChannels)
      .where(and(eq(notificationChannels.userId, userId), inArray(notificationChannels.notificationId, page))),
  ]);
  const byNotification = new Map<string, ChannelAttempt[]>();
  for (const { notificationId, ...attempt } of channelRows) {
    const list = byNotification.get(notificationId) ?? [];
    list.push(attempt);
    byNotification.set(notificationId, list);
  }
  const order = (c: Channel) => Channel.options.indexOf(c);
  return rows.map((row) => ({
    ...row,
    channels: (byNotification.get(row.id) ?? []).sort((a, b) => order(a.channel) - order(b.channel)),
  }));
}

/**
 * Records that the user's app showed the notification: the first acknowledgement's time stays
 * (a repeated ack answers it again). Only the notification's own user: another user's id reads
 * as unknown. Undefined when the user has no such notification.
 */
export async function ackNotification(env: Env, userId: string, id: string, now: number): Promise<number | undefined> {
  // In every home while a shard move runs: the copy that stays must carry the ack.
  const acked = await Promise.all(
    shardHomes(env, "notifications", userId).map(async (d1) => {
      const [row] = await drizzle(d1)
        .update(notifications)
        .set({ ackedAt: sql`coalesce(${notifications.ackedAt}, ${now})` })
        .where(and(eq(notifications.id, id), eq(notifications.userId, userId)))
        .returning({ ackedAt: notifications.ackedAt });
      return row?.ackedAt ?? undefined;
    }),
  );
  return acked.find((at) => at !== undefined);
}

/**
 * The arrival push as the delayed arrival SMS weighs it (notify/arrival-sms.ts): the user's own
 * notification only, with its SMS channel's outcome; undefined while the consumer has not logged it.
 * `d1` is the user's notification shard.
 */
export async function arrivalPushOf(d1: D1Database, userId: string, id: string): Promise<ArrivalPush | undefined> {
  const row = await d1
    .prepare(
      `SELECT n.status AS status, n.acked_at AS acked_at, c.outcome AS sms_outcome
       FROM notifications n
       LEFT JOIN notification_channels c ON c.notification_id = n.id AND c.channel = 'sms'
       WHERE n.id = ?1 AND n.user_id = ?2`,
    )
    .bind(id, userId)
    .first<{ status: NotificationStatus; acked_at: number | null; sms_outcome: ChannelOutcome | null }>();
  return row ? { status: row.status, ackedAt: row.acked_at, smsOutcome: row.sms_outcome } : undefined;
}

/**
 * Takes one of the user's hourly sends on `channel` for this notification, unless `perHour` of
 * them were taken in the hour up to `now`. One statement decides (D1 runs one at a time), so
 * concurrent consumers cannot both take the last one. A notification that took one already (a
 * retry) keeps it and is not counted twice. `d1` is the user's notification shard (the sends it
 * counts are that user's, all there).
 */
export async function reserveSend(
  d1: D1Database,
  send: { notificationId: string; userId: string; channel: Channel },
  now: number,
  perHour: number,
): Promise<boolean> {
  const held = await d1
    .prepare(
      `SELECT reserved_at FROM notification_channels
       WHERE notification_id = ?1 AND channel = ?2 AND reserved_at IS NOT NULL`,
    )
    .bind(send.notificationId, send.channel)
    .first();
  if (held) return true;
  const taken = await d1
    .prepare(
      `INSERT INTO notification_channels (notification_id, channel, user_id, outcome, attempts, reserved_at, updated_at)
       SELECT ?1, ?2, ?3, 'pending', 0, ?4, ?4
       WHERE (SELECT COUNT(*) FROM notification_channels
              WHERE user_id = ?3 AND channel = ?2 AND reserved_at > ?4 - 3600000) < ?5
       ON CONFLICT (notification_id, channel) DO UPDATE SET reserved_at = excluded.reserved_at,
         outcome = 'pending', updated_at = excluded.updated_at
       WHERE notification_channels.reserved_at IS NULL
       RETURNING reserved_at`,
    )
    .bind(send.notificationId, send.channel, send.userId, now, perHour)
    .first();
  return taken !== null;
}

const MutedList = NotificationType.array();

/** A JSON column as stored: drizzle parses it when it selects the column, a raw subquery leaves it text. */
function jsonOf(raw: unknown): unknown {
  if (typeof raw !== "string") return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return null;
  }
}

function parseChannels(raw: unknown): Channel[] {
  const parsed = ChannelList.safeParse(jsonOf(raw) ?? []);
  return parsed.success ? parsed.data : [];
}

function parseQuietHours(raw: unknown): QuietHours | null {
  const parsed = QuietHours.safeParse(jsonOf(raw));
  return parsed.success ? parsed.data : null;
}

const preferenceColumns = {
  muted: notificationPreferences.muted,
  mutedChannels: notificationPreferences.mutedChannels,
  quietHours: notificationPreferences.quietHours,
};

/** A stored row as the API shows it; a value that no longer parses reads as unset. */
function toPreferences(row: { muted: unknown; mutedChannels: unknown; quietHours: unknown } | undefined): Preferences {
  const muted = MutedList.safeParse(row?.muted ?? []);
  return {
    muted: muted.success ? muted.data : [],
    mutedChannels: parseChannels(row?.mutedChannels ?? []),
    quietHours: parseQuietHours(row?.quietHours ?? null),
  };
}

export async function preferencesOf(d1: D1Database, userId: string): Promise<Preferences> {
  const [row] = await drizzle(d1)
    .select(preferenceColumns)
    .from(notificationPreferences)
    .where(eq(notificationPreferences.userId, userId))
    .limit(1);
  return toPreferences(row);
}

/** Replaces the fields given (lists deduplicated, in their enum's order); a field left out stays as stored. */
export async function setPreferences(
  d1: D1Database,
  userId: string,
  change: { muted?: NotificationType[]; mutedChannels?: Channel[]; quietHours?: QuietHours | null },
  now: number,
): Promise<Preferences> {
  const muted = change.muted && NotificationType.options.filter((t) => change.muted?.includes(t));
  const mutedChannels = change.mutedChannels && Channel.options.filter((c) => change.mutedChannels?.includes(c));
  const quietHours = change.quietHours;
  const [row] = await drizzle(d1)
    .insert(notificationPreferences)
    .values({
      userId,
      muted: muted ?? [],
      mutedChannels: mutedChannels ?? [],
      quietHours: quietHours ?? null,
      updatedAt: now,
    })
    .onConflictDoUpdate({
      target: notificationPreferences.userId,
      set: {
        ...(muted ? { muted } : {}),
        ...(mutedChannels ? { mutedChannels } : {}),
        ...(quietHours !== undefined ? { quietHours } : {}),
        updatedAt: now,
      },
    })
    .returning(preferenceColumns);
  return toPreferences(row);
}
