/**
 * @module notify/sms
 * The SMS channel over Twilio's Messages API
 * (twilio.com/docs/messaging/api/message-resource#create-a-message-resource):
 * `POST {TWILIO_API_BASE}/2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded `To`,
 * `From` and `Body`, HTTP basic auth with the account SID and auth token. Twilio answers 201
 * with the queued message. Failures are told by class only (notify/delivery-result).
 */
import { httpErrorClass, retryAfterSeconds, type DeliveryResult } from "./delivery-result";

export type SmsSettings = {
  apiBase: string;
  accountSid: string;
  authToken: string;
  from: string;
  timeoutMs: number;
  now: number;
};

export async function sendSms(to: string, body: string, settings: SmsSettings): Promise<DeliveryResult> {
  const url =
    `${settings.apiBase.replace(/\/+$/, "")}/2010-04-01/Accounts/` +
    `${encodeURIComponent(settings.accountSid)}/Messages.json`;
  const res = await fetch(url, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      Authorization: `Basic ${btoa(`${settings.accountSid}:${settings.authToken}`)}`,
      "User-Agent": "ridewire-notify/1",
    },
    body: new URLSearchParams({ To: to, From: settings.from, Body: body }).toString(),
    redirect: "manual",
    signal: AbortSignal.timeout(settings.timeoutMs),
  });
  await res.body?.cancel();
  if (res.ok) return { kind: "delivered" };
  if (res.status === 429 || res.status >= 500) {
    const after = retryAfterSeconds(res.headers.get("Retry-After"), settings.now);
    return {
      kind: "failed",
      reason: httpErrorClass(res.status),
      ...(after === undefined ? {} : { retryAfterSeconds: after }),
    };
  }
  // 400 (21211 not a valid number, 21610 the number replied STOP, 21408 a region not enabled),
  // 401 (credentials): sending the same message again would be refused again.
  return { kind: "refused", reason: "sms_rejected" };
}
