/**
 * @module web/words
 * Money and errors as people read them, with no DOM (so that unit tests can check them): the
 * API's jargon messages are said again as sentences by their code.
 */

export function money(m: { amount: number; currency: string } | null | undefined): string {
  if (!m) return "–";
  return new Intl.NumberFormat("en-US", { style: "currency", currency: m.currency }).format(m.amount / 100);
}

type Amount = { amount: number; currency: string };
const isAmount = (v: unknown): v is Amount =>
  typeof v === "object" && v !== null && "amount" in v && typeof v.amount === "number" && "currency" in v;

/**
 * Refusals whose API message counts minor units ("at most 150 more"): said again with the
 * amount from `details`, as money.
 */
const IN_MONEY: Record<string, (details: Record<string, unknown>) => string | null> = {
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

/**
 * The API's own messages that read as jargon ("invalid body", "missing or invalid token"),
 * said again as sentences by their code.
 */
const IN_WORDS: Record<string, (message: string, details: unknown) => string | null> = {
  invalid_request: (message, details) => {
    if (message !== "invalid body" && message !== "invalid query") return null;
    const fields = Array.isArray(details)
      ? details.flatMap((i) => (typeof i?.path === "string" && i.path ? [i.path] : []))
      : [];
    return fields.length
      ? `Some of what you entered was not accepted (${[...new Set(fields)].join(", ")}). Check it and try again.`
      : "Some of what you entered was not accepted. Check it and try again.";
  },
  unauthorized: () => "Your session has ended. Sign in again.",
  session_expired: () => "Your session has ended. Sign in again.",
};

/** An error as one line for people: the API's message when there is one. */
export function describeError(err: unknown): string {
  if (err && typeof err === "object" && "code" in err && typeof err.code === "string" && "message" in err) {
    const words = IN_WORDS[err.code]?.(String(err.message), "details" in err ? err.details : undefined);
    if (words) return words;
  }
  if (err && typeof err === "object" && "code" in err && typeof err.code === "string" && "details" in err) {
    const details = err.details;
    const say = IN_MONEY[err.code];
    const words =
      say && typeof details === "object" && details !== null ? say(details as Record<string, unknown>) : null;
    if (words) return words;
  }
  if (err && typeof err === "object" && "message" in err && typeof err.message === "string") return err.message;
  return String(err);
}
