/**
 * @module db/notifications
 * Devices, the notification log and preferences in D1. The log's writes are guarded by the
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

/** Statements `openNotifications` runs per message (the type checks the list's length). */
const OPEN_STATEMENTS = 5;

/**
 * One D1 round trip (a batch is one transaction) for a whole queue batch, where each message
 * took five: per message, it logs the notification as `pending` the first time its id is seen
 * (`rate_limited` past the per-minute cap),
 * takes the lease on a pending row whose type the user did not mute and counts the attempt
 * (the lease keeps two consumers from pushing the same row), reads the row's status and
 * whether its type is muted, and reads the devices. `messages` must have distinct ids: a
 * second copy would find the lease the first one just took.
 */
export async function openNotifications(
  d1: D1Database,
  messages: readonly NotificationMessage[],
  now: number,
  leaseMs: number,
  perMinute: number,
): Promise<OpenedNotification[]> {
  const db = drizzle(d1);
  const statements = messages.flatMap((message) => {
    // Over `perMinute` notifications of this type for this user in the minute up to this one,
    // it is logged `rate_limited` and never claimed: a user spamming a room cannot turn it into
    // a stream of pushes to its members, and a spammed driver still gets their offers (another type).
    const overLimit = sql`(SELECT COUNT(*) FROM ${notifications}
      WHERE ${notifications.userId} = ${message.userId} AND ${notifications.type} = ${message.type}
        AND ${notifications.createdAt} > ${message.createdAt - 60_000}
        AND ${notifications.createdAt} <= ${message.createdAt}
        AND ${notifications.status} != 'rate_limited') >= ${perMinute}`;
    // One test of the preferences, read by the consumer and guarding the claim, so that a
    // muted notification counts no attempt.
    // A type that cannot be muted (security notices) is never muted, whatever a stored list says.
    const isMuted = UNMUTABLE_TYPES.has(message.type)
      ? sql`0`
      : sql`EXISTS (SELECT 1 FROM ${notificationPreferences}, json_each(${notificationPreferences.muted})
      WHERE ${notificationPreferences.userId} = ${message.userId} AND json_each.value = ${message.type})`;
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
      db
        .update(notifications)
        .set({ attempts: sql`${notifications.attempts} + 1`, leaseUntil: now + leaseMs, updatedAt: now })
        .where(
          and(
            eq(notifications.id, message.id),
            eq(notifications.status, "pending"),
            or(isNull(notifications.leaseUntil), lte(notifications.leaseUntil, now)),
            sql`NOT ${isMuted}`,
          ),
        )
        .returning({ attempts: notifications.attempts, deliveredTo: notifications.deliveredTo }),
      db
        .select({ status: notifications.status, leaseUntil: notifications.leaseUntil, muted: sql<number>`${isMuted}` })
        .from(notifications)
        .where(eq(notifications.id, message.id))
        .limit(1),
      devicesQuery(db, message.userId),
      db
        .select({
          email: users.email,
          name: users.name,
          // Only a number its holder proved (http/routes/phone.ts) is texted; an unverified one reads as none.
          phone: sql<string | null>`CASE WHEN ${users.phoneVerifiedAt} IS NOT NULL THEN ${users.phone} END`,
          mutedChannels: sql<
            string | null
          >`(SELECT ${notificationPreferences.mutedChannels} FROM ${notificationPreferences}
            WHERE ${notificationPreferences.userId} = ${message.userId})`,
          quietHours: sql<string | null>`(SELECT ${notificationPreferences.quietHours} FROM ${notificationPreferences}
            WHERE ${notificationPreferences.userId} = ${message.userId})`,
        })
        .from(users)
        .where(eq(users.id, message.userId))
        .limit(1),
    ] as const satisfies { length: typeof OPEN_STATEMENTS };
  });
  const [first, ...rest] = statements as BatchItem<"sqlite">[];
  const results = first ? ((await db.batch([first, ...rest])) as unknown[]) : [];
  return messages.map((_, i) => {
    // Each message's results, in the order of its statements above: insert, claim, status, devices, user.
    const [, claimRows, statusRows, deviceRows, userRows] = results.slice(
      i * OPEN_STATEMENTS,
      (i + 1) * OPEN_STATEMENTS,
    ) as [
      unknown,
      { attempts: number; deliveredTo: string[] }[],
      { status: NotificationStatus; leaseUntil: number | null; muted: number }[],
      DeviceRow[],
      { email: string; name: string; phone: string | null; mutedChannels: string | null; quietHours: string | null }[],
    ];
    const row = statusRows[0];
    const user = userRows[0];
    return {
      muted: row?.muted === 1,
      claim: claimRows[0] ?? null,
      current: row && { status: row.status, leaseUntil: row.leaseUntil },
      devices: deviceRows,
      mutedChannels: parseChannels(user?.mutedChannels ?? null),
      quietHours: parseQuietHours(user?.quietHours ?? null),
      recipient: user && { email: user.email, name: user.name, phone: user.phone },
    };
  });
}

/** What an attempt at a notification decided, for `recordAttempts` to write. */
export type AttemptRecord =
  /** The notification ends delivered, failed or muted. */
  | { kind: "end"; id: string; status: Exclude<NotificationStatus, "pending">; lastError: string | null }
  /** The lease goes back after a failed attempt, remembering which devices already have it. */
  | { kind: "release"; id: string; deliveredTo: string[]; lastError: string }
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

/** Writes what a batch's attempts decided, in one round trip. Only a `pending` row changes. */
export async function recordAttempts(d1: D1Database, records: readonly AttemptRecord[], now: number): Promise<void> {
  const db = drizzle(d1);
  const statements = records.map((record) => {
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
      case "remove_device":
        return db.delete(devices).where(eq(devices.id, record.deviceId));
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
  });
  const [first, ...rest] = statements;
  if (first) await db.batch([first, ...rest]);
}

/**
 * A dead letter: the notification ends `failed`, logged even if the consumer never saw it, and
 * so do its channels still `retrying` (or `pending`), in the same batch.
 */
export async function failDeadLetter(
  d1: D1Database,
  message: NotificationMessage,
  reason: string,
  now: number,
): Promise<void> {
  const db = drizzle(d1);
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

/** The user's notifications, newest first, each with its channels' attempts (one round trip). */
export async function listNotifications(d1: D1Database, userId: string, limit: number): Promise<Notification[]> {
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
export async function ackNotification(
  d1: D1Database,
  userId: string,
  id: string,
  now: number,
): Promise<number | undefined> {
  const [row] = await drizzle(d1)
    .update(notifications)
    .set({ ackedAt: sql`coalesce(${notifications.ackedAt}, ${now})` })
    .where(and(eq(notifications.id, id), eq(notifications.userId, userId)))
    .returning({ ackedAt: notifications.ackedAt });
  return row?.ackedAt ?? undefined;
}

/**
 * The arrival push as the delayed arrival SMS weighs it (notify/arrival-sms.ts): the user's own
 * notification only, with its SMS channel's outcome; undefined while the consumer has not logged it.
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
 * retry) keeps it and is not counted twice.
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
