/**
 * @module web/words
 * Money and errors as people read them, with no DOM (so that unit tests can check them): the
 * API's error codes are said as sentences, every one of them (the unit test checks).
 */
import type { ErrorCode } from "../src/protocol/common";

export function money(m: { amount: number; currency: string } | null | undefined): string {
  if (!m) return "–";
  return new Intl.NumberFormat("en-US", { style: "currency", currency: m.currency }).format(m.amount / 100);
}

type Amount = { amount: number; currency: string };
const isAmount = (v: unknown): v is Amount =>
  typeof v === "object" && v !== null && "amount" in v && typeof v.amount === "number" && "currency" in v;

/** The API's own message as a sentence: a capital first, a full stop last. */
export function asSentence(message: string): string {
  const text = message.trim();
  if (!text) return text;
  const capital = text[0]?.toUpperCase() + text.slice(1);
  return /[.!?…]$/.test(capital) ? capital : `${capital}.`;
}

type Details = Record<string, unknown>;
const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : null);
const when = (v: unknown) =>
  num(v) === null ? null : new Date(v as number).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
const wait = (seconds: number | null) =>
  seconds === null
    ? "a moment"
    : seconds < 90
      ? `${seconds} second${seconds === 1 ? "" : "s"}`
      : `${Math.ceil(seconds / 60)} minutes`;

/** A message the API wrote for people (said as a sentence), or `otherwise` when it is one of its jargon ones. */
const ownWords = (message: string, otherwise: string) =>
  !message || JARGON.has(message) ? otherwise : asSentence(message);
const JARGON = new Set(["invalid body", "invalid query", "missing or invalid token", "forbidden", "not found"]);

/**
 * Every error code of the API (src/protocol/common.ts), said as a sentence from its code and `details`: the type
 * makes a new code a compile error here until it has its words. Codes that stand for many refusals
 * (`invalid_request`, `not_found`, `conflict`, `forbidden`) keep the API's own message, which says which, as a
 * sentence, except its jargon ones.
 */
const SENTENCES: Record<ErrorCode, (message: string, details: Details) => string> = {
  invalid_request: (message, details) => {
    if (message !== "invalid body" && message !== "invalid query")
      return ownWords(message, "Some of what you entered was not accepted. Check it and try again.");
    const issues = Array.isArray(details.issues) ? details.issues : [];
    const fields = issues.flatMap((i) => (typeof i?.path === "string" && i.path ? [i.path] : []));
    return fields.length
      ? `Some of what you entered was not accepted (${[...new Set(fields)].join(", ")}). Check it and try again.`
      : "Some of what you entered was not accepted. Check it and try again.";
  },
  invalid_code: (_, { attemptsLeft }) =>
    num(attemptsLeft) === 0
      ? "That code no longer works. Ask for a new one."
      : "That code is not right, or it has expired. Check it or ask for a new one.",
  upload_rejected: () => "That file could not be accepted: it is not what its name says, or it did not pass a check.",
  unauthorized: () => "Your session has ended. Sign in again.",
  invalid_credentials: () => "That email and password do not match an account.",
  insufficient_funds: () => "Your wallet does not have enough available for this. Add money and try again.",
  forbidden: (message) => ownWords(message, "You are not allowed to do that."),
  account_banned: () => "This account has been suspended. Contact support if you think this is a mistake.",
  not_found: (message) => ownWords(message, "That could not be found: it may have been removed."),
  conflict: (message) => ownWords(message, "That cannot be done right now. Reload and try again."),
  email_taken: () => "An account with this email already exists. Sign in instead.",
  payload_too_large: () => "That is too large to send.",
  rate_limited: (_, { reason, retryAfterSeconds }) =>
    reason === "cancel_cooldown"
      ? `You cancelled several trips lately. Wait ${wait(num(retryAfterSeconds))} before requesting again.`
      : `Too many tries in a short time. Wait ${wait(num(retryAfterSeconds))} and try again.`,
  upload_quota_exceeded: () => "You have too many files waiting in this room. Send or remove some first.",
  internal: () => "Something went wrong on our side. Try again in a moment.",
  invalid_signature: () => "The payment notice could not be verified.",
  payment_provider_error: () => "The payment service did not answer. Try again in a moment.",
  too_many_devices: () => "You have registered as many devices as you can. Remove one first.",
  too_many_connections: () => "This is open in too many tabs or devices. Close one and try again.",
  outside_service_area: (_, { end }) =>
    `The ${end === "dropoff" ? "dropoff" : "pickup"} is outside the area we serve. Choose a place in the city.`,
  trip_too_short: (_, { minKm }) =>
    num(minKm) === null
      ? "The pickup and dropoff are too close together. Choose a dropoff further away."
      : `The pickup and dropoff are too close together: they must be at least ${Math.round(
          (minKm as number) * 1000,
        )} m apart.`,
  tier_unavailable: () => "That ride type is not offered at this pickup. Choose another.",
  room_full: () => "This room is full.",
  blocked: () => "You cannot message this person.",
  direct_room: () => "A direct conversation is between two people only: it takes no other members and cannot be left.",
  too_many_blocks: () => "You have blocked as many people as you can. Unblock someone first.",
  pin_required: () => "Ask the rider for their 4-digit PIN and enter it to start the trip.",
  wrong_pin: (_, { attemptsLeft }) =>
    num(attemptsLeft) === null
      ? "That PIN is not right. Ask the rider to read it again."
      : `That PIN is not right. Ask the rider to read it again (${attemptsLeft} ${
          attemptsLeft === 1 ? "try" : "tries"
        } left).`,
  pin_locked: () => "Too many wrong PINs. Wait a moment before trying again.",
  share_ended: () => "This share link no longer works: the trip is over, or the link was stopped or has expired.",
  tip_window_closed: () => "The time to tip for this trip has passed.",
  tip_limit_exceeded: (_, details) => IN_MONEY.tip_limit_exceeded?.(details) ?? "This trip can take no more tips.",
  payout_account_missing: () => "Set up a payout account first.",
  payout_account_taken: () => "That payout account belongs to another driver.",
  payout_account_unknown: () => "Our payment service does not know that payout account. Check the account id.",
  nothing_to_pay_out: () => "There is nothing to pay out yet.",
  payout_below_minimum: (_, details) => IN_MONEY.payout_below_minimum?.(details) ?? "That payout is below the minimum.",
  payout_exceeds_available: (_, details) =>
    IN_MONEY.payout_exceeds_available?.(details) ?? "That is more than is available to pay out.",
  payout_in_flight: () => "A payout is already on its way. Wait for it to arrive.",
  schedule_out_of_range: (_, { earliest, latest }) =>
    when(earliest) && when(latest)
      ? `Choose a pickup time between ${when(earliest)} and ${when(latest)}.`
      : "That pickup time cannot be booked: choose another.",
  too_many_scheduled: (_, { limit }) =>
    num(limit) === null
      ? "You have as many rides booked as you can. Cancel one to book another."
      : `You already have ${limit} rides booked. Cancel one to book another.`,
  schedule_overlap: () => "You already have a ride booked close to that time. Choose another time.",
  driver_not_approved: (_, { missing }) =>
    Array.isArray(missing) && missing.length
      ? `You cannot go online until your ${missing.join(" and ")} ${missing.length > 1 ? "are" : "is"} approved.`
      : "You cannot go online until your licence and vehicle are approved.",
  plate_taken: () => "A vehicle with this plate is already registered.",
  too_many_vehicles: () => "You have registered as many vehicles as you can. Remove one first.",
  documents_not_approved: () => "The vehicle's registration and insurance must be approved first.",
  geocoder_unavailable: () => "Place search is not available right now. Pick a place from the list or the map.",
  range_not_satisfiable: () => "Part of the map could not be loaded. Reload the page to try again.",
};

/**
 * Refusals whose API message counts minor units ("at most 150 more"): said again with the
 * amount from `details`, as money.
 */
const IN_MONEY: Record<string, (details: Details) => string | null> = {
  tip_limit_exceeded: ({ tippable }) =>
    !isAmount(tippable)
      ? null
      : tippable.amount > 0
        ? `This trip's tips can add at most ${money(tippable)} more.`
        : "This trip has had all the tips it can take.",
  payout_below_minimum: ({ minimum }) => (isAmount(minimum) ? `A payout is at least ${money(minimum)}.` : null),
  payout_exceeds_available: ({ available }) =>
    isAmount(available) ? `At most ${money(available)} is available to pay out.` : null,
};

/** Codes the API does not list but the SDK or an older server may answer with. */
const OTHER_CODES: Record<string, string> = {
  session_expired: "Your session has ended. Sign in again.",
  network_error: "The connection dropped. Check your network and try again.",
  closed: "The connection was closed. Reload the page and try again.",
  invalid_response: "The server's answer could not be read. Reload the page and try again.",
};

/** The error codes that have a sentence (for the test that checks every code of the API has one). */
export const CODES_IN_WORDS: readonly string[] = Object.keys(SENTENCES);

/** An error as one sentence for people, from its code (and details) when it has one. */
export function describeError(err: unknown): string {
  if (err && typeof err === "object" && "code" in err && typeof err.code === "string") {
    const message = "message" in err && typeof err.message === "string" ? err.message : "";
    const raw = "details" in err ? err.details : undefined;
    // The SDK's validation errors carry zod's issues as an array; the API's details are an object.
    const details: Details = Array.isArray(raw)
      ? { issues: raw }
      : typeof raw === "object" && raw !== null
        ? (raw as Details)
        : {};
    const say = (SENTENCES as Record<string, (m: string, d: Details) => string>)[err.code];
    if (say) return say(message, details);
    const other = OTHER_CODES[err.code];
    if (other) return other;
    if (message) return asSentence(message);
  }
  if (err && typeof err === "object" && "message" in err && typeof err.message === "string")
    return asSentence(err.message);
  return String(err);
}
