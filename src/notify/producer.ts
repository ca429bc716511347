/**
 * @module notify/producer
 * How rooms put notifications on the queue. Enqueueing is a side effect of a message or a
 * status change that is already stored and broadcast: it runs behind (`waitUntil`), never
 * delays or fails the hot path, and a failure is only logged. The notification id inside each
 * message keeps a repeated send harmless.
 */
import { currentTraceId } from "../trace";
import type { NotificationMessage } from "./message";

/** Queues takes at most 100 messages per `sendBatch`. */
const SEND_BATCH_LIMIT = 100;

/**
 * Each message carries the current trace id (trace.ts): the Worker request's, the one a Durable Object was handed
 * with the call, or its alarm run's; none when there is none.
 */
export async function enqueueNotifications(queue: Queue, messages: readonly NotificationMessage[]): Promise<void> {
  const traceId = currentTraceId();
  for (let i = 0; i < messages.length; i += SEND_BATCH_LIMIT) {
    const chunk = messages.slice(i, i + SEND_BATCH_LIMIT);
    await queue.sendBatch(
      chunk.map((message) => ({
        body: traceId === undefined || message.traceId !== undefined ? message : { ...message, traceId },
        contentType: "json" as const,
      })),
    );
  }
}

/** Fire and forget from a Durable Object: returns at once and never throws. */
export function notifyBehind(
  ctx: { waitUntil(promise: Promise<unknown>): void },
  queue: Queue,
  messages: readonly NotificationMessage[],
  onError: (err: unknown) => void,
): void {
  if (messages.length === 0) return;
  ctx.waitUntil(enqueueNotifications(queue, messages).catch(onError));
}

/**
 * Builds notifications and queues them behind the reply. The event they tell of is stored and
 * sent already: a failure here (building them, or the queue) goes to `onError` and undoes nothing.
 */
export function notifyLater(
  ctx: { waitUntil(promise: Promise<unknown>): void },
  queue: Queue,
  build: () => readonly NotificationMessage[],
  onError: (err: unknown) => void,
): void {
  try {
    notifyBehind(ctx, queue, build(), onError);
  } catch (err) {
    onError(err);
  }
}
