/**
 * @module web/street-map
 * The street map: MapLibre GL over vector tiles, either the operator's style (MAP_STYLE_URL) or
 * the PMTiles archive the Worker serves by range (`pmtiles://` through the pmtiles protocol), with
 * a style of its own for the layers a Protomaps basemap has (earth, water, landuse, roads,
 * buildings, places). Markers are HTML elements over the map and carry the same classes and
 * `data-marker` names as the SVG city's, so the views and tests treat both alike. Loaded only
 * when a map is configured and the browser has WebGL (web/ride-map.ts decides).
 */
import * as maplibregl from "maplibre-gl";
import type { StyleSpecification } from "maplibre-gl";
import { PMTiles, Protocol } from "pmtiles";
import type { LatLng } from "@ridewire/client";
import type { MarkerKind } from "./map";
import type { City } from "./places";

/** One protocol for the page, so the archive's header read for the credit is the one the tiles use. */
let pmtiles: Protocol | null = null;

/** A style for a Protomaps-layered archive at `archiveUrl`; no labels (they would need a glyph server). */
function archiveStyle(archiveUrl: string): StyleSpecification {
  return {
    version: 8,
    sources: {
      basemap: {
        type: "vector",
        // No credit of its own: the attribution is the archive's metadata's (see `creditArchive`), so an
        // OpenStreetMap extract credits OpenStreetMap and the schematic development city credits no one.
        url: `pmtiles://${archiveUrl}`,
      },
    },
    layers: [
      { id: "background", type: "background", paint: { "background-color": "#cfe0ee" } },
      { id: "earth", type: "fill", source: "basemap", "source-layer": "earth", paint: { "fill-color": "#eef0ea" } },
      { id: "landuse", type: "fill", source: "basemap", "source-layer": "landuse", paint: { "fill-color": "#dfeadb" } },
      { id: "water", type: "fill", source: "basemap", "source-layer": "water", paint: { "fill-color": "#b9d3e8" } },
      {
        id: "buildings",
        type: "fill",
        source: "basemap",
        "source-layer": "buildings",
        paint: { "fill-color": "#e2ddd6" },
      },
      {
        id: "roads",
        type: "line",
        source: "basemap",
        "source-layer": "roads",
        paint: { "line-color": "#ffffff", "line-width": ["interpolate", ["linear"], ["zoom"], 10, 0.6, 16, 6] },
      },
      {
        id: "places",
        type: "circle",
        source: "basemap",
        "source-layer": "places",
        paint: { "circle-radius": 3, "circle-color": "#5b6675" },
      },
    ],
  };
}

const round5 = (n: number) => Math.round(n * 1e5) / 1e5;

export class StreetMap {
  readonly el: HTMLDivElement;
  readonly map: maplibregl.Map;
  /** The markers on the map now, by name; they live as long as the map. */
  private readonly markers = new Map<string, maplibregl.Marker>();
  /** Lines set before the style loaded, drawn once it has. */
  private readonly lines = new Map<string, LatLng[] | null>();
  private loaded = false;

  constructor(city: City, label: string, source: { style: string | null; tiles: string | null }) {
    if (!pmtiles) {
      // Its ES module build starts its worker from a file of its own, copied there by scripts/build-web.mjs.
      maplibregl.setWorkerUrl("/build/maplibre-gl-worker.mjs");
      pmtiles = new Protocol();
      maplibregl.addProtocol("pmtiles", pmtiles.tile);
    }
    this.el = document.createElement("div");
    this.el.className = "street-map";
    this.el.setAttribute("role", "region");
    this.el.setAttribute("aria-label", label);
    const archiveUrl = source.style ? null : new URL(source.tiles ?? "", location.origin).href;
    const style = source.style ?? archiveStyle(archiveUrl ?? "");
    this.map = new maplibregl.Map({
      container: this.el,
      style,
      bounds: [
        [city.west, city.south],
        [city.east, city.north],
      ],
      // An operator's style carries its own credits; the archive's is added once its metadata is read.
      attributionControl: archiveUrl ? false : { compact: true },
    });
    if (archiveUrl) void this.creditArchive(pmtiles, archiveUrl);
    this.map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
    this.map.on("load", () => {
      this.loaded = true;
      this.map.addSource("lines", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
      this.map.addLayer({
        id: "lines",
        type: "line",
        source: "lines",
        paint: { "line-color": ["get", "colour"], "line-width": 3, "line-dasharray": [2, 1.5] },
      });
      this.drawLines();
      this.el.dataset.loaded = "true";
    });
    // How many street features are drawn once the map settles: the browser tests read it to know
    // tiles arrived and decoded (a canvas cannot be read back without keeping its buffer).
    this.map.on("idle", () => {
      this.el.dataset.roads = String(
        this.map.getLayer("roads") ? this.map.queryRenderedFeatures({ layers: ["roads"] }).length : 0,
      );
    });
  }

  /**
   * The archive's own credit (its metadata's `attribution`), or none when it names none, as the
   * schematic development city does: the style above is ours, the data is not, and a credit to a
   * source that drew none of it would be wrong. Unreadable metadata leaves the map uncredited.
   */
  private async creditArchive(protocol: Protocol, archiveUrl: string): Promise<void> {
    let archive = protocol.get(archiveUrl);
    if (!archive) {
      archive = new PMTiles(archiveUrl);
      protocol.add(archive);
    }
    let attribution: unknown;
    try {
      attribution = ((await archive.getMetadata()) as { attribution?: unknown } | null)?.attribution;
    } catch {
      return;
    }
    if (typeof attribution !== "string" || attribution.trim() === "") return;
    this.map.addControl(new maplibregl.AttributionControl({ compact: true, customAttribution: attribution }));
  }

  /** Once the map is in the page: its size is known only then, so the city is fitted again. */
  attached(city: City): void {
    this.map.resize();
    this.map.fitBounds(
      [
        [city.west, city.south],
        [city.east, city.north],
      ],
      { animate: false, padding: 8 },
    );
  }

  /** Calls `handler` with the point under each click or tap. */
  onPick(handler: (point: LatLng) => void): void {
    this.el.classList.add("pickable");
    this.map.on("click", (event: maplibregl.MapMouseEvent) =>
      handler({ lat: round5(event.lngLat.lat), lng: round5(event.lngLat.lng) }),
    );
  }

  setMarker(name: string, at: LatLng | null, kind: MarkerKind, title: string): void {
    let marker = this.markers.get(name);
    if (!at) {
      marker?.remove();
      this.markers.delete(name);
      return;
    }
    if (!marker) {
      const dot = document.createElement("div");
      dot.className = `map-dot marker-${kind}`;
      dot.dataset.marker = name;
      marker = new maplibregl.Marker({ element: dot }).setLngLat([at.lng, at.lat]).addTo(this.map);
      this.markers.set(name, marker);
    }
    marker.setLngLat([at.lng, at.lat]);
    marker.getElement().title = title;
  }

  setLine(name: string, points: LatLng[] | null): void {
    this.lines.set(name, points);
    if (this.loaded) this.drawLines();
  }

  private drawLines(): void {
    const source = this.map.getSource<maplibregl.GeoJSONSource>("lines");
    source?.setData({
      type: "FeatureCollection",
      features: [...this.lines]
        .filter((entry): entry is [string, LatLng[]] => (entry[1]?.length ?? 0) >= 2)
        .map(([name, points]) => ({
          type: "Feature",
          properties: { colour: name === "drive" ? "#0a7d5a" : "#2457c5" },
          geometry: { type: "LineString", coordinates: points.map((p) => [p.lng, p.lat]) },
        })),
    });
  }
}
