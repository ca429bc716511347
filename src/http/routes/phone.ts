/**
 * @module http/routes/phone
 * The caller's phone number (docs/API.md, "Accounts"): `PATCH /v1/me` sets or removes it, and a
 * new number stays unverified, receiving no SMS of any kind, until its holder types the six-digit
 * code texted to it (`POST /v1/me/phone/verify`). Against a hostile user:
 * - guessing: a code lives PHONE_CODE_TTL_SECONDS and takes PHONE_CODE_MAX_ATTEMPTS guesses,
 *   counted before the comparison; it is stored only as an HMAC (auth/phone-code.ts);
 * - texting a stranger on a loop: each code is one of the caller's SMS_PER_HOUR texts (the same
 *   count the SMS channel uses), and a number gets at most PHONE_CODES_PER_NUMBER_PER_HOUR codes
 *   whichever accounts ask; asking again for a verified number sends nothing;
 * - a stolen account: every change or removal of the number emails the account's address a
 *   security notice, which cannot be muted.
 */
import { Hono } from "hono";
import { hashPhoneCode, newPhoneCode } from "../../auth/phone-code";
import { timingSafeEqual, utf8 } from "../../auth/encoding";
import { reserveSend } from "../../db/notifications";
import { shardDatabase } from "../../db/shards";
import { confirmPhone, insertPhoneCode, setUnverifiedPhone, takeCodeGuess } from "../../db/phone-codes";
import { ratingOf } from "../../db/ratings";
import { findUserById, toUser, type UserRow } from "../../db/users";
import { ApiError, notFound } from "../../errors";
import { newId } from "../../ids";
import { securityNotification } from "../../notify/message";
import { notifyBehind } from "../../notify/producer";
import { sendSms } from "../../notify/sms";
import { MeBody, type MeResponse, PhoneVerifyBody } from "../../protocol/http";
import { errorReason } from "../../redact";
import { requireAccount, requireUser } from "../auth-middleware";
import type { AppContext, AppEnv } from "../context";
import { readBody } from "../validate";
import { logJson } from "../../log";

export const phoneRoutes = new Hono<AppEnv>();

/** What `GET /v1/me` and the phone routes answer as the user. */
export async function meOf(d1: D1Database, row: UserRow): Promise<MeResponse["user"]> {
  return {
    ...toUser(row),
    phone: row.phone,
    phoneVerified: row.phoneVerifiedAt !== null,
    rating: await ratingOf(d1, row.id),
  };
}

phoneRoutes.patch("/me", requireUser, requireAccount, async (c) => {
  const body = await readBody(c, MeBody);
  const userId = c.get("identity").userId;
  const current = await findUserById(c.env.DB, userId);
  if (!current) throw notFound("user not found");
  // The same number, verified already: nothing to prove again, and nothing is texted.
  if (body.phone !== null && body.phone === current.phone && current.phoneVerifiedAt !== null)
    return c.json({ user: await meOf(c.env.DB, current), codeSent: false });

  const now = Date.now();
  let code: { id: string; code: string } | null = null;
  if (body.phone !== null) {
    code = { id: newId("pvc"), code: newPhoneCode() };
    await reserveCode(c, { userId, phone: body.phone, ...code }, now);
  }
  const row = await setUnverifiedPhone(c.env.DB, userId, body.phone);
  if (!row) throw notFound("user not found");
  if (current.phone !== body.phone) tellOwner(c, userId, now);
  const codeSent = code !== null && body.phone !== null && (await textCode(c, body.phone, code.code, now));
  return c.json({ user: await meOf(c.env.DB, row), codeSent });
});

phoneRoutes.post("/me/phone/verify", requireUser, requireAccount, async (c) => {
  const body = await readBody(c, PhoneVerifyBody);
  const config = c.get("config");
  const userId = c.get("identity").userId;
  const now = Date.now();
  const guess = await takeCodeGuess(c.env.DB, userId, now, config.PHONE_CODE_MAX_ATTEMPTS);
  if (guess.kind === "refused") throw invalidCode(guess.reason, 0);
  const presented = await hashPhoneCode(config.JWT_SECRET, guess.id, body.code);
  if (!timingSafeEqual(utf8(presented), utf8(guess.codeHash))) throw invalidCode("wrong", guess.attemptsLeft);
  // The number may have changed since the guess was taken: then the code proves nothing.
  if (!(await confirmPhone(c.env.DB, { id: guess.id, userId, phone: guess.phone }, now)))
    throw invalidCode("no_code", 0);
  const row = await findUserById(c.env.DB, userId);
  if (!row) throw notFound("user not found");
  return c.json({ user: await meOf(c.env.DB, row) });
});

const CODE_MESSAGES = {
  wrong: "wrong code",
  no_code: "no code is waiting for this number; set the number again to get one",
  expired: "the code expired; set the number again to get a new one",
  attempts_exhausted: "too many wrong guesses at this code; set the number again to get a new one",
} as const;

function invalidCode(reason: keyof typeof CODE_MESSAGES, attemptsLeft: number): ApiError {
  return new ApiError(400, "invalid_code", CODE_MESSAGES[reason], { reason, attemptsLeft });
}

/**
 * Takes one of the caller's hourly texts and one of the number's hourly codes, or answers 429.
 * A refused number still used the caller's text: asking for codes to a number that gets too many
 * is what a hostile user does, and it costs them, not the number's holder.
 */
async function reserveCode(
  c: AppContext,
  code: { id: string; code: string; userId: string; phone: string },
  now: number,
): Promise<void> {
  const config = c.get("config");
  const send = { notificationId: `phone_code:${code.id}`, userId: code.userId, channel: "sms" as const };
  if (!(await reserveSend(shardDatabase(c.env, "notifications", send.userId), send, now, config.SMS_PER_HOUR)))
    throw new ApiError(
      429,
      "rate_limited",
      "too many texts to this account this hour; try again later",
      undefined,
      3600,
    );
  const stored = await insertPhoneCode(
    c.env.DB,
    {
      id: code.id,
      userId: code.userId,
      phone: code.phone,
      codeHash: await hashPhoneCode(config.JWT_SECRET, code.id, code.code),
      now,
      ttlMs: config.PHONE_CODE_TTL_SECONDS * 1000,
    },
    config.PHONE_CODES_PER_NUMBER_PER_HOUR,
  );
  if (!stored)
    throw new ApiError(
      429,
      "rate_limited",
      "this number was sent too many codes this hour; try again later",
      undefined,
      3600,
    );
}

/** Texts the code; false when SMS is off or the provider did not take it (the number stays unverified). */
async function textCode(c: AppContext, phone: string, code: string, now: number): Promise<boolean> {
  const config = c.get("config");
  const { TWILIO_ACCOUNT_SID: accountSid, TWILIO_AUTH_TOKEN: authToken, TWILIO_FROM: from } = config;
  if (!accountSid || !authToken || !from) return false;
  const minutes = Math.round(config.PHONE_CODE_TTL_SECONDS / 60);
  const text = `ridewire: your code is ${code}. It expires in ${minutes} min. Never share it: ridewire will not ask.`;
  try {
    const result = await sendSms(phone, text, {
      apiBase: config.TWILIO_API_BASE,
      accountSid,
      authToken,
      from,
      timeoutMs: config.NOTIFY_TIMEOUT_MS,
      now,
    });
    return result.kind === "delivered";
  } catch (err) {
    logJson("error", { where: "phone.code", reason: errorReason(err) });
    return false;
  }
}

/** A change or removal of the number: a security notice by email, behind the answer. */
function tellOwner(c: AppContext, userId: string, now: number): void {
  notifyBehind(
    c.executionCtx,
    c.env.NOTIFICATIONS,
    [securityNotification(userId, "phone_changed", String(now), now, c.req.header("CF-Connecting-IP") ?? null)],
    (err) => logJson("error", { where: "phone.notice", reason: errorReason(err) }),
  );
}
