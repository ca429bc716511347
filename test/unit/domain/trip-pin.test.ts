// The trip PIN's pure rules (domain/trip-pin): codes, where one is needed, and the lockout.
import { describe, expect, it } from "vitest";
import { checkPin, NO_LOCK, newPin, pinRequiredAt } from "../../../src/domain/trip-pin";
import type { ServiceArea } from "../../../src/domain/service-area";

const rules = { maxAttempts: 3, lockMs: 1_000 };

describe("newPin", () => {
  it("gives four digits, and draws again past 59,999 so that every code is equally likely", () => {
    const draws = [
      [0xff, 0xff], // 65,535: drawn again
      [0xea, 0x60], // 60,000: drawn again
      [0x00, 0x07], // 7
    ];
    let i = 0;
    const pin = newPin((bytes) => {
      bytes.set(draws[i++] ?? [0, 0]);
      return bytes;
    });
    expect(pin).toBe("0007");
    expect(i).toBe(3);
    expect(newPin()).toMatch(/^[0-9]{4}$/);
  });
});

describe("pinRequiredAt", () => {
  const square = (lng: number): ServiceArea["polygon"] => [
    [lng, 0],
    [lng + 1, 0],
    [lng + 1, 1],
    [lng, 1],
  ];
  const areas: ServiceArea[] = [
    { name: "off", polygon: square(0), tripPin: false },
    { name: "on", polygon: square(2), tripPin: true },
    { name: "default", polygon: square(4) },
  ];
  it("follows the pickup's area, else the service's default", () => {
    expect(pinRequiredAt(areas, true, { lat: 0.5, lng: 0.5 })).toBe(false);
    expect(pinRequiredAt(areas, false, { lat: 0.5, lng: 2.5 })).toBe(true);
    expect(pinRequiredAt(areas, true, { lat: 0.5, lng: 4.5 })).toBe(true);
    expect(pinRequiredAt(areas, false, { lat: 0.5, lng: 4.5 })).toBe(false);
    expect(pinRequiredAt([], true, { lat: 0.5, lng: 4.5 })).toBe(true);
  });
});

describe("checkPin", () => {
  it("counts wrong guesses, locks at the limit for doubling times, and refuses everything while locked", () => {
    expect(checkPin("1234", "1234", NO_LOCK, 0, rules)).toEqual({ ok: true, lock: NO_LOCK });
    expect(checkPin("1234", undefined, NO_LOCK, 0, rules)).toMatchObject({ ok: false, code: "pin_required" });
    let lock = NO_LOCK;
    const first = checkPin("1234", "0000", lock, 0, rules);
    expect(first).toMatchObject({ code: "wrong_pin", attemptsLeft: 2 });
    lock = first.lock;
    lock = checkPin("1234", "0001", lock, 0, rules).lock;
    const locked = checkPin("1234", "0002", lock, 10, rules);
    expect(locked).toMatchObject({ code: "pin_locked", retryAfterMs: 1_000, lock: { failures: 0, lockouts: 1 } });
    lock = locked.lock;
    expect(checkPin("1234", "1234", lock, 500, rules)).toMatchObject({ code: "pin_locked", retryAfterMs: 510 });
    for (const guess of ["9", "8"]) lock = checkPin("1234", guess, lock, 2_000, rules).lock;
    expect(checkPin("1234", "7", lock, 2_000, rules)).toMatchObject({ code: "pin_locked", retryAfterMs: 2_000 });
    // The right code after a lock clears the count and the lockouts.
    expect(checkPin("1234", "1234", lock, 2_000, rules)).toEqual({ ok: true, lock: NO_LOCK });
  });
});
