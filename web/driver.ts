/**
 * @module web/driver
 * The driver's view: go online at a place, drive (towards a clicked point, or on a trip
 * automatically to the pickup and then the dropoff, sending a fix every 2 s on the driver
 * channel), offers with a countdown to accept or decline, then arrived / start / complete,
 * trip chat and the rating of the rider; and the earnings with their payouts (web/driver-earnings.ts).
 */
import type { Driver, DriverConnection, LatLng, Offer, Trip, TripConnection } from "@ridewire/client";
import { describeError, fill, h, minutes, money, statusLine } from "./dom";
import type { View } from "./types";
import { PlaceNames } from "./place-names";
import { RideMap } from "./ride-map";
import { SAN_FRANCISCO } from "./places";
import { earningsCard } from "./driver-earnings";
import { offerPush } from "./push-prompt";
import { endedTrip, forgetTrip, rememberTrip } from "./last-trip";
import { ACTIVE, chatClosedText, ratingForm, riderLine, STATUS_TEXT, sosButton, tripChat } from "./trip-parts";

/** A fix at least this often while moving, and while parked so as not to go stale (60 s). */
const FIX_EVERY_MS = 2_000;
const PARKED_FIX_EVERY_MS = 10_000;
const KM_PER_DEG = 111.32;

export const driverView: View = (root, api, session) => {
  const city = SAN_FRANCISCO;
  // The street map when the service has one, else the SVG city (web/ride-map.ts).
  const map = new RideMap(city, "Map of San Francisco. Click to drive to a point.");
  void map.upgrade(api);
  // Pickups and dropoffs by name: the city's places, else the geocoder's, else "near …" (web/place-names.ts).
  const names = new PlaceNames(api, city);
  /** "Union Square → Coit Tower, San Francisco", asking the geocoder for better names; `redraw` once it answers. */
  const route = (from: LatLng, to: LatLng, redraw: () => void) => {
    names.resolve(from, redraw);
    names.resolve(to, redraw);
    return `${names.of(from)} → ${names.of(to)}`;
  };
  const status = statusLine();

  let driver: Driver | null = null;
  let channel: DriverConnection | null = null;
  let position: LatLng = city.places[3]?.at ?? city.center;
  let target: LatLng | null = null;
  let offer: Offer | null = null;
  let trip: Trip | null = null;
  let tripConnection: TripConnection | null = null;
  let tripChatBox: ReturnType<typeof tripChat> | null = null;
  let lastFixAt = 0;

  // ---- online / offline
  const startSelect = h(
    "select",
    { "aria-label": "Start at" },
    ...city.places.map((p, i) =>
      h("option", { value: String(i), ...(p.at === position ? { selected: true } : {}) }, p.name),
    ),
  );
  startSelect.addEventListener("change", () => {
    const place = city.places[Number(startSelect.value)];
    if (place && (!driver || driver.status === "offline")) {
      position = place.at;
      drawMe();
    }
  });
  const onlineButton = h("button", { type: "button", class: "primary" }, "Go online");
  const driverText = h("p", { class: "driver-status", "data-testid": "driver-status" }, "Offline");
  const pushSlot = h("div");
  const speedSelect = h(
    "select",
    { "aria-label": "Speed" },
    h("option", { value: "40" }, "40 km/h"),
    h("option", { value: "120" }, "120 km/h"),
    h("option", { value: "240" }, "240 km/h (demo)"),
  );
  const autoDrive = h("input", {
    type: "checkbox",
    checked: true,
    "aria-label": "Drive to the pickup and dropoff automatically",
  });

  onlineButton.addEventListener("click", async () => {
    onlineButton.disabled = true;
    try {
      if (driver && driver.status !== "offline") {
        setDriver(await api.goOffline());
        channel?.close();
        channel = null;
        status.say("You are offline.");
      } else {
        setDriver(await api.goOnline(position));
        openChannel();
        status.say("You are online. Offers will appear here.");
        // Offers come while the tab may be in the background: the moment to ask (never on load).
        void offerPush(api, session.user.id, pushSlot, "Get notified of new trip offers", status.say);
      }
    } catch (err) {
      status.say(describeError(err), "error");
    } finally {
      onlineButton.disabled = false;
    }
  });

  /** Counts state changes, so that a read answered late cannot put back an older state. */
  let driverChanges = 0;
  function setDriver(next: Driver): void {
    driverChanges++;
    driver = next;
    drawCard();
  }

  /**
   * The status card: the trip's state while there is an active trip on screen (the session's own
   * status can lag behind it), else the session's. No "Go offline" in the middle of a trip.
   */
  function drawCard(): void {
    if (trip && ACTIVE.has(trip.status)) {
      driverText.textContent = `On a trip: ${STATUS_TEXT[trip.status]}`;
      driverText.dataset.status = "on_trip";
      onlineButton.hidden = true;
      startSelect.disabled = true;
      startSelect.hidden = true;
      return;
    }
    if (!driver) return;
    const next = driver;
    driverText.textContent = {
      offline: "Offline",
      available: "Online: waiting for offers",
      offered: "Offer waiting",
      on_trip: "On a trip",
    }[next.status];
    driverText.dataset.status = next.status;
    onlineButton.textContent = next.status === "offline" ? "Go online" : "Go offline";
    onlineButton.hidden = next.status === "on_trip" || next.status === "offered";
    startSelect.disabled = next.status !== "offline";
    // Where to start means something only before going online (it would say a stale place after).
    startSelect.hidden = next.status !== "offline";
  }

  function openChannel(): void {
    channel?.close();
    const conn = api.driverChannel();
    channel = conn;
    conn.on("welcome", (f) => {
      setDriver(f.driver);
      if (f.offer) showOffer(f.offer);
    });
    conn.on("offer", (f) => showOffer(f));
    conn.on("offer.expired", (f) => {
      if (offer?.tripId === f.tripId) {
        offer = null;
        drawOffer();
        status.say("The offer expired.");
      }
    });
    conn.on("trip", (f) => showTrip(f.trip));
  }

  // ---- offers
  const offerBox = h("section", { class: "card offer", "aria-label": "Offer", hidden: true });
  const countdown = h("span", { class: "countdown", "data-testid": "offer-countdown" });
  const tick = setInterval(() => {
    if (offer) countdown.textContent = `${Math.max(0, Math.ceil((offer.expiresAt - Date.now()) / 1000))} s left`;
  }, 250);

  function showOffer(next: Offer): void {
    offer = next;
    drawOffer();
    status.say("New trip offer.");
  }

  function drawOffer(): void {
    offerBox.hidden = offer === null;
    map.setMarker("offer-pickup", offer?.pickup ?? null, "pickup", "Offered pickup");
    if (!offer) {
      fill(offerBox);
      return;
    }
    const o = offer;
    const accept = h("button", { type: "button", class: "primary" }, "Accept");
    const decline = h("button", { type: "button" }, "Decline");
    const answer = async (type: "offer.accept" | "offer.decline") => {
      if (!channel) return;
      accept.disabled = decline.disabled = true;
      try {
        await channel.send({ type, tripId: o.tripId });
        offer = null;
        drawOffer();
        if (type === "offer.accept") showTrip(await api.trip(o.tripId));
        else status.say("Offer declined.");
      } catch (err) {
        offer = null;
        drawOffer();
        status.say(describeError(err), "error");
      }
    };
    accept.addEventListener("click", () => answer("offer.accept"));
    decline.addEventListener("click", () => answer("offer.decline"));
    const routeLine = h("p", { "data-testid": "offer-route" });
    const redrawRoute = () => {
      routeLine.textContent = route(o.pickup, o.dropoff, redrawRoute);
    };
    redrawRoute();
    fill(
      offerBox,
      h("h2", {}, "New trip"),
      o.rider && h("p", { class: "offer-rider", "data-testid": "offer-rider" }, riderLine(o.rider)),
      routeLine,
      h("p", {}, `Fare ${money(o.fare)} · pickup in ${minutes(o.pickupEtaSec)} · `, countdown),
      h("div", { class: "row" }, accept, decline),
    );
    accept.focus();
  }

  // ---- the trip
  const tripBox = h("section", { class: "card trip", "aria-label": "Your trip", hidden: true });
  // A live region: a screen reader says each change of the trip's state as it comes.
  const tripStatus = h("p", {
    class: "trip-status",
    "data-testid": "trip-status",
    role: "status",
    "aria-live": "polite",
  });
  const tripDetail = h("p", { class: "trip-detail" });
  const riderText = h("p", { class: "trip-rider", "data-testid": "trip-rider", hidden: true });
  const actions = h("div", { class: "row" });
  const endBox = h("div", { class: "trip-end" });
  const chatSlot = h("div");
  const lostBox = h("section", { class: "card", "aria-label": "Trip ended", hidden: true });

  function showTrip(next: Trip): void {
    const first = trip?.id !== next.id;
    const ended = !first && trip !== null && ACTIVE.has(trip.status) && !ACTIVE.has(next.status);
    // A trip handed back, or another driver's now, is not this driver's any more.
    // A late frame of such a trip (the channel's, after leaving it) does not bring it back.
    // A trip that ended while this driver had it stays theirs to finish (its frame may name no driver).
    if (next.driverId !== session.user.id && !ended) {
      // Another copy of an end already shown (the room's frame, then the channel's) changes nothing.
      if (!first && trip !== null && !ACTIVE.has(trip.status)) return;
      if (!first) leaveTrip("The trip is no longer yours.", true);
      return;
    }
    // Said in the live region too: a screen reader hears each new state of the trip, as the rider's does.
    if (first || trip?.status !== next.status)
      status.say(/[.…]$/.test(STATUS_TEXT[next.status]) ? STATUS_TEXT[next.status] : `${STATUS_TEXT[next.status]}.`);
    trip = next;
    if (first) rememberTrip(session.user.id, next.id);
    tripBox.hidden = false;
    tripStatus.textContent = STATUS_TEXT[next.status];
    tripStatus.dataset.status = next.status;
    const price = next.fare ? ` · fare ${money(next.fare)}` : ` · quoted ${money(next.quote.fare)}`;
    const redraw = () => {
      if (trip === next) tripDetail.textContent = `${route(next.pickup, next.dropoff, redraw)}${price}`;
    };
    redraw();
    riderText.hidden = next.rider === undefined;
    riderText.textContent = next.rider ? riderLine(next.rider) : "";
    map.setMarker("pickup", ACTIVE.has(next.status) ? next.pickup : null, "pickup", "Pickup");
    map.setMarker("dropoff", ACTIVE.has(next.status) ? next.dropoff : null, "dropoff", "Dropoff");
    if (autoDrive.checked)
      target = next.status === "accepted" ? next.pickup : next.status === "in_progress" ? next.dropoff : target;
    drawActions(next);
    drawCard();
    sos.hidden = !ACTIVE.has(next.status);
    if (first) connectTrip(next);
    // An ended trip shown first (a reload after its end) keeps its room open for the chat so far.
    if (ended || (first && !ACTIVE.has(next.status))) finish(next, !ended);
  }

  function drawActions(t: Trip): void {
    const move = (label: string, run: () => Promise<Trip>, kind = "primary") => {
      const button = h("button", { type: "button", class: kind }, label);
      button.addEventListener("click", async () => {
        button.disabled = true;
        try {
          showTrip(await run());
        } catch (err) {
          status.say(describeError(err), "error");
          button.disabled = false;
        }
      });
      return button;
    };
    // Secondary: handing back is not the next step of the trip.
    const cancel = move("Hand back", () => api.cancelTrip(t.id, { reason: "handed back in the app" }), "secondary");
    // The rider reads out the trip's PIN; where the trip needs none, the field may stay empty.
    const pin = h("input", {
      name: "pin",
      inputmode: "numeric",
      autocomplete: "off",
      maxlength: 4,
      pattern: "[0-9]{4}",
      placeholder: "PIN",
      "aria-label": "Rider's PIN",
      class: "pin-input",
    });
    const start = move("Start ride", () => api.startTrip(t.id, pin.value.trim() ? { pin: pin.value.trim() } : {}));
    const buttons: Record<string, HTMLElement[]> = {
      accepted: [move("Arrived", () => api.arrived(t.id)), cancel],
      arrived: [pin, start, cancel],
      in_progress: [move("Complete ride", () => api.completeTrip(t.id))],
    };
    fill(actions, ...(buttons[t.status] ?? []));
  }

  function connectTrip(t: Trip): void {
    tripConnection?.close();
    // From the start, as the rider's page does: a reload finds the chat so far.
    const conn = api.tripRoom(t.id, { since: 0 });
    tripConnection = conn;
    const chat = tripChat(conn, session.user.id, "Rider");
    tripChatBox = chat;
    fill(chatSlot, chat.el);
    // The welcome carries the trip as it is now: a reload, or a state missed while reconnecting.
    conn.on("welcome", (f) => showTrip(f.trip));
    conn.on("status", (f) => showTrip(f.trip));
    conn.on("message", (f) => chat.add(f.message));
  }

  function finish(t: Trip, keepChat = false): void {
    if (!keepChat) {
      tripConnection?.close();
      tripConnection = null;
    }
    tripChatBox?.close(chatClosedText(t.status));
    target = null;
    const next = h("button", { type: "button" }, "Back to offers");
    // One tap back to work, whatever the trip's end left the driver as: offline (an operator's cancel, a session
    // that ended meanwhile) goes online again where the driver is.
    next.addEventListener("click", () => void backToOffers(next, () => leaveTrip("Waiting for offers.")));
    const parts: HTMLElement[] = [];
    if (t.status === "completed")
      parts.push(
        h("p", { "data-testid": "final-fare" }, `Fare ${money(t.fare)}`),
        ratingForm(api, t.id, "rider", () => status.say("Rating sent.")),
      );
    fill(endBox, ...parts, next);
    void api.driver().then(setDriver, () => undefined);
    // The ride's share reaches the earnings as the trip settles, seconds behind its end.
    setTimeout(() => void earnings.refresh(), 3_000);
  }

  /** Online again (going online where the driver is if the session is offline), the channel open, then `done`. */
  async function backToOffers(button: HTMLButtonElement, done: () => void): Promise<void> {
    button.disabled = true;
    try {
      const now = await api.driver();
      if (now.status === "offline") setDriver(await api.goOnline(position));
      else setDriver(now);
      openChannel();
      done();
    } catch (err) {
      status.say(describeError(err), "error");
      button.disabled = false;
    }
  }

  /** Off the trip; `lost` (handed back or taken away) leaves a note with a way back to offers. */
  function leaveTrip(message: string, lost = false): void {
    forgetTrip(session.user.id);
    tripConnection?.close();
    tripConnection = null;
    tripChatBox = null;
    trip = null;
    target = null;
    tripBox.hidden = true;
    fill(endBox);
    fill(chatSlot);
    fill(lostBox);
    lostBox.hidden = !lost;
    if (lost) {
      const back = h("button", { type: "button", class: "primary" }, "Back to offers");
      back.addEventListener("click", () =>
        backToOffers(back, () => {
          lostBox.hidden = true;
          fill(lostBox);
          status.say("Waiting for offers.");
        }),
      );
      fill(lostBox, h("h2", {}, "Off the trip"), h("p", {}, message), back);
    }
    map.setMarker("pickup", null, "pickup", "");
    map.setMarker("dropoff", null, "dropoff", "");
    status.say(message);
    void api.driver().then(setDriver, () => undefined);
  }

  // ---- driving
  map.onPick((p) => {
    target = p;
    status.say(`Driving to ${names.of(p)}.`);
  });

  function drawMe(): void {
    map.setMarker("me", position, "me", "You");
    map.setLine("drive", target ? [position, target] : null);
  }

  const drive = setInterval(() => {
    const online = driver !== null && driver.status !== "offline";
    if (target) {
      const kmPerSecond = Number(speedSelect.value) / 3600;
      const dy = (target.lat - position.lat) * KM_PER_DEG;
      const dx = (target.lng - position.lng) * KM_PER_DEG * Math.cos((position.lat * Math.PI) / 180);
      const km = Math.hypot(dx, dy);
      if (km <= kmPerSecond) {
        position = target;
        target = null;
      } else {
        const f = kmPerSecond / km;
        position = {
          lat: position.lat + (target.lat - position.lat) * f,
          lng: position.lng + (target.lng - position.lng) * f,
        };
      }
      drawMe();
    }
    const now = Date.now();
    if (online && channel && now - lastFixAt >= (target ? FIX_EVERY_MS : PARKED_FIX_EVERY_MS)) {
      if (channel.sendVolatile({ type: "location", lat: position.lat, lng: position.lng, at: now })) lastFixAt = now;
    }
  }, 1_000);

  // The driver's own position is what the alert carries.
  const sos = sosButton(
    api,
    () => (trip && ACTIVE.has(trip.status) ? trip.id : null),
    () => position,
    status.say,
  );
  const earnings = earningsCard(api);
  void earnings.refresh();
  fill(tripBox, h("h2", {}, "Your trip"), tripStatus, riderText, tripDetail, actions, sos, endBox, chatSlot);
  fill(
    root,
    h(
      "div",
      { class: "layout" },
      h(
        "div",
        { class: "map-pane" },
        map.el,
        h(
          "p",
          { class: "hint" },
          "Click the map to drive there. On a trip the car drives to the pickup, then the dropoff.",
        ),
      ),
      h(
        "div",
        { class: "side" },
        h(
          "section",
          { class: "card", "aria-label": "Driving" },
          h("h2", {}, "Driving"),
          driverText,
          h("div", { class: "row" }, startSelect, onlineButton),
          pushSlot,
          h(
            "div",
            { class: "row" },
            h("label", {}, "Speed ", speedSelect),
            h("label", {}, autoDrive, " Drive automatically on trips"),
          ),
        ),
        offerBox,
        lostBox,
        tripBox,
        earnings.el,
        status.el,
      ),
    ),
  );
  drawMe();
  // After a reload: the session's state, its channel, and a trip still going on (unless the
  // driver already acted while this was on its way).
  const changesBefore = driverChanges;
  void api.driver().then(
    (d) => {
      if (driverChanges !== changesBefore) return;
      setDriver(d);
      if (d.location) {
        position = d.location;
        drawMe();
      }
      if (d.status !== "offline") openChannel();
    },
    () => undefined,
  );
  // The trip itself, not the session nor the history: it is back at once on any reload.
  void api.currentTrip().then(
    (current) => {
      if (current && ACTIVE.has(current.status) && !trip) showTrip(current);
      // None going on: the trip that ended here last, until the driver goes back to offers.
      else if (!current) void endedTrip(api, session.user.id).then((ended) => ended && !trip && showTrip(ended));
    },
    () => undefined,
  );

  return () => {
    clearInterval(tick);
    clearInterval(drive);
    channel?.close();
    tripConnection?.close();
  };
};
