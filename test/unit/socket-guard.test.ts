// Per-socket abuse control (src/rooms/socket-guard.ts): the frame-rate token bucket and the
// sliding window of bad frames, driven by an injected clock.
import { describe, expect, it } from "vitest";
import { SocketGuard, type GuardSettings } from "../../src/rooms/socket-guard";

const settings: GuardSettings = { ratePerSecond: 10, burst: 20, badFramesBeforeClose: 5, badFrameWindowMs: 10_000 };
const T0 = 1_800_000_000_000;

/** How many frames `take` lets through at one instant. */
function drain(guard: SocketGuard, now: number): number {
  let taken = 0;
  while (guard.take(now)) taken++;
  return taken;
}

describe("SocketGuard.take (token bucket)", () => {
  it("lets a full burst through at once, then refuses", () => {
    const guard = new SocketGuard(settings, T0);
    for (let i = 0; i < settings.burst; i++) expect(guard.take(T0), `frame ${i}`).toBe(true);
    expect(guard.take(T0)).toBe(false);
    expect(guard.take(T0)).toBe(false);
  });

  it("refills at the configured rate", () => {
    const guard = new SocketGuard(settings, T0);
    expect(drain(guard, T0)).toBe(20);
    // 10 per second: one token per 100 ms.
    expect(guard.take(T0 + 99)).toBe(false);
    expect(guard.take(T0 + 100)).toBe(true);
    expect(guard.take(T0 + 100)).toBe(false);
    expect(drain(guard, T0 + 600)).toBe(5);
    expect(drain(guard, T0 + 1_600)).toBe(10);
  });

  it("never holds more than the burst, however long the socket was idle", () => {
    const guard = new SocketGuard(settings, T0);
    expect(drain(guard, T0)).toBe(20);
    expect(drain(guard, T0 + 3_600_000)).toBe(20);
    const fresh = new SocketGuard(settings, T0);
    expect(drain(fresh, T0 + 60_000)).toBe(20);
  });

  it("sustains the rate but no more", () => {
    const guard = new SocketGuard(settings, T0);
    expect(drain(guard, T0)).toBe(20);
    // One frame every 100 ms is exactly the rate: every one passes.
    for (let t = 100; t <= 5_000; t += 100) expect(guard.take(T0 + t), `t=${t}`).toBe(true);
    // Twice the rate: about half pass.
    let passed = 0;
    for (let t = 5_050; t <= 10_000; t += 50) if (guard.take(T0 + t)) passed++;
    expect(passed).toBeGreaterThanOrEqual(49);
    expect(passed).toBeLessThanOrEqual(50);
  });

  it("refuses, rather than throws or refills, when the clock steps backwards", () => {
    const guard = new SocketGuard(settings, T0);
    expect(drain(guard, T0)).toBe(20);
    expect(guard.take(T0 - 5_000)).toBe(false);
    expect(guard.take(T0 - 5_000 + 99)).toBe(false);
    expect(guard.take(T0 - 5_000 + 100)).toBe(true);
  });

  it("refused frames cost nothing", () => {
    const guard = new SocketGuard(settings, T0);
    expect(drain(guard, T0)).toBe(20);
    for (let i = 0; i < 100; i++) expect(guard.take(T0 + 50)).toBe(false);
    expect(guard.take(T0 + 100)).toBe(true);
  });
});

describe("SocketGuard.recordBadFrame (sliding window)", () => {
  it("closes only after more than N bad frames within the window", () => {
    const guard = new SocketGuard(settings, T0);
    for (let i = 0; i < settings.badFramesBeforeClose; i++)
      expect(guard.recordBadFrame(T0 + i * 100), `bad frame ${i + 1}`).toBe(false);
    expect(guard.recordBadFrame(T0 + 1_000)).toBe(true);
  });

  it("forgets bad frames older than the window", () => {
    const guard = new SocketGuard(settings, T0);
    for (let i = 0; i < 5; i++) expect(guard.recordBadFrame(T0)).toBe(false);
    // Exactly one window later the first five have aged out.
    expect(guard.recordBadFrame(T0 + 10_000)).toBe(false);
    for (let i = 0; i < 4; i++) expect(guard.recordBadFrame(T0 + 10_001)).toBe(false);
    // Six in the window now.
    expect(guard.recordBadFrame(T0 + 10_002)).toBe(true);
  });

  it("a steady trickle below N per window never closes", () => {
    const guard = new SocketGuard(settings, T0);
    // One bad frame every 2.5 s: four per 10 s window at most, under the limit of five.
    for (let t = 0; t < 600_000; t += 2_500) expect(guard.recordBadFrame(T0 + t), `t=${t}`).toBe(false);
  });

  it("counts a window that slides, not one that resets", () => {
    const guard = new SocketGuard(settings, T0);
    // Three late in one 10 s span and three early in the next: six within 10 s of each other.
    for (const t of [7_000, 8_000, 9_000, 11_000, 12_000]) expect(guard.recordBadFrame(T0 + t)).toBe(false);
    expect(guard.recordBadFrame(T0 + 13_000)).toBe(true);
  });

  it("is independent of the rate bucket", () => {
    const guard = new SocketGuard(settings, T0);
    for (let i = 0; i < 5; i++) guard.recordBadFrame(T0);
    expect(drain(guard, T0)).toBe(20);
    const other = new SocketGuard(settings, T0);
    drain(other, T0);
    expect(other.recordBadFrame(T0)).toBe(false);
  });

  it("with N = 1 the second bad frame in the window closes", () => {
    const guard = new SocketGuard({ ...settings, badFramesBeforeClose: 1, badFrameWindowMs: 1_000 }, T0);
    expect(guard.recordBadFrame(T0)).toBe(false);
    expect(guard.recordBadFrame(T0 + 999)).toBe(true);
    const later = new SocketGuard({ ...settings, badFramesBeforeClose: 1, badFrameWindowMs: 1_000 }, T0);
    expect(later.recordBadFrame(T0)).toBe(false);
    expect(later.recordBadFrame(T0 + 1_000)).toBe(false);
  });
});
