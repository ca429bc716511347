/**
 * @module web/ride-map
 * The map a view draws on: the SVG city (web/map.ts) at once, replaced by the street map
 * (web/street-map.ts, loaded on demand) when the service has one configured (`GET /v1/map`) and
 * the browser has WebGL. The markers and lines set so far move over to the street map, so a view
 * never waits for it; with no tiles, no WebGL or offline, the SVG city stays.
 */
import type { LatLng, RidewireClient } from "@ridewire/client";
import { CityMap, type MarkerKind } from "./map";
import { mapConfigOnce } from "./map-config";
import type { City } from "./places";

type Drawing = {
  el: Element;
  setMarker(name: string, at: LatLng | null, kind: MarkerKind, title: string): void;
  setLine(name: string, points: LatLng[] | null): void;
  onPick(handler: (point: LatLng) => void): void;
};

function hasWebGl(): boolean {
  try {
    const canvas = document.createElement("canvas");
    return (canvas.getContext("webgl2") ?? canvas.getContext("webgl")) !== null;
  } catch {
    return false;
  }
}

/** maplibre-gl's stylesheet, copied next to the app by scripts/build-web.mjs; added once, when first needed. */
function addMapStylesheet(): void {
  if (document.querySelector("link[data-maplibre]")) return;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = "/build/maplibre-gl.css";
  link.dataset.maplibre = "";
  document.head.append(link);
}

export class RideMap {
  /** Holds whichever map is drawn now. */
  readonly el: HTMLDivElement;
  private drawing: Drawing;
  /** What is drawn, kept to move onto the street map. */
  private readonly markers = new Map<string, { at: LatLng; kind: MarkerKind; title: string }>();
  private readonly lines = new Map<string, LatLng[]>();
  private pick: ((point: LatLng) => void) | null = null;

  constructor(
    private readonly city: City,
    private readonly label: string,
  ) {
    const svg = new CityMap(city, label);
    svg.drawGrid(7);
    this.drawing = { el: svg.svg, ...bind(svg) };
    this.el = document.createElement("div");
    this.el.className = "ride-map";
    this.el.append(svg.svg);
  }

  /** Swaps in the street map when one is configured and WebGL is there; keeps the SVG city otherwise. */
  async upgrade(api: RidewireClient): Promise<void> {
    if (!hasWebGl()) return;
    let config: Awaited<ReturnType<RidewireClient["mapConfig"]>>;
    try {
      config = await mapConfigOnce(api);
    } catch {
      return;
    }
    if (!config.style && !config.tiles) return;
    addMapStylesheet();
    const { StreetMap } = await import("./street-map");
    const street = new StreetMap(this.city, this.label, config);
    this.drawing = street;
    this.el.replaceChildren(street.el);
    street.attached(this.city);
    for (const [name, m] of this.markers) street.setMarker(name, m.at, m.kind, m.title);
    for (const [name, points] of this.lines) street.setLine(name, points);
    if (this.pick) street.onPick(this.pick);
  }

  onPick(handler: (point: LatLng) => void): void {
    this.pick = handler;
    this.drawing.onPick(handler);
  }

  setMarker(name: string, at: LatLng | null, kind: MarkerKind, title: string): void {
    if (at) this.markers.set(name, { at, kind, title });
    else this.markers.delete(name);
    this.drawing.setMarker(name, at, kind, title);
  }

  setLine(name: string, points: LatLng[] | null): void {
    if (points) this.lines.set(name, points);
    else this.lines.delete(name);
    this.drawing.setLine(name, points);
  }
}

function bind(map: CityMap): Omit<Drawing, "el"> {
  return {
    setMarker: (name, at, kind, title) => map.setMarker(name, at, kind, title),
    setLine: (name, points) => map.setLine(name, points),
    onPick: (handler) => map.onPick(handler),
  };
}
