/**
 * @module web/dom
 * The few DOM helpers the views share: element building, money and time formats, and a status
 * line. No framework: each view owns a subtree and redraws the parts that change.
 */

export { describeError, money } from "./words";

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

/**
 * A wide table that scrolls sideways within its own box, never the page. The box is a named,
 * focusable region: keyboard users can scroll it too (axe's scrollable-region-focusable).
 */
export function scrollingTable(table: HTMLTableElement): HTMLDivElement {
  const label = table.getAttribute("aria-label") ?? "Table";
  return h("div", { class: "table-scroll", role: "region", "aria-label": label, tabindex: 0 }, table);
}

/** Replaces the children of `el`. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, ...children);
}

export function minutes(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "–";
  return seconds < 60 ? `${Math.max(1, Math.round(seconds))} s` : `${Math.round(seconds / 60)} min`;
}

export function clock(at: number): string {
  return new Date(at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
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
