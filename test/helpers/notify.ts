/**
 * Test helpers for notifications: the real HTTP receiver that test/helpers/hook-server.mjs
 * runs on 127.0.0.1 (script its answers, read what it got, wait for deliveries), and a direct
 * call of the Worker's queue() handler with a hand-made batch.
 */
import { createExecutionContext, createMessageBatch, getQueueResult, type QueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { inject } from "vitest";
import worker from "../../src/index";
import type { Trip } from "../../src/protocol/dispatch";

declare module "vitest" {
  export interface ProvidedContext {
    hookPort: number;
  }
}

const base = () => `http://127.0.0.1:${inject("hookPort")}`;

/** Where a device registered for `key` receives its deliveries. */
export const hookUrl = (key: string) => `${base()}/inbox/${key}`;

export type Delivery = { method: string; headers: Record<string, string>; body: Uint8Array; text: string };

/** The statuses the receiver answers the next deliveries with (201 once they run out). */
export async function scriptHook(key: string, statuses: number[]): Promise<void> {
  const res = await fetch(`${base()}/script/${key}`, { method: "PUT", body: JSON.stringify({ statuses }) });
  if (res.status !== 204) throw new Error(`script failed: ${res.status}`);
}

export async function deliveriesTo(key: string): Promise<Delivery[]> {
  const res = await fetch(`${base()}/received/${key}`);
  const list = (await res.json()) as { method: string; headers: Record<string, string | string[]>; body: string }[];
  return list.map((d) => {
    const body = Uint8Array.from(atob(d.body), (c) => c.charCodeAt(0));
    const headers = Object.fromEntries(
      Object.entries(d.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : v]),
    );
    return { method: d.method, headers, body, text: new TextDecoder().decode(body) };
  });
}

/** Resolves once `key` has at least `count` deliveries; rejects after `timeoutMs`. */
export async function waitForDeliveries(key: string, count = 1, timeoutMs = 8_000): Promise<Delivery[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await deliveriesTo(key);
    if (got.length >= count) return got;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${count} deliveries to ${key}; got ${got.length}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export type BatchMessage = { id: string; attempts?: number; body: unknown };

/**
 * Runs the Worker's queue() handler on one batch of `queue` and returns what it acked and
 * retried (with `workerEnv`, the test runtime's env unless given). The plugin's getQueueResult
 * (1.5) leaves `retryMessages[].delaySeconds` out, though its type declares it; the delay each
 * `retry()` asked for is recorded here and filled in.
 */
export async function runQueue(queue: string, messages: BatchMessage[], workerEnv: Env = env): Promise<QueueResult> {
  const batch = createMessageBatch(
    queue,
    messages.map((m) => ({ id: m.id, timestamp: new Date(), attempts: m.attempts ?? 1, body: m.body })),
  );
  const requested = new Map<string, number | undefined>();
  for (const message of batch.messages) {
    const retry = message.retry.bind(message);
    message.retry = (options) => {
      requested.set(message.id, options?.delaySeconds);
      retry(options);
    };
  }
  const ctx = createExecutionContext();
  await worker.queue(batch, workerEnv, ctx);
  const result = await getQueueResult(batch, ctx);
  return {
    ...result,
    retryMessages: result.retryMessages.map((r) => ({ ...r, delaySeconds: r.delaySeconds ?? requested.get(r.msgId) })),
  };
}

/** A whole trip, `status` and a kilometre long, for building its status notification in a test. */
export function arrivedTrip(riderId: string, tripId: string): Trip {
  const now = Date.now();
  const pickup = { lat: 1, lng: 1 };
  const dropoff = { lat: 1.01, lng: 1 };
  return {
    id: tripId,
    riderId,
    driverId: "usr_driver",
    status: "arrived",
    pickup,
    dropoff,
    quote: {
      id: "qt",
      pickup,
      dropoff,
      distanceKm: 1.1,
      durationMin: 4,
      fare: { amount: 700, currency: "USD" },
      surge: 1,
      pickupEtaSec: 120,
      expiresAt: now,
    },
    fare: null,
    driverLocation: null,
    etaSec: null,
    createdAt: now,
    updatedAt: now,
  };
}
