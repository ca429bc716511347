/**
 * @module web/map
 * The city drawn in SVG, with no map tiles (it works offline and in tests): the H3 cells of
 * the area as hexagons from h3-js, named places, and markers and lines placed by an
 * equirectangular projection around the city's centre (exact enough for a city). A click picks
 * a point; everything a click does can also be done from the keyboard elsewhere in the view.
 */
import { cellBoundary, cellOf, cellsAround } from "@ridewire/client/geo";
import type { LatLng } from "@ridewire/client";
import type { City } from "./places";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 1000;

export type MarkerKind = "pickup" | "dropoff" | "driver" | "me" | "car";

export class CityMap {
  readonly svg: SVGSVGElement;
  private readonly kmPerDegLng: number;
  private readonly height: number;
  private readonly cellLayer: SVGGElement;
  private readonly lineLayer: SVGGElement;
  private readonly markerLayer: SVGGElement;
  private readonly markers = new Map<string, SVGGElement>();
  private readonly lines = new Map<string, SVGPolylineElement>();
  private readonly cellShapes = new Map<string, { shape: SVGPolygonElement; label: SVGTextElement }>();
  /** The places' names, in the city's order (its first places matter most), each with the side it prefers. */
  private readonly placeLabels: { text: SVGTextElement; west: boolean }[] = [];
  private declutterQueued = false;

  constructor(
    private readonly city: City,
    label: string,
  ) {
    this.kmPerDegLng = Math.cos((city.center.lat * Math.PI) / 180);
    const spanX = (city.east - city.west) * this.kmPerDegLng;
    const spanY = city.north - city.south;
    this.height = Math.round((WIDTH * spanY) / spanX);
    this.svg = document.createElementNS(SVG, "svg");
    this.svg.setAttribute("viewBox", `0 0 ${WIDTH} ${this.height}`);
    // A box of `height: auto` (a desktop) has the city's shape, not the viewBox's: `frame` fits the viewBox to the
    // box, so a box that took the viewBox's shape kept whatever shape it once had (a phone's band, a screenshot's).
    this.svg.style.aspectRatio = `${WIDTH} / ${this.height}`;
    this.svg.setAttribute("class", "city-map");
    this.svg.setAttribute("role", "img");
    this.svg.setAttribute("aria-label", label);
    this.keepPixelScale();
    this.cellLayer = this.group("cells");
    this.group("places");
    this.lineLayer = this.group("lines");
    this.markerLayer = this.group("markers");
    for (const place of city.places) {
      const { x, y } = this.project(place.at);
      const dot = this.node("circle", { cx: x, cy: y, r: 3, class: "place-dot" });
      // Beside the dot (the stylesheet sets the gap in screen pixels); in the east, to its left, so it is not cut off.
      const west = x > WIDTH * 0.72;
      const text = this.node("text", {
        x,
        y,
        class: west ? "place-label west-of-dot" : "place-label",
      }) as SVGTextElement;
      text.textContent = place.name;
      this.svg.querySelector(".places")?.append(dot, text);
      this.placeLabels.push({ text, west });
    }
  }

  /**
   * Keeps the names from covering each other or the markers at the scale shown (on a phone the map shows fewer pixels
   * per street): the cells' counts (the operations view) first, the busiest first, each whole, else in its short
   * form, else left out until there is room; then the places in the city's order, each on the side of its dot it
   * prefers, else on the other, else left out (a name that would run off the edge of the part shown counts as no
   * room). Once per frame, however many changes asked.
   */
  private declutter(): void {
    if (this.declutterQueued || typeof requestAnimationFrame !== "function") return;
    this.declutterQueued = true;
    requestAnimationFrame(() => {
      this.declutterQueued = false;
      if (!this.svg.isConnected || this.svg.getBoundingClientRect().width === 0) return;
      const shown = this.svg.getBoundingClientRect();
      const taken: DOMRect[] = [];
      // Within the part of the city shown (a phone shows a band of it), and over no name already placed.
      const free = (box: DOMRect) =>
        box.left >= shown.left &&
        box.right <= shown.right &&
        !taken.some((t) => box.left < t.right && t.left < box.right && box.top < t.bottom && t.top < box.bottom);
      // The markers (the pickup, the car) are what the view is about: nothing is written over them.
      for (const marker of this.markers.values()) {
        const box = markerBox(this.svg, marker);
        if (box) taken.push(box);
      }
      // Tries each way of showing `label` in turn and keeps the first with room; with none, `otherwise`, hidden.
      const place = (label: SVGTextElement, ways: (() => void)[], otherwise: () => void) => {
        label.classList.remove("crowded");
        for (const way of ways) {
          way();
          const box = label.getBoundingClientRect();
          if (free(box)) {
            taken.push(box);
            return;
          }
        }
        otherwise();
        label.classList.add("crowded");
      };
      // The busiest cells' counts first; a count with no room shows its short form, else waits.
      const counts = [...this.cellShapes.values()]
        .map(({ label }) => label)
        .filter((label) => label.dataset.full)
        .sort((a, b) => Number(b.dataset.level) - Number(a.dataset.level));
      for (const label of counts) {
        const show = (form: string | undefined) => () => {
          label.textContent = form ?? "";
        };
        place(label, [...new Set([label.dataset.full, label.dataset.short])].map(show), show(label.dataset.full));
      }
      // Each side of its dot, then each side clear of a marker on the dot (a pickup at a named place).
      for (const { text, west } of this.placeLabels) {
        const at = (side: boolean, far: boolean) => () => {
          text.classList.toggle("west-of-dot", side);
          text.classList.toggle("clear-of-marker", far);
        };
        place(text, [at(west, false), at(!west, false), at(west, true), at(!west, true)], at(west, false));
      }
    });
  }

  /**
   * Fits the drawing to the element's box as it changes size, and keeps `--px` (user units per
   * CSS pixel) on the SVG, so the stylesheet sizes labels, markers and lines in screen pixels
   * (12 user units would be 12 px on a desktop and under 5 px on a phone).
   */
  private keepPixelScale(): void {
    if (typeof ResizeObserver === "function") new ResizeObserver(() => this.frame()).observe(this.svg);
  }

  /**
   * The part of the city the box shows. Where the box has the city's shape (a desktop), all of
   * it. Where it does not (a phone's wide band), as much as fills the box, centred on the
   * markers (the pickup, the dropoff, the car) so that the trip stays in view.
   */
  private frame(): void {
    const { width, height } = this.svg.getBoundingClientRect();
    if (!width || !height) return;
    const pxPerUnit = Math.max(width / WIDTH, height / this.height);
    const shownWidth = width / pxPerUnit;
    const shownHeight = height / pxPerUnit;
    let focus = { x: WIDTH / 2, y: this.height / 2 };
    const points = [...this.markers.values()].map((m) => m.transform.baseVal.consolidate()?.matrix);
    const placed = points.filter((m): m is DOMMatrix => m !== undefined && m !== null);
    if (placed.length) {
      const xs = placed.map((m) => m.e);
      const ys = placed.map((m) => m.f);
      focus = { x: (Math.min(...xs) + Math.max(...xs)) / 2, y: (Math.min(...ys) + Math.max(...ys)) / 2 };
    }
    const clamp = (v: number, max: number) => Math.min(Math.max(v, 0), Math.max(max, 0));
    const x = clamp(focus.x - shownWidth / 2, WIDTH - shownWidth);
    const y = clamp(focus.y - shownHeight / 2, this.height - shownHeight);
    this.svg.setAttribute(
      "viewBox",
      `${x.toFixed(1)} ${y.toFixed(1)} ${shownWidth.toFixed(1)} ${shownHeight.toFixed(1)}`,
    );
    this.svg.style.setProperty("--px", (1 / pxPerUnit).toFixed(3));
    this.declutter();
  }

  /** The H3 cells at `resolution` that cover the city, drawn as the background grid. */
  drawGrid(resolution: number): void {
    const center = cellOf(this.city.center, resolution);
    const reach = Math.ceil(
      ((this.city.east - this.city.west) * this.kmPerDegLng * 111.32) / (resolution >= 8 ? 0.9 : 2.4),
    );
    for (const cell of cellsAround(center, reach)) this.cell(cell);
  }

  /**
   * Shades a cell and labels it (the operations view); `level` 0..1 sets the fill's strength and
   * which label keeps its room when two would cover each other. `short` is the label's form for a
   * crowded map (a phone), shown where the whole one has no room.
   */
  shadeCell(cell: string, level: number, label: string, title: string, short = label): void {
    const { shape, label: text } = this.cell(cell);
    const shade = Math.max(0, Math.min(1, level));
    shape.style.setProperty("--level", String(shade));
    shape.classList.toggle("shaded", level > 0);
    if (text.dataset.full !== label || text.dataset.short !== short || text.dataset.level !== String(shade)) {
      text.dataset.full = label;
      text.dataset.short = short;
      text.dataset.level = String(shade);
      text.textContent = label;
      this.declutter();
    }
    let tip = shape.querySelector<SVGTitleElement>("title");
    if (!tip) {
      tip = document.createElementNS(SVG, "title");
      shape.appendChild(tip);
    }
    tip.textContent = title;
  }

  project(p: LatLng): { x: number; y: number } {
    const x =
      ((p.lng - this.city.west) * this.kmPerDegLng * WIDTH) / ((this.city.east - this.city.west) * this.kmPerDegLng);
    const y = ((this.city.north - p.lat) * this.height) / (this.city.north - this.city.south);
    return { x, y };
  }

  unproject(x: number, y: number): LatLng {
    const lng = this.city.west + (x / WIDTH) * (this.city.east - this.city.west);
    const lat = this.city.north - (y / this.height) * (this.city.north - this.city.south);
    return { lat: Math.round(lat * 1e5) / 1e5, lng: Math.round(lng * 1e5) / 1e5 };
  }

  /** Calls `handler` with the point under each click. */
  onPick(handler: (point: LatLng) => void): void {
    this.svg.classList.add("pickable");
    this.svg.addEventListener("click", (event) => {
      const matrix = this.svg.getScreenCTM();
      if (!matrix) return;
      const point = new DOMPoint(event.clientX, event.clientY).matrixTransform(matrix.inverse());
      handler(this.unproject(point.x, point.y));
    });
  }

  /** Puts (or moves, or with null removes) the marker `name`. */
  setMarker(name: string, at: LatLng | null, kind: MarkerKind, title: string): void {
    let marker = this.markers.get(name);
    if (!at) {
      marker?.remove();
      if (this.markers.delete(name)) this.frame();
      return;
    }
    if (!marker) {
      marker = document.createElementNS(SVG, "g");
      marker.setAttribute("class", `marker marker-${kind}`);
      marker.setAttribute("data-marker", name);
      marker.append(
        this.node("circle", { r: kind === "car" ? 6 : kind === "driver" || kind === "me" ? 9 : 8 }),
        document.createElementNS(SVG, "title"),
      );
      this.markerLayer.appendChild(marker);
      this.markers.set(name, marker);
    }
    const { x, y } = this.project(at);
    marker.setAttribute("transform", `translate(${x.toFixed(1)} ${y.toFixed(1)})`);
    const tip = marker.querySelector("title");
    if (tip) tip.textContent = title;
    this.frame();
  }

  setLine(name: string, points: LatLng[] | null): void {
    let line = this.lines.get(name);
    if (!points || points.length < 2) {
      line?.remove();
      this.lines.delete(name);
      return;
    }
    if (!line) {
      line = this.node("polyline", { class: `route route-${name}` }) as SVGPolylineElement;
      this.lineLayer.appendChild(line);
      this.lines.set(name, line);
    }
    line.setAttribute(
      "points",
      points
        .map((p) => this.project(p))
        .map(({ x, y }) => `${x.toFixed(1)},${y.toFixed(1)}`)
        .join(" "),
    );
  }

  private cell(cell: string): { shape: SVGPolygonElement; label: SVGTextElement } {
    const known = this.cellShapes.get(cell);
    if (known) return known;
    const corners = cellBoundary(cell).map((corner) => this.project(corner));
    const shape = this.node("polygon", {
      class: "cell",
      "data-cell": cell,
      points: corners.map(({ x, y }) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" "),
    }) as SVGPolygonElement;
    const cx = corners.reduce((s, c) => s + c.x, 0) / corners.length;
    const cy = corners.reduce((s, c) => s + c.y, 0) / corners.length;
    const label = this.node("text", { x: cx, y: cy + 4, class: "cell-label" }) as SVGTextElement;
    this.cellLayer.append(shape, label);
    const made = { shape, label };
    this.cellShapes.set(cell, made);
    return made;
  }

  private group(name: string): SVGGElement {
    const g = document.createElementNS(SVG, "g");
    g.setAttribute("class", name);
    this.svg.appendChild(g);
    return g;
  }

  private node(tag: string, attrs: Record<string, string | number>): SVGElement {
    const el = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
    return el;
  }
}

/**
 * Where a marker will be on screen: its box around the point its `transform` names. A moving
 * marker glides there (a CSS transition), and its box in between is not where it stays.
 */
function markerBox(svg: SVGSVGElement, marker: SVGGElement): DOMRect | null {
  const at = marker.transform.baseVal.consolidate()?.matrix;
  const screen = svg.getScreenCTM();
  const size = marker.querySelector("circle")?.getBoundingClientRect();
  if (!at || !screen || !size) return null;
  const centre = new DOMPoint(at.e, at.f).matrixTransform(screen);
  return new DOMRect(centre.x - size.width / 2, centre.y - size.height / 2, size.width, size.height);
}
