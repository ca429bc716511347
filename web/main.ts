/**
 * @module web/main
 * The web app's shell: sign in or up, then one of the views chosen by the URL's hash
 * (#/rider, #/driver, #/trips, #/chat, #/ops). Each view gets the session's SDK client and a container,
 * and returns a function that closes its connections when another view takes over. A share
 * link's page (#/shared/<token>) needs no account.
 */
import { describeError, fill, h, statusLine } from "./dom";
import { chatView } from "./chat";
import { driverView } from "./driver";
import { historyView } from "./history";
import { opsView } from "./ops";
import { registerServiceWorker } from "./pwa";
import { riderView } from "./rider";
import { sharedView } from "./shared";
import {
  ANYONE,
  anonymousClient,
  clientFor,
  loadSession,
  rememberPlace,
  saveSession,
  signIn,
  signOut,
  signUp,
  takePlace,
  type Session,
} from "./session";
import type { View } from "./types";
import type { RidewireClient } from "@ridewire/client";

/** `short`: the link's name in a phone's one-row header. */
const VIEWS: Record<string, { title: string; short: string; view: View }> = {
  rider: { title: "Ride", short: "Ride", view: riderView },
  driver: { title: "Drive", short: "Drive", view: driverView },
  trips: { title: "Trips", short: "Trips", view: historyView },
  chat: { title: "Chat rooms", short: "Chat", view: chatView },
  ops: { title: "Operations", short: "Ops", view: opsView },
};

const nav = document.getElementById("nav") as HTMLElement;
const main = document.getElementById("main") as HTMLElement;
let closeView: (() => void) | null = null;
/** The signed-in view's client: the service worker's messages (a push shown) are acknowledged with it. */
let viewClient: RidewireClient | null = null;

function route(): void {
  closeView?.();
  closeView = null;
  viewClient = null;
  const shared = /^#\/shared\/(.+)$/.exec(location.hash);
  if (shared?.[1]) {
    // Whoever holds the link, signed in or not: the page shows the trip and nothing else.
    fill(nav);
    document.title = "ridewire: a shared trip";
    closeView = sharedView(main, anonymousClient(), decodeURIComponent(shared[1]));
    return;
  }
  const session = loadSession();
  if (!session) {
    // A page opened signed out (a bookmark, a reload after the session ended) is where to go after signing in.
    if (location.hash.length > 2) rememberPlace(ANYONE, location.hash);
    renderAuth();
    return;
  }
  const defaultView = homeViewOf(session);
  // "#/chat/room_1": the view is the first part; the view reads the rest (a room, a page of its own).
  const name = location.hash.replace(/^#\/?/, "").split("/")[0] || defaultView;
  const chosen = VIEWS[name] ?? VIEWS[defaultView];
  renderNav(session, name in VIEWS ? name : defaultView);
  main.replaceChildren();
  document.title = `ridewire: ${chosen?.title ?? ""}`;
  // A refused refresh (the session ended elsewhere, or expired) lands on the sign-in page, which remembers the page
  // (its hash) to go back to once the same user signs in again.
  if (!chosen) return;
  viewClient = clientFor(session, () => sessionEnded(session));
  closeView = chosen.view(main, viewClient, session);
}

/** A deliberate sign-out: the next to sign in starts at their own home view. */
function signedOut(): void {
  history.replaceState(null, "", "#/");
  route();
}

let endedNotice = false;
function sessionEnded(session: Session): void {
  rememberPlace(session.user.id, location.hash);
  endedNotice = true;
  route();
}

/** Where an account lands: drivers drive, operators watch the city, riders ride. */
function homeViewOf(session: Session): string {
  return session.user.role === "driver" ? "driver" : session.user.role === "admin" ? "ops" : "rider";
}

function renderNav(session: Session, current: string): void {
  const links = Object.entries(VIEWS)
    // Each account sees its own: no Drive for a rider, no Ride for a driver, Operations for operators only (an
    // address typed by hand still says "Operators only" rather than nothing).
    .filter(
      ([name]) =>
        !(name === "rider" && session.user.role === "driver") &&
        !(name === "driver" && session.user.role === "rider") &&
        !(name === "ops" && session.user.role !== "admin"),
    )
    .map(([name, { title, short }]) =>
      // One of the two names is displayed (the stylesheet chooses by width), and so is the link's accessible name.
      h(
        "a",
        { href: `#/${name}`, ...(name === current ? { "aria-current": "page" } : {}) },
        h("span", { class: "nav-long" }, title),
        h("span", { class: "nav-short" }, short),
      ),
    );
  fill(
    nav,
    ...links,
    h("span", { class: "who" }, `${session.user.name} (${session.user.role})`),
    h("button", { type: "button", class: "link", onclick: () => void signOut().then(signedOut) }, "Sign out"),
  );
}

function renderAuth(): void {
  fill(nav);
  document.title = "ridewire: sign in";
  const status = statusLine();
  const field = (label: string, input: HTMLInputElement | HTMLSelectElement) => h("label", {}, label, input);
  const email = h("input", { type: "email", name: "email", required: true, autocomplete: "email" });
  const password = h("input", {
    type: "password",
    name: "password",
    required: true,
    minlength: 8,
    autocomplete: "current-password",
  });
  const name = h("input", { type: "text", name: "name", autocomplete: "name" });
  const role = h(
    "select",
    { name: "role" },
    h("option", { value: "rider" }, "Rider"),
    h("option", { value: "driver" }, "Driver"),
  );
  const signUpOnly = h("div", { class: "signup-only" }, field("Name", name), field("I am a", role));
  let mode: "in" | "up" = "in";
  const submit = h("button", { type: "submit", class: "primary" }, "Sign in");
  const toggle = h("button", { type: "button", class: "link" }, "New here? Create an account");
  const setMode = (next: "in" | "up") => {
    mode = next;
    signUpOnly.hidden = mode === "in";
    name.required = mode === "up";
    submit.textContent = mode === "in" ? "Sign in" : "Create account";
    toggle.textContent = mode === "in" ? "New here? Create an account" : "Have an account? Sign in";
  };
  toggle.addEventListener("click", () => setMode(mode === "in" ? "up" : "in"));
  const form = h(
    "form",
    { class: "card auth", "aria-label": "Sign in" },
    h("h1", {}, "ridewire"),
    field("Email", email),
    field("Password", password),
    signUpOnly,
    submit,
    toggle,
    status.el,
  );
  if (endedNotice) status.say("Your session has ended. Sign in again to go back to where you were.", "error");
  endedNotice = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      const session =
        mode === "up"
          ? await signUp({
              email: email.value,
              password: password.value,
              name: name.value,
              role: role.value === "driver" ? "driver" : "rider",
            })
          : await signIn({ email: email.value, password: password.value });
      saveSession(session);
      // Back where the session ended, for the same user; anyone else starts at their home view.
      const place = takePlace(session.user.id);
      history.replaceState(null, "", place ?? `#/${homeViewOf(session)}`);
      route();
    } catch (err) {
      status.say(describeError(err), "error");
    } finally {
      submit.disabled = false;
    }
  });
  setMode("in");
  fill(main, form);
  email.focus();
}

window.addEventListener("hashchange", route);
route();
registerServiceWorker(() => viewClient);
