/**
 * @module notify/consumer
 * The queue consumer. Each message is acked or retried on its own, though a batch is opened
 * and recorded in D1 together (two round trips for the batch):
 * - the notification is logged in D1 under its deterministic id, so a message seen again (a
 *   redelivery, a duplicate send) finds its row `delivered`, `muted` or `failed` and is acked
 *   without pushing anything;
 * - a type the user muted ends `muted`, not sent; past NOTIFICATIONS_PER_USER_PER_MINUTE of one
 *   type it is logged `rate_limited`, not sent;
 * - otherwise it goes out on the channels its type's route gives (notify/routing.ts): to every
 *   target of each, or down a fallback list until one delivers; each channel's outcome is
 *   logged apart (`notification_channels`); a device whose endpoint is gone (404/410) is
 *   removed; a failure is retried with exponential backoff
 *   (`retry({ delaySeconds })`), and after wrangler.toml's `max_retries` Queues moves the
 *   message to the dead-letter queue, whose consumer marks the notification `failed`.
 * Attempts are counted in D1; a short lease keeps two consumers from pushing the same row.
 */
import { loadConfig, type Config } from "../config";
import { groupByShard, shardDatabase } from "../db/shards";
import {
  failDeadLetter,
  openNotifications,
  recordAttempts,
  reserveSend,
  type AttemptRecord,
  type OpenedNotification,
} from "../db/notifications";
import type { Channel, ChannelOutcome } from "../protocol/notifications";
import { hourlyLimit, targetsOf } from "./channels";
import { reportChatDeliveries } from "./chat-delivered";
import { NotificationMessage } from "./message";
import { quietUntil } from "./quiet-hours";
import { channelMuted, routeOf } from "./routing";
import { errorReason } from "../redact";
import { metrics } from "../metrics";

/** The queue names of local development and the tests; a deployed environment names its own (NOTIFY_QUEUE). */
export const NOTIFICATIONS_QUEUE = "ridewire-notifications";
export const DEAD_LETTER_QUEUE = "ridewire-notifications-dlq";

/**
 * Ack, or retry after `delaySeconds` (when not given: the exponential backoff, but never sooner
 * than `atLeastSeconds`, a provider's `Retry-After`).
 */
type Outcome = { ack: true } | { ack: false; delaySeconds?: number; atLeastSeconds?: number };
const ACK: Outcome = { ack: true };
const RETRY: Outcome = { ack: false };

/** The queue() handler of the Worker: the main queue and its dead-letter queue. */
export async function handleQueue(batch: MessageBatch, env: Env, _ctx: ExecutionContext): Promise<void> {
  const config = loadConfig(env);
  if (batch.queue === config.NOTIFY_QUEUE) return handleNotifications(batch, env);
  if (batch.queue === config.NOTIFY_DEAD_LETTER_QUEUE) return handleDeadLetters(batch, env);
  log("error", "queue", { queue: batch.queue, reason: "no consumer for this queue" });
  batch.retryAll();
}

/** Delay before the next attempt: base, 2 × base, 4 × base, … capped (attempts counts from 1). */
export function backoffSeconds(
  attempts: number,
  config: Pick<Config, "NOTIFY_RETRY_BASE_SECONDS" | "NOTIFY_RETRY_MAX_SECONDS">,
): number {
  const exponent = Math.max(0, Math.min(attempts - 1, 30));
  return Math.min(config.NOTIFY_RETRY_MAX_SECONDS, config.NOTIFY_RETRY_BASE_SECONDS * 2 ** exponent);
}

/**
 * A batch takes a few D1 round trips however many messages it holds: per notification shard
 * (db/shards) of its users, one opens its messages (with one to the directory database for the
 * devices and preferences) and one records what their attempts decided; the deliveries run in
 * between. A copy of a message in
 * the same batch (a producer's retried send) shares its first copy's attempt and outcome, so
 * it is pushed once. If a batched write fails, each message is written alone, so a bad row
 * costs only its own message; a message whose write fails is retried, and a push that went
 * out before the failure was recorded may go out again (at least once, never silently dropped).
 */
async function handleNotifications(batch: MessageBatch, env: Env): Promise<void> {
  const config = loadConfig(env);
  const copies = new Map<string, Message[]>();
  const notifications: NotificationMessage[] = [];
  for (const msg of batch.messages) {
    const parsed = NotificationMessage.safeParse(msg.body);
    if (!parsed.success) {
      // A malformed message never becomes valid: drop it rather than retry it into the DLQ.
      log("error", "consumer", {
        messageId: msg.id,
        reason: "invalid notification message",
        issues: parsed.error.issues.slice(0, 3).map((i) => `${i.path.join(".")}: ${i.message}`),
      });
      msg.ack();
      continue;
    }
    const seen = copies.get(parsed.data.id);
    if (seen) seen.push(msg);
    else {
      copies.set(parsed.data.id, [msg]);
      notifications.push(parsed.data);
    }
  }
  let outcomes: Outcome[];
  try {
    outcomes = await attemptAll(env, config, notifications);
  } catch (err) {
    log("error", "consumer", { messages: batch.messages.length, reason: errorReason(err) });
    outcomes = notifications.map(() => RETRY);
  }
  notifications.forEach((notification, i) => {
    const outcome = outcomes[i] ?? RETRY;
    // One line per notification, with the trace id of the request that sent it (trace.ts).
    log("info", "consumer", {
      notificationId: notification.id,
      type: notification.type,
      outcome: outcome.ack ? "done" : "retry",
      ...traceOf(notification),
    });
    for (const msg of copies.get(notification.id) ?? []) {
      if (outcome.ack) msg.ack();
      else
        msg.retry({ delaySeconds: outcome.delaySeconds ?? retryDelay(msg.attempts, outcome.atLeastSeconds, config) });
    }
  });
}

/** Queues delays a message by at most 12 hours. */
const MAX_QUEUE_DELAY_SECONDS = 43_200;

/** The backoff, stretched to a provider's `Retry-After` when that is longer. */
function retryDelay(
  attempts: number,
  atLeastSeconds: number | undefined,
  config: Pick<Config, "NOTIFY_RETRY_BASE_SECONDS" | "NOTIFY_RETRY_MAX_SECONDS">,
): number {
  return Math.min(MAX_QUEUE_DELAY_SECONDS, Math.max(backoffSeconds(attempts, config), atLeastSeconds ?? 0));
}

async function attemptAll(env: Env, config: Config, messages: NotificationMessage[]): Promise<Outcome[]> {
  const opened = await eachShardOrAlone(env, messages, messages, (some) =>
    openNotifications(env, some, Date.now(), 3 * config.NOTIFY_TIMEOUT_MS, config.NOTIFICATIONS_PER_USER_PER_MINUTE),
  );
  // One message at a time, as the queue ordered them: a runtime opens only a few connections
  // at once, and a delivery waiting for one would spend its timeout waiting.
  const attempts: (Attempt | null)[] = [];
  for (const [i, message] of messages.entries()) {
    const open = opened[i];
    attempts.push(
      open
        ? await attempt(config, message, open, (channel) =>
            reserveSend(
              shardDatabase(env, "notifications", message.userId),
              { notificationId: message.id, userId: message.userId, channel },
              Date.now(),
              hourlyLimit(channel, config) ?? Number.MAX_SAFE_INTEGER,
            ),
          ).catch((err: unknown): Attempt => {
            // This one alone is retried, once its lease runs out; the others' records still go.
            log("error", "consumer", { notificationId: message.id, reason: errorReason(err), ...traceOf(message) });
            return { outcome: RETRY, records: [] };
          })
        : null,
    );
  }
  const recorded = await eachShardOrAlone(env, messages, attempts, async (some) => {
    await recordAttempts(
      env,
      some.flatMap((a) => a?.records ?? []),
      Date.now(),
    );
    return some.map(() => true);
  });
  await reportChatDeliveries(
    env,
    messages.flatMap((message, i) => {
      const done = attempts[i];
      return done && recorded[i] ? [{ message, records: done.records }] : [];
    }),
  );
  for (const [i, a] of attempts.entries()) if (a && recorded[i]) countChannelOutcomes(a.records);
  return attempts.map((a, i) => (a && recorded[i] ? a.outcome : RETRY));
}

/** Each channel a notification was tried on, by how it went (src/metrics.ts): sent, to retry, or failed for good. */
function countChannelOutcomes(records: readonly AttemptRecord[]): void {
  for (const record of records) {
    if (record.kind !== "channel" || !record.tried) continue;
    if (record.outcome === "delivered") metrics.count("notification_sent", record.channel);
    else if (record.outcome === "retrying") metrics.count("notification_retry", record.channel);
    else if (record.outcome === "failed") metrics.count("notification_failed", record.channel);
  }
}

/**
 * `eachOrAlone` per notification shard: `items[i]` belongs to `messages[i]`, whose user's shard it
 * is written to. A shard that fails then costs only its own messages: the writes another shard
 * already took (a lease, an attempt counted) are not made again.
 */
async function eachShardOrAlone<T, R>(
  env: Env,
  messages: readonly NotificationMessage[],
  items: readonly T[],
  run: (some: readonly T[]) => Promise<R[]>,
): Promise<(R | null)[]> {
  const results: (R | null)[] = items.map(() => null);
  await Promise.all(
    groupByShard(env, "notifications", messages, (m) => m.userId).map(async (group) => {
      const answers = await eachOrAlone(
        group.items.map(({ index }) => items[index] as T),
        run,
      );
      group.items.forEach(({ index }, i) => {
        results[index] = answers[i] ?? null;
      });
    }),
  );
  return results;
}

/**
 * `run` for all `items` in one D1 round trip; if that fails, for each item alone, so that one
 * message's bad row costs only that message. Null where an item failed on its own too (it is
 * retried). A D1 outage fails them all either way.
 */
async function eachOrAlone<T, R>(
  items: readonly T[],
  run: (some: readonly T[]) => Promise<R[]>,
): Promise<(R | null)[]> {
  try {
    return await run(items);
  } catch (err) {
    log("error", "consumer", { items: items.length, reason: `batch write failed: ${errorReason(err)}` });
    if (items.length <= 1) return items.map(() => null);
    return Promise.all(
      items.map((item) =>
        run([item]).then(
          (result) => result[0] ?? null,
          (itemErr: unknown) => {
            log("error", "consumer", { reason: errorReason(itemErr) });
            return null;
          },
        ),
      ),
    );
  }
}

type Attempt = { outcome: Outcome; records: AttemptRecord[] };

/** Takes one of the user's hourly sends on a limited channel for this notification; false when none is left. */
type Reserve = (channel: Channel) => Promise<boolean>;

type ChannelStep = { channel: Channel; outcome: ChannelOutcome; lastError: string | null; tried: boolean };

/**
 * Delivers one opened notification, if it is this consumer's to deliver; the writes are the
 * caller's. The routing table (notify/routing.ts) gives the channels in order: a muted channel
 * is passed over, a channel with nothing to send to is `skipped`, a limited one (SMS, email)
 * takes one of the user's hourly sends first or is `rate_limited`, and in a fallback route a
 * channel after one that delivered is `not_needed`.
 */
async function attempt(
  config: Config,
  message: NotificationMessage,
  opened: OpenedNotification,
  reserve: Reserve,
): Promise<Attempt> {
  const { muted, claim, current } = opened;
  const now = Date.now();
  const ending = (
    status: "delivered" | "failed" | "muted" | "rate_limited",
    lastError: string | null,
  ): AttemptRecord => ({
    kind: "end",
    id: message.id,
    userId: message.userId,
    status,
    lastError,
  });
  const end = (status: "delivered" | "failed" | "muted", lastError: string | null): Attempt => ({
    outcome: ACK,
    records: [ending(status, lastError)],
  });
  if (muted) return end("muted", null);

  if (!claim) {
    if (current?.status !== "pending") return { outcome: ACK, records: [] };
    // Another consumer is delivering it right now: look again once its lease has run out.
    return {
      outcome: { ack: false, delaySeconds: Math.max(1, Math.ceil(((current.leaseUntil ?? now) - now) / 1000)) },
      records: [],
    };
  }

  if (message.type === "offer" && message.data.expiresAt <= now)
    return end("failed", "the offer expired before it could be delivered");

  const route = routeOf(message);
  // During the user's quiet hours a non-urgent notification waits: the lease goes back and the
  // message comes again when they end (Queues delays by at most 12 hours: a longer window holds
  // it twice). Each wait is one of the queue's retries.
  const until = route.urgent ? null : quietUntil(opened.quietHours, now);
  if (until !== null) {
    const delaySeconds = Math.min(MAX_QUEUE_DELAY_SECONDS, Math.max(1, Math.ceil((until - now) / 1000)));
    return {
      outcome: { ack: false, delaySeconds },
      records: [
        {
          kind: "release",
          id: message.id,
          userId: message.userId,
          deliveredTo: claim.deliveredTo,
          lastError: `quiet hours: held until ${new Date(until).toISOString()}`,
        },
      ],
    };
  }
  const delivered = new Set(claim.deliveredTo);
  const steps: ChannelStep[] = [];
  const records: AttemptRecord[] = [];
  const errors: string[] = [];
  const refusals: string[] = [];
  const skips: string[] = [];
  let retryAfter: number | undefined;
  let gone = 0;
  let reached = false;
  let unmuted = 0;
  let limited = false;
  for (const channel of route.channels) {
    if (channelMuted(route, channel, opened.mutedChannels)) {
      steps.push({ channel, outcome: "muted", lastError: null, tried: false });
      continue;
    }
    unmuted++;
    if (route.mode === "fallback" && reached) {
      steps.push({ channel, outcome: "not_needed", lastError: null, tried: false });
      continue;
    }
    const found = targetsOf(channel, message, opened, config, now);
    if ("skipped" in found) {
      skips.push(`${channel}: ${found.skipped}`);
      steps.push({ channel, outcome: "skipped", lastError: found.skipped, tried: false });
      continue;
    }
    const pending = found.targets.filter((t) => !delivered.has(t.id));
    if (pending.length < found.targets.length) reached = true;
    if (pending.length === 0) {
      steps.push({ channel, outcome: "delivered", lastError: null, tried: false });
      continue;
    }
    if (hourlyLimit(channel, config) !== undefined && !(await reserve(channel))) {
      limited = true;
      steps.push({ channel, outcome: "rate_limited", lastError: null, tried: false });
      continue;
    }
    const results = await Promise.all(pending.map(async (target) => ({ target, result: await target.send() })));
    let ok = found.targets.length - pending.length;
    let retryable: string | null = null;
    let final: string | null = null;
    for (const { target, result } of results) {
      const name = target.device ? `${target.device.kind} ${target.device.id}` : channel;
      if (result.kind === "delivered") {
        delivered.add(target.id);
        ok++;
      } else if (result.kind === "gone") {
        gone++;
        final ??= "gone";
        if (target.device) {
          records.push({ kind: "remove_device", deviceId: target.device.id });
          log("info", "consumer", { deviceId: target.device.id, reason: `device removed: ${result.reason}` });
        }
      } else if (result.kind === "refused") {
        refusals.push(`${name}: ${result.reason}`);
        final ??= result.reason;
      } else {
        errors.push(`${name}: ${result.reason}`);
        retryable ??= result.reason;
        if (result.retryAfterSeconds !== undefined) retryAfter = Math.max(retryAfter ?? 0, result.retryAfterSeconds);
      }
    }
    if (ok > 0) reached = true;
    steps.push({
      channel,
      outcome: ok > 0 ? "delivered" : retryable !== null ? "retrying" : "failed",
      lastError: ok > 0 ? null : (retryable ?? final),
      tried: true,
    });
  }

  // A fallback route that reached the user is done, whatever failed on the way; an `all` route
  // tries the failed targets again (those that have it are skipped next time).
  const retrying = errors.length > 0 && !(route.mode === "fallback" && reached);
  const stepRecords = (settled: boolean): AttemptRecord[] =>
    steps.map((step) => ({
      kind: "channel",
      id: message.id,
      userId: message.userId,
      channel: step.channel,
      outcome: settled && step.outcome === "retrying" ? "failed" : step.outcome,
      lastError: step.lastError,
      tried: step.tried,
    }));

  if (unmuted === 0) return { outcome: ACK, records: [...stepRecords(true), ending("muted", null)] };
  if (retrying) {
    records.push(...stepRecords(false), {
      kind: "release",
      id: message.id,
      userId: message.userId,
      deliveredTo: [...delivered],
      lastError: [...errors, ...refusals].join("; ").slice(0, 500),
    });
    return { outcome: retryAfter === undefined ? RETRY : { ack: false, atLeastSeconds: retryAfter }, records };
  }
  records.push(...stepRecords(true));
  if (reached || delivered.size > 0) {
    records.push(ending("delivered", null));
    return { outcome: ACK, records };
  }
  // A refused URL does not become acceptable by waiting: no retry for it.
  const anyTarget = steps.some((s) => s.tried || s.outcome === "rate_limited");
  const why =
    refusals.length > 0
      ? refusals.join("; ").slice(0, 500)
      : gone > 0
        ? "every device is gone"
        : limited
          ? "over the hourly limit of its channels"
          : !anyTarget && skips.every((s) => s.endsWith(": no_device"))
            ? "no device registered"
            : anyTarget
              ? "no device accepted it"
              : `no channel could take it (${skips.join(", ")})`;
  records.push(ending(limited && refusals.length === 0 && gone === 0 ? "rate_limited" : "failed", why));
  return { outcome: ACK, records };
}

/** Dead letters: retries ran out. The notification ends `failed`; nothing is sent. */
async function handleDeadLetters(batch: MessageBatch, env: Env): Promise<void> {
  const config = loadConfig(env);
  for (const msg of batch.messages) {
    const parsed = NotificationMessage.safeParse(msg.body);
    if (!parsed.success) {
      log("error", "deadLetters", { messageId: msg.id, reason: "invalid notification message" });
      msg.ack();
      continue;
    }
    try {
      await failDeadLetter(env, parsed.data, "gave up after the last retry", Date.now());
      log("info", "deadLetters", { notificationId: parsed.data.id, reason: "marked failed", ...traceOf(parsed.data) });
      msg.ack();
    } catch (err) {
      log("error", "deadLetters", { messageId: msg.id, reason: errorReason(err), ...traceOf(parsed.data) });
      msg.retry({ delaySeconds: backoffSeconds(msg.attempts, config) });
    }
  }
}

/** The `traceId` field of a log line about this notification, when its sender had one. */
const traceOf = (message: NotificationMessage) => (message.traceId === undefined ? {} : { traceId: message.traceId });

function log(level: "info" | "error", where: string, fields: Record<string, unknown>): void {
  // Ids and reasons only: never message text, endpoints or secrets.
  const line = JSON.stringify({ level, where: `notify.${where}`, ...fields });
  if (level === "error") console.error(line);
  else console.log(line);
}
