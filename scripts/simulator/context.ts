/**
 * @module simulator/context
 * What every simulated driver and rider shares: the options, the area, the counters, the run's
 * phase, and small helpers for accounts and waiting.
 */
import { randomBytes } from "node:crypto";
import { RidewireClient, type SignupRole } from "@ridewire/client";
import type { Bounds } from "./city";
import type { Options } from "./options";
import type { Stats } from "./stats";

export type Phase = "setup" | "running" | "draining" | "ending";

export type SimContext = {
  options: Options;
  area: Bounds;
  stats: Stats;
  /** setup -> running (riders request rides) -> draining (no new requests) -> ending (cleanup). */
  phase: Phase;
  /** Unique per run: accounts are registered fresh each time. */
  runId: string;
  password: string;
  /**
   * The trip PINs riders have, by trip id. A rider tells their driver the PIN at the pickup; in
   * the simulation the rider puts it here and the driver of that trip reads it from here. The
   * server never gives it to the driver.
   */
  pins: Map<string, string>;
};

export const newRunId = () => `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
export const newPassword = () => `sim-${randomBytes(12).toString("base64url")}`;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Registers a fresh account and keeps its token in the returned client. */
export async function signUp(
  ctx: SimContext,
  role: SignupRole,
  index: number,
): Promise<{ api: RidewireClient; userId: string }> {
  const api = new RidewireClient({ baseUrl: ctx.options.url });
  const label = `${role === "driver" ? "Driver" : "Rider"} ${index + 1}`;
  const email = `sim-${ctx.runId}-${role}-${index + 1}@sim.ridewire.example`;
  const { user } = await api.signUp({ email, password: ctx.password, name: `Sim ${label}`, role });
  return { api, userId: user.id };
}

/** Resolves when `promise` settles or after `ms`, whichever is first; never rejects. */
export async function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    promise.then(
      () => undefined,
      () => undefined,
    ),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
  ]);
  clearTimeout(timer);
}

/** Runs `task` over `items` with at most `limit` at a time; resolves with every result, in order. */
export async function pool<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = { status: "fulfilled", value: await task(items[i]!, i) };
      } catch (reason) {
        results[i] = { status: "rejected", reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
