/**
 * @module web/place-search
 * Place search for the rider: the words typed are matched against the city's own places at once
 * (offline too), and sent to the service's geocoder when it has one (`GET /v1/places/search`,
 * after a short pause in typing, the newest answer only). Each result offers "Pickup" and
 * "Dropoff"; the chosen place keeps its name on both sides of the trip.
 *
 * The geocoder's answer comes while the city's places are already on screen, perhaps under the
 * rider's finger: it adds its places after them and leaves the buttons shown in place. A tap whose
 * press and release straddled a redraw would otherwise land on no button at all (the press on the
 * old one, the release on its replacement), and the choice would be lost. An answer that comes
 * after a choice shows nothing.
 */
import type { LatLng, Place, RidewireClient } from "@ridewire/client";
import { fill, h } from "./dom";
import type { City } from "./places";

const TYPING_PAUSE_MS = 300;
const MAX_RESULTS = 8;

export function placeSearch(
  api: RidewireClient,
  city: City,
  geocoder: () => Promise<boolean>,
  choose: (which: "pickup" | "dropoff", place: { name: string; at: LatLng }) => void,
): HTMLElement {
  const input = h("input", {
    type: "search",
    "aria-label": "Search for a place",
    placeholder: "Search for a place",
    autocomplete: "off",
    maxlength: 100,
  });
  const results = h("ul", { class: "place-results", "aria-label": "Places found" });
  const note = h("p", { class: "place-note", "aria-live": "polite" });
  let searches = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** The places listed now, in order, by `placeKey`: what a later draw of the same search keeps. */
  let listed: string[] = [];

  const itemOf = (place: Place) => {
    const item = h("li", {}, h("span", { class: "place-name" }, place.name));
    for (const which of ["pickup", "dropoff"] as const) {
      const button = h(
        "button",
        { type: "button", "aria-label": `${which === "pickup" ? "Pickup" : "Dropoff"}: ${place.name}` },
        which === "pickup" ? "Pickup" : "Dropoff",
      );
      button.addEventListener("click", () => {
        choose(which, place);
        // The choice ends this search: a geocoder answer still on its way must not bring the list back.
        searches++;
        clearTimeout(timer);
        input.value = "";
        clear();
      });
      item.append(button);
    }
    return item;
  };

  const clear = () => {
    listed = [];
    fill(results);
    note.textContent = "";
  };

  /** Lists `places`; when those listed already begin the new list (the geocoder adding to the city's), only appends. */
  const draw = (places: Place[], text: string) => {
    const seen = new Set<string>();
    const unique = places.filter((p) => !seen.has(p.name) && seen.add(p.name)).slice(0, MAX_RESULTS);
    const keys = unique.map(placeKey);
    const kept = listed.every((key, i) => keys[i] === key) ? listed.length : 0;
    if (kept === 0) fill(results);
    results.append(...unique.slice(kept).map(itemOf));
    listed = keys;
    note.textContent = text.length >= 2 && unique.length === 0 ? "No place found." : "";
  };

  input.addEventListener("input", () => {
    const text = input.value.trim();
    const search = ++searches;
    clearTimeout(timer);
    const local: Place[] =
      text.length < 2 ? [] : city.places.filter((p) => p.name.toLowerCase().includes(text.toLowerCase()));
    draw(local, text);
    if (text.length < 2) return;
    timer = setTimeout(async () => {
      if (!(await geocoder())) return;
      try {
        const found = await api.searchPlaces(text, city.center);
        if (search === searches) draw([...local, ...found], text);
      } catch {
        // The geocoder failing leaves the city's own places, which still work.
      }
    }, TYPING_PAUSE_MS);
  });

  return h("div", { class: "place-search" }, input, results, note);
}

/** A place as listed: its name and where it is (two places may share a name). */
const placeKey = (place: Place): string => `${place.name}|${place.at.lat}|${place.at.lng}`;
