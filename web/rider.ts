/**
 * @module web/rider
 * The rider's view: the wallet, pickup and dropoff (from the lists or two clicks on the map),
 * the quote (one per tier offered: fare, surge, pickup ETA; the rider picks the tier), the
 * request, then the live trip over its room: status, the driver approaching with ETA, chat, the
 * final fare and receipt, and the rating. Before a request, the cars nearby as coarse dots; the
 * map is the street map when the service has one (web/ride-map.ts); places are found by name and
 * shown by name (web/place-search.ts, web/place-names.ts), never as coordinates.
 */
import type { LatLng, Quote, Trip, TripConnection, TripDriver } from "@ridewire/client";
import { describeError, fill, h, minutes, money, statusLine } from "./dom";
import type { View } from "./types";
import { endedTrip, forgetTrip, rememberTrip } from "./last-trip";
import { mapConfigOnce } from "./map-config";
import { PlaceNames } from "./place-names";
import { placeSearch } from "./place-search";
import { SAN_FRANCISCO } from "./places";
import { RideMap } from "./ride-map";
import { fareParts, needsSurgeConfirm, surgeNotice, times } from "./fare-words";
import { receiptPanel } from "./rider-receipt";
import { scheduling } from "./rider-scheduled";
import { cancelConfirm } from "./rider-cancel";
import { offerPush } from "./push-prompt";
import { driverPhoto } from "./driver-photo";
import { ACTIVE, chatClosedText, ratingForm, ratingText, STATUS_TEXT, sosButton, tripChat } from "./trip-parts";

const TOP_UP = { amount: 5_000, currency: "USD" };
/** When to read the wallet again after a trip ends (its settlement is posted behind the end). */
const WALLET_AFTER_END_MS = [2_000, 5_000, 10_000];
/** How often the cars nearby are asked again while the rider plans a ride. */
const NEARBY_CARS_EVERY_MS = 15_000;
/** At most this many car dots (the service sends 8 at most). */
const CAR_DOTS = 8;

/** "xl" reads "XL", "comfort" reads "Comfort". */
const tierLabel = (tier: string) => (tier.length <= 2 ? tier.toUpperCase() : tier[0]?.toUpperCase() + tier.slice(1));

/** "Ines · ★ 4.8 · White Skoda Octavia · AB 12 CD": whom and which car the rider looks for. */
function driverLine(driver: TripDriver): string {
  const rating = ratingText(driver.rating, "new driver");
  const car = driver.vehicle
    ? ` · ${driver.vehicle.colour} ${driver.vehicle.make} ${driver.vehicle.model} · ${driver.vehicle.plate}`
    : "";
  return `${driver.firstName} · ${rating}${car}`;
}

export const riderView: View = (root, api, session) => {
  const city = SAN_FRANCISCO;
  const map = new RideMap(city, "Map of San Francisco. Click to set the pickup, then the dropoff.");
  void map.upgrade(api);
  const names = new PlaceNames(api, city);
  const geocoder = mapConfigOnce(api).then(
    (c) => c.geocoder,
    () => false,
  );
  const status = statusLine();

  let pickup: LatLng | null = null;
  let dropoff: LatLng | null = null;
  let quote: Quote | null = null;
  let trip: Trip | null = null;
  let connection: TripConnection | null = null;
  let chatBox: ReturnType<typeof tripChat> | null = null;
  /** The driver's latest position on this trip, from the room's location frames. */
  let lastDriverAt: LatLng | null = null;
  let nextPick: "pickup" | "dropoff" = "pickup";

  // ---- wallet
  const walletText = h("span", { class: "wallet-text" }, "…");
  // Answers can arrive out of order (a slow first read after a quick one): only the newest counts.
  let walletReads = 0;
  const walletTimers: ReturnType<typeof setTimeout>[] = [];
  const refreshWallet = async () => {
    const read = ++walletReads;
    try {
      const w = await api.wallet();
      if (read !== walletReads) return;
      const onHold = w.held.amount ? ` · on hold ${money(w.held)}` : "";
      walletText.textContent = `Balance ${money(w.balance)} · available ${money(w.available)}${onHold}`;
    } catch (err) {
      if (read === walletReads) walletText.textContent = describeError(err);
    }
  };
  const topUp = h("button", { type: "button" }, `Add ${money(TOP_UP)}`);
  topUp.addEventListener("click", async () => {
    topUp.disabled = true;
    try {
      await api.topUp({ amount: TOP_UP });
      status.say(`Added ${money(TOP_UP)} to your wallet.`);
      await refreshWallet();
    } catch (err) {
      status.say(describeError(err), "error");
    } finally {
      topUp.disabled = false;
    }
  });

  // ---- choosing the ride
  const placeSelect = (label: string, onPick: (p: LatLng) => void) => {
    const select = h(
      "select",
      { "aria-label": label },
      h("option", { value: "" }, `${label}…`),
      ...city.places.map((p, i) => h("option", { value: String(i) }, p.name)),
    );
    select.addEventListener("change", () => {
      const place = city.places[Number(select.value)];
      if (select.value !== "" && place) onPick(place.at);
    });
    return select;
  };
  const pickupSelect = placeSelect("Pickup", (p) => setPoint("pickup", p));
  const dropoffSelect = placeSelect("Dropoff", (p) => setPoint("dropoff", p));
  const pointsText = h("p", { class: "points", "data-testid": "points" });
  const search = placeSearch(
    api,
    city,
    () => geocoder,
    (which, place) => {
      names.remember(place.at, place.name);
      setPoint(which, place.at);
    },
  );
  const quoteButton = h("button", { type: "button", class: "primary", disabled: true }, "Get a quote");
  const quoteBox = h("div", { class: "quote", "aria-live": "polite" });
  const requestButton = h("button", { type: "button", class: "primary", hidden: true }, "Request ride");
  const quoteDetails = h("dl", { class: "quote-parts", "data-testid": "quote-breakdown" });
  // Surge in words, and above SURGE_CONFIRM_AT a box to tick before "Request ride" works.
  const surgeText = h("p", { class: "surge-notice", "data-testid": "surge-notice", hidden: true });
  const surgeAccept = h("input", { type: "checkbox", name: "surge-accept" });
  const surgeLabel = h("span", {});
  const surgeConfirm = h("label", { class: "surge-confirm", hidden: true }, surgeAccept, " ", surgeLabel);
  surgeAccept.addEventListener("change", () => {
    requestButton.disabled = !surgeAccept.checked;
  });
  /** The chosen tier's fare and its parts, surge in words, pickup ETA and ride length. */
  function drawQuote(): void {
    if (!quote) return;
    const currency = quote.fare.currency;
    fill(
      quoteDetails,
      ...(quote.breakdown
        ? fareParts(quote.breakdown).flatMap(([label, amount]) => [
            h("dt", {}, label),
            h("dd", {}, money({ amount, currency })),
          ])
        : []),
      h("dt", { class: "total" }, "Fare"),
      h("dd", { class: "total", "data-testid": "quote-fare" }, money(quote.fare)),
      h("dt", {}, "Surge multiplier"),
      h("dd", {}, quote.surge > 1 ? times(quote.surge) : "none"),
      h("dt", {}, "Pickup in"),
      h("dd", {}, quote.pickupEtaSec === null ? "no driver nearby yet" : minutes(quote.pickupEtaSec)),
      h("dt", {}, "Ride"),
      h("dd", {}, `${quote.distanceKm.toFixed(1)} km · ${Math.round(quote.durationMin)} min`),
    );
    const notice = surgeNotice(quote);
    surgeText.hidden = notice === null;
    surgeText.textContent = notice ?? "";
    const confirm = needsSurgeConfirm(quote);
    surgeConfirm.hidden = !confirm;
    surgeAccept.checked = false;
    surgeLabel.textContent = `I accept the ${times(quote.surge)} fare of ${money(quote.fare)}`;
    requestButton.disabled = confirm;
  }
  /** One radio per tier offered (README, "Tiers"), the default first and checked; picking one makes it the quote. */
  function tierChoice(quotes: Quote[]): HTMLElement {
    const options = quotes.map((q, i) => {
      const tier = q.tier ?? "economy";
      const eta = q.pickupEtaSec === null ? "no driver nearby yet" : `pickup in ${minutes(q.pickupEtaSec)}`;
      const radio = h("input", { type: "radio", name: "tier", value: tier, checked: i === 0 });
      radio.addEventListener("change", () => {
        if (!radio.checked) return;
        quote = q;
        drawQuote();
      });
      return h(
        "label",
        { class: "tier" },
        radio,
        h("span", { class: "tier-name" }, tierLabel(tier)),
        h("span", { class: "tier-fare" }, money(q.fare)),
        h("span", { class: "tier-eta" }, eta),
      );
    });
    return h("fieldset", { class: "tiers" }, h("legend", {}, "Ride type"), ...options);
  }
  // A ride for later, from the same quote: the quote is locked until the pickup.
  const later = scheduling(
    api,
    city,
    () => quote?.id ?? null,
    (text, kind) => status.say(text, kind),
    () => {
      quote = null;
      drawChoice();
      void refreshWallet();
    },
  );

  function setPoint(which: "pickup" | "dropoff", p: LatLng): void {
    if (trip && ACTIVE.has(trip.status)) return;
    if (which === "pickup") pickup = p;
    else dropoff = p;
    names.resolve(p, drawChoice);
    if (which === "pickup") void refreshCars();
    nextPick = which === "pickup" ? "dropoff" : "pickup";
    quote = null;
    drawChoice();
  }

  function drawChoice(): void {
    map.setMarker("pickup", pickup, "pickup", "Pickup");
    map.setMarker("dropoff", dropoff, "dropoff", "Dropoff");
    map.setLine("ride", pickup && dropoff ? [pickup, dropoff] : null);
    const pickupText = pickup ? names.of(pickup) : "not set";
    const dropoffText = dropoff ? names.of(dropoff) : "not set";
    pointsText.textContent = `Pickup: ${pickupText} · Dropoff: ${dropoffText}`;
    quoteButton.disabled = !(pickup && dropoff);
    requestButton.hidden = quote === null;
    later.form.hidden = quote === null;
    if (!quote) fill(quoteBox);
  }

  map.onPick((p) => setPoint(nextPick, p));

  // ---- the cars nearby, before a request: coarse dots from the service (no ids, no exact positions)
  let carReads = 0;
  const drawCars = (cars: LatLng[]) => {
    for (let i = 0; i < CAR_DOTS; i++) map.setMarker(`car-${i}`, cars[i] ?? null, "car", "A car nearby");
  };
  const refreshCars = async () => {
    const read = ++carReads;
    if (planBox.hidden) return drawCars([]);
    try {
      const { cars } = await api.nearbyCars(pickup ?? city.center);
      if (read === carReads && !planBox.hidden) drawCars(cars);
    } catch {
      // Not knowing the cars nearby hides none of the rest: the dots stay as they were.
    }
  };
  const carsTimer = setInterval(() => void refreshCars(), NEARBY_CARS_EVERY_MS);

  quoteButton.addEventListener("click", async () => {
    if (!pickup || !dropoff) return;
    quoteButton.disabled = true;
    try {
      const quotes = await api.quotes({ pickup, dropoff });
      quote = quotes[0] ?? null;
      if (!quote) throw new Error("No ride is offered here.");
      // Surge and its confirm right under the fare they are about: on a phone, parts below are under the fold.
      fill(quoteBox, tierChoice(quotes), surgeText, surgeConfirm, quoteDetails);
      drawQuote();
      requestButton.hidden = false;
      later.form.hidden = false;
      status.say("Here is your quote.");
    } catch (err) {
      status.say(describeError(err), "error");
    } finally {
      quoteButton.disabled = !(pickup && dropoff);
    }
  });

  requestButton.addEventListener("click", async () => {
    if (!quote) return;
    if (needsSurgeConfirm(quote) && !surgeAccept.checked) {
      status.say(`Tick the box to accept the ${times(quote.surge)} fare first.`, "error");
      return;
    }
    requestButton.disabled = true;
    try {
      // The status line follows the trip from here (show says each new state).
      show(await api.requestTrip({ quoteId: quote.id }));
      void refreshWallet();
      // Now a notification means something: the driver's arrival (asked once, never on load).
      void offerPush(api, session.user.id, pushSlot, "Get notified when your driver arrives", status.say);
    } catch (err) {
      status.say(describeError(err), "error");
    } finally {
      requestButton.disabled = quote !== null && needsSurgeConfirm(quote) && !surgeAccept.checked;
    }
  });

  // ---- the trip
  const planBox = h("section", { class: "card", "aria-label": "Plan a ride" });
  const tripBox = h("section", { class: "card trip", "aria-label": "Your trip", hidden: true });
  // A live region: a screen reader says each change of the trip's state as it comes.
  const tripStatus = h("p", {
    class: "trip-status",
    "data-testid": "trip-status",
    role: "status",
    "aria-live": "polite",
  });
  const tripDetail = h("p", { class: "trip-detail" });
  // The trip's PIN comes in the rider's own reads of the trip only (never in the room's frames),
  // so it is kept here until the ride starts.
  const pinText = h("p", { class: "trip-pin", "data-testid": "trip-pin", hidden: true });
  // The driver and their car, from acceptance on (the trip carries them only then).
  const driverText = h("p", { class: "trip-driver", "data-testid": "trip-driver", hidden: true });
  const photo = driverPhoto(api);
  let pin: { tripId: string; code: string } | null = null;
  const cancelButton = h("button", { type: "button" }, "Cancel ride");
  // Share my trip: a link for someone without an account, until the trip ends or it is revoked.
  const shareBox = h("div", { class: "share" });
  const shareButton = h("button", { type: "button" }, "Share my trip");
  const revokeButton = h("button", { type: "button", hidden: true }, "Stop sharing");
  const shareLink = h("input", { readonly: true, "aria-label": "Share link", class: "share-link", hidden: true });
  fill(shareBox, shareButton, revokeButton, shareLink);
  shareButton.addEventListener("click", async () => {
    if (!trip) return;
    try {
      const link = await api.shareTrip(trip.id);
      shareLink.value = link.url;
      shareLink.hidden = false;
      revokeButton.hidden = false;
      shareLink.select();
      status.say("Share link ready: send it to someone you trust.");
    } catch (err) {
      status.say(describeError(err), "error");
    }
  });
  revokeButton.addEventListener("click", async () => {
    if (!trip) return;
    try {
      await api.revokeTripShares(trip.id);
      shareLink.value = "";
      shareLink.hidden = true;
      revokeButton.hidden = true;
      status.say("Sharing stopped: the links no longer work.");
    } catch (err) {
      status.say(describeError(err), "error");
    }
  });
  const endBox = h("div", { class: "trip-end" });
  const chatSlot = h("div");
  const pushSlot = h("div");
  // Cancelling asks first: a reason, and whether a fee may be due, before anything is sent.
  const cancelSlot = h("div");
  cancelButton.addEventListener("click", () => {
    if (!trip) return;
    const t = trip;
    cancelButton.hidden = true;
    fill(
      cancelSlot,
      cancelConfirm(t, {
        confirm: async (body) => show(await api.cancelTrip(t.id, body)),
        keep: () => {
          fill(cancelSlot);
          if (trip) cancelButton.hidden = !ACTIVE.has(trip.status) || trip.status === "in_progress";
        },
        say: status.say,
      }),
    );
  });

  // While matching: how long it has been, so that a long search is seen to be going on.
  const matchingTick = setInterval(() => {
    if (trip?.status !== "matching") return;
    const elapsed = Math.max(0, Math.floor((Date.now() - trip.createdAt) / 1000));
    const clock = `${Math.floor(elapsed / 60)}:${String(elapsed % 60).padStart(2, "0")}`;
    tripDetail.textContent = `Still looking for a driver · ${clock} elapsed`;
  }, 1_000);

  function show(next: Trip): void {
    const first = trip?.id !== next.id;
    const ended = trip !== null && !first && ACTIVE.has(trip.status) && !ACTIVE.has(next.status);
    const changed = first || trip?.status !== next.status;
    trip = next;
    if (first) rememberTrip(session.user.id, next.id);
    // Said from the trip's state, so the line is never older than the trip.
    if (changed)
      status.say(/[.…]$/.test(STATUS_TEXT[next.status]) ? STATUS_TEXT[next.status] : `${STATUS_TEXT[next.status]}.`);
    tripBox.hidden = false;
    planBox.hidden = true;
    carReads++;
    drawCars([]);
    pickup = next.pickup;
    dropoff = next.dropoff;
    drawChoice();
    requestButton.hidden = true;
    later.form.hidden = true;
    tripStatus.textContent = STATUS_TEXT[next.status];
    tripStatus.dataset.status = next.status;
    if (next.pin) pin = { tripId: next.id, code: next.pin };
    const beforeRide = next.status === "matching" || next.status === "accepted" || next.status === "arrived";
    pinText.hidden = !(beforeRide && pin?.tripId === next.id);
    pinText.textContent = pinText.hidden || !pin ? "" : `PIN ${pin.code} · tell it to your driver`;
    driverText.hidden = !next.driver;
    driverText.textContent = next.driver ? driverLine(next.driver) : "";
    photo.show(ACTIVE.has(next.status) ? next : null);
    shareBox.hidden = !ACTIVE.has(next.status);
    sos.hidden = !ACTIVE.has(next.status);
    if (first) {
      lastDriverAt = null;
      shareLink.value = "";
      shareLink.hidden = true;
      revokeButton.hidden = true;
    }
    const cancellable = ACTIVE.has(next.status) && next.status !== "in_progress";
    if (!cancellable || changed) fill(cancelSlot);
    cancelButton.hidden = !cancellable || cancelSlot.childElementCount > 0;
    tripDetail.textContent =
      next.status === "completed"
        ? `Fare ${money(next.fare)}`
        : next.cancellationFee
          ? `Cancellation fee ${money(next.cancellationFee)}`
          : next.etaSec !== null
            ? `ETA ${minutes(next.etaSec)}`
            : "";
    if (!ACTIVE.has(next.status)) map.setMarker("driver", null, "driver", "");
    else if (next.driverLocation) map.setMarker("driver", next.driverLocation, "driver", "Your driver");
    if (first) connect(next);
    if (ended || (first && !ACTIVE.has(next.status))) finish(next);
  }

  function connect(t: Trip): void {
    connection?.close();
    const conn = api.tripRoom(t.id, { since: 0 });
    connection = conn;
    const chat = tripChat(conn, session.user.id, "Driver");
    chatBox = chat;
    fill(chatSlot, chat.el);
    conn.on("welcome", (f) => show(f.trip));
    conn.on("status", (f) => show(f.trip));
    conn.on("message", (f) => chat.add(f.message));
    conn.on("location", (f) => {
      lastDriverAt = { lat: f.lat, lng: f.lng };
      map.setMarker("driver", { lat: f.lat, lng: f.lng }, "driver", "Your driver");
      if (trip && f.etaSec !== null) {
        const arriving = trip.status === "in_progress" ? "Arriving" : "Driver arrives";
        tripDetail.textContent = `${arriving} in ${minutes(f.etaSec)}`;
      }
    });
    conn.on("fare", (f) => (tripDetail.textContent = `Fare ${money(f.fare)}`));
  }

  async function finish(t: Trip): Promise<void> {
    chatBox?.close(chatClosedText(t.status));
    const again = h("button", { type: "button", class: "primary" }, "Plan another ride");
    again.addEventListener("click", () => {
      forgetTrip(session.user.id);
      connection?.close();
      connection = null;
      chatBox = null;
      trip = null;
      quote = null;
      tripBox.hidden = true;
      planBox.hidden = false;
      fill(endBox);
      fill(chatSlot);
      drawChoice();
      void refreshCars();
    });
    const parts: HTMLElement[] = [];
    if (t.status === "completed" || t.cancellationFee) {
      try {
        parts.push(await receiptPanel(api, t.id, t.status === "completed", () => void refreshWallet(), t));
      } catch (err) {
        parts.push(h("p", {}, `Receipt: ${describeError(err)}`));
      }
    }
    if (t.status === "completed") parts.push(ratingForm(api, t.id, "driver", () => status.say("Rating sent.")));
    fill(endBox, ...parts, again);
    // After the receipt: asking for it settles the trip if its room had not yet. With no receipt
    // (a free cancel, no driver) the hold's release reaches the wallet seconds behind the end:
    // read it again until then, so that a released hold does not stay on screen.
    void refreshWallet();
    for (const afterMs of WALLET_AFTER_END_MS) walletTimers.push(setTimeout(() => void refreshWallet(), afterMs));
  }

  fill(
    planBox,
    h("h2", {}, "Where to?"),
    search,
    h("div", { class: "row" }, pickupSelect, dropoffSelect),
    pointsText,
    quoteButton,
    quoteBox,
    requestButton,
    later.form,
  );
  // The app knows no GPS of the rider's: in the car, where the car is; before, the pickup.
  const sos = sosButton(
    api,
    () => (trip && ACTIVE.has(trip.status) ? trip.id : null),
    () => (trip?.status === "in_progress" && lastDriverAt ? lastDriverAt : (trip?.pickup ?? city.center)),
    status.say,
  );
  fill(
    tripBox,
    h("h2", {}, "Your trip"),
    tripStatus,
    tripDetail,
    pushSlot,
    photo.el,
    driverText,
    pinText,
    shareBox,
    sos,
    cancelButton,
    cancelSlot,
    endBox,
    chatSlot,
  );
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
          "Click the map to set the pickup, then the dropoff, or choose places from the lists.",
        ),
      ),
      h(
        "div",
        { class: "side" },
        h("section", { class: "card wallet", "aria-label": "Wallet" }, h("h2", {}, "Wallet"), walletText, " ", topUp),
        planBox,
        tripBox,
        later.upcoming,
        status.el,
      ),
    ),
  );
  drawChoice();
  void refreshWallet();
  void later.refresh();
  void refreshCars();
  // A trip still going on (after a reload) is picked up again, from the trip itself: the trip
  // list reaches D1 seconds behind, and would show the request form with the money on hold.
  void api.currentTrip().then(
    (current) => {
      if (current && ACTIVE.has(current.status)) show(current);
      // None going on: the trip that ended here last, until the rider plans another ride.
      else void endedTrip(api, session.user.id).then((ended) => ended && !trip && show(ended));
    },
    () => undefined,
  );

  return () => {
    clearInterval(matchingTick);
    clearInterval(carsTimer);
    for (const timer of walletTimers) clearTimeout(timer);
    connection?.close();
  };
};
