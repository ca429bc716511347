/**
 * @module notify/quiet-hours
 * Whether a moment falls in a user's quiet hours, and when they end. The window is in the
 * user's own time zone (an IANA name such as `Europe/Paris`), read through `Intl`, so a
 * daylight-saving change moves it with the user's clock. A window whose start is after its end
 * runs over midnight (22:00 to 07:00). Plain TypeScript: unit-tested in Node.
 */
import type { QuietHours } from "../protocol/notifications";

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Minutes since local midnight and seconds into the minute, at `now` in `timeZone`. */
function localClock(now: number, timeZone: string): { minutes: number; seconds: number } {
  const parts = new Intl.DateTimeFormat("en-GB", {
    timeZone,
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).formatToParts(new Date(now));
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return { minutes: part("hour") * 60 + part("minute"), seconds: part("second") };
}

/** When the quiet hours around `now` end (epoch ms), or null when `now` is not in them. */
export function quietUntil(quiet: QuietHours | null, now: number): number | null {
  if (!quiet) return null;
  const start = minutesOf(quiet.start);
  const end = minutesOf(quiet.end);
  const { minutes, seconds } = localClock(now, quiet.timeZone);
  const inside = start < end ? minutes >= start && minutes < end : minutes >= start || minutes < end;
  if (!inside) return null;
  const left = (end - minutes + 1_440) % 1_440;
  return now + left * 60_000 - seconds * 1_000;
}
