/**
 * The local stand-ins of Resend (test/helpers/email-server.mjs) and Twilio
 * (test/helpers/sms-server.mjs): script their answers per recipient, read what they accepted,
 * wait for it; and a phone number proved with the code the stand-in received.
 */
import { expect, inject } from "vitest";
import { call, registerUser, type TestUser } from "./api";

declare module "vitest" {
  export interface ProvidedContext {
    email: { baseUrl: string; apiKey: string };
    sms: { baseUrl: string; accountSid: string; authToken: string };
  }
}

export type SentEmail = {
  id: string;
  at: number;
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  idempotencyKey: string | null;
};
export type SentSms = { sid: string; at: number; to: string; from: string; body: string };

export type EmailAnswer = "rate_limited" | "internal" | "invalid";
export type SmsAnswer = "unsubscribed" | "too_many" | "internal";

const base = (which: "email" | "sms") => inject(which).baseUrl;

async function script(which: "email" | "sms", to: string, answers: string[], retryAfter?: number) {
  const res = await fetch(`${base(which)}/test/script/${encodeURIComponent(to)}`, {
    method: "PUT",
    body: JSON.stringify({ answers, retryAfter }),
  });
  if (res.status !== 204) throw new Error(`script failed: ${res.status}`);
}

export const scriptEmail = (to: string, answers: EmailAnswer[], retryAfter?: number) =>
  script("email", to, answers, retryAfter);
export const scriptSms = (to: string, answers: SmsAnswer[], retryAfter?: number) =>
  script("sms", to, answers, retryAfter);

export async function emailsTo(address: string): Promise<SentEmail[]> {
  return (await fetch(`${base("email")}/test/sent/${encodeURIComponent(address)}`)).json();
}

export async function smsTo(number: string): Promise<SentSms[]> {
  return (await fetch(`${base("sms")}/test/sent/${encodeURIComponent(number)}`)).json();
}

async function waitForSent<T>(what: string, read: () => Promise<T[]>, count: number, timeoutMs: number): Promise<T[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await read();
    if (got.length >= count) return got;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} ${what}; got ${got.length}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const waitForEmails = (address: string, count = 1, timeoutMs = 8_000) =>
  waitForSent(`emails to ${address}`, () => emailsTo(address), count, timeoutMs);

export const waitForSms = (number: string, count = 1, timeoutMs = 8_000) =>
  waitForSent(`texts to ${number}`, () => smsTo(number), count, timeoutMs);

let phoneCounter = 0;
/** A fresh number in the 555 range no test shares: the stand-in keeps one inbox per number. */
export function newPhone(): string {
  const n = (Date.now() % 1_000_000) * 100 + (phoneCounter++ % 100);
  return `+1555${String(n).padStart(8, "0").slice(-8)}`;
}

export async function setPhone(user: TestUser, phone: string | null) {
  const res = await call("PATCH", "/v1/me", { token: user.token, body: { phone } });
  expect(res.status).toBe(200);
  return res.body.user;
}

const CODE_TEXT = /your code is (\d{6})/;

/** A number the user proved with the code texted to it: only such a number receives SMS. */
export async function verifyPhone(user: TestUser, phone: string) {
  await setPhone(user, phone);
  const code = CODE_TEXT.exec((await smsTo(phone)).at(-1)?.body ?? "")?.[1];
  expect(code).toMatch(/^\d{6}$/);
  const res = await call("POST", "/v1/me/phone/verify", { token: user.token, body: { code } });
  expect(res.status).toBe(200);
  expect(res.body.user).toMatchObject({ phone, phoneVerified: true });
}

/** Texts to the number other than its verification codes. */
export const textsTo = async (phone: string) => (await smsTo(phone)).filter((t) => !CODE_TEXT.test(t.body));

export const waitForTexts = (phone: string, count = 1, timeoutMs = 8_000) =>
  waitForSent(`texts to ${phone}`, () => textsTo(phone), count, timeoutMs);

/**
 * A new rider with a fresh number they proved: someone the SMS channel can reach. Proving it sends a
 * security notice (`phone_changed`, never muted) through the queue; it has settled when this
 * returns, so that channels a test adds next (push, a webhook) carry only what the test sends.
 */
export async function riderWithVerifiedPhone(name?: string): Promise<{ rider: TestUser; phone: string }> {
  const rider = await registerUser("rider", name);
  const phone = newPhone();
  await verifyPhone(rider, phone);
  await securityNoticeSettled(rider, "phone_changed");
  return { rider, phone };
}

/** Waits until the user's newest security notice of `event` is in their log and no longer pending. */
async function securityNoticeSettled(user: TestUser, event: string, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await call("GET", "/v1/notifications?limit=100", { token: user.token });
    expect(res.status).toBe(200);
    const notice = (res.body.notifications as { id: string; status: string }[]).find((n) =>
      n.id.startsWith(`security:${event}:`),
    );
    if (notice && notice.status !== "pending") return;
    if (Date.now() > deadline) throw new Error(`the ${event} notice did not settle: ${JSON.stringify(notice)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
