/**
 * @module web/dom
 * The few DOM helpers the views share: element building, money and time formats, and a status
 * line. No framework: each view owns a subtree and redraws the parts that change.
 */

type Child = Node | string | number | null | undefined | false;
type Props = Record<string, string | number | boolean | EventListener | undefined>;

/** `h("button", { class: "primary", onclick }, "Go")`: attributes, `on*` listeners, children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(
      typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child,
    );
  }
}

/** Replaces the children of `el`. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, ...children);
}

export function money(m: { amount: number; currency: string } | null | undefined): string {
  if (!m) return "–";
  return new Intl.NumberFormat("en-US", { style: "currency", currency: m.currency }).format(m.amount / 100);
}

export function minutes(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "–";
  return seconds < 60 ? `${Math.max(1, Math.round(seconds))} s` : `${Math.round(seconds / 60)} min`;
}

export function clock(at: number): string {
  return new Date(at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
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

/** An error as one line for people: the API's message when there is one. */
export function describeError(err: unknown): string {
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

/** A live region that announces what just happened (screen readers read it; tests wait on it). */
export function statusLine(): { el: HTMLElement; say: (text: string, kind?: "info" | "error") => void } {
  const el = h("p", { class: "status", role: "status", "aria-live": "polite" });
  return {
    el,
    say(text, kind = "info") {
      el.textContent = text;
      el.dataset.kind = kind;
    },
  };
}
