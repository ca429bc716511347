/**
 * @module domain/trip-pin
 * The trip PIN: a 4-digit code the rider reads out and the driver types in to start the ride,
 * so that a rider gets into the car the service sent. Pure rules: making a code, whether a
 * ride needs one, and checking a guess under a lockout (10,000 codes fall quickly to a driver
 * allowed unlimited guesses).
 */
import type { LatLng } from "../protocol/common";
import { areaAt, type ServiceArea } from "./service-area";

/** The PIN's lockout as the trip stores it. */
export type PinLock = {
  /** Wrong guesses since the last lock (or since the start). */
  failures: number;
  /** Locks so far: each one lasts twice as long as the one before. */
  lockouts: number;
  /** Until when guesses are refused (epoch ms); 0: not locked. */
  lockedUntil: number;
};

export type PinRules = { maxAttempts: number; lockMs: number };

export type PinCheck =
  | { ok: true; lock: PinLock }
  | { ok: false; code: "pin_required"; lock: PinLock }
  | { ok: false; code: "wrong_pin"; lock: PinLock; attemptsLeft: number }
  | { ok: false; code: "pin_locked"; lock: PinLock; retryAfterMs: number };

export const NO_LOCK: PinLock = { failures: 0, lockouts: 0, lockedUntil: 0 };

/** The longest lock, however many came before: a day. */
const MAX_LOCK_MS = 86_400_000;

/**
 * A uniformly random 4-digit code from a cryptographic source. Two random bytes give 65,536
 * values; those of 60,000 and above are drawn again, so that every code is equally likely.
 */
export function newPin(random: (bytes: Uint8Array) => Uint8Array = (b) => crypto.getRandomValues(b)): string {
  for (;;) {
    const [hi = 0, lo = 0] = random(new Uint8Array(2));
    const n = hi * 256 + lo;
    if (n < 60_000) return String(n % 10_000).padStart(4, "0");
  }
}

/** Whether a ride picked up at `pickup` needs a PIN: the serving area's `tripPin`, else the service's default. */
export function pinRequiredAt(areas: readonly ServiceArea[], byDefault: boolean, pickup: LatLng): boolean {
  const area = areaAt(areas, pickup);
  return area !== null && "tripPin" in area && area.tripPin !== undefined ? area.tripPin : byDefault;
}

/**
 * Checks the driver's `given` code against `expected` under `lock`, at `now`; the answer carries
 * the lock to store. While locked every guess is refused, the right one too, and counts for
 * nothing; a missing code is not a guess. The right code clears the lock's count.
 */
export function checkPin(
  expected: string,
  given: string | undefined,
  lock: PinLock,
  now: number,
  rules: PinRules,
): PinCheck {
  if (lock.lockedUntil > now) return { ok: false, code: "pin_locked", lock, retryAfterMs: lock.lockedUntil - now };
  if (given === undefined) return { ok: false, code: "pin_required", lock };
  if (sameCode(expected, given)) return { ok: true, lock: NO_LOCK };
  const failures = lock.failures + 1;
  if (failures < rules.maxAttempts)
    return { ok: false, code: "wrong_pin", lock: { ...lock, failures }, attemptsLeft: rules.maxAttempts - failures };
  const lockMs = Math.min(rules.lockMs * 2 ** lock.lockouts, MAX_LOCK_MS);
  return {
    ok: false,
    code: "pin_locked",
    lock: { failures: 0, lockouts: lock.lockouts + 1, lockedUntil: now + lockMs },
    retryAfterMs: lockMs,
  };
}

/** Compares every character whatever the first difference, so the time taken tells nothing. */
function sameCode(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
