/**
 * @module notify/consumer
 * The queue consumer. Each message is acked or retried on its own:
 * - the notification is logged in D1 under its deterministic id, so a message seen again (a
 *   redelivery, a duplicate send) finds its row `delivered`, `muted` or `failed` and is acked
 *   without pushing anything;
 * - a type the user muted ends `muted`, not sent;
 * - otherwise it goes to every device of the user that does not have it yet; a device whose
 *   endpoint is gone (404/410) is removed; a failure is retried with exponential backoff
 *   (`retry({ delaySeconds })`), and after wrangler.toml's `max_retries` Queues moves the
 *   message to the dead-letter queue, whose consumer marks the notification `failed`.
 * Attempts are counted in D1; a short lease keeps two consumers from pushing the same row.
 */
import { loadConfig, type Config } from "../config";
import { failDeadLetter, finishNotification, openNotification, releaseNotification, removeDevice } from "../db/notifications";
import { deliverTo } from "./delivery";
import { NotificationMessage } from "./message";

export const NOTIFICATIONS_QUEUE = "ridewire-notifications";
export const DEAD_LETTER_QUEUE = "ridewire-notifications-dlq";

/** Ack, or retry after `delaySeconds` (the exponential backoff when not given). */
type Outcome = { ack: true } | { ack: false; delaySeconds?: number };
const ACK: Outcome = { ack: true };

/** The queue() handler of the Worker: the main queue and its dead-letter queue. */
export async function handleQueue(batch: MessageBatch, env: Env, _ctx: ExecutionContext): Promise<void> {
  if (batch.queue === NOTIFICATIONS_QUEUE) return handleNotifications(batch, env);
  if (batch.queue === DEAD_LETTER_QUEUE) return handleDeadLetters(batch, env);
  log("error", "queue", { queue: batch.queue, reason: "no consumer for this queue" });
  batch.retryAll();
}

/** Delay before the next attempt: base, 2 × base, 4 × base, … capped (attempts counts from 1). */
export function backoffSeconds(attempts: number, config: Pick<Config, "NOTIFY_RETRY_BASE_SECONDS" | "NOTIFY_RETRY_MAX_SECONDS">): number {
  const exponent = Math.max(0, Math.min(attempts - 1, 30));
  return Math.min(config.NOTIFY_RETRY_MAX_SECONDS, config.NOTIFY_RETRY_BASE_SECONDS * 2 ** exponent);
}

async function handleNotifications(batch: MessageBatch, env: Env): Promise<void> {
  const config = loadConfig(env);
  // One at a time: a duplicate inside the batch then finds the first one's outcome in D1.
  for (const msg of batch.messages) {
    let outcome: Outcome;
    try {
      outcome = await processMessage(env, config, msg.body);
    } catch (err) {
      // D1 unavailable, say. Try again later; a push that went out before the failure was
      // recorded may go out again (at least once, never silently dropped).
      log("error", "consumer", { messageId: msg.id, reason: describe(err) });
      outcome = { ack: false };
    }
    if (outcome.ack) msg.ack();
    else msg.retry({ delaySeconds: outcome.delaySeconds ?? backoffSeconds(msg.attempts, config) });
  }
}

async function processMessage(env: Env, config: Config, body: unknown): Promise<Outcome> {
  const parsed = NotificationMessage.safeParse(body);
  if (!parsed.success) {
    // A malformed message never becomes valid: drop it rather than retry it into the DLQ.
    log("error", "consumer", { reason: "invalid notification message", issues: parsed.error.issues.slice(0, 3).map((i) => `${i.path.join(".")}: ${i.message}`) });
    return ACK;
  }
  const message = parsed.data;
  const d1 = env.DB;
  const now = Date.now();
  const { muted, claim, current, devices } = await openNotification(d1, message, now, 3 * config.NOTIFY_TIMEOUT_MS);

  if (muted) {
    await finishNotification(d1, message.id, "muted", null, now);
    return ACK;
  }

  if (!claim) {
    if (!current || current.status !== "pending") return ACK;
    // Another consumer is delivering it right now: look again once its lease has run out.
    return { ack: false, delaySeconds: Math.max(1, Math.ceil(((current.leaseUntil ?? now) - now) / 1000)) };
  }

  if (message.type === "offer" && message.data.expiresAt <= now) {
    await finishNotification(d1, message.id, "failed", "the offer expired before it could be delivered", now);
    return ACK;
  }

  if (devices.length === 0) {
    await finishNotification(d1, message.id, "failed", "no device registered", now);
    return ACK;
  }

  const delivered = new Set(claim.deliveredTo);
  const pending = devices.filter((d) => !delivered.has(d.id));
  const results = await Promise.all(pending.map(async (device) => ({ device, result: await deliverTo(device, message, config, now) })));
  const errors: string[] = [];
  let gone = 0;
  for (const { device, result } of results) {
    if (result.kind === "delivered") delivered.add(device.id);
    else if (result.kind === "gone") {
      gone++;
      await removeDevice(d1, device.id);
      log("info", "consumer", { deviceId: device.id, reason: `device removed: ${result.reason}` });
    } else errors.push(`${device.kind} ${device.id}: ${result.reason}`);
  }

  const done = Date.now();
  if (errors.length > 0) {
    await releaseNotification(d1, message.id, [...delivered], errors.join("; ").slice(0, 500), done);
    return { ack: false };
  }
  if (delivered.size > 0) await finishNotification(d1, message.id, "delivered", null, done);
  else await finishNotification(d1, message.id, "failed", gone > 0 ? "every device is gone" : "no device accepted it", done);
  return ACK;
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
      await failDeadLetter(env.DB, parsed.data, "gave up after the last retry", Date.now());
      log("info", "deadLetters", { notificationId: parsed.data.id, reason: "marked failed" });
      msg.ack();
    } catch (err) {
      log("error", "deadLetters", { messageId: msg.id, reason: describe(err) });
      msg.retry({ delaySeconds: backoffSeconds(msg.attempts, config) });
    }
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : typeof err;
}

function log(level: "info" | "error", where: string, fields: Record<string, unknown>): void {
  // Ids and reasons only: never message text, endpoints or secrets.
  const line = JSON.stringify({ level, where: `notify.${where}`, ...fields });
  if (level === "error") console.error(line);
  else console.log(line);
}
