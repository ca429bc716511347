/**
 * Phone verification through the public API, against the Twilio stand-in (sms-server.mjs): a
 * new number is unverified and gets no SMS until the code texted to it is confirmed; codes
 * expire, take a few guesses, are stored only as an HMAC, and count against the user's hourly
 * SMS limit and the number's own limit (so many accounts cannot text one stranger on a loop);
 * a change of number emails the account a security notice.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { NOTIFICATIONS_QUEUE } from "../../src/notify/consumer";
import { tripStatusNotification } from "../../src/notify/message";
import { call, registerUser, unique, type TestUser } from "../helpers/api";
import { emailsTo, newPhone, smsTo, waitForEmails } from "../helpers/channels";
import { expectError } from "../helpers/chat";
import { arrivedTrip, runQueue } from "../helpers/notify";

const CODE_TEXT = /your code is (\d{6})/;

const setPhone = (user: TestUser, phone: string | null, ip = "192.0.2.10") =>
  call("PATCH", "/v1/me", { token: user.token, body: { phone }, headers: { "CF-Connecting-IP": ip } });

const verify = (user: TestUser, code: unknown) =>
  call("POST", "/v1/me/phone/verify", { token: user.token, body: { code } });

/** The code in the newest text to the number. */
async function lastCode(phone: string): Promise<string> {
  const code = CODE_TEXT.exec((await smsTo(phone)).at(-1)?.body ?? "")?.[1];
  if (!code) throw new Error(`no code texted to ${phone}`);
  return code;
}

/** A six-digit code that is not `code`. */
const wrongOf = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, "0");

async function arrivalOutcome(user: TestUser): Promise<string> {
  const arrived = tripStatusNotification(arrivedTrip(user.user.id, unique("trip")), 3);
  await runQueue(NOTIFICATIONS_QUEUE, [{ id: unique("m"), body: arrived }]);
  const list = await call("GET", "/v1/notifications?limit=100", { token: user.token });
  const logged = list.body.notifications.find((n: { id: string }) => n.id === arrived.id);
  const sms = logged.channels.find((c: { channel: string }) => c.channel === "sms");
  return `${sms.outcome}${sms.lastError ? ` (${sms.lastError})` : ""}`;
}

describe("phone verification", () => {
  it("a new number gets no SMS until its code is confirmed; a wrong code counts a guess", async () => {
    const user = await registerUser();
    const phone = newPhone();
    const set = await setPhone(user, phone);
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ codeSent: true, user: { phone, phoneVerified: false } });
    const [text, ...more] = await smsTo(phone);
    expect(more).toEqual([]);
    expect(text!.body).toMatch(/^ridewire: your code is \d{6}\. It expires in 10 min\./);

    // Unverified: the arrival is not texted.
    expect(await arrivalOutcome(user)).toBe("skipped (no_phone)");
    expect(await smsTo(phone)).toHaveLength(1);

    const code = await lastCode(phone);
    const wrong = await verify(user, wrongOf(code));
    expectError(wrong, 400, "invalid_code");
    expect(wrong.body.error.details).toEqual({ reason: "wrong", attemptsLeft: 4 });
    const ok = await verify(user, code);
    expect(ok.status).toBe(200);
    expect(ok.body.user).toMatchObject({ phone, phoneVerified: true });
    expect((await call("GET", "/v1/me", { token: user.token })).body.user.phoneVerified).toBe(true);
    // A used code does not work twice.
    expect((await verify(user, code)).body.error.details).toEqual({ reason: "no_code", attemptsLeft: 0 });

    expect(await arrivalOutcome(user)).toBe("delivered");
    expect((await smsTo(phone)).at(-1)!.body).toContain("has arrived");

    // The same verified number again texts nothing.
    const again = await setPhone(user, phone);
    expect(again.body).toMatchObject({ codeSent: false, user: { phoneVerified: true } });
    expect(await smsTo(phone)).toHaveLength(2);
  });

  it("PHONE_CODE_MAX_ATTEMPTS (5) guesses, then even the right code is refused until a new one is sent", async () => {
    const user = await registerUser();
    const phone = newPhone();
    await setPhone(user, phone);
    const code = await lastCode(phone);
    const guesses = await Promise.all(Array.from({ length: 8 }, () => verify(user, wrongOf(code))));
    const reasons = guesses.map((g) => g.body.error.details.reason).sort();
    // Parallel guesses cannot pass the limit together: five are compared, the rest refused.
    expect(reasons).toEqual([...Array(3).fill("attempts_exhausted"), ...Array(5).fill("wrong")]);
    expect((await verify(user, code)).body.error.details).toEqual({ reason: "attempts_exhausted", attemptsLeft: 0 });

    await setPhone(user, phone);
    const fresh = await lastCode(phone);
    expect((await verify(user, fresh)).status).toBe(200);
  });

  it("a code expires, is stored only as an HMAC, and does not verify another number", async () => {
    const user = await registerUser();
    const first = newPhone();
    await setPhone(user, first);
    const code = await lastCode(first);
    const row = await env.DB.prepare(`SELECT code_hash FROM phone_codes WHERE user_id = ?`)
      .bind(user.user.id)
      .first<{ code_hash: string }>();
    expect(row!.code_hash).not.toContain(code);
    expect(row!.code_hash).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // The number changed: the first number's code proves nothing about the second.
    const second = newPhone();
    await setPhone(user, second);
    const refused = await verify(user, code);
    expectError(refused, 400, "invalid_code");
    // Ten minutes later (the clock moved by rewriting the stored expiry).
    await env.DB.prepare(`UPDATE phone_codes SET expires_at = ? WHERE user_id = ? AND phone = ?`)
      .bind(Date.now() - 1, user.user.id, second)
      .run();
    const expired = await verify(user, await lastCode(second));
    expect(expired.body.error.details).toEqual({ reason: "expired", attemptsLeft: 0 });
    expect((await call("GET", "/v1/me", { token: user.token })).body.user.phoneVerified).toBe(false);
  });

  it("a number gets at most PHONE_CODES_PER_NUMBER_PER_HOUR (3) codes, whichever accounts ask", async () => {
    const victim = newPhone();
    for (let i = 0; i < 3; i++) expect((await setPhone(await registerUser(), victim)).status).toBe(200);
    const fourth = await registerUser();
    const refused = await setPhone(fourth, victim);
    expectError(refused, 429, "rate_limited");
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(await smsTo(victim)).toHaveLength(3);
    // The refused account's number did not change.
    expect((await call("GET", "/v1/me", { token: fourth.token })).body.user.phone).toBeNull();
    // Another number is not affected.
    expect((await setPhone(fourth, newPhone())).status).toBe(200);
  });

  it("each code is one of the user's SMS_PER_HOUR (5) texts: a sixth number in the hour is refused", async () => {
    const user = await registerUser();
    for (let i = 0; i < 5; i++) expect((await setPhone(user, newPhone())).body.codeSent).toBe(true);
    const sixth = newPhone();
    expectError(await setPhone(user, sixth), 429, "rate_limited");
    expect(await smsTo(sixth)).toEqual([]);
  });

  it("a change or removal of the number emails the account a security notice; the same number does not", async () => {
    const user = await registerUser("rider", "Noor");
    const phone = newPhone();
    await setPhone(user, phone, "203.0.113.44");
    const [notice] = await waitForEmails(user.user.email);
    expect(notice!.subject).toBe("The phone number of your ridewire account changed");
    expect(notice!.text).toContain("from 203.0.113.44");
    expect((await setPhone(user, null)).body).toMatchObject({ codeSent: false, user: { phone: null } });
    await waitForEmails(user.user.email, 2);
    // Setting it again is a change (from none); asking again for a code for it is not.
    await setPhone(user, phone);
    await waitForEmails(user.user.email, 3);
    await setPhone(user, phone);
    await new Promise((r) => setTimeout(r, 300));
    expect(await emailsTo(user.user.email)).toHaveLength(3);
  });

  it("refuses codes that are not six digits, and callers without a token", async () => {
    const user = await registerUser();
    for (const code of ["12345", "1234567", "abcdef", 123456, "", null])
      expectError(await verify(user, code), 400, "invalid_request");
    expectError(await verify(user, "123456"), 400, "invalid_code");
    expect((await call("POST", "/v1/me/phone/verify", { body: { code: "123456" } })).status).toBe(401);
  });
});
