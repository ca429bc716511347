/**
 * @module notify/channels
 * What each channel of the routing table sends to for one notification: the user's devices of
 * that kind, their account's email address, or their phone number. A channel with nothing to
 * send to says why (`no_device`, `no_phone`, `not_configured`, `no_template`), and the
 * consumer logs it `skipped`. Each target has an id that goes into the notification's
 * `delivered_to` once it has it (a device id, or `email` / `sms`), so a retry skips it.
 */
import type { Config } from "../config";
import type { DeviceRow, Recipient } from "../db/notifications";
import type { Channel } from "../protocol/notifications";
import { deliverTo } from "./delivery";
import type { DeliveryResult } from "./delivery-result";
import { sendEmail } from "./email";
import type { NotificationMessage } from "./message";
import { sendSms } from "./sms";
import { emailFor, smsFor } from "./templates";

export type Target = { id: string; device: DeviceRow | null; send: () => Promise<DeliveryResult> };

export type SkipReason = "no_device" | "no_phone" | "no_account" | "not_configured" | "no_template";

export type ChannelTargets = { targets: Target[] } | { skipped: SkipReason };

/** The hourly limit of a channel that costs per message, per user; undefined: none beyond the per-minute cap. */
export function hourlyLimit(channel: Channel, config: Pick<Config, "SMS_PER_HOUR" | "EMAIL_PER_HOUR">) {
  if (channel === "sms") return config.SMS_PER_HOUR;
  if (channel === "email") return config.EMAIL_PER_HOUR;
  return undefined;
}

export function targetsOf(
  channel: Channel,
  message: NotificationMessage,
  opened: { devices: DeviceRow[]; recipient: Recipient | undefined },
  config: Config,
  now: number,
): ChannelTargets {
  const timeoutMs = config.NOTIFY_TIMEOUT_MS;
  switch (channel) {
    case "fcm":
    case "webpush":
    case "webhook": {
      const targets = opened.devices
        .filter((d) => d.kind === channel)
        .map((device) => ({ id: device.id, device, send: () => deliverTo(device, message, config, now) }));
      return targets.length > 0 ? { targets } : { skipped: "no_device" };
    }
    case "email": {
      const { RESEND_API_KEY: apiKey, EMAIL_FROM: from } = config;
      if (!apiKey || !from) {
        sayOff("email", "RESEND_API_KEY and EMAIL_FROM are not both set");
        return { skipped: "not_configured" };
      }
      const recipient = opened.recipient;
      if (!recipient) return { skipped: "no_account" };
      const email = emailFor(message, recipient.name);
      if (!email) return { skipped: "no_template" };
      const settings = { apiBase: config.RESEND_API_BASE, apiKey, from, timeoutMs, now };
      return {
        targets: [
          { id: "email", device: null, send: () => guarded(sendEmail(recipient.email, email, message.id, settings)) },
        ],
      };
    }
    case "sms": {
      const { TWILIO_ACCOUNT_SID: accountSid, TWILIO_AUTH_TOKEN: authToken, TWILIO_FROM: from } = config;
      if (!accountSid || !authToken || !from) {
        sayOff("sms", "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM are not all set");
        return { skipped: "not_configured" };
      }
      // Null too for a number its holder has not verified (db/notifications reads only a verified one).
      const phone = opened.recipient?.phone;
      if (!phone) return { skipped: "no_phone" };
      const text = smsFor(message);
      if (!text) return { skipped: "no_template" };
      const settings = { apiBase: config.TWILIO_API_BASE, accountSid, authToken, from, timeoutMs, now };
      return { targets: [{ id: "sms", device: null, send: () => guarded(sendSms(phone, text, settings)) }] };
    }
  }
}

/** Network errors and timeouts: the provider may be back later. Which one, and nothing more. */
async function guarded(send: Promise<DeliveryResult>): Promise<DeliveryResult> {
  try {
    return await send;
  } catch (err) {
    return { kind: "failed", reason: err instanceof Error && err.name === "TimeoutError" ? "timeout" : "network" };
  }
}

// Per isolate: the channels this isolate has said are off, so the log says it once, not per message.
const offSaid = new Set<Channel>();

/** Workers have no start-up hook: the first use of an unconfigured channel in an isolate says so. */
function sayOff(channel: Channel, why: string): void {
  if (offSaid.has(channel)) return;
  offSaid.add(channel);
  console.warn(
    JSON.stringify({
      level: "warn",
      where: `notify.${channel}`,
      reason: `${why}: the ${channel} channel is off, and notifications routed to it log it skipped (not_configured)`,
    }),
  );
}
